//! Python `%` formatting and `Formatter`: any format string against a few
//! argument shapes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pylog_handlers::python::formatter::Formatter;
use pylog_handlers::python::percent::format;
use pylog_handlers::python::record::{Args, LogRecord, Value};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let values = vec![
        Value::Int(i64::MIN),
        Value::Float(f64::NAN),
        Value::Str("é\u{0}".into()),
        Value::Bytes(vec![0, 255]),
        Value::Bool(true),
        Value::None,
        Value::Float(-1e308),
        Value::Int(42),
    ];
    let _ = format(&text, &Args::Tuple(values.clone()));
    let mapping = values.iter().enumerate().map(|(i, v)| (format!("k{i}"), v.clone())).collect();
    let _ = format(&text, &Args::Mapping(mapping));
    if let Ok(f) = Formatter::new(Some(&text), Some(&text), '%', -3600, "X") {
        let _ = f.format(&LogRecord::new("fuzz", 20, &text, 1.7e9));
    }
});
