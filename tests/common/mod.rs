//! What every integration test needs: the built component, the `pylog`
//! binary, and peers (python3 scripts, rsyslog) run with a deadline.

#![allow(dead_code, reason = "a helper may serve one area only")]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pylog_host::Plugin;

pub mod certs;
pub mod records;

/// `target/`, found from this test binary (`target/<profile>/deps/NAME`), so
/// `CARGO_TARGET_DIR` anywhere works.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors().nth(3).expect("target dir").to_path_buf()
}

pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors().nth(2).expect("profile dir").to_path_buf()
}

pub fn component_path() -> PathBuf {
    let p = target_dir().join("wasm32-wasip2/component/pylog_handlers.wasm");
    assert!(p.exists(), "{} is missing: run `make build` (or `make test`) first", p.display());
    p
}

pub fn pylog_bin() -> PathBuf {
    let p = profile_dir().join("pylog");
    assert!(p.exists(), "{} is missing: run `make test`, which builds it first", p.display());
    p
}

pub fn plugin() -> Plugin {
    let bytes = std::fs::read(component_path()).expect("read component");
    Plugin::from_bytes(&bytes, Some(&target_dir().join("pylog-cache"))).expect("load plugin")
}

/// The package root, found when the test runs (cargo sets
/// CARGO_MANIFEST_DIR for it): a test binary built in another checkout that
/// shares the target directory must not run that checkout's helpers.
pub fn package_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// The helper scripts beside the tests.
pub fn script(name: &str) -> PathBuf {
    package_root().join("tests/python").join(name)
}

pub fn python() -> Command {
    let venv = package_root().join(".venv/bin/python3");
    Command::new(if venv.exists() { venv } else { PathBuf::from("python3") })
}

pub struct Output {
    pub status: std::process::ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Runs `cmd` with `stdin`, killing it if it outlives `limit`.
pub fn run(mut cmd: Command, stdin: &[u8], limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status =
        wait_deadline(&mut child, limit).unwrap_or_else(|| panic!("{cmd:?} ran past {limit:?} and was killed"));
    let _ = writer.join();
    Output { status, stdout: out_t.join().unwrap_or_default(), stderr: err_t.join().unwrap_or_default() }
}

/// Waits for `child` until `limit`; kills it and returns None past that.
pub fn wait_deadline(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A background process stopped when the test ends, pass or fail.
pub struct Peer(pub Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

/// Starts a python3 helper that prints "ready PORT" first, and returns it
/// with the port.
pub fn python_peer(args: &[&str]) -> (Peer, u16, std::io::BufReader<std::process::ChildStdout>) {
    use std::io::BufRead;
    let mut cmd = python();
    cmd.args(args).current_dir(script("")).stdout(Stdio::piped()).stderr(Stdio::inherit()).stdin(Stdio::null());
    let mut child = cmd.spawn().expect("spawn python3");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("ready line");
    let port = line.trim().strip_prefix("ready ").and_then(|p| p.parse().ok()).unwrap_or_else(|| {
        panic!("{args:?} did not say it was ready: {line:?}");
    });
    (Peer(child), port, out)
}

/// Reads the peer's last line (its JSON summary), waiting at most `limit`.
pub fn finish_peer(
    mut peer: Peer,
    mut out: std::io::BufReader<std::process::ChildStdout>,
    limit: Duration,
) -> serde_json::Value {
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let status = wait_deadline(&mut peer.0, limit).unwrap_or_else(|| panic!("peer ran past {limit:?} and was killed"));
    let text = reader.join().unwrap_or_default();
    assert!(status.success(), "peer failed: {text}");
    let last = text.lines().last().unwrap_or_else(|| panic!("peer printed nothing"));
    serde_json::from_str(last).unwrap_or_else(|e| panic!("peer summary {last:?}: {e}"))
}

/// A dictConfig document with one handler entry.
pub fn write_config(name: &str, handler: serde_json::Value) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pylog-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join("config.json");
    std::fs::write(&path, serde_json::json!({"version": 1, "handlers": {"h": handler}}).to_string()).expect("write");
    path
}

/// `pylog listen` with the given arguments; returns it with the addresses
/// from its ready line (`input=addr` pairs) and its stdout.
pub fn pylog_listen(
    args: &[&str],
) -> (Peer, Vec<(String, std::net::SocketAddr)>, std::io::BufReader<std::process::ChildStdout>) {
    let (peer, addrs, out, _log) = pylog_listen_logged(args);
    (peer, addrs, out)
}

/// What `pylog listen` has said on stderr so far.
pub type Log = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// As `pylog_listen`, also keeping what it says on stderr.
pub fn pylog_listen_logged(
    args: &[&str],
) -> (Peer, Vec<(String, std::net::SocketAddr)>, std::io::BufReader<std::process::ChildStdout>, Log) {
    use std::io::BufRead;
    let mut child = Command::new(pylog_bin())
        .arg("listen")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pylog listen");
    let mut err = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    err.read_line(&mut line).expect("ready line");
    let addrs = line
        .trim()
        .strip_prefix("pylog listen: ready ")
        .unwrap_or_else(|| panic!("pylog listen did not get ready: {line:?}"))
        .split(' ')
        .map(|pair| {
            let (input, addr) = pair.split_once('=').expect("input=addr");
            (input.to_string(), addr.parse().expect("addr"))
        })
        .collect();
    // Keep draining stderr so the listener never blocks on a full pipe;
    // what it says is echoed for failing tests.
    let log: Log = Default::default();
    let kept = log.clone();
    std::thread::spawn(move || {
        let mut l = String::new();
        while err.read_line(&mut l).map(|n| n > 0).unwrap_or(false) {
            eprint!("[listen] {l}");
            if let Ok(mut v) = kept.lock() {
                v.push(l.clone());
            }
            l.clear();
        }
    });
    let out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    (Peer(child), addrs, out, log)
}

/// Reads up to `n` JSON lines from `out`, giving up at `limit`.
pub fn read_records(
    out: std::io::BufReader<std::process::ChildStdout>,
    n: usize,
    limit: Duration,
) -> Vec<serde_json::Value> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok).take(n) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    while got.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => got.push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"))),
            Err(_) => break,
        }
    }
    got
}

/// CPython's SocketHandler defaults (retryStart 1, retryFactor 2, retryMax 30), pickle protocol 3.
pub fn socket_options() -> pylog_host::bindings::SocketOptions {
    pylog_host::bindings::SocketOptions {
        pickle_protocol: 3,
        retry_start: 1.0,
        retry_factor: 2.0,
        retry_max: 30.0,
        close_on_error: false,
        hmac_key: None,
        ack_window: 0,
    }
}

/// `logging.Formatter()` in UTC.
pub fn utc_formatter() -> pylog_host::bindings::Formatter {
    pylog_host::bindings::Formatter {
        fmt: None,
        datefmt: None,
        style: pylog_host::bindings::FormatStyle::Percent,
        utc_offset_seconds: 0,
        tz_name: "UTC".into(),
    }
}

/// Where a test's SocketHandler or DatagramHandler sends; `Memory` is a
/// dry run (the bytes are kept for `take_output`).
pub enum Destination {
    Tcp(pylog_host::bindings::Endpoint),
    Udp(pylog_host::bindings::Endpoint),
    UnixStream(String),
    UnixDatagram(String),
    Memory,
}

/// A SocketHandler (or, with `datagram`, DatagramHandler) configuration.
pub fn socket_config(
    destination: Destination,
    options: pylog_host::bindings::SocketOptions,
    datagram: bool,
) -> pylog_host::HandlerConfig {
    use pylog_host::bindings::{DatagramAddress, Endpoint, HandlerKind, StreamAddress};
    let dry_run = matches!(destination, Destination::Memory);
    let nowhere = || Endpoint { host: "127.0.0.1".into(), port: 9 };
    let kind = match (destination, datagram) {
        (Destination::Tcp(e), false) => HandlerKind::Socket((StreamAddress::Tcp(e), options)),
        (Destination::UnixStream(p), false) => HandlerKind::Socket((StreamAddress::Unix(p), options)),
        (Destination::Memory, false) => HandlerKind::Socket((StreamAddress::Tcp(nowhere()), options)),
        (Destination::Udp(e), true) => HandlerKind::Datagram((DatagramAddress::Udp(e), options)),
        (Destination::UnixDatagram(p), true) => HandlerKind::Datagram((DatagramAddress::Unix(p), options)),
        (Destination::Memory, true) => HandlerKind::Datagram((DatagramAddress::Udp(nowhere()), options)),
        _ => panic!("a SocketHandler streams and a DatagramHandler sends datagrams"),
    };
    pylog_host::HandlerConfig {
        name: "h".into(),
        kind,
        dry_run,
        level: 0,
        formatter: utc_formatter(),
        spool: spool_options(),
        buffer: None,
    }
}

/// The spool's defaults: 10,000 records, 16 MiB, drop-oldest.
pub fn spool_options() -> pylog_host::bindings::SpoolOptions {
    pylog_host::bindings::SpoolOptions {
        max_records: 10_000,
        max_bytes: 16 << 20,
        overflow: pylog_host::bindings::Overflow::DropOldest,
        block_timeout: 1.0,
        flush_timeout: 5.0,
        write_timeout: 1.0,
        directory: None,
    }
}

/// A loopback port free for both TCP and UDP, never handed out twice in
/// this process (tests run in parallel and a port is released before the
/// peer that is told it binds it).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let t = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = t.local_addr().expect("addr").port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        let mut given = GIVEN.lock().expect("ports");
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// The log files in `dir` (names containing ".log", rotated ones too) and
/// their text, by name: what two runs of one configuration are compared by.
pub fn log_files(dir: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .expect("list")
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().to_string_lossy().into_owned();
            name.contains(".log").then(|| (name, std::fs::read_to_string(e.path()).unwrap_or_default()))
        })
        .collect()
}
