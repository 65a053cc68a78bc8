//! Fuzz target: graphs through the validator and the compiler (`aos_schema::fuzzing::graph_compile`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| aos_schema::fuzzing::graph_compile(data));
