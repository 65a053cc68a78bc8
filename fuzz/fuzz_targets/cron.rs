//! Fuzz target: cron triggers through the schedule parser (`aos_actors::fuzzing::cron`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| aos_actors::fuzzing::cron(data));
