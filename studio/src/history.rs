//! The version history as a person reads it: published versions newest first, who published each
//! (a member's name, not their id), when, and which two versions are being compared.

use aos_api::{Member, VersionSummary};

/// The versions, newest first.
pub fn newest_first(mut versions: Vec<VersionSummary>) -> Vec<VersionSummary> {
    versions.sort_by_key(|v| std::cmp::Reverse(v.version));
    versions
}

/// Who published, from the version's `created_by` (`user:<id>`, `api_key:<id>` or `system`):
/// a member's name, or what kind of publisher it was.
pub fn publisher(created_by: &str, members: &[Member]) -> String {
    match created_by.split_once(':') {
        Some(("user", id)) => members
            .iter()
            .find(|m| m.user_id.to_string() == id)
            .map_or_else(|| "a former member".to_owned(), |m| m.name.clone()),
        Some(("api_key", _)) => "an API key".to_owned(),
        _ if created_by == "system" => "AutomateOS".to_owned(),
        _ => created_by.to_owned(),
    }
}

/// An RFC 3339 time as `2026-12-05 14:03 UTC` (times on the wire are UTC); other text as it is.
pub fn when(time: &str) -> String {
    let utc = time.ends_with('Z') || time.ends_with("+00:00");
    match (time.get(..10), time.get(10..11), time.get(11..16)) {
        (Some(day), Some("T"), Some(clock)) if utc => format!("{day} {clock} UTC"),
        _ => time.to_owned(),
    }
}

/// The versions picked for comparison: at most two, in the order they were picked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Picks(Vec<i64>);

impl Picks {
    /// Picks `version`, or unpicks it when it was picked; a third pick lets go of the first.
    pub fn toggle(&mut self, version: i64) {
        if let Some(at) = self.0.iter().position(|v| *v == version) {
            self.0.remove(at);
            return;
        }
        if self.0.len() == 2 {
            self.0.remove(0);
        }
        self.0.push(version);
    }

    pub fn contains(&self, version: i64) -> bool {
        self.0.contains(&version)
    }

    /// The two picked versions as (older, newer), once two are picked.
    pub fn pair(&self) -> Option<(i64, i64)> {
        match self.0.as_slice() {
            [a, b] => Some(((*a).min(*b), (*a).max(*b))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(n: i64) -> VersionSummary {
        VersionSummary {
            version: n,
            checksum: String::new(),
            created_by: "system".into(),
            created_at: "2026-12-05T00:10:11.123456Z".into(),
        }
    }

    #[test]
    fn newest_comes_first() {
        let listed = newest_first(vec![version(1), version(3), version(2)]);
        assert_eq!(listed.iter().map(|v| v.version).collect::<Vec<_>>(), [3, 2, 1]);
    }

    #[test]
    fn publishers_are_named() {
        let member: Member = serde_json::from_value(serde_json::json!({
            "user_id": "6c3bb4a9-3b37-4cf8-9e4e-3c8a6f0e5a11", "email": "v@example.test", "name": "Vera",
            "role": "editor", "created_at": "2026-12-05T00:00:00Z"
        }))
        .unwrap();
        let members = [member];
        assert_eq!(publisher("user:6c3bb4a9-3b37-4cf8-9e4e-3c8a6f0e5a11", &members), "Vera");
        assert_eq!(publisher("user:00000000-0000-4000-8000-000000000000", &members), "a former member");
        assert_eq!(publisher("api_key:6c3bb4a9-3b37-4cf8-9e4e-3c8a6f0e5a11", &members), "an API key");
        assert_eq!(publisher("system", &members), "AutomateOS");
    }

    #[test]
    fn times_read_to_the_minute() {
        assert_eq!(when("2026-12-05T00:10:11.123456Z"), "2026-12-05 00:10 UTC");
        assert_eq!(when("2026-12-05T00:10:11+00:00"), "2026-12-05 00:10 UTC");
        assert_eq!(when("yesterday"), "yesterday");
    }

    #[test]
    fn two_picks_make_a_pair_oldest_first() {
        let mut picks = Picks::default();
        picks.toggle(3);
        assert_eq!(picks.pair(), None);
        picks.toggle(1);
        assert_eq!(picks.pair(), Some((1, 3)));
        picks.toggle(2);
        assert_eq!(picks.pair(), Some((1, 2)), "a third pick lets go of the first");
        assert!(!picks.contains(3));
        picks.toggle(1);
        assert_eq!(picks.pair(), None);
        assert!(picks.contains(2));
    }
}
