//! Fuzz target: webhook headers and bodies through verification and parsing
//! (`aos_actors::fuzzing::webhook_delivery`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| aos_actors::fuzzing::webhook_delivery(data));
