//! The dictConfig loader, JSON and TOML.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pylog_host::dictconfig::{parse_str, LocalTime};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let local = LocalTime { utc_offset_seconds: 0, tz_name: "UTC".into() };
    let _ = parse_str(&text, false, &local);
    let _ = parse_str(&text, true, &local);
});
