//! The bad-input corpus: hostile or malformed inputs at every boundary.
//! Each gets a clear error (or, where the input is odd but valid, a correct
//! result); nothing panics, traps, hangs or executes; the instance or
//! process goes on serving; no later record is corrupted.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use crate::common::{plugin, pylog_listen_logged, read_records};
use pylog_host::config::{self, LocalTime};
use pylog_host::records::{self, Defaults};
use pylog_host::PluginError;

/// Record lines: `Err` where the line itself is refused (one line, the
/// stream goes on), `Typed` where the plugin refuses the record with a
/// typed error, `Ok` where the record is odd but valid.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    LineError,
    Typed,
    /// Pickling is fine (makePickle never formats time, as in CPython);
    /// a formatter that prints the time refuses it.
    TypedWhenTimeFormatted,
    /// Over the handler's record-size limit (Limits::max_record_bytes):
    /// refused before it enters the instance; the pure export has no limit.
    TypedWhenShipped,
    Ok,
}

fn record_corpus() -> Vec<(String, Expect)> {
    use Expect::*;
    let mut v: Vec<(String, Expect)> = vec![
        (r#"{"msg": "x", "levelname": "LOUD"}"#.into(), LineError),
        (r#"{"msg": "x", "levelno": "high"}"#.into(), LineError),
        (r#"{"msg": "x", "levelno": 1.5}"#.into(), LineError),
        (r#"{"msg": "\ud800"}"#.into(), LineError),
        (r#"{"msg": "a\udc00b"}"#.into(), LineError),
        (r#"{"lineno": 9223372036854775808}"#.into(), LineError),
        (r#"{"thread": "abc"}"#.into(), LineError),
        (r#"{"extra": [1, 2]}"#.into(), LineError),
        (r#"{"extra": {"nested": 1}}"#.into(), LineError),
        (r#"{"msg": "%s", "args": [[1]]}"#.into(), LineError),
        (r#"{"b": {"$bytes": "zz"}}"#.into(), LineError),
        (r#"{"b": {"$bytes": "abc"}}"#.into(), LineError),
        (r#"{"f": {"$float": "huge"}}"#.into(), LineError),
        ("42".into(), LineError),
        ("null".into(), LineError),
        ("\"a string\"".into(), LineError),
        ("{\"msg\": ".into(), LineError),
        ("[".repeat(100_000), LineError),
        (format!("{}{}", "{\"a\":".repeat(10_000), "1"), LineError),
        (r#"{"msg": "%s %s", "args": ["a"]}"#.into(), Typed),
        (r#"{"msg": "%s", "args": ["a", "b"]}"#.into(), Typed),
        (r#"{"msg": "%d", "args": [{"$float": "nan"}]}"#.into(), Typed),
        (r#"{"msg": "%d", "args": [{"$float": "inf"}]}"#.into(), Typed),
        (r#"{"msg": "%c", "args": [1114112]}"#.into(), Typed),
        (r#"{"msg": "%c", "args": [-1]}"#.into(), Typed),
        (r#"{"msg": "%999999999d", "args": [1]}"#.into(), Typed),
        (r#"{"msg": "%.999999999f", "args": [1.0]}"#.into(), Typed),
        (r#"{"msg": "%*d", "args": [99999999999, 1]}"#.into(), Typed),
        (r#"{"msg": "%(", "args": {"a": 1}}"#.into(), Typed),
        (r#"{"msg": "%", "args": [1]}"#.into(), Typed),
        (r#"{"msg": "%d", "args": [1e300]}"#.into(), Typed),
        (r#"{"msg": "%(missing)s", "args": {"a": 1}}"#.into(), Typed),
        (r#"{"msg": "%x", "args": ["str"]}"#.into(), Typed),
        (r#"{"msg": "%q", "args": [1]}"#.into(), Typed),
        (r#"{"msg": "x", "created": 1e300}"#.into(), TypedWhenTimeFormatted),
        (r#"{"msg": "x", "created": -1e20}"#.into(), TypedWhenTimeFormatted),
        (r#"{"msg": "x", "created": {"$float": "nan"}}"#.into(), TypedWhenTimeFormatted),
        (r#"{"msg": "nul \u0000 inside", "args": []}"#.into(), Ok),
        (r#"{"msg": "100% no args"}"#.into(), Ok),
        (r#"{"msg": "x", "lineno": -5, "process": -1}"#.into(), Ok),
        (r#"{"msg": "%s", "args": "single"}"#.into(), Ok),
        (r#"{"msg": "x", "message": "ignored", "exc_info": null}"#.into(), Ok),
        (r#"{"msg": {"an": "object"}}"#.into(), Ok),
        (r#"{"msg": "x", "a": {"$float": "nan"}, "b": {"$float": "-inf"}}"#.into(), Ok),
    ];
    v.push((format!(r#"{{"msg": "{}"}}"#, "x".repeat(3_000_000)), Ok));
    v.push((format!(r#"{{"msg": "{}"}}"#, "x".repeat(5_000_000)), TypedWhenShipped));
    v.push((format!(r#"{{"msg": "%s", "args": ["{}"]}}"#, "é".repeat(100_000)), Ok));
    v
}

#[test]
fn hostile_records_get_clear_errors_and_the_instance_keeps_serving() {
    let plugin = plugin();
    let mut pure = plugin.pure().expect("instantiate");
    let doc = config::parse_str(
        r#"{"version": 1, "formatters": {"f": {"format": "%(asctime)s %(levelname)s %(message)s"}},
            "handlers": {"s": {"class": "logging.handlers.SysLogHandler", "formatter": "f"}}}"#,
        false,
        &LocalTime { utc_offset_seconds: 0, tz_name: "UTC".into() },
    )
    .expect("config");
    let mut syslog_config = doc.handlers[0].clone();
    syslog_config.dry_run = true;
    let mut syslog = plugin.open(&syslog_config).expect("open");
    let good = records::from_json_line(r#"{"msg": "still fine %d", "args": [1]}"#, &Defaults::default()).expect("good");
    let corpus = record_corpus();
    assert!(corpus.len() >= 40);
    for (line, expect) in &corpus {
        let shown: String = line.chars().take(60).collect();
        let record = match records::from_json_line(line, &Defaults::default()) {
            Err(e) => {
                assert_eq!(*expect, Expect::LineError, "{shown}: refused as a line: {e:#}");
                assert!(!format!("{e:#}").is_empty());
                continue;
            }
            Ok(r) => r,
        };
        let pickled = pure.make_pickle(&record, 3);
        let shipped = syslog.emit(&record);
        for (i, result) in [pickled.map(|_| ()), shipped].into_iter().enumerate() {
            let expect = match (expect, i) {
                (Expect::TypedWhenTimeFormatted | Expect::TypedWhenShipped, 0) => &Expect::Ok,
                (Expect::TypedWhenTimeFormatted | Expect::TypedWhenShipped, _) => &Expect::Typed,
                (e, _) => e,
            };
            match (result, expect) {
                (Err(PluginError::Trap(t)), _) => panic!("{shown}: the plugin trapped: {t:#}"),
                (Err(refused), Expect::Typed) => assert!(!refused.to_string().is_empty()),
                (Ok(()), Expect::Ok) => {}
                (other, _) => panic!("{shown}: expected {expect:?}, got {other:?}"),
            }
        }
        let _ = syslog.take_output();
        assert!(pure.make_pickle(&good, 3).is_ok(), "{shown}: the instance must keep serving");
    }
    assert_eq!(syslog.traps(), 0);
    syslog.emit(&good).expect("syslog handler still serves");
    let out = syslog.take_output().expect("out");
    assert!(out.starts_with(b"<14>") && out.ends_with(b" INFO still fine 1\0"), "{:?}", String::from_utf8_lossy(&out));
}

fn config_corpus() -> Vec<&'static str> {
    vec![
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.FancyHandler"}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": 42}}}"#,
        r#"{"version": 1, "handlers": {"h": {}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SocketHandler", "host": "x", "port": 0}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SocketHandler", "host": "x", "port": 70000}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SocketHandler", "host": "x", "port": -1}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SocketHandler", "host": "x", "port": "abc"}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SocketHandler", "host": "", "port": 9020}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SocketHandler", "host": "bad host", "port": 9020}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SocketHandler", "host": 5, "port": 9020}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.DatagramHandler", "host": "a..b", "port": 9021}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", "facility": "LOCAL9"}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", "facility": -1}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", "facility": 1099511627776}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", "facility": {"x": 1}}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", "level": "LOUD"}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", "formatter": "nope"}}}"#,
        r#"{"version": 1, "formatters": {"f": {"()": "my.Factory"}}, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", "formatter": "f"}}}"#,
        r#"{"version": 1, "formatters": {"f": {"format": "{args[0]}", "style": "{"}}, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", "formatter": "f"}}}"#,
        r#"{"version": 1, "formatters": {"f": {"format": "no fields"}}, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", "formatter": "f"}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", "socktype": "ext://socket.SOCK_RAW"}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", "address": [1, 2]}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", "address": ["h"]}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", ".": 5}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", ".": {"bogus": 1}}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SocketHandler", "host": "x", "port": 1, ".": {"pickle_protocol": 5}}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SocketHandler", "host": "x", "port": 1, ".": {"retryFactor": 0.5}}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SocketHandler", "host": "x", "port": 1, ".": {"retryStart": -1}}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SocketHandler", "host": "x", "port": 1, ".": {"hmac_key_file": "/nonexistent/key"}}}}"#,
        r#"{"version": 2, "handlers": {}}"#,
        r#"[]"#,
        r#"{"version": 1, "handlers": []}"#,
        r#"{"version": 1, "handlers": {}, "root": {"handlers": ["ghost"]}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", ".": {"rfc5424": true, "hostname": "has space"}}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", ".": {"rfc5424": true, "app_name": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", ".": {"framing": "weird"}}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", ".": {"framing": "octet-counting"}}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", ".": {"max_message_bytes": -1}}}}"#,
        r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SysLogHandler", "filters": ["f"]}}}"#,
        "{not json",
    ]
}

#[test]
fn hostile_configs_are_refused_with_a_reason() {
    let plugin = plugin();
    let local = LocalTime { utc_offset_seconds: 0, tz_name: "UTC".into() };
    let key = std::env::temp_dir().join(format!("pylog-k-{}.key", std::process::id()));
    std::fs::write(&key, b"tiny5").expect("key");
    let mut corpus: Vec<String> = config_corpus().into_iter().map(str::to_string).collect();
    corpus.push(format!(
        r#"{{"version": 1, "handlers": {{"h": {{"class": "logging.handlers.SocketHandler", "host": "x", "port": 1, ".": {{"hmac_key_file": "{}"}}}}}}}}"#,
        key.display()
    ));
    assert!(corpus.len() >= 40);
    for text in &corpus {
        let refusal = match config::parse_str(text, false, &local) {
            Err(e) => format!("{e:#}"),
            Ok(doc) => match doc.handlers.iter().map(|h| plugin.open(h)).find_map(Result::err) {
                Some(PluginError::Trap(t)) => panic!("{text}: the plugin trapped: {t:#}"),
                Some(refused) => refused.to_string(),
                None => panic!("{text}: accepted"),
            },
        };
        assert!(refusal.len() > 10 && !refusal.contains("panicked"), "{text}: {refusal}");
        assert!(!refusal.contains("tiny5"), "key material must not appear: {refusal}");
    }
}

/// Wire input for `pylog listen`, each sent on its own connection or as
/// its own datagram.
fn wire_corpus() -> Vec<(&'static str, Vec<u8>)> {
    let frame = |payload: &[u8]| -> Vec<u8> { [&(payload.len() as u32).to_be_bytes()[..], payload].concat() };
    let mut deep = b"\x80\x02".to_vec();
    deep.extend(std::iter::repeat_n(b']', 100_000));
    deep.extend(std::iter::repeat_n(b'a', 99_999));
    deep.push(b'.');
    vec![
        ("tcp", b"\x00\x00".to_vec()),
        ("tcp", frame(b"")),
        ("tcp", b"\xff\xff\xff\xff".to_vec()),
        ("tcp", b"\x00\x10\x00\x01rest".to_vec()),
        ("tcp", frame(b"cposix\nsystem\n(S'touch /tmp/pylog-corpus-pwned'\ntR.")),
        ("tcp", frame(b"(S'touch /tmp/pylog-corpus-pwned'\nios\nsystem\n.")),
        ("tcp", frame(b"\x80\x02c__main__\nEvil\n)\x81}b.")),
        ("tcp", frame(b"\x80\x04\x95\x1e\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x04eval\x93\x8c\x011\x85R.")),
        ("tcp", frame(b"\x80\x05\x97.")),
        ("tcp", frame(b"\x80\x02K\x01.")),
        ("tcp", frame(b"\x80\x02]q\x00.")),
        ("tcp", frame(b"\x80\x02N.")),
        ("tcp", frame(b"\x80\x02}K\x01K\x02s.")),
        ("tcp", frame(b"\x80\x02}X\x01\x00\x00\x00aK\x01s.")),
        ("tcp", frame(&deep)),
        ("tcp", frame(b"\x80\x02}X\x03\x00\x00\x00msgX\x02\x00\x00\x00ok.trailing")),
        ("tcp", frame(b"\x13\x37\xde\xad\xbe\xef")),
        ("tcp", frame(b"\x80\x02}X\x03\x00\x00\x00msgX\xff\xff\xff\x7fs.")),
        ("udp", b"\x00".to_vec()),
        ("udp", b"\x00\x00\x00\x09short".to_vec()),
        ("udp", frame(b"cos\nsystem\n.")),
        ("syslog-udp", b"".to_vec()),
        ("syslog-udp", b"no pri".to_vec()),
        ("syslog-udp", b"<999>too big".to_vec()),
        ("syslog-udp", b"<abc>x".to_vec()),
        ("syslog-tcp", b"00000000000000000001 x".to_vec()),
        ("syslog-tcp", b"99999999 x".to_vec()),
        ("syslog-tcp", b"<1\n".to_vec()),
    ]
}

fn send_and_wait(addr: SocketAddr, bytes: &[u8]) {
    let mut s = TcpStream::connect(addr).expect("connect");
    let _ = s.write_all(bytes);
    let _ = s.shutdown(Shutdown::Write);
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
}

#[test]
fn hostile_wire_input_is_refused_and_the_listener_keeps_serving() {
    let marker = std::path::Path::new("/tmp/pylog-corpus-pwned");
    let _ = std::fs::remove_file(marker);
    let (mut listen, addrs, out, log) = pylog_listen_logged(&[
        "--tcp",
        "127.0.0.1:0",
        "--udp",
        "127.0.0.1:0",
        "--syslog-udp",
        "127.0.0.1:0",
        "--syslog-tcp",
        "127.0.0.1:0",
    ]);
    let addr = |input: &str| addrs.iter().find(|(i, _)| i == input).expect(input).1;
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let corpus = wire_corpus();
    for (input, bytes) in &corpus {
        match *input {
            "tcp" | "syslog-tcp" => send_and_wait(addr(input), bytes),
            _ => {
                udp.send_to(bytes, addr(input)).expect("send");
            }
        }
    }
    // Two invalid-UTF-8 syslog messages are accepted with U+FFFD, as rsyslog does.
    udp.send_to(b"<14>bad \xff\xfe utf8", addr("syslog-udp")).expect("send");
    let good =
        serde_pickle::to_vec(&std::collections::BTreeMap::from([("msg", "after the corpus")]), Default::default())
            .expect("pickle");
    send_and_wait(addr("tcp"), &[&(good.len() as u32).to_be_bytes()[..], &good].concat());
    let records = read_records(out, 2, Duration::from_secs(20));
    let msgs: Vec<String> = records.iter().map(|r| r["msg"].as_str().unwrap_or("").to_string()).collect();
    assert!(msgs.contains(&"after the corpus".to_string()), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.starts_with("bad \u{fffd}")), "{msgs:?}");
    assert!(!marker.exists(), "a pickle ran code");
    assert!(listen.0.try_wait().expect("status").is_none(), "pylog listen must still be running");
    // One frame ("ok" + trailing bytes after STOP) is the only one whose
    // refusal could be read as partial; all others are refused outright.
    // Each connection and datagram is judged by its own task, so the
    // rejections are logged in no set order relative to the good records:
    // wait for them (bounded).
    let wanted = corpus.len() - 2;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let (rejected, log) = loop {
        let log = log.lock().expect("log").clone();
        let rejected = log.iter().filter(|l| l.contains("rejected")).count();
        if rejected >= wanted || std::time::Instant::now() >= deadline {
            break (rejected, log);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(rejected >= wanted, "{rejected} rejections for {} inputs:\n{}", corpus.len(), log.join(""));
}
