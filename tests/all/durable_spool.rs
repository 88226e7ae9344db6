//! The durable spool across a crash of the host: `pylog emit` is SIGKILLed
//! while records wait in its spool; the next run replays them, and every
//! record whose `emit` returned before the kill reaches the receiver at
//! least once.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{pylog_bin, python, run, script};

const N: usize = 5_000;

fn config(dir: &std::path::Path, spool: &std::path::Path, port: u16) -> std::path::PathBuf {
    let path = dir.join("logging.json");
    let doc = serde_json::json!({"version": 1, "handlers": {"durable": {
        "class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": port,
        ".": {"spool_dir": spool, "flush_timeout": 60, "retryStart": 0.2, "retryMax": 0.5}}}});
    std::fs::write(&path, doc.to_string()).expect("config");
    path
}

#[test]
fn records_spooled_when_the_host_is_killed_are_delivered_by_the_next_run() {
    let dir = std::env::temp_dir().join(format!("pylog-durable-test-{}", std::process::id()));
    let spool = dir.join("spool");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&spool).expect("dirs");
    // A port with nothing behind it yet: every record goes to the spool.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let config = config(&dir, &spool, port);
    let records: String = (0..N).map(|i| format!("{{\"msg\": \"durable-{i}\"}}\n")).collect();

    let mut first = Command::new(pylog_bin())
        .args(["emit", "--config"])
        .arg(&config)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("pylog emit");
    first.stdin.take().expect("stdin").write_all(records.as_bytes()).expect("records");
    let mut err = BufReader::new(first.stderr.take().expect("stderr"));
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !line.contains("input ended") {
        line.clear();
        assert!(Instant::now() < deadline, "pylog emit never finished reading its input");
        if err.read_line(&mut line).expect("stderr") == 0 {
            panic!("pylog emit exited before the kill");
        }
    }
    assert!(line.contains(&format!("delivering {N} spooled")), "{line}");
    // Every emit has returned; the host dies while waiting to deliver.
    first.kill().expect("SIGKILL");
    let _ = first.wait();

    let out = dir.join("received.txt");
    let mut receiver = python()
        .arg(script("burst_receiver.py"))
        .arg(port.to_string())
        .arg(&out)
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("receiver");
    let mut ready = String::new();
    BufReader::new(receiver.stdout.take().expect("stdout")).read_line(&mut ready).expect("ready");
    let _receiver = common::Peer(receiver);

    let mut second = Command::new(pylog_bin());
    second.args(["emit", "--config"]).arg(&config);
    let replay = run(second, b"", Duration::from_secs(120));
    assert!(replay.status.success(), "the restarted host replays its spool: {}", replay.stderr);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got: Vec<String> = Vec::new();
    while got.len() < N && Instant::now() < deadline {
        got = std::fs::read_to_string(&out).unwrap_or_default().lines().map(str::to_string).collect();
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut unique = got.clone();
    unique.sort();
    unique.dedup();
    println!(
        "durable spool: {} of {N} records after the host was killed, {} duplicates",
        unique.len(),
        got.len() - unique.len()
    );
    assert_eq!(unique.len(), N, "every record whose emit returned is delivered at least once");
    assert_eq!(got[..N].to_vec(), (0..N).map(|i| format!("durable-{i}")).collect::<Vec<_>>(), "in order");
    let _ = std::fs::remove_dir_all(&dir);
}
