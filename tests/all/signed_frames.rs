//! HMAC-signed frames from the component, checked by `pylog listen
//! --hmac-key-file` and by `examples/secure_receiver.py`: the valid frame is
//! accepted by both; a change to any single byte, a replay, and an unsigned
//! frame are refused by both.

use crate::common;

use std::io::{BufRead, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use crate::common::Destination;
use crate::common::{plugin, pylog_listen_logged, python, read_records};
use pylog_host::bindings::{Endpoint, HandlerConfig, SocketOptions};
use pylog_host::records::{self, Defaults};

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

/// One file per test: the tests run in parallel, and rewriting a shared
/// file would let a receiver read it half-written.
fn key_file(test: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("pylog-hmac-{}-{test}.key", std::process::id()));
    std::fs::write(&p, KEY).expect("key");
    p
}

fn config(destination: Destination, datagram: bool) -> HandlerConfig {
    let options = SocketOptions { hmac_key: Some(KEY.to_vec()), ..common::socket_options() };
    common::socket_config(destination, options, datagram)
}

/// Two signed frames made by the component, and one plain frame.
fn frames() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let plugin = plugin();
    let mut h = plugin.open(&config(Destination::Memory, false)).expect("open");
    let mut out = Vec::new();
    let mut plain = plugin.pure().expect("pure");
    let defaults = Defaults::default();
    let mut unsigned = Vec::new();
    for msg in ["signed hello", "second"] {
        let r =
            records::from_json_line(&serde_json::json!({"msg": msg, "user": "ann"}).to_string(), &defaults).expect("r");
        h.emit(&r).expect("emit");
        out.push(h.take_output().expect("output"));
        unsigned = plain.make_pickle(&r, 3).expect("plain");
    }
    (out.remove(0), out.remove(0), unsigned)
}

/// Sends bytes on a new connection and waits until the receiver closes it,
/// so that everything sent has been judged before the next step.
fn send(addr: SocketAddr, bytes: &[u8]) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(bytes).expect("write");
    s.shutdown(Shutdown::Write).expect("shutdown");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
}

fn tampered(frame: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    (0..frame.len()).map(move |i| {
        let mut t = frame.to_vec();
        t[i] ^= 0x01;
        t
    })
}

#[test]
fn pylog_listen_accepts_only_untampered_fresh_signed_frames() {
    let (first, second, unsigned) = frames();
    let key = key_file("listen");
    let (_listen, addrs, out, log) =
        pylog_listen_logged(&["--tcp", "127.0.0.1:0", "--hmac-key-file", key.to_str().expect("path")]);
    let addr = addrs[0].1;
    let mut attacks = 0;
    for t in tampered(&first) {
        send(addr, &t);
        attacks += 1;
    }
    send(addr, &unsigned);
    send(addr, &first);
    send(addr, &first); // replay
    send(addr, &second);
    let records = read_records(out, 2, Duration::from_secs(20));
    // Each frame came on its own connection, and the receiver serves
    // connections concurrently: their order between them is not promised.
    let mut msgs: Vec<_> = records.iter().map(|r| r["msg"].as_str().expect("msg").to_string()).collect();
    msgs.sort();
    assert_eq!(msgs, vec!["second", "signed hello"], "only the two genuine frames");
    // Rejections are logged by their own connections' tasks: wait (bounded) for them all.
    let rejections = || log.lock().expect("log").iter().filter(|l| l.contains("rejected")).count();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while rejections() < attacks + 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = log.lock().expect("log").clone();
    let rejected = log.iter().filter(|l| l.contains("rejected")).count();
    assert!(
        rejected >= attacks + 2,
        "{rejected} rejections for {attacks} tampered frames + unsigned + replay:\n{log:?}"
    );
    assert!(log.iter().any(|l| l.contains("bad signature")), "{log:?}");
    assert!(log.iter().any(|l| l.contains("unsigned frame refused")), "{log:?}");
    assert!(log.iter().any(|l| l.contains("replayed frame")), "{log:?}");
    assert!(!log.iter().any(|l| l.contains(std::str::from_utf8(KEY).expect("ascii"))), "the key leaked into the log");
}

#[test]
fn secure_receiver_example_agrees() {
    let (first, second, unsigned) = frames();
    let key = key_file("example");
    let example = common::package_root().join("examples/secure_receiver.py");
    let attacks: Vec<Vec<u8>> = tampered(&first).collect();
    let connections = attacks.len() + 4;
    let mut child = python()
        .arg(&example)
        .arg(&key)
        .args(["--connections", &connections.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn secure_receiver.py");
    let peer_out = child.stdout.take().expect("stdout");
    let _guard = common::Peer(child);
    let mut out = std::io::BufReader::new(peer_out);
    let mut line = String::new();
    out.read_line(&mut line).expect("ready");
    let port: u16 = line.trim().strip_prefix("ready ").and_then(|p| p.parse().ok()).expect("ready PORT");
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    for t in &attacks {
        send(addr, t);
    }
    send(addr, &unsigned);
    send(addr, &first);
    send(addr, &first);
    send(addr, &second);
    let mut verdicts = Vec::new();
    for l in out.lines().map_while(Result::ok) {
        verdicts.push(serde_json::from_str::<serde_json::Value>(&l).expect("json"));
    }
    let accepted: Vec<_> = verdicts.iter().filter(|v| v["ok"] == true).map(|v| v["record"]["msg"].clone()).collect();
    assert_eq!(accepted, vec!["signed hello", "second"], "{verdicts:#?}");
    assert!(verdicts.iter().any(|v| v["why"].as_str().is_some_and(|w| w.contains("replayed"))));
    assert!(verdicts.len() > attacks.len(), "every tampered frame got a verdict");
}

#[test]
fn datagram_handler_signs_too() {
    let key = key_file("datagram");
    let (_listen, addrs, out, _log) =
        pylog_listen_logged(&["--udp", "127.0.0.1:0", "--hmac-key-file", key.to_str().expect("path")]);
    let port = addrs[0].1.port();
    let plugin = plugin();
    let mut h =
        plugin.open(&config(Destination::Udp(Endpoint { host: "127.0.0.1".into(), port }), true)).expect("open");
    let r = records::from_json_line(r#"{"msg": "signed datagram"}"#, &Defaults::default()).expect("r");
    h.emit(&r).expect("emit");
    let records = read_records(out, 1, Duration::from_secs(20));
    assert_eq!(records.first().map(|r| r["msg"].clone()), Some("signed datagram".into()));
}
