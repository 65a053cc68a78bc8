//! The wire types stay wire types: this crate may depend only on the schema and serde, so both
//! web apps can build it for the browser and nothing server-side leaks into them.

#[test]
fn depends_only_on_the_schema_and_serde() {
    let manifest = include_str!("../Cargo.toml");
    let mut section = "";
    let mut found = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if section == "[dependencies]" && !line.is_empty() && !line.starts_with('#') {
            found.push(line.split(['.', '=', ' ']).next().unwrap_or(line).to_owned());
        }
    }
    assert_eq!(found, ["aos-schema", "serde", "serde_json"], "aos-api's dependencies");
}
