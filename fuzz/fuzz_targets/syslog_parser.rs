//! The syslog receiver's framing and message parsing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pylog_host::syslog_parse::{record_from_message, split_stream};

fuzz_target!(|data: &[u8]| {
    if let Ok((messages, used)) = split_stream(data, 4096) {
        assert!(used <= data.len());
        for m in messages {
            let _ = record_from_message(&m, 0.0, "fuzz");
        }
    }
    let _ = record_from_message(data, 0.0, "fuzz");
});
