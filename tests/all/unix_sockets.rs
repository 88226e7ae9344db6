//! Unix domain sockets through the host's capability: `/dev/log`-style
//! syslog datagrams and `SocketHandler(path, None)` streams, limited to the
//! configured paths; without the capability, a typed `unsupported`.

use crate::common;

use std::collections::HashSet;
use std::io::Read;
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::process::Command;
use std::time::Duration;

use crate::common::Destination;
use crate::common::{plugin, pylog_bin, run, write_config};
use pylog_host::bindings::{HandlerConfig, SocketOptions};
use pylog_host::records::{self, Defaults};
use pylog_host::sandbox::Grants;
use pylog_host::{HandlerError, PluginError};

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pylog-unix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

const RECORDS: &str = "{\"msg\": \"hello %s\", \"args\": [\"dev-log\"], \"levelname\": \"ERROR\"}\n{\"msg\": \"two\", \"created\": 1700000000.0}\n";

#[test]
fn syslog_to_a_dev_log_style_socket_sends_cpythons_bytes() {
    let path = tmp("log.sock");
    let socket = UnixDatagram::bind(&path).expect("bind");
    socket.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let config = write_config(
        "unix-syslog",
        serde_json::json!({"class": "logging.handlers.SysLogHandler", "address": path, "facility": "auth"}),
    );
    // The records with every field fixed, so the dry run and the real run agree.
    let defaults = Defaults::default();
    let fixed: String = RECORDS
        .lines()
        .map(|l| {
            serde_json::Value::Object(records::to_json(&records::from_json_line(l, &defaults).expect("r"))).to_string()
                + "\n"
        })
        .collect();
    let mut dry = Command::new(pylog_bin());
    dry.args(["emit", "--dry-run", "--config"]).arg(&config);
    let dry = run(dry, fixed.as_bytes(), Duration::from_secs(30));
    assert!(dry.status.success(), "{}", dry.stderr);

    let mut cmd = Command::new(pylog_bin());
    cmd.arg("emit").arg("--config").arg(&config);
    let out = run(cmd, fixed.as_bytes(), Duration::from_secs(30));
    assert!(out.status.success(), "{}", out.stderr);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..2 {
        let n = socket.recv(&mut buf).expect("datagram");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, dry.stdout, "the datagrams are the dry-run bytes, which match CPython's");
    assert!(got.starts_with(b"<35>hello dev-log\0"), "{:?}", String::from_utf8_lossy(&got));
}

fn socket_config(destination: Destination) -> HandlerConfig {
    let options = SocketOptions { retry_start: 0.0, retry_max: 1.0, ..common::socket_options() };
    common::socket_config(destination, options, false)
}

#[test]
fn socket_handler_streams_to_a_unix_path() {
    let path = tmp("stream.sock");
    let listener = UnixListener::bind(&path).expect("bind");
    let reader = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        let mut all = Vec::new();
        conn.read_to_end(&mut all).expect("read");
        all
    });
    let plugin = plugin();
    let mut h = plugin.open(&socket_config(Destination::UnixStream(path.to_string_lossy().into()))).expect("open");
    let record = records::from_json_line(r#"{"msg": "over unix"}"#, &Defaults::default()).expect("record");
    let mut pure = plugin.pure().expect("pure");
    let frame = pure.make_pickle(&record, 3).expect("frame");
    h.emit(&record).expect("emit");
    h.emit(&record).expect("emit");
    h.close().expect("close");
    drop(h);
    let got = reader.join().expect("reader");
    assert_eq!(got, [frame.clone(), frame].concat());
}

#[test]
fn paths_not_granted_are_denied_and_a_host_without_the_capability_says_unsupported() {
    let path = tmp("other.sock");
    let _socket = UnixDatagram::bind(&path).expect("bind");
    let plugin = plugin();
    let record = records::from_json_line(r#"{"msg": "x"}"#, &Defaults::default()).expect("record");
    let options = SocketOptions { retry_start: 0.0, retry_max: 1.0, ..common::socket_options() };
    let config = common::socket_config(Destination::UnixDatagram(path.to_string_lossy().into()), options, true);

    let granted_elsewhere =
        Grants { unix: Some(HashSet::from(["/tmp/somewhere-else.sock".to_string()])), ..Default::default() };
    let mut h = plugin.open_with(&config, granted_elsewhere).expect("open");
    match h.emit(&record) {
        Err(PluginError::Handler(HandlerError::Denied(m))) => assert!(m.contains("not granted"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.denials().count(), 1);

    let mut h = plugin.open_with(&config, Grants::default()).expect("open");
    match h.emit(&record) {
        Err(PluginError::Handler(HandlerError::Unsupported(m))) => {
            assert!(m.contains("no unix socket capability"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    h.emit(&record).expect_err("still a typed error, the instance stays usable");
}
