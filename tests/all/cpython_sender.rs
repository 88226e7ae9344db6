//! CPython's own SocketHandler, DatagramHandler and SysLogHandler (UDP and
//! TCP) ship into `pylog listen`, which prints the right fields.

use std::time::Duration;

use crate::common::{pylog_listen, python, read_records, run, script};

#[test]
fn cpython_handlers_arrive_with_their_fields() {
    let (_listen, addrs, out) = pylog_listen(&[
        "--tcp",
        "127.0.0.1:0",
        "--udp",
        "127.0.0.1:0",
        "--syslog-udp",
        "127.0.0.1:0",
        "--syslog-tcp",
        "127.0.0.1:0",
    ]);
    let port = |input: &str| addrs.iter().find(|(i, _)| i == input).expect(input).1.port().to_string();
    let mut cmd = python();
    cmd.arg(script("cpython_sender.py")).args([port("tcp"), port("udp"), port("syslog-udp"), port("syslog-tcp")]);
    let sent = run(cmd, b"", Duration::from_secs(30));
    assert!(sent.status.success(), "{}", sent.stderr);
    let records = read_records(out, 12, Duration::from_secs(20));
    assert_eq!(records.len(), 12, "got {records:#?}");

    let pickled: Vec<_> = records.iter().filter(|r| r.get("pathname").is_some()).collect();
    assert_eq!(pickled.len(), 6, "SocketHandler and DatagramHandler records: {pickled:#?}");
    for r in &pickled {
        assert_eq!(r["name"], "cpy.sender");
        assert_eq!(r["args"], serde_json::Value::Null);
        assert!(r["pathname"].as_str().unwrap_or("").ends_with("cpython_sender.py"), "{r}");
        assert_eq!(r["funcName"], "<module>");
    }
    let by_msg = |m: &str| pickled.iter().filter(|r| r["msg"] == m).collect::<Vec<_>>();
    let hello = by_msg("hello world");
    assert_eq!(hello.len(), 2);
    assert!(hello.iter().all(|r| r["user"] == "ann" && r["levelname"] == "INFO" && r["levelno"] == 20));
    let failed = by_msg("failed 42");
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|r| r["levelname"] == "ERROR"
        && r["exc_text"].as_str().unwrap_or("").contains("ZeroDivisionError: division by zero")));
    assert_eq!(by_msg("ünïcode ✓").len(), 2);

    let syslog: Vec<_> = records.iter().filter(|r| r.get("facility").is_some()).collect();
    assert_eq!(syslog.len(), 6, "{syslog:#?}");
    assert!(syslog.iter().all(|r| r["facility"] == "local4"));
    let with = |m: &str, pri: &str| syslog.iter().filter(|r| r["msg"] == m && r["priority"] == pri).count();
    assert_eq!(with("cpy.sender: hello world", "info"), 2);
    assert_eq!(with("ünïcode ✓", "warning"), 0, "the formatter prefixes the logger name");
    assert_eq!(with("cpy.sender: ünïcode ✓", "warning"), 2);
    let failures: Vec<_> = syslog.iter().filter(|r| r["priority"] == "err").collect();
    assert_eq!(failures.len(), 2);
    assert!(failures.iter().all(|r| r["msg"].as_str().unwrap_or("").starts_with("cpy.sender: failed 42\nTraceback")));
}
