//! Attacks and faults once seen breaking a promise of README or SECURITY.md,
//! each run against the real processes (`pylog listen`, `pylog emit`) over
//! real loopback sockets.

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{pylog_bin, pylog_listen, pylog_listen_logged, read_records, run};
use pylog_host::records::{self, Defaults};

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pylog-hardening-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A loopback port with nothing listening on it (bound, then released).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn write_doc(dir: &Path, handlers: serde_json::Value) -> PathBuf {
    let path = dir.join("logging.json");
    let doc = serde_json::json!({"version": 1, "handlers": handlers,
        "root": {"level": "DEBUG", "handlers": handlers.as_object().expect("handlers").keys().collect::<Vec<_>>()}});
    std::fs::write(&path, doc.to_string()).expect("config");
    path
}

fn emit(config: &Path, input: &[u8], limit: Duration) -> common::Output {
    let mut cmd = Command::new(pylog_bin());
    cmd.args(["emit", "--config"]).arg(config);
    run(cmd, input, limit)
}

/// `pylog emit` running, its stdin a pipe the test writes to, its stderr
/// piped for the test to read.
fn spawn_emit(config: &Path) -> std::process::Child {
    Command::new(pylog_bin())
        .args(["emit", "--config"])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pylog emit")
}

fn lines(prefix: &str, n: usize, size: usize) -> Vec<u8> {
    let pad = "x".repeat(size);
    (0..n).map(|i| format!("{{\"msg\": \"{prefix}-{i} {pad}\"}}\n")).collect::<String>().into_bytes()
}

/// The number before `what` in pylog emit's summary, e.g. `sent` in "12 sent".
fn count(stderr: &str, what: &str) -> u64 {
    let at = stderr.find(what).unwrap_or_else(|| panic!("no {what:?} in:\n{stderr}"));
    let before = stderr[..at].trim_end();
    let digits: String = before.chars().rev().take_while(char::is_ascii_digit).collect();
    digits.chars().rev().collect::<String>().parse().unwrap_or_else(|_| panic!("no count before {what:?}:\n{stderr}"))
}

fn folder_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map_or(0, |entries| entries.map(|e| e.expect("entry").metadata().expect("metadata").len()).sum())
}

#[test]
fn a_keyed_receiver_refuses_unsigned_acknowledged_frames_and_acknowledges_signed_ones() {
    let dir = temp_dir("hmac");
    let key = dir.join("key");
    std::fs::write(&key, b"an HMAC key of thirty-two bytes!").expect("key");
    let (_listen, addrs, out, log) =
        pylog_listen_logged(&["--tcp", "127.0.0.1:0", "--hmac-key-file", key.to_str().expect("utf-8")]);
    let addr = addrs[0].1;

    // The attack: an acknowledged-mode frame (0xA2) around a genuine pickle, no signature.
    let mut pure = common::plugin().pure().expect("pure instance");
    let record = records::from_json_line(r#"{"msg": "forged"}"#, &Defaults::default()).expect("record");
    let pickle = pure.make_pickle(&record, 3).expect("pickle");
    let mut body = vec![pylog_wire::frame::ACKED];
    body.extend_from_slice(&[7; 16]);
    body.extend_from_slice(&1u64.to_be_bytes());
    body.extend_from_slice(&pickle[4..]);
    let mut attacker = TcpStream::connect(addr).expect("connect");
    attacker.write_all(&(body.len() as u32).to_be_bytes()).expect("length");
    attacker.write_all(&body).expect("frame");
    attacker.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let mut answer = Vec::new();
    attacker.read_to_end(&mut answer).expect("the receiver closes the connection");
    assert!(answer.is_empty(), "nothing unverified is acknowledged: {answer:?}");

    // Signed and acknowledged together: every record arrives, acknowledged.
    let config = write_doc(
        &dir,
        serde_json::json!({"signed": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1",
            "port": addr.port(), ".": {"hmac_key_file": key, "acknowledged": true}}}),
    );
    let n = 300;
    // Read while it sends: acknowledgements follow the receiver's printing.
    let reader = std::thread::spawn(move || read_records(out, n, Duration::from_secs(60)));
    let emitted = emit(&config, &lines("genuine", n, 10), Duration::from_secs(60));
    assert!(emitted.status.success(), "{}", emitted.stderr);
    assert_eq!(count(&emitted.stderr, " sent ("), n as u64, "{}", emitted.stderr);
    let got = reader.join().expect("reader");
    let msgs: Vec<String> = got.iter().map(|r| r["msg"].as_str().expect("msg").to_string()).collect();
    assert_eq!(msgs.len(), n);
    assert!(msgs.iter().enumerate().all(|(i, m)| m.starts_with(&format!("genuine-{i} "))), "{msgs:?}");
    let log = log.lock().expect("log").join("");
    assert!(log.contains("unsigned frame refused (acknowledged mode)"), "{log}");
}

#[test]
fn a_durable_spool_stays_within_spool_bytes_through_an_outage_and_the_next_start_replays_it() {
    let dir = temp_dir("durable-bound");
    let spool = dir.join("spool");
    std::fs::create_dir_all(&spool).expect("spool dir");
    let bound: u64 = 1 << 20;
    let handler = |port: u16| {
        serde_json::json!({"h": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": port,
            ".": {"spool_dir": spool, "spool_bytes": bound, "spool_records": 100000, "flush_timeout": 0.2,
                  "retryStart": 0.05, "retryMax": 0.1}}})
    };
    let config = write_doc(&dir, handler(closed_port()));
    // 12 MB of records against a 1 MiB spool: most must be dropped, and counted.
    let n = 600;
    let outage = emit(&config, &lines("outage", n, 20_000), Duration::from_secs(120));
    assert_eq!(outage.status.code(), Some(1), "records were dropped, so exit 1: {}", outage.stderr);
    let folder = spool.join("spool-h");
    let on_disk = folder_bytes(&folder);
    assert!(on_disk <= bound + 16, "{on_disk} bytes on disk for a {bound}-byte spool");
    assert!(!outage.stderr.contains("trapped"), "{}", outage.stderr);

    let (_listen, addrs, out) = pylog_listen(&["--tcp", "127.0.0.1:0"]);
    let config = write_doc(&dir, handler(addrs[0].1.port()));
    let replay = emit(&config, b"", Duration::from_secs(60));
    assert!(replay.status.success(), "the next start replays without trapping: {}", replay.stderr);
    let recovered = count(&replay.stderr, "more recovered");
    assert!(recovered > 30, "most of 1 MiB of 20 kB records came back: {recovered}\n{}", replay.stderr);
    let got = read_records(out, recovered as usize, Duration::from_secs(30));
    assert_eq!(got.len() as u64, recovered);
    // Drop-oldest kept the newest records, in order, ending with the last one.
    let first = n - recovered as usize;
    for (i, r) in got.iter().enumerate() {
        assert!(r["msg"].as_str().expect("msg").starts_with(&format!("outage-{} ", first + i)), "{i}: {}", r["msg"]);
    }
    assert!(folder_bytes(&folder) <= 16, "delivered segments are deleted");
}

#[test]
fn an_unreadable_durable_spool_is_moved_aside_and_never_blocks_the_handler() {
    let dir = temp_dir("quarantine");
    let spool = dir.join("spool");
    std::fs::create_dir_all(spool.join("spool-h")).expect("folder");
    std::fs::write(spool.join("spool-h").join("position"), b"garbage").expect("position");
    let (_listen, addrs, out) = pylog_listen(&["--tcp", "127.0.0.1:0"]);
    let config = write_doc(
        &dir,
        serde_json::json!({"h": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1",
            "port": addrs[0].1.port(), ".": {"spool_dir": spool}}}),
    );
    let emitted = emit(&config, &lines("after", 3, 1), Duration::from_secs(60));
    assert!(
        emitted.stderr.contains("could not be read") && emitted.stderr.contains("quarantined-"),
        "{}",
        emitted.stderr
    );
    assert_eq!(read_records(out, 3, Duration::from_secs(20)).len(), 3, "{}", emitted.stderr);
    let aside = std::fs::read_dir(&spool)
        .expect("spool dir")
        .filter(|e| e.as_ref().expect("entry").file_name().to_string_lossy().starts_with("spool-h.quarantined-"))
        .count();
    assert_eq!(aside, 1);
}

#[test]
fn handlers_whose_names_once_collided_keep_their_own_spools_and_a_second_process_is_refused() {
    let dir = temp_dir("spool-names");
    let spool = dir.join("spool");
    std::fs::create_dir_all(&spool).expect("spool dir");
    let handlers = |a: u16, b: u16| {
        serde_json::json!({
            "app.a": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": a,
                ".": {"spool_dir": spool, "flush_timeout": 0.2}},
            "app_a": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": b,
                ".": {"spool_dir": spool, "flush_timeout": 0.2}}})
    };
    let n = 50;
    let config = write_doc(&dir, handlers(closed_port(), closed_port()));
    let outage = emit(&config, &lines("both", n, 1), Duration::from_secs(60));
    assert_eq!(outage.status.code(), Some(1), "{}", outage.stderr);
    assert!(folder_bytes(&spool.join("spool-app%2Ea")) > 0 && folder_bytes(&spool.join("spool-app_a")) > 0);

    // A second process with the same spools is refused while the first holds them.
    let (_a, a_addrs, a_out) = pylog_listen(&["--tcp", "127.0.0.1:0"]);
    let (_b, b_addrs, b_out) = pylog_listen(&["--tcp", "127.0.0.1:0"]);
    let config = write_doc(&dir, handlers(a_addrs[0].1.port(), b_addrs[0].1.port()));
    let mut first = spawn_emit(&config);
    let mut stdin = first.stdin.take().expect("stdin");
    // One more record makes it deliver the spool first, in order; once all
    // arrived, it certainly holds the spools.
    stdin.write_all(format!("{{\"msg\": \"both-{n} x\"}}\n").as_bytes()).expect("one more record");
    stdin.flush().expect("flush");
    let got_a = read_records(a_out, n + 1, Duration::from_secs(30));
    let got_b = read_records(b_out, n + 1, Duration::from_secs(30));
    let second = emit(&config, b"", Duration::from_secs(60));
    assert_eq!(second.status.code(), Some(2), "{}", second.stderr);
    assert!(second.stderr.contains("in use by another process"), "{}", second.stderr);
    drop(stdin);
    let _first = common::Peer(first);
    // Each receiver got its own handler's records, each once.
    for got in [got_a, got_b] {
        let msgs: Vec<&str> = got.iter().map(|r| r["msg"].as_str().expect("msg")).collect();
        assert_eq!(msgs.len(), n + 1, "{msgs:?}");
        assert!(msgs.iter().enumerate().all(|(i, m)| m.starts_with(&format!("both-{i} "))), "{msgs:?}");
    }
}

#[test]
fn a_record_too_large_for_the_plugin_is_refused_before_it_enters_and_the_spool_is_kept() {
    let dir = temp_dir("oversized");
    let config = write_doc(
        &dir,
        serde_json::json!({"h": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1",
            "port": closed_port(), ".": {"flush_timeout": 0.2}}}),
    );
    let mut input = lines("small", 1000, 1);
    input.extend_from_slice(format!("{{\"msg\": \"{}\"}}\n", "y".repeat(30 << 20)).as_bytes());
    input.extend_from_slice(b"{\"msg\": \"after\"}\n");
    let emitted = emit(&config, &input, Duration::from_secs(120));
    assert_eq!(emitted.status.code(), Some(1), "{}", emitted.stderr);
    let err = &emitted.stderr;
    assert!(err.contains("over the 4194304-byte record limit") && err.contains("--max-record-bytes"), "{err}");
    assert!(!err.contains("trapped") && !err.contains("wasm"), "refused before the plugin: {err}");
    // Every record is accounted for: 1 refused, the 1,001 others still spooled at close.
    assert_eq!(count(err, "unencodable"), 1, "{err}");
    assert_eq!(count(err, "undeliverable") + count(err, "spool full"), 1001, "{err}");
    assert_eq!(count(err, "records read"), 1002, "{err}");
}

/// Accepts connections and never reads from them.
fn deaf_receiver() -> (u16, std::thread::JoinHandle<()>, std::sync::mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        while stopped.recv_timeout(Duration::from_millis(5)).is_err() {
            if let Ok((c, _)) = listener.accept() {
                conns.push(c);
            }
        }
    });
    (port, held, stop)
}

#[test]
fn a_receiver_that_never_reads_costs_timeouts_and_typed_errors_never_a_hang_or_a_trap() {
    let (port, held, stop) = deaf_receiver();
    // The library: a tiny CPU deadline, writes that block for a second.
    let plugin = common::plugin()
        .with_limits(pylog_host::runtime::Limits { call_deadline: Duration::from_millis(300), ..Default::default() });
    use crate::common::Destination;
    use pylog_host::bindings::Endpoint;
    let destination = Destination::Tcp(Endpoint { host: "127.0.0.1".into(), port });
    let mut config = common::socket_config(destination, common::socket_options(), false);
    config.spool.max_records = 0;
    let mut handler = plugin.open(&config).expect("open");
    let big = records::from_json_line(&format!("{{\"msg\": \"{}\"}}", "z".repeat(64 << 10)), &Defaults::default())
        .expect("record");
    let started = Instant::now();
    let mut timed_out = None;
    for _ in 0..5_000 {
        match handler.emit(&big) {
            Ok(()) => {}
            Err(pylog_host::PluginError::Trap(t)) => panic!("blocking trapped the instance: {t:#}"),
            Err(e) => {
                timed_out = Some(e.to_string());
                break;
            }
        }
    }
    let message = timed_out.expect("a full socket buffer makes a write time out within 5,000 records of 64 kB");
    assert!(message.contains("timed out"), "{message}");
    assert_eq!(handler.traps(), 0);
    assert!(started.elapsed() < Duration::from_secs(120));

    // The process: pylog emit ends with a summary, exit 1, every record counted.
    let dir = temp_dir("deaf");
    let config = write_doc(
        &dir,
        serde_json::json!({"h": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": port,
            ".": {"flush_timeout": 1, "timeout": 0.5, "retryStart": 0.1, "retryMax": 0.2}}}),
    );
    let n = 2_000;
    let emitted = emit(&config, &lines("deaf", n, 30_000), Duration::from_secs(180));
    assert_eq!(emitted.status.code(), Some(1), "{}", emitted.stderr);
    let err = &emitted.stderr;
    assert!(!err.contains("trapped"), "{err}");
    let (sent, dropped) = (count(err, " sent ("), count(err, "dropped,"));
    assert_eq!(sent + dropped, n as u64, "{err}");
    let _ = stop.send(());
    let _ = held.join();
}

#[test]
fn numeric_options_out_of_range_are_refused_at_load_with_the_option_named() {
    let dir = temp_dir("bounds");
    let cases = [
        (
            serde_json::json!({"q": {"class": "logging.handlers.QueueHandler", "handlers": ["t"], ".": {"queue_size": 1u64 << 40}},
                "t": {"class": "logging.NullHandler"}}),
            "queue_size",
        ),
        (
            serde_json::json!({"m": {"class": "logging.handlers.MemoryHandler", "capacity": 10, "target": "m"}}),
            "its own target",
        ),
        (
            serde_json::json!({"f": {"class": "logging.handlers.RotatingFileHandler", "filename": dir.join("x.log"),
                "maxBytes": 10, "backupCount": 1_000_000_000}}),
            "backupCount",
        ),
        (
            serde_json::json!({"m": {"class": "logging.handlers.MemoryHandler", "capacity": 1u64 << 33, "target": "t"},
                "t": {"class": "logging.NullHandler"}}),
            "capacity",
        ),
    ];
    let socket = |dot: serde_json::Value| serde_json::json!({"s": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": 9, ".": dot}});
    let more = [
        (socket(serde_json::json!({"timeout": -1})), "timeout"),
        (socket(serde_json::json!({"timeout": 1e300})), "timeout"),
        (socket(serde_json::json!({"flush_timeout": 1e9})), "flush_timeout"),
        (socket(serde_json::json!({"retryFactor": 0.5})), "retryFactor"),
        (socket(serde_json::json!({"retryMax": 1e12})), "retryMax"),
        (socket(serde_json::json!({"spool_records": 1u64 << 40})), "spool_records"),
        (socket(serde_json::json!({"spool_bytes": 1u64 << 40})), "spool_bytes"),
        (
            serde_json::json!({"m": {"class": "logging.handlers.SMTPHandler", "mailhost": ["127.0.0.1", 9],
                "fromaddr": "a@b", "toaddrs": ["c@d"], "subject": "s", "timeout": -1}}),
            "timeout",
        ),
    ];
    for (handlers, named) in cases.into_iter().chain(more) {
        let config = write_doc(&dir, handlers.clone());
        let out = emit(&config, b"", Duration::from_secs(60));
        assert_eq!(out.status.code(), Some(2), "{handlers}: {}", out.stderr);
        assert!(out.stderr.contains(named), "{handlers}: {}", out.stderr);
    }
}

#[test]
fn a_byte_order_mark_before_the_first_record_is_not_part_of_it() {
    let dir = temp_dir("bom");
    let (_listen, addrs, out) = pylog_listen(&["--tcp", "127.0.0.1:0"]);
    let config = write_doc(
        &dir,
        serde_json::json!({"h": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": addrs[0].1.port()}}),
    );
    let emitted =
        emit(&config, "\u{feff}{\"msg\": \"first\"}\n{\"msg\": \"second\"}\n".as_bytes(), Duration::from_secs(60));
    assert!(emitted.status.success(), "{}", emitted.stderr);
    let got = read_records(out, 2, Duration::from_secs(20));
    assert_eq!(got.iter().map(|r| r["msg"].as_str().expect("msg")).collect::<Vec<_>>(), ["first", "second"]);
}

fn signal(child: &std::process::Child, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
}

/// Reads `err` until a line containing `what`, bounded by `limit`; every line read is kept in `seen`.
fn wait_for_line(err: &mut impl std::io::BufRead, what: &str, seen: &mut String, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut line = String::new();
    while Instant::now() < deadline {
        line.clear();
        if err.read_line(&mut line).unwrap_or(0) == 0 {
            return false;
        }
        seen.push_str(&line);
        if line.contains(what) {
            return true;
        }
    }
    false
}

#[test]
fn sigterm_stops_reading_delivers_what_was_read_and_prints_the_summary_and_a_second_one_exits_at_once() {
    let dir = temp_dir("sigterm");
    // A live receiver: what was read is delivered, the summary says so, exit 0.
    let (_listen, addrs, out) = pylog_listen(&["--tcp", "127.0.0.1:0"]);
    let config = write_doc(
        &dir,
        serde_json::json!({"h": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": addrs[0].1.port()}}),
    );
    let mut child = spawn_emit(&config);
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(&lines("term", 100, 1)).expect("records");
    stdin.flush().expect("flush");
    assert_eq!(read_records(out, 100, Duration::from_secs(30)).len(), 100);
    signal(&child, "TERM");
    let status = common::wait_deadline(&mut child, Duration::from_secs(30)).expect("exits after SIGTERM");
    let mut err = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut err).expect("stderr");
    assert!(err.contains("stopping on a signal"), "{err}");
    assert_eq!(count(&err, "records read"), 100, "{err}");
    assert_eq!(count(&err, " sent ("), 100, "{err}");
    assert_eq!(status.code(), Some(0), "everything read was delivered: {err}");
    drop(stdin);

    // The receiver down and a long flush_timeout: the first signal starts
    // the final delivery, a second one ends the process at once.
    let config = write_doc(
        &dir,
        serde_json::json!({"h": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": closed_port(),
            ".": {"flush_timeout": 120, "retryStart": 0.05, "retryMax": 0.1}}}),
    );
    let mut child = spawn_emit(&config);
    let mut stdin = child.stdin.take().expect("stdin");
    // A bad last line makes it say, on stderr, that it has read every
    // record before it (a batch is handed to the handler before the next
    // read looks at the signal), and its signal handlers are in place.
    stdin.write_all(&lines("spooled", 20, 1)).expect("records");
    stdin.write_all(b"not json\n").expect("bad line");
    stdin.flush().expect("flush");
    let mut err = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    assert!(wait_for_line(&mut err, "line 21: not JSON", &mut seen, Duration::from_secs(30)), "{seen}");
    let started = Instant::now();
    signal(&child, "TERM");
    assert!(wait_for_line(&mut err, "stopping on a signal", &mut seen, Duration::from_secs(30)), "{seen}");
    signal(&child, "TERM");
    let status = common::wait_deadline(&mut child, Duration::from_secs(30)).expect("the second signal ends it");
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(started.elapsed() < Duration::from_secs(60), "it did not wait out the 120 s flush_timeout");
    drop(stdin);
}

#[test]
fn a_trap_loses_no_counts_and_what_the_instance_held_is_counted_dropped() {
    // A small instance that lets big records in: the record that traps it
    // is one the real plugin cannot hold beside its spool.
    let plugin = common::plugin().with_limits(pylog_host::runtime::Limits {
        memory_bytes: 16 << 20,
        max_record_bytes: 64 << 20,
        ..Default::default()
    });
    use crate::common::Destination;
    use pylog_host::bindings::Endpoint;
    let destination = Destination::Tcp(Endpoint { host: "127.0.0.1".into(), port: closed_port() });
    let mut config = common::socket_config(destination, common::socket_options(), false);
    config.spool.max_bytes = 4 << 20;
    let mut handler = plugin.open(&config).expect("open");
    let small = records::from_json_line(r#"{"msg": "spooled"}"#, &Defaults::default()).expect("record");
    for _ in 0..1000 {
        let _ = handler.emit(&small);
    }
    let before = handler.stats().expect("stats");
    assert_eq!((before.emitted, before.spooled), (1000, 1000), "{before:?}");
    let huge = records::from_json_line(&format!("{{\"msg\": \"{}\"}}", "h".repeat(20 << 20)), &Defaults::default())
        .expect("record");
    match handler.emit(&huge) {
        Err(pylog_host::PluginError::Trap(_)) => {}
        other => panic!("a 20 MiB record in a 16 MiB instance must trap: {other:?}"),
    }
    assert_eq!(handler.traps(), 1);
    assert_eq!(handler.lost_in_traps(), 1001, "the 1,000 spooled and the one in the call");
    handler.emit(&small).expect("a fresh instance serves");
    let after = handler.stats().expect("stats");
    assert_eq!(after.emitted, 1002, "{after:?}");
    assert_eq!(after.dropped, 1001, "{after:?}");
    assert_eq!(after.emitted, after.sent + after.spooled + after.dropped + after.skipped_by_level, "{after:?}");
}

#[test]
fn an_integer_beyond_64_bits_is_refused_with_its_digits_never_rounded_to_a_float() {
    let dir = temp_dir("bigint");
    let (_listen, addrs, out) = pylog_listen(&["--tcp", "127.0.0.1:0"]);
    let config = write_doc(
        &dir,
        serde_json::json!({"h": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": addrs[0].1.port()}}),
    );
    let input = "{\"msg\": \"%d\", \"args\": [99999999999999999999]}\n{\"msg\": \"%d %s\", \"args\": [9223372036854775807, 1e20]}\n";
    let emitted = emit(&config, input.as_bytes(), Duration::from_secs(60));
    assert!(emitted.stderr.contains("99999999999999999999 does not fit 64 bits"), "{}", emitted.stderr);
    assert_eq!(count(&emitted.stderr, "bad lines"), 1, "{}", emitted.stderr);
    let got = read_records(out, 1, Duration::from_secs(20));
    assert_eq!(got[0]["msg"].as_str(), Some("9223372036854775807 1e+20"), "{got:?}");
}

#[test]
fn a_log_file_linked_out_of_its_directory_is_named_as_such_and_a_link_inside_it_works() {
    let dir = temp_dir("symlink");
    std::fs::create_dir_all(dir.join("real/inner")).expect("dirs");
    std::fs::create_dir_all(dir.join("links")).expect("dirs");
    std::os::unix::fs::symlink(dir.join("real/app.log"), dir.join("links/app.log")).expect("link");
    std::os::unix::fs::symlink("inner/app.log", dir.join("real/current.log")).expect("link");
    let file = |name: &Path| serde_json::json!({"f": {"class": "logging.FileHandler", "filename": name}});

    let config = write_doc(&dir, file(&dir.join("links/app.log")));
    let out = emit(&config, b"{\"msg\": \"x\"}\n", Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("symbolic link to") && out.stderr.contains("real/app.log"), "{}", out.stderr);
    assert!(!out.stderr.contains("add it to"), "{}", out.stderr);

    let config = write_doc(&dir, file(&dir.join("real/current.log")));
    let out = emit(&config, b"{\"msg\": \"through the link\"}\n", Duration::from_secs(60));
    assert!(out.status.success(), "{}", out.stderr);
    let written = std::fs::read_to_string(dir.join("real/inner/app.log")).expect("the link's target was written");
    assert_eq!(written, "through the link\n");
}

/// The number before `what` in the handler's drop line, or 0 without one.
fn dropped_as(stderr: &str, what: &str) -> u64 {
    if stderr.contains(what) {
        count(stderr, what)
    } else {
        0
    }
}

#[test]
fn in_acknowledged_mode_records_dropped_for_a_slow_receiver_never_include_ones_that_arrived() {
    use std::io::BufRead;
    let dir = temp_dir("ack-overflow");
    // The receiver's stdout is not read at first: it stops reading its
    // socket, acknowledgements stop, 1,024 frames sit in flight and the
    // 2,000-record spool overflows (drop-oldest).
    let (mut listen, addrs, out) = pylog_listen(&["--tcp", "127.0.0.1:0"]);
    let config = write_doc(
        &dir,
        serde_json::json!({"h": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": addrs[0].1.port(),
            ".": {"acknowledged": true, "spool_records": 2000, "flush_timeout": 60}}}),
    );
    let n = 20_000;
    let input: String = (0..n).map(|i| format!("{{\"msg\": \"r-{i}\"}}\n")).collect();
    let mut emit = spawn_emit(&config);
    let mut stdin = emit.stdin.take().expect("stdin");
    // When this returns, at most a pipe's worth (64 KiB, ~3,000 lines) is
    // unread: emit has met the stall.
    stdin.write_all(input.as_bytes()).expect("write input");
    drop(stdin);
    let reader = std::thread::spawn(move || {
        let mut seen = std::collections::HashSet::new();
        for line in out.lines().map_while(Result::ok) {
            let record: serde_json::Value = serde_json::from_str(&line).expect("json");
            seen.insert(record["msg"].as_str().expect("msg").to_string());
        }
        seen
    });
    let mut err = String::new();
    emit.stderr.take().expect("stderr").read_to_string(&mut err).expect("stderr");
    common::wait_deadline(&mut emit, Duration::from_secs(120)).expect("pylog emit finished");
    // Every frame still spooled was acknowledged before emit exited, and
    // acknowledged means printed: what the receiver printed is all there.
    let _ = listen.0.kill();
    let _ = listen.0.wait();
    let received = reader.join().expect("reader").len() as u64;
    let sent = count(&err, " sent (");
    let surely_lost = dropped_as(&err, " spool full") + dropped_as(&err, " undeliverable");
    let unconfirmed = dropped_as(&err, " written but never acknowledged");
    assert!(surely_lost > 0, "the spool never overflowed, so this test proved nothing:\n{err}");
    assert!(sent <= received && received <= sent + unconfirmed, "{received} arrived:\n{err}");
    assert!(received + surely_lost <= n, "{received} arrived and {surely_lost} counted lost of {n}:\n{err}");
    assert_eq!(sent + surely_lost + unconfirmed, n, "{err}");
}

#[test]
fn a_plugin_hoarding_sockets_is_capped_and_pylog_emit_counts_the_refusal() {
    let dir = temp_dir("hoard");
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = receiver.local_addr().expect("addr").port();
    let config = write_doc(
        &dir,
        serde_json::json!({"h": {"class": "logging.handlers.DatagramHandler", "host": "127.0.0.1", "port": port}}),
    );
    let hostile = common::target_dir().join("wasm32-wasip2/component/hostile_plugin.wasm");
    let mut cmd = Command::new(pylog_bin());
    cmd.arg("--plugin").arg(&hostile).args(["emit", "--max-sockets", "5", "--config"]).arg(&config);
    let out = run(cmd, b"{\"msg\": \"hoard 100000\"}\n", Duration::from_secs(60));
    assert!(out.stderr.contains("held 5 sockets"), "{}", out.stderr);
    assert_eq!(count(&out.stderr, "denied by sandbox"), 1, "{}", out.stderr);
    assert!(out.stderr.contains("--max-sockets"), "{}", out.stderr);
}

#[test]
fn a_batch_under_the_block_policy_waits_once_not_once_per_record() {
    let dir = temp_dir("block-batch");
    let config = write_doc(
        &dir,
        serde_json::json!({"h": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": closed_port(),
            ".": {"spool_overflow": "block", "spool_records": 10, "block_timeout": 0.5, "flush_timeout": 0.2}}}),
    );
    let n = 2_000;
    // Read at once, these lines reach the plugin in batches of hundreds; a
    // wait per record (0.5 s each) would outlast the call's wall bound.
    let out = emit(&config, &lines("blocked", n, 10), Duration::from_secs(120));
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(!out.stderr.contains("trapped"), "{}", out.stderr);
    assert_eq!(count(&out.stderr, " sent (") + count(&out.stderr, "dropped,"), n as u64, "{}", out.stderr);
}

#[test]
fn a_line_piped_in_is_delivered_before_the_next_one_is_written() {
    use std::io::BufRead;
    let dir = temp_dir("streaming");
    let (_listen, addrs, out) = pylog_listen(&["--tcp", "127.0.0.1:0"]);
    let config = write_doc(
        &dir,
        serde_json::json!({"h": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": addrs[0].1.port()}}),
    );
    let mut emit = spawn_emit(&config);
    let mut stdin = emit.stdin.take().expect("stdin");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // As from `tail -f`: each line must arrive while the input stays open
    // and says nothing more; batching never waits for a batch to fill.
    // The next line is already half written (a writer caught mid-line):
    // it must not hold back the complete one before it.
    write!(stdin, "{{\"msg\": ").expect("write");
    for i in 0..3 {
        write!(stdin, "\"line {i}\"}}\n{{\"msg\": ").expect("write");
        stdin.flush().expect("flush");
        let got = rx.recv_timeout(Duration::from_secs(20)).expect("the line arrived with the input still open");
        assert!(got.contains(&format!("\"line {i}\"")), "{got}");
    }
    writeln!(stdin, "\"end\"}}").expect("write");
    drop(stdin);
    common::wait_deadline(&mut emit, Duration::from_secs(30)).expect("pylog emit exits at end of input");
}

#[test]
fn an_unreachable_receiver_is_named_with_the_os_error() {
    let dir = temp_dir("unreachable");
    let port = closed_port();
    let config = write_doc(
        &dir,
        serde_json::json!({"h": {"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": port,
            ".": {"flush_timeout": 0.2}}}),
    );
    let out = emit(&config, b"{\"msg\": \"x\"}\n", Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(out.stderr.contains(&format!("127.0.0.1:{port}")), "{}", out.stderr);
    assert!(out.stderr.contains("connection-refused"), "{}", out.stderr);
}

/// A config asking for more plugin instances than the pool holds is
/// refused as a config error naming the limit, not reported as a trap
/// (SECURITY.md: plugin instances alive at once).
#[test]
fn more_handlers_than_the_instance_limit_is_a_config_error() {
    let dir = temp_dir("instances");
    let over = pylog_host::runtime::limits::POOLED_INSTANCES as usize + 1;
    let handlers: serde_json::Map<String, serde_json::Value> =
        (0..over).map(|i| (format!("h{i}"), serde_json::json!({"class": "logging.NullHandler"}))).collect();
    let config = write_doc(&dir, serde_json::Value::Object(handlers));
    let out = emit(&config, b"{\"msg\": \"x\"}\n", Duration::from_secs(60));
    assert!(!out.status.success(), "{}", out.stderr);
    let said = format!("bad config: at most {} plugin instances", over - 1);
    assert!(out.stderr.contains(&said), "{}", out.stderr);
    assert!(!out.stderr.contains("trapped"), "{}", out.stderr);
}
