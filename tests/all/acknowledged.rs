//! Acknowledged mode against `pylog listen`, which is SIGKILLed mid-stream
//! (records in flight) and restarted: every record arrives at least once,
//! and the only duplicates are records unacknowledged at the kill (at most
//! the ack window). Plain mode in the same scenario loses what was in
//! flight; the test prints how many, and what the handler said of it (a
//! receiver killed with unread data resets the connection, and the records
//! written on it count as unconfirmed).

use crate::common;

use std::io::BufRead;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::Destination;
use crate::common::{plugin, Peer};
use pylog_host::bindings::{Endpoint, Overflow, SocketOptions};
use pylog_host::records::{self, Defaults};

const N: usize = 100_000;
const KILL_AT: usize = 30_000;
const WINDOW: u32 = 1024;

/// `pylog listen` on `port` (0: any); its msgs are pushed into `sink`, and
/// when `kill_at` lines have been read the process is SIGKILLed.
fn listen(port: u16, sink: Arc<Mutex<Vec<String>>>, kill_at: Option<usize>) -> (Arc<Mutex<Peer>>, u16) {
    let (peer, addrs, out, _log) = common::pylog_listen_logged(&["--tcp", &format!("127.0.0.1:{port}")]);
    let port = addrs[0].1.port();
    let peer = Arc::new(Mutex::new(peer));
    let killer = peer.clone();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let v: serde_json::Value = serde_json::from_str(&line).expect("json");
            let mut s = sink.lock().expect("sink");
            s.push(v["msg"].as_str().unwrap_or("").to_string());
            if Some(s.len()) == kill_at {
                let _ = killer.lock().expect("child").0.kill();
            }
        }
    });
    (peer, port)
}

fn stop(peer: &Arc<Mutex<Peer>>) {
    let mut p = peer.lock().expect("child");
    let _ = p.0.kill();
    let _ = p.0.wait();
}

/// What one run of the scenario saw: the records from the first receiver
/// and from the second, the handler's counters, and how its close went.
type Seen = (Vec<String>, Vec<String>, pylog_host::bindings::HandlerStats, Result<(), pylog_host::PluginError>);

fn scenario(ack_window: u32) -> Seen {
    let first = Arc::new(Mutex::new(Vec::new()));
    let second = Arc::new(Mutex::new(Vec::new()));
    let (a, port) = listen(0, first.clone(), Some(KILL_AT));
    let options = SocketOptions { ack_window, retry_start: 0.2, retry_max: 0.5, ..common::socket_options() };
    let mut config =
        common::socket_config(Destination::Tcp(Endpoint { host: "127.0.0.1".into(), port }), options, false);
    config.spool.max_records = 200_000;
    config.spool.max_bytes = 24 << 20;
    config.spool.overflow = Overflow::Block;
    config.spool.flush_timeout = 60.0;
    let mut h = plugin().open(&config).expect("open");
    let defaults = Defaults::default();
    let mut b = None;
    for i in 0..N {
        let r = records::from_json_line(&serde_json::json!({ "msg": format!("ack-{i}") }).to_string(), &defaults)
            .expect("record");
        h.emit(&r).expect("accepted");
        // Restart the receiver as soon as the first one is dead.
        if b.is_none() && a.lock().expect("child").0.try_wait().ok().flatten().is_some() {
            b = Some(listen(port, second.clone(), None).0);
        }
    }
    if b.is_none() {
        let _ = a.lock().expect("child").0.wait();
        b = Some(listen(port, second.clone(), None).0);
    }
    let closed = h.close();
    let stats = h.stats().expect("stats");
    stop(&a);
    let b = b.expect("second receiver");
    if ack_window > 0 {
        // Acknowledgements come after printing, so all is printed; the
        // reader thread may still be draining the pipe.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while first.lock().expect("a").len() + second.lock().expect("b").len() < N
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
    } else {
        std::thread::sleep(Duration::from_millis(500));
    }
    stop(&b);
    let a = first.lock().expect("a").clone();
    let b = second.lock().expect("b").clone();
    (a, b, stats, closed)
}

#[test]
fn acknowledged_mode_delivers_every_record_at_least_once_across_a_receiver_kill() {
    let (a, b, stats, closed) = scenario(WINDOW);
    closed.expect("everything acknowledged");
    let mut all: Vec<&String> = a.iter().chain(b.iter()).collect();
    let total = all.len();
    all.sort();
    all.dedup();
    let duplicates = total - all.len();
    println!(
        "acknowledged mode: first receiver {} records, second {}, unique {} of {N}, duplicates {duplicates} (window {WINDOW}), resent {}",
        a.len(),
        b.len(),
        all.len(),
        stats.replayed
    );
    assert!(a.len() >= KILL_AT, "the kill came mid-stream, after {KILL_AT} records");
    assert_eq!(all.len(), N, "every record arrived at least once");
    assert!(duplicates <= WINDOW as usize, "only records in flight at the kill come twice: {duplicates}");
    assert_eq!((stats.sent, stats.dropped, stats.spooled), (N as u64, 0, 0), "{stats:?}");

    let (pa, pb, plain_stats, plain_closed) = scenario(0);
    let mut plain: Vec<&String> = pa.iter().chain(pb.iter()).collect();
    plain.sort();
    plain.dedup();
    println!(
        "plain mode, same scenario: {} of {N} arrived, {} lost in flight; {} counted unconfirmed; close: {plain_closed:?}",
        plain.len(),
        N - plain.len(),
        plain_stats.dropped_unconfirmed
    );
    if let Err(e) = plain_closed {
        assert!(e.to_string().contains("reset the connection"), "{e}");
    }
}

/// `examples/ack_receiver.py`, a few lines of stdlib Python, speaks the
/// protocol: every record arrives, and every one is acknowledged.
#[test]
fn the_python_ack_receiver_example_interoperates() {
    let example = common::package_root().join("examples/ack_receiver.py");
    let mut child = common::python()
        .arg(&example)
        .args(["--connections", "1"])
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("ack_receiver.py");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let _guard = common::Peer(child);
    let mut ready = String::new();
    out.read_line(&mut ready).expect("ready");
    let port: u16 = ready.trim().strip_prefix("ready ").and_then(|p| p.parse().ok()).expect("port");
    let options = SocketOptions { ack_window: 64, ..common::socket_options() };
    let config = common::socket_config(Destination::Tcp(Endpoint { host: "127.0.0.1".into(), port }), options, false);
    let mut h = plugin().open(&config).expect("open");
    let defaults = Defaults::default();
    for i in 0..1000 {
        let r = records::from_json_line(&serde_json::json!({"msg": "py %d", "args": [i]}).to_string(), &defaults)
            .expect("record");
        h.emit(&r).expect("emit");
    }
    h.close().expect("every record acknowledged");
    let s = h.stats().expect("stats");
    assert_eq!((s.sent, s.spooled, s.dropped), (1000, 0, 0), "{s:?}");
    let got: Vec<String> = out
        .lines()
        .map_while(Result::ok)
        .map(|l| serde_json::from_str::<serde_json::Value>(&l).expect("json")["msg"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(got, (0..1000).map(|i| format!("py {i}")).collect::<Vec<_>>());
}
