//! Fuzz target: export files through the importer and back (`aos_schema::fuzzing::import_export`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| aos_schema::fuzzing::import_export(data));
