//! Fuzz target: JavaScript expressions through the n8n translator
//! (`aos_schema::fuzzing::n8n_expression`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| aos_schema::fuzzing::n8n_expression(data));
