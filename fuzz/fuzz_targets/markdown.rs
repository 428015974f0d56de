#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    markup::fuzzing::markdown(data);
});
