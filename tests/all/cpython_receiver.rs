//! The component ships to a CPython stdlib receiver (the logging cookbook's
//! pattern) and every record arrives equal, field by field, to what CPython's
//! own SocketHandler would have sent.

use crate::common;

use std::time::{Duration, Instant};

use crate::common::records::{to_jsonl, varied};
use crate::common::Destination;
use crate::common::{finish_peer, pylog_bin, python_peer, run, script, write_config};
use pylog_host::bindings::Endpoint;

const N: usize = 10_000;

fn expected_file(name: &str, jsonl: &str) -> String {
    let path = std::env::temp_dir().join(format!("pylog-expected-{}-{name}.jsonl", std::process::id()));
    std::fs::write(&path, jsonl).expect("write");
    path.to_string_lossy().into_owned()
}

#[test]
fn ten_thousand_records_over_tcp_arrive_equal_and_in_order() {
    let records = varied(N);
    let jsonl = to_jsonl(&records);
    let expected = expected_file("tcp", &jsonl);
    let receiver = script("stream_receiver.py");
    let (peer, port, out) = python_peer(&[receiver.to_str().expect("path"), "tcp", &expected]);
    let config = write_config(
        "tcp10k",
        serde_json::json!({"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": port}),
    );
    let mut cmd = std::process::Command::new(pylog_bin());
    cmd.arg("emit").arg("--config").arg(&config);
    let emitted = run(cmd, jsonl.as_bytes(), Duration::from_secs(120));
    assert!(emitted.status.success(), "pylog emit: {}", emitted.stderr);
    assert!(
        emitted.stderr.contains(&format!("across 1 handlers: {N} sent (0 after waiting in the spool), 0 dropped")),
        "{}",
        emitted.stderr
    );
    let summary = finish_peer(peer, out, Duration::from_secs(120));
    assert_eq!(summary["received"], N, "{summary}");
    assert_eq!(summary["corrupt"], 0, "{summary}");
    assert_eq!(summary["mismatches"], serde_json::json!([]), "{summary}");
    assert_eq!(summary["in_order"], true, "{summary}");
}

#[test]
fn ten_thousand_records_over_udp_arrive_uncorrupted_with_loss_reported() {
    let records = varied(N);
    let expected = expected_file("udp", &to_jsonl(&records));
    let receiver = script("stream_receiver.py");
    let (peer, port, out) = python_peer(&[receiver.to_str().expect("path"), "udp", &expected]);
    let plugin = common::plugin();
    let config = common::socket_config(
        Destination::Udp(Endpoint { host: "127.0.0.1".into(), port }),
        common::socket_options(),
        true,
    );
    let mut handler = plugin.open(&config).expect("open");
    // A bounded send rate (about 50k records/s) so that a receiver on a
    // shared 2-core machine can keep up; loss is reported, not asserted.
    let start = Instant::now();
    for (i, r) in records.iter().enumerate() {
        handler.emit(r).expect("emit");
        if i % 100 == 99 {
            let due = Duration::from_micros(2_000 * (i as u64 + 1) / 100);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    let stats = handler.stats().expect("stats");
    assert_eq!((stats.emitted, stats.sent, stats.dropped), (N as u64, N as u64, 0));
    let summary = finish_peer(peer, out, Duration::from_secs(60));
    let received = summary["received"].as_u64().expect("received");
    println!("UDP: {received} of {N} datagrams arrived ({} lost)", N as u64 - received);
    assert!(received > 0 && received <= N as u64, "{summary}");
    assert_eq!(summary["corrupt"], 0, "{summary}");
    assert_eq!(summary["mismatches"], serde_json::json!([]), "{summary}");
}

#[test]
fn batches_coalesce_writes_and_still_arrive_equal_and_in_order() {
    let records = varied(N);
    let expected = expected_file("batch", &to_jsonl(&records));
    let receiver = script("stream_receiver.py");
    let (peer, port, out) = python_peer(&[receiver.to_str().expect("path"), "tcp", &expected]);
    let plugin = common::plugin();
    let config = common::socket_config(
        Destination::Tcp(Endpoint { host: "127.0.0.1".into(), port }),
        common::socket_options(),
        false,
    );
    let mut handler = plugin.open(&config).expect("open");
    for chunk in records.chunks(64) {
        let results = handler.emit_batch(chunk).expect("no trap");
        assert_eq!(results.len(), chunk.len());
        assert!(results.iter().all(Result::is_ok), "{results:?}");
    }
    // A record CPython would refuse gets its own error, in its place.
    let bad = pylog_host::records::from_json_line(r#"{"msg": "%d", "args": ["x"]}"#, &Default::default()).expect("r");
    let results = handler.emit_batch(&[bad]).expect("no trap");
    assert!(
        matches!(results.as_slice(), [Err(pylog_host::PluginError::Handler(pylog_host::HandlerError::BadRecord(_)))]),
        "{results:?}"
    );
    handler.close().expect("close");
    let s = handler.stats().expect("stats");
    assert_eq!((s.emitted, s.sent, s.dropped_invalid), (N as u64 + 1, N as u64, 1));
    let summary = finish_peer(peer, out, Duration::from_secs(120));
    assert_eq!(summary["received"], N, "{summary}");
    assert_eq!(summary["mismatches"], serde_json::json!([]), "{summary}");
    assert_eq!(summary["in_order"], true, "{summary}");
}
