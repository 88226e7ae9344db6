//! Faults a network handler meets: a listener that comes up late, a refused
//! connection, a name that cannot resolve, a destination outside the
//! sandbox, an oversized datagram. Each is a typed error, each failed record
//! is counted, and the handler stays usable.

use crate::common;

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use crate::common::plugin;
use crate::common::Destination;
use pylog_host::bindings::{Endpoint, HandlerConfig, SocketOptions};
use pylog_host::records::{self, Defaults};
use pylog_host::sandbox::Grants;
use pylog_host::{HandlerError, LogRecord, PluginError};

/// Without a spool, as in issue 3 and in CPython: a record that cannot be
/// sent is dropped, and here it is counted and reported. (`tests/all/spool.rs`
/// covers the default, with a spool.)
fn socket_config(destination: Destination, retry_start: f64, datagram: bool) -> HandlerConfig {
    let options = SocketOptions { retry_start, retry_max: 2.0, ..common::socket_options() };
    let mut config = common::socket_config(destination, options, datagram);
    config.spool.max_records = 0;
    config
}

fn tcp(host: &str, port: u16) -> Destination {
    Destination::Tcp(Endpoint { host: host.into(), port })
}

fn record(msg: &str) -> LogRecord {
    records::from_json_line(&serde_json::json!({ "msg": msg }).to_string(), &Defaults::default()).expect("record")
}

/// A port with nothing listening on it (just released).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Counts frames on one listener until the sender closes.
fn count_frames(listener: TcpListener) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut msgs = Vec::new();
        listener.set_nonblocking(false).expect("blocking");
        let Ok((mut conn, _)) = listener.accept() else { return msgs };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
        loop {
            let mut len = [0u8; 4];
            if conn.read_exact(&mut len).is_err() {
                return msgs;
            }
            let mut body = vec![0; u32::from_be_bytes(len) as usize];
            if conn.read_exact(&mut body).is_err() {
                return msgs;
            }
            let v: serde_pickle::Value = serde_pickle::from_slice(&body, Default::default()).expect("pickle");
            if let serde_pickle::Value::Dict(d) = v {
                if let Some(serde_pickle::Value::String(m)) = d.get(&serde_pickle::HashableValue::String("msg".into()))
                {
                    msgs.push(m.clone());
                }
            }
        }
    })
}

#[test]
fn records_during_backoff_are_counted_and_delivery_resumes_on_schedule() {
    let port = closed_port();
    let plugin = plugin();
    let retry_start = 0.3;
    let mut h = plugin.open(&socket_config(tcp("127.0.0.1", port), retry_start, false)).expect("open");

    let first_failure = Instant::now();
    match h.emit(&record("lost 0")) {
        Err(PluginError::Handler(HandlerError::Io(m))) => assert!(m.contains("refused"), "{m}"),
        other => panic!("expected a refused connection, got {other:?}"),
    }
    match h.emit(&record("lost 1")) {
        Err(PluginError::Handler(HandlerError::Dropped(m))) => assert!(m.contains("next connection attempt"), "{m}"),
        other => panic!("expected a drop during the backoff, got {other:?}"),
    }
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("rebind the port");
    let received = count_frames(listener);

    let mut sent = Vec::new();
    let mut attempts = 2;
    let deadline = Instant::now() + Duration::from_secs(10);
    while sent.is_empty() {
        assert!(Instant::now() < deadline, "delivery never resumed");
        let msg = format!("try {attempts}");
        attempts += 1;
        match h.emit(&record(&msg)) {
            Ok(()) => {
                assert!(
                    first_failure.elapsed() >= Duration::from_secs_f64(retry_start),
                    "connected before the backoff ran out"
                );
                sent.push(msg);
            }
            Err(PluginError::Handler(HandlerError::Dropped(_))) => std::thread::sleep(Duration::from_millis(20)),
            Err(other) => panic!("{other}"),
        }
    }
    for i in 0..10 {
        let msg = format!("after {i}");
        h.emit(&record(&msg)).expect("connected");
        sent.push(msg);
    }
    let stats = h.stats().expect("stats");
    h.close().expect("close");
    drop(h);
    assert_eq!(stats.emitted, attempts as u64 + 10);
    assert_eq!(stats.sent, 11);
    assert_eq!(stats.dropped, stats.emitted - stats.sent, "every record is either sent or counted as dropped");
    assert_eq!(received.join().expect("receiver"), sent, "the receiver got exactly the records reported sent");
}

#[test]
fn refused_connection_is_typed_and_the_handler_stays_usable() {
    let plugin = plugin();
    let mut h = plugin.open(&socket_config(tcp("127.0.0.1", closed_port()), 0.0, false)).expect("open");
    for _ in 0..3 {
        match h.emit(&record("x")) {
            Err(PluginError::Handler(HandlerError::Io(m))) => assert!(m.contains("refused"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(h.stats().expect("stats").dropped, 3);
}

#[test]
fn a_name_that_cannot_resolve_is_a_typed_error_without_a_lookup() {
    match plugin().open(&socket_config(tcp("no such..host", 9020), 1.0, false)) {
        Err(PluginError::Handler(HandlerError::Io(m))) => assert!(m.contains("not a valid host name"), "{m}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("opened"),
    }
}

#[test]
fn a_destination_outside_the_grants_is_denied_and_counted() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let allowed: SocketAddr = listener.local_addr().expect("addr");
    let target = closed_port();
    let plugin = plugin();
    let mut grants = Grants::default();
    grants.allow(allowed, true, false);
    let mut h = plugin.open_with(&socket_config(tcp("127.0.0.1", target), 0.0, false), grants).expect("open");
    match h.emit(&record("x")) {
        Err(PluginError::Handler(HandlerError::Denied(m))) => assert!(m.contains("did not grant"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.denials().count(), 1);
    assert!(h.denials().recent()[0].contains(&format!("127.0.0.1:{target}")), "{:?}", h.denials().recent());
    assert_eq!(h.stats().expect("still usable").dropped, 1);
}

#[test]
fn ipv6_literals_and_localhost_names_connect() {
    let Ok(v6) = TcpListener::bind("[::1]:0") else {
        panic!("this machine has no IPv6 loopback; the test needs ::1");
    };
    let port6 = v6.local_addr().expect("addr").port();
    let got6 = count_frames(v6);
    let v4 = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port4 = v4.local_addr().expect("addr").port();
    let got4 = count_frames(v4);
    let plugin = plugin();
    for (host, port) in [("::1", port6), ("localhost", port4)] {
        let mut h = plugin.open(&socket_config(tcp(host, port), 1.0, false)).expect("open");
        h.emit(&record(&format!("to {host}"))).unwrap_or_else(|e| panic!("{host}: {e}"));
        h.close().expect("close");
    }
    assert_eq!(got6.join().expect("v6"), vec!["to ::1".to_string()]);
    assert_eq!(got4.join().expect("v4"), vec!["to localhost".to_string()]);
}

#[test]
fn an_oversized_datagram_is_a_typed_drop_not_a_truncation() {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = socket.local_addr().expect("addr").port();
    let plugin = plugin();
    let mut h = plugin
        .open(&socket_config(Destination::Udp(Endpoint { host: "127.0.0.1".into(), port }), 1.0, true))
        .expect("open");
    match h.emit(&record(&"x".repeat(70_000))) {
        Err(PluginError::Handler(HandlerError::Dropped(m))) => assert!(m.contains("UDP limit"), "{m}"),
        other => panic!("{other:?}"),
    }
    h.emit(&record("small")).expect("the handler stays usable");
    socket.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut buf = vec![0u8; 70_000];
    let n = socket.recv(&mut buf).expect("the small record arrives");
    assert!(n < 1000, "only the small record was sent ({n} bytes)");
    let stats = h.stats().expect("stats");
    assert_eq!((stats.sent, stats.dropped), (1, 1));
}
