//! Fuzz target: config strings through the expression engine (`aos_engine_link::fuzzing::expression`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| aos_engine_link::fuzzing::expression(data));
