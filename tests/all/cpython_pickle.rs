//! make-pickle against CPython's own `SocketHandler.makePickle`, asked in
//! a python3 subprocess for every record.

use std::time::Duration;

use crate::common::{hex, plugin, python, run, script};
use pylog_host::records::{self, Defaults};
use pylog_host::PluginError;

/// Varied records: every `%` conversion we claim, mapping args, every extra
/// value type, unicode, None fields, huge and non-finite numbers, and records
/// CPython refuses to format.
const RECORDS: &[&str] = &[
    r#"{"msg": "plain"}"#,
    r#"{"msg": ""}"#,
    r#"{"msg": "héllo 世界 🎉 \u0000 nul"}"#,
    r#"{"msg": "user %s logged in", "args": ["ann"]}"#,
    r#"{"msg": "%d %i %d %d", "args": [-42, 7, 3.9, true]}"#,
    r#"{"msg": "%r %r %r", "args": ["it's", "say \"hi\"", "tab\tnew\nline"]}"#,
    r#"{"msg": "%f|%.2f|%10.3f|%-10.1f|%+.0f|%.0f", "args": [3.14159, 2.675, -1.5, 0.25, 0.5, 2.5]}"#,
    r#"{"msg": "%x %X %#x %o %#o %#X", "args": [255, 255, 255, 8, 8, -3054]}"#,
    r#"{"msg": "100%% sure %s", "args": ["yes"]}"#,
    r#"{"msg": "[%5s][%-5s][%05d][% d][%+d]", "args": ["ab", "ab", -42, 3, 3]}"#,
    r#"{"msg": "%e %E %g %G %g %g %.3g %#g", "args": [1234.5, 0.000123, 1e20, 1e-10, 100000.0, 1000000.0, 3.14159, 2.0]}"#,
    r#"{"msg": "%c%c%c", "args": [65, "é", 128512]}"#,
    r#"{"msg": "%(user)s has %(count)d items (%(ratio).1f%%)", "args": {"user": "bob", "count": 3, "ratio": 42.42}}"#,
    r#"{"msg": "extras", "b": true, "i": -9223372036854775807, "f": 0.1, "s": "str", "by": {"$bytes": "00ff27"}, "n": null}"#,
    r#"{"msg": "failed", "levelname": "ERROR", "exc_text": "Traceback (most recent call last):\n  File \"x.py\", line 1\nZeroDivisionError: division by zero"}"#,
    r#"{"msg": "where", "stack_info": "Stack (most recent call last):\n  File \"a.py\", line 3, in <module>"}"#,
    r#"{"msg": "huge", "lineno": 4611686018427387904, "thread": 140234567890123, "process": 2147483648}"#,
    r#"{"msg": "%s %s %s %f %e", "args": [{"$float": "nan"}, {"$float": "inf"}, {"$float": "-inf"}, {"$float": "nan"}, {"$float": "inf"}]}"#,
    r#"{"msg": "nones", "funcName": null, "threadName": null, "processName": null, "process": null, "thread": null}"#,
    r#"{"msg": "100% literal, no args"}"#,
    r#"{"msg": "100% literal, empty args", "args": []}"#,
    r#"{"msg": "%s and %r", "args": [{"$bytes": "68692700"}, {"$bytes": "2722"}]}"#,
    r#"{"msg": "%a %a", "args": ["é世", "plain"]}"#,
    r#"{"msg": "%s %s %s %s %s %s", "args": [1e16, 1e15, 0.1, 1e-5, 0.0001, -0.0]}"#,
    r#"{"msg": "custom level", "levelno": 5}"#,
    r#"{"msg": "named", "levelname": "WARN", "levelno": 30, "name": "app.db.pool"}"#,
    r#"{"msg": "long %s", "args": ["xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]}"#,
    r#"{"msg": "ctl \u0001\u001f\u007f \u00ad \u200b %r", "args": ["\u0001\u007f\u00ad\u200b\u2028é"]}"#,
    r#"{"msg": "%s %s %s", "args": [null, true, false]}"#,
    r#"{"msg": "%.3s|%5.2s|", "args": ["héllo", "wörld"]}"#,
    r#"{"msg": "%*d|%-*d|%.*f", "args": [5, 42, 4, 7, 2, 3.14159]}"#,
    r#"{"msg": "unicode extras", "ключ": "значение", "emoji_🎉": 1}"#,
    r#"{"msg": "task", "taskName": "Task-7"}"#,
    r#"{"msg": "times", "created": 1700000000.999999, "msecs": 999.0, "relativeCreated": 12345.678}"#,
    r#"{"msg": "path", "pathname": "/srv/app/handlers/web.py", "lineno": 88, "funcName": "handle"}"#,
    r#"{"msg": "%(missing)s", "args": {"present": 1}}"#,
    r#"{"msg": "%s %s", "args": [1]}"#,
    r#"{"msg": "%s", "args": [1, 2]}"#,
    r#"{"msg": "%d", "args": ["nope"]}"#,
    r#"{"msg": "%x", "args": [1.5]}"#,
    r#"{"msg": "%y", "args": [1]}"#,
    r#"{"msg": "%(a)s %s", "args": {"a": 1}}"#,
];

fn parity(protocol: u8) {
    let plugin = plugin();
    let mut pure = plugin.pure().expect("instantiate");
    let defaults = Defaults::default();
    let mut input = String::new();
    for line in RECORDS {
        let record = records::from_json_line(line, &defaults).unwrap_or_else(|e| panic!("{line}: {e:#}"));
        let (frame, error) = match pure.make_pickle(&record, protocol) {
            Ok(frame) => (serde_json::Value::String(hex(&frame)), serde_json::Value::Null),
            Err(e @ PluginError::Handler(_)) => (serde_json::Value::Null, serde_json::Value::String(e.to_string())),
            Err(trap) => panic!("{line}: the plugin trapped: {trap}"),
        };
        let case = serde_json::json!({"record": records::to_json(&record), "frame": frame, "error": error});
        input.push_str(&case.to_string());
        input.push('\n');
    }
    let mut cmd = python();
    cmd.arg(script("pickle_parity.py")).current_dir(script(""));
    let out = run(cmd, input.as_bytes(), Duration::from_secs(60));
    assert!(out.status.success(), "pickle_parity.py failed:\n{}", out.stderr);
    let results: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(
        results.len(),
        RECORDS.len(),
        "CPython answered {} of {} cases\n{}",
        results.len(),
        RECORDS.len(),
        out.stderr
    );
    let failures: Vec<String> = results
        .iter()
        .zip(RECORDS)
        .filter(|(r, _)| r["ok"] != true)
        .map(|(r, rec)| format!("{rec}\n    {}", r["why"]))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} records differ from CPython:\n{}",
        failures.len(),
        RECORDS.len(),
        failures.join("\n")
    );
}

#[test]
fn frames_unpickle_to_what_cpython_sends_protocol_3() {
    parity(3);
}

#[test]
fn frames_unpickle_to_what_cpython_sends_protocol_2() {
    parity(2);
}

#[test]
fn unsupported_protocols_are_typed_errors() {
    let mut pure = plugin().pure().expect("instantiate");
    let record = records::from_json_line(r#"{"msg": "x"}"#, &Defaults::default()).unwrap();
    for protocol in [0, 1, 4, 255] {
        match pure.make_pickle(&record, protocol) {
            Err(PluginError::Handler(pylog_host::HandlerError::BadConfig(m))) => {
                assert!(m.contains("use 3"), "{m}")
            }
            other => panic!("protocol {protocol}: {other:?}"),
        }
    }
    // The instance stays usable after typed errors.
    assert!(pure.make_pickle(&record, 3).is_ok());
}
