#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| gridcase_fuzz::run(gridcase_fuzz::inspect, data));
