//! An untrusted plugin in the host's sandbox: it tries to connect where its
//! configuration does not point, resolve names, read files, read the
//! environment, spin forever and eat memory. Every attempt is refused or cut
//! off, the host reports it, and a legitimate handler next to it keeps
//! shipping.

use crate::common;

use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::common::Destination;
use crate::common::{plugin, target_dir};
use pylog_host::bindings::{Endpoint, HandlerConfig};
use pylog_host::records::{self, Defaults};
use pylog_host::runtime::Limits;
use pylog_host::{HandlerError, LogRecord, Plugin, PluginError};

fn hostile() -> Plugin {
    let path = target_dir().join("wasm32-wasip2/component/hostile_plugin.wasm");
    let bytes =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run `make test`, which builds it)", path.display()));
    Plugin::from_bytes(&bytes, Some(&target_dir().join("pylog-cache")))
        .expect("load hostile plugin")
        .with_limits(Limits { memory_bytes: 40 << 20, call_deadline: Duration::from_millis(300), ..Limits::default() })
}

fn config(port: u16) -> HandlerConfig {
    // An IP literal: the plugin is granted no name lookup at all.
    common::socket_config(
        Destination::Tcp(Endpoint { host: "127.0.0.1".into(), port }),
        common::socket_options(),
        false,
    )
}

fn record(msg: &str) -> LogRecord {
    records::from_json_line(&serde_json::json!({ "msg": msg }).to_string(), &Defaults::default()).expect("record")
}

fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.set_nonblocking(true).expect("nonblocking");
    let port = l.local_addr().expect("addr").port();
    (l, port)
}

fn handler_error(r: Result<(), PluginError>) -> HandlerError {
    match r {
        Err(PluginError::Handler(e)) => e,
        other => panic!("expected a typed refusal, got {other:?}"),
    }
}

#[test]
fn every_escape_is_refused_or_cut_off_and_the_legitimate_plugin_keeps_shipping() {
    let (allowed, allowed_port) = listener();
    let (forbidden, forbidden_port) = listener();
    let mut bad = hostile().open(&config(allowed_port)).expect("open hostile");
    let good_plugin = plugin();
    let mut good = good_plugin.open(&config(allowed_port)).expect("open legitimate");
    let mut good_sent = 0;
    let mut ship = |good: &mut pylog_host::Handler| {
        good.emit(&record("legitimate")).expect("the legitimate handler ships");
        good_sent += 1;
    };

    // Another address on loopback, TCP and UDP: each attempt refused and counted.
    let before = bad.denials().count();
    let e = handler_error(bad.emit(&record(&format!("connect 127.0.0.1:{forbidden_port}"))));
    assert!(matches!(e, HandlerError::Io(ref m) if m.contains("ermission denied")), "{e:?}");
    let e = handler_error(bad.emit(&record(&format!("udp 127.0.0.1:{forbidden_port}"))));
    assert!(matches!(e, HandlerError::Io(ref m) if m.contains("ermission denied") || m.contains("denied")), "{e:?}");
    // The host's datagram capability checks the same grants.
    let e = handler_error(bad.emit(&record(&format!("udp-host 127.0.0.1:{forbidden_port}"))));
    assert!(matches!(e, HandlerError::Io(ref m) if m.contains("Denied") && m.contains("not granted")), "{e:?}");
    assert!(
        bad.denials().recent().iter().any(|d| d == &format!("UdpSend 127.0.0.1:{forbidden_port}")),
        "{:?}",
        bad.denials().recent()
    );
    // The host's TLS capability: this handler names no TLS destination.
    let e = handler_error(bad.emit(&record(&format!("tls 127.0.0.1:{forbidden_port}"))));
    assert!(matches!(e, HandlerError::Io(ref m) if m.contains("Denied") && m.contains("not granted")), "{e:?}");
    assert!(
        bad.denials().recent().iter().any(|d| d == &format!("TLS 127.0.0.1:{forbidden_port}")),
        "{:?}",
        bad.denials().recent()
    );
    assert!(bad.denials().count() >= before + 4, "every refusal is counted: {:?}", bad.denials().recent());
    assert!(
        bad.denials().recent().iter().any(|d| d.contains(&forbidden_port.to_string())),
        "{:?}",
        bad.denials().recent()
    );
    ship(&mut good);

    // Name lookup is not granted (the destination is an IP literal); no
    // query leaves the host, and the attempt is counted with the name.
    let before = bad.denials().count();
    let e = handler_error(bad.emit(&record("resolve example.com")));
    assert!(!format!("{e:?}").contains("resolved"), "{e:?}");
    assert_eq!(bad.denials().count(), before + 1, "{:?}", bad.denials().recent());
    assert!(bad.denials().recent().iter().any(|d| d.contains("example.com")), "{:?}", bad.denials().recent());
    // No preopened directory, no environment.
    let e = handler_error(bad.emit(&record("read /etc/passwd")));
    assert!(matches!(e, HandlerError::Io(_)), "{e:?}");
    bad.emit(&record("env")).expect("the environment is empty");
    ship(&mut good);

    // Spinning is cut off by the epoch deadline; the host reports a trap and
    // the next call gets a fresh instance.
    let start = Instant::now();
    match bad.emit(&record("spin")) {
        Err(PluginError::Trap(e)) => assert!(format!("{e:#}").contains("CPU deadline"), "{e:#}"),
        other => panic!("spin was not cut off: {other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
    ship(&mut good);
    match bad.emit(&record("eat")) {
        Err(PluginError::Trap(e)) => assert!(format!("{e:#}").contains("memory"), "{e:#}"),
        other => panic!("memory was not capped: {other:?}"),
    }
    assert_eq!(bad.traps(), 2);
    bad.emit(&record("nothing")).expect("a fresh instance serves again");
    ship(&mut good);

    good.close().expect("close");
    drop(good);
    // The legitimate records arrived; nothing reached the forbidden listener.
    allowed.set_nonblocking(false).expect("blocking");
    let mut frames = 0;
    let (mut conn, _) = allowed.accept().expect("the legitimate handler connected");
    conn.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut all = Vec::new();
    conn.read_to_end(&mut all).expect("read");
    let mut rest = &all[..];
    while rest.len() >= 4 {
        let n = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        rest = &rest[4 + n..];
        frames += 1;
    }
    assert_eq!(frames, good_sent);
    assert!(forbidden.accept().is_err(), "the forbidden listener must see no connection");
}

#[test]
fn sockets_are_capped_per_instance_and_every_refused_destination_is_counted() {
    let (_receiver, port) = listener();
    let udp_receiver = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp bind");
    let udp_port = udp_receiver.local_addr().expect("addr").port();
    let limits = Limits { max_sockets: 8, ..hostile().limits().clone() };
    let udp_config = common::socket_config(
        Destination::Udp(Endpoint { host: "127.0.0.1".into(), port: udp_port }),
        common::socket_options(),
        true,
    );
    // Granted one UDP address, the plugin tries to hold 10,000 sockets.
    let mut hoarder = hostile().with_limits(limits.clone()).open(&udp_config).expect("open");
    let before = hoarder.denials().count();
    let e = handler_error(hoarder.emit(&record("hoard 10000")));
    assert!(matches!(e, HandlerError::Io(ref m) if m.contains("held 8 sockets")), "{e:?}");
    assert_eq!(hoarder.denials().count(), before + 1, "{:?}", hoarder.denials().recent());
    assert!(hoarder.denials().recent().iter().any(|d| d.contains("--max-sockets")), "{:?}", hoarder.denials().recent());
    // Sockets the plugin closed no longer count: it may hold 8 again.
    let mut fresh = hostile().with_limits(limits).open(&udp_config).expect("open");
    fresh.emit(&record("hoard 8")).expect("8 sockets are within the cap");

    // Destinations wasmtime-wasi rejects before its address check are
    // refused and counted too, each named.
    let mut bad = hostile().open(&config(port)).expect("open");
    let attempts = [
        format!("connect 0.0.0.0:{port}"),
        format!("connect [::ffff:127.0.0.1]:{port}"),
        format!("connect [::]:{port}"),
        format!("connect 255.255.255.255:{port}"),
    ];
    for attempt in &attempts {
        let before = bad.denials().count();
        let e = handler_error(bad.emit(&record(attempt)));
        assert!(matches!(e, HandlerError::Io(_)), "{attempt}: {e:?}");
        assert_eq!(bad.denials().count(), before + 1, "{attempt}: {:?}", bad.denials().recent());
    }
    let mut sender = hostile().open(&udp_config).expect("open");
    let before = sender.denials().count();
    handler_error(sender.emit(&record(&format!("udp 0.0.0.0:{udp_port}"))));
    assert_eq!(sender.denials().count(), before + 1, "{:?}", sender.denials().recent());
}
