//! syslog-ng, a second real receiver beside rsyslog, started in the
//! foreground on loopback from the package `make deps` unpacks into the
//! cache (Debian's syslog-ng-core conflicts with rsyslog, so it is not
//! installed). Every SysLogHandler mode goes to the source a syslog-ng user
//! would point it at, and syslog-ng's own parse (PRI, facility, severity,
//! program, PID, MSGID, structured data, message) is read back as JSON.

use std::net::{TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{free_port, pylog_bin, run, write_config, Peer};
use serde_json::{json, Value};

fn root() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    let root = home.join(".cache/pylog-handlers/syslog-ng");
    assert!(
        root.join("usr/sbin/syslog-ng").exists(),
        "syslog-ng is not unpacked in {}: run `make deps`",
        root.display()
    );
    root
}

struct SyslogNg {
    _process: Peer,
    dir: PathBuf,
    /// network(), RFC 3164 or 5424 as it comes: UDP and TCP.
    net: u16,
    /// network(flags(syslog-protocol)): RFC 5424, UDP and TCP (LF-split).
    proto: u16,
    /// syslog(): RFC 5424 with RFC 6587 octet counting over TCP.
    octets: u16,
    unix: PathBuf,
}

impl SyslogNg {
    fn start() -> SyslogNg {
        let dir = std::env::temp_dir().join(format!("pylog-syslog-ng-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let (net, proto, octets) = (free_port(), free_port(), free_port());
        let unix = dir.join("log.sock");
        let conf = format!(
            r#"@version: 3.38
options {{ keep-hostname(yes); }};
source s_net {{ network(ip("127.0.0.1") port({net}) transport("udp")); network(ip("127.0.0.1") port({net}) transport("tcp")); }};
source s_proto {{ network(ip("127.0.0.1") port({proto}) transport("udp") flags(syslog-protocol)); network(ip("127.0.0.1") port({proto}) transport("tcp") flags(syslog-protocol)); }};
source s_octets {{ syslog(ip("127.0.0.1") port({octets}) transport("tcp")); }};
source s_unix {{ unix-dgram("{unix}"); }};
destination d_json {{ file("{out}" template("$(format-json --key SOURCE --key PRI --key FACILITY --key SEVERITY --key PROGRAM --key PID --key MSGID --key SDATA --key MESSAGE)\n")); }};
log {{ source(s_net); source(s_proto); source(s_octets); source(s_unix); destination(d_json); }};
"#,
            unix = unix.display(),
            out = dir.join("out.jsonl").display(),
        );
        std::fs::write(dir.join("syslog-ng.conf"), conf).expect("conf");
        let root = root();
        let child = Command::new(root.join("usr/sbin/syslog-ng"))
            .env("LD_LIBRARY_PATH", root.join("usr/lib/syslog-ng"))
            .arg("-F")
            .arg("--no-caps")
            .arg(format!("--module-path={}", root.join("usr/lib/syslog-ng/3.38").display()))
            .arg("-f")
            .arg(dir.join("syslog-ng.conf"))
            .arg("-R")
            .arg(dir.join("persist"))
            .arg("-p")
            .arg(dir.join("pid"))
            .arg("-c")
            .arg(dir.join("ctl"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start syslog-ng");
        let s = SyslogNg { _process: Peer(child), dir, net, proto, octets, unix };
        s.wait_ready();
        s
    }

    fn lines(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("out.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect()
    }

    /// Ready when a probe through every source is in the output.
    fn wait_ready(&self) {
        use std::io::Write;
        let deadline = Instant::now() + Duration::from_secs(20);
        let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
        loop {
            let seen: Vec<String> =
                self.lines().iter().filter_map(|l| l["SOURCE"].as_str().map(str::to_string)).collect();
            if ["s_net", "s_proto", "s_octets", "s_unix"].iter().all(|s| seen.iter().any(|x| x == s)) {
                return;
            }
            assert!(Instant::now() < deadline, "syslog-ng did not come up; saw {seen:?}");
            let _ = udp.send_to(b"<14>probe: net", ("127.0.0.1", self.net));
            let _ = udp.send_to(b"<14>1 - - probe - - - proto", ("127.0.0.1", self.proto));
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.octets)) {
                let m = b"<14>1 - - probe - - - octets";
                let _ = s.write_all(format!("{} ", m.len()).as_bytes());
                let _ = s.write_all(m);
            }
            if let Ok(s) = std::os::unix::net::UnixDatagram::unbound() {
                let _ = s.send_to(b"<14>probe: unix", &self.unix);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The lines of one case (its tag in MESSAGE), once `n` have arrived.
    fn case(&self, tag: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let got: Vec<Value> = self
                .lines()
                .into_iter()
                .filter(|l| l["MESSAGE"].as_str().is_some_and(|m| m.starts_with(tag)))
                .collect();
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn emit(name: &str, handler: Value, records: &str) {
    let config = write_config(name, handler);
    let mut cmd = Command::new(pylog_bin());
    cmd.arg("emit").arg("--config").arg(&config);
    let out = run(cmd, records.as_bytes(), Duration::from_secs(60));
    assert!(out.status.success(), "pylog emit: {}", out.stderr);
}

fn records(tag: &str) -> String {
    [
        json!({"msg": format!("{tag} disk %s at %d%%"), "args": ["/var", 91], "levelname": "WARNING", "name": "app.db", "user": "ann", "process": 4242}),
        json!({"msg": format!("{tag} two\nlines \u{e9}"), "levelname": "ERROR", "name": "app.db", "process": 4242}),
    ]
    .iter()
    .map(|r| r.to_string() + "\n")
    .collect()
}

fn syslog_handler(address: Value, socktype: Option<&str>, dot: Value) -> Value {
    let mut h = json!({"class": "logging.handlers.SysLogHandler", "address": address, "facility": "local3", ".": dot});
    if let Some(t) = socktype {
        h["socktype"] = t.into();
    }
    h
}

/// PRI and what syslog-ng made of it, for local3 and the two records.
fn check_priority(lines: &[Value], what: &str) {
    let expected = [("156", "warning"), ("155", "err")];
    for (line, (pri, severity)) in lines.iter().zip(expected) {
        assert_eq!(line["PRI"], pri, "{what}: {line}");
        assert_eq!(line["FACILITY"], "local3", "{what}: {line}");
        assert_eq!(line["SEVERITY"], severity, "{what}: {line}");
    }
}

#[test]
fn syslog_ng_parses_every_syslog_handler_mode() {
    let ng = SyslogNg::start();
    let cpython = |tag: &str, source: &str, lines: &[Value], second: &str| {
        assert_eq!(lines.len(), 2, "{tag}: {lines:?}");
        check_priority(lines, tag);
        for l in lines {
            assert_eq!((l["SOURCE"].as_str(), l["PROGRAM"].as_str()), (Some(source), Some("web")), "{tag}: {l}");
        }
        assert_eq!(lines[0]["MESSAGE"], format!("{tag} disk /var at 91%"), "{tag}");
        assert_eq!(lines[1]["MESSAGE"], format!("{tag} {second}"), "{tag}");
    };
    let ident = json!({"ident": "web: "});

    emit("ng-udp", syslog_handler(json!(["127.0.0.1", ng.net]), None, ident.clone()), &records("cpython-udp"));
    cpython("cpython-udp", "s_net", &ng.case("cpython-udp", 2), "two\nlines \u{e9}");

    // Unframed TCP: NUL ends each message (syslog-ng splits on it) and a
    // newline inside is escaped, as rsyslog writes it.
    emit("ng-tcp", syslog_handler(json!(["127.0.0.1", ng.net]), Some("tcp"), ident.clone()), &records("cpython-tcp"));
    cpython("cpython-tcp", "s_net", &ng.case("cpython-tcp", 2), "two#012lines \u{e9}");

    let unix = json!(ng.unix.to_string_lossy());
    emit("ng-unix", syslog_handler(unix, None, ident), &records("cpython-unix"));
    cpython("cpython-unix", "s_unix", &ng.case("cpython-unix", 2), "two\nlines \u{e9}");

    let rfc5424 = |tag: &str, source: &str, lines: &[Value], second: &str| {
        assert_eq!(lines.len(), 2, "{tag}: {lines:?}");
        check_priority(lines, tag);
        for l in lines {
            assert_eq!(l["SOURCE"], source, "{tag}: {l}");
            assert_eq!((l["PROGRAM"].as_str(), l["PID"].as_str()), (Some("web"), Some("4242")), "{tag}: {l}");
            assert_eq!(l["MSGID"], "app.db", "{tag}: {l}");
        }
        assert_eq!(lines[0]["SDATA"], "[pylog@32473 user=\"ann\"]", "{tag}");
        assert_eq!(lines[0]["MESSAGE"], format!("{tag} disk /var at 91%"), "{tag}");
        assert_eq!(lines[1]["MESSAGE"], format!("{tag} {second}"), "{tag}");
    };
    let opts = |framing: &str| json!({"rfc5424": true, "hostname": "box", "app_name": "web", "framing": framing});
    emit("ng-5424-udp", syslog_handler(json!(["127.0.0.1", ng.proto]), None, opts("unframed")), &records("r-udp"));
    rfc5424("r-udp", "s_proto", &ng.case("r-udp", 2), "two\nlines \u{e9}");
    emit(
        "ng-5424-octets",
        syslog_handler(json!(["127.0.0.1", ng.octets]), Some("tcp"), opts("octet-counting")),
        &records("r-octets"),
    );
    rfc5424("r-octets", "s_octets", &ng.case("r-octets", 2), "two\nlines \u{e9}");
    // Unframed RFC 5424 over TCP ends each message with LF (RFC 6587
    // non-transparent framing): two messages, not one.
    emit("ng-5424-lf", syslog_handler(json!(["127.0.0.1", ng.proto]), Some("tcp"), opts("unframed")), &records("r-lf"));
    rfc5424("r-lf", "s_proto", &ng.case("r-lf", 2), "two#012lines \u{e9}");
}
