//! Fuzz target: y-sync frames from an editor and a viewer into a doc room
//! (`aos_realtime::fuzzing::room_frames`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: {
        // The room turns a panic inside yrs's decoder into a refused frame (catch_unwind), but
        // libFuzzer's hook would abort on it first. Keep the report for every other panic: one
        // that escapes the room still aborts (the fuzz harness catches it and aborts).
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_yrs = info.location().is_some_and(|l| l.file().contains("/yrs-"));
            if !in_yrs {
                default_hook(info);
            }
        }));
    },
    |data: &[u8]| aos_realtime::fuzzing::room_frames(data)
);
