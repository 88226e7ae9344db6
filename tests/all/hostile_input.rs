//! `pylog listen` facing hostile senders: pickles that would run code,
//! absurd frame lengths. Nothing runs, nothing is allocated for a refused
//! frame, the listener keeps serving.

use std::io::Write;
use std::time::Duration;

use crate::common::{pylog_listen, python, read_records, run, script};

#[test]
fn code_in_a_pickle_never_runs_and_the_listener_goes_on() {
    let (_listen, addrs, out) = pylog_listen(&["--tcp", "127.0.0.1:0", "--count", "1"]);
    let port = addrs[0].1.port();
    let marker = std::env::temp_dir().join(format!("pylog-pwned-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let mut cmd = python();
    cmd.arg(script("hostile_frames.py")).arg(port.to_string()).arg(&marker);
    let sent = run(cmd, b"", Duration::from_secs(60));
    assert!(sent.status.success(), "{}", sent.stderr);
    let records = read_records(out, 1, Duration::from_secs(20));
    assert!(!marker.exists(), "pylog listen ran code from a pickle");
    assert_eq!(records.len(), 1, "the good record after the attacks must arrive");
    assert_eq!(records[0]["msg"], "after the attack");
    let report: serde_json::Value = serde_json::from_slice(&sent.stdout).expect("report");
    assert_eq!(report["plain_pickle_loads_ran_code"], true, "the control: CPython's pickle.loads does run it");
}

#[test]
fn garbage_and_truncated_frames_are_rejected_per_connection() {
    let (_listen, addrs, out) = pylog_listen(&["--tcp", "127.0.0.1:0", "--syslog-tcp", "127.0.0.1:0", "--count", "2"]);
    let tcp = addrs[0].1;
    let syslog = addrs[1].1;
    for bytes in
        [&b"\x00\x00\x00\x05hello"[..], b"\x00\x00\x00\x10\x80\x03}", b"\xff\xff\xff\xff", b"\x00\x00\x00\x02N."]
    {
        let mut s = std::net::TcpStream::connect(tcp).expect("connect");
        s.write_all(bytes).expect("write");
    }
    let mut s = std::net::TcpStream::connect(syslog).expect("connect");
    s.write_all(b"99999999999 x\n").expect("write");
    drop(s);
    let mut s = std::net::TcpStream::connect(syslog).expect("connect");
    s.write_all(b"no pri here\n<14>fine\n").expect("write");
    drop(s);
    let good = serde_pickle::to_vec(&std::collections::BTreeMap::from([("msg", "still serving")]), Default::default())
        .expect("pickle");
    let mut s = std::net::TcpStream::connect(tcp).expect("connect");
    s.write_all(&(good.len() as u32).to_be_bytes()).expect("write");
    s.write_all(&good).expect("write");
    drop(s);
    let records = read_records(out, 2, Duration::from_secs(20));
    let msgs: Vec<_> = records.iter().map(|r| r["msg"].as_str().unwrap_or("").to_string()).collect();
    assert!(msgs.contains(&"still serving".to_string()) && msgs.contains(&"fine".to_string()), "{msgs:?}");
}
