//! Fuzz target: n8n workflow files through the n8n importer (`aos_schema::fuzzing::import_n8n`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| aos_schema::fuzzing::import_n8n(data));
