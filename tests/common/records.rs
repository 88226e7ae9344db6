//! Generated records of realistic, varied shape for volume tests.

use pylog_host::records::{self, Defaults};
use pylog_host::LogRecord;

/// `n` records, each unique by message, cycling through shapes: `%`-args of
/// several kinds, extras of every type, unicode, exc_text, None fields.
pub fn varied(n: usize) -> Vec<LogRecord> {
    let defaults = Defaults::default();
    (0..n)
        .map(|i| {
            let line = match i % 6 {
                0 => format!(r#"{{"msg": "request %d handled in %s ms", "args": [{i}, "{}.5"], "name": "web.app", "levelname": "INFO", "user": "u{}", "ok": true}}"#, i % 997, i % 13),
                1 => format!(r#"{{"msg": "ünïcode ✓ 世界 #{i} %r", "args": ["q'uote"], "levelname": "WARNING", "ratio": {}.25}}"#, i % 7),
                2 => format!(r#"{{"msg": "failure {i}", "levelname": "ERROR", "exc_text": "Traceback (most recent call last):\n  File \"x.py\", line {i}\nValueError: {i}", "blob": {{"$bytes": "00ff{:02x}"}}}}"#, i % 256),
                3 => format!(r#"{{"msg": "%(who)s did %(n)d #{i}", "args": {{"who": "ann", "n": {i}}}, "levelno": 25, "funcName": null, "thread": {i}, "threadName": "T{i}"}}"#),
                4 => format!(r#"{{"msg": "debug {i} {}", "levelname": "DEBUG", "lineno": {i}, "pathname": "/srv/app/mod{}.py", "none": null}}"#, "x".repeat(i % 300), i % 5),
                _ => format!(r#"{{"msg": "%.2f%% done #{i}", "args": [{}.125], "levelname": "CRITICAL", "stack_info": "Stack:\n  line {i}"}}"#, i % 100),
            };
            records::from_json_line(&line, &defaults).unwrap_or_else(|e| panic!("{line}: {e:#}"))
        })
        .collect()
}

/// The records as JSON lines, the form both `pylog emit` and the Python
/// peers read.
pub fn to_jsonl(records: &[LogRecord]) -> String {
    records.iter().map(|r| serde_json::Value::Object(records::to_json(r)).to_string() + "\n").collect()
}
