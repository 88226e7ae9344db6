//! `pylog listen` under senders that misbehave: its memory and descriptors
//! are read from /proc before and after, and must stay within stated
//! bounds; honest senders keep being served throughout.

use crate::common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::common::{pylog_listen_logged, read_records};

/// Resident memory of a process, in KiB (VmRSS).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).expect("fd dir").count()
}

/// One plain SocketHandler frame, as CPython would send it.
fn frame(msg: &str) -> Vec<u8> {
    let mut pure = common::plugin().pure().expect("pure");
    let record =
        pylog_host::records::from_json_line(&format!("{{\"msg\": \"{msg}\"}}"), &Default::default()).expect("record");
    pure.make_pickle(&record, 3).expect("pickle")
}

fn send_frames(addr: SocketAddr, frames: &[Vec<u8>]) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    for f in frames {
        s.write_all(f).expect("write");
    }
    s
}

#[test]
fn announced_frames_cost_only_the_bytes_that_arrived_and_the_connection_cap_holds() {
    let (listen, addrs, out, log) =
        pylog_listen_logged(&["--tcp", "127.0.0.1:0", "--max-connections", "200", "--max-frame", "1048576"]);
    let addr = addrs[0].1;
    let pid = listen.0.id();
    // An honest sender first, so the runtime and its buffers exist.
    let _honest = send_frames(addr, &[frame("before")]);
    assert_eq!(read_records(out, 1, Duration::from_secs(20)).len(), 1);
    let (rss_before, fds_before) = (rss_kib(pid), open_descriptors(pid));

    // 300 connections, each announcing a 1 MiB frame and sending 6 bytes of it.
    let mut held = Vec::new();
    for _ in 0..300 {
        let mut s = TcpStream::connect(addr).expect("connect");
        // Past the cap the receiver may have closed it already.
        let _ = s.write_all(&(1u32 << 20).to_be_bytes());
        let _ = s.write_all(b"\x80\x03}q\x00(");
        held.push(s);
    }
    // Past the cap of 200, connections are closed by the receiver: the
    // last one reads end of stream.
    let last = held.last_mut().expect("a connection");
    last.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let mut byte = [0u8; 1];
    match last.read(&mut byte) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the 300th connection is over the cap and must be closed: {other:?}"),
    }
    let (rss_after, fds_after) = (rss_kib(pid), open_descriptors(pid));
    eprintln!("RSS {rss_before} -> {rss_after} KiB; descriptors {fds_before} -> {fds_after}");
    assert!(rss_after < rss_before + 32 * 1024, "RSS grew from {rss_before} to {rss_after} KiB");
    assert!(fds_after <= fds_before + 200 + 8, "descriptors {fds_before} -> {fds_after}, cap 200");
    let log = log.lock().expect("log").join("");
    assert!(log.contains("over the 200 connection limit (--max-connections)"), "{log}");
    drop(held);
}

#[test]
fn a_sender_that_never_reads_its_acknowledgements_does_not_stop_the_others() {
    let (_listen, addrs, out, _log) = pylog_listen_logged(&["--tcp", "127.0.0.1:0"]);
    let addr = addrs[0].1;
    // Acknowledged-mode frames from a sender that never reads: enough acks
    // to fill its receive buffer and the receiver's send buffer many times.
    let pickle = frame("acked");
    let mut rude = TcpStream::connect(addr).expect("connect");
    let mut stuffed = Vec::new();
    let n_rude = 100_000u64;
    for seq in 1..=n_rude {
        let mut body = vec![pylog_wire::frame::ACKED];
        body.extend_from_slice(&[5; 16]);
        body.extend_from_slice(&seq.to_be_bytes());
        body.extend_from_slice(&pickle[4..]);
        stuffed.extend_from_slice(&(body.len() as u32).to_be_bytes());
        stuffed.extend_from_slice(&body);
    }
    let writer = std::thread::spawn(move || {
        let _ = rude.set_write_timeout(Some(Duration::from_secs(60)));
        let _ = rude.write_all(&stuffed);
        rude
    });
    // Meanwhile an honest CPython-style sender's records come out.
    let (found, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut honest = 0;
        for line in out.lines().map_while(Result::ok) {
            if line.contains("honest-") {
                honest += 1;
                if honest == 3 {
                    let _ = found.send(());
                    return;
                }
            }
        }
    });
    let honest = send_frames(addr, &[frame("honest-1"), frame("honest-2"), frame("honest-3")]);
    seen.recv_timeout(Duration::from_secs(60)).expect("the honest sender's 3 records came out");
    drop(honest);
    drop(writer.join());
}

#[test]
fn a_consumer_that_stops_reading_slows_senders_instead_of_growing_memory() {
    let (listen, addrs, _out_never_read, _log) = pylog_listen_logged(&["--tcp", "127.0.0.1:0"]);
    let addr = addrs[0].1;
    let pid = listen.0.id();
    let one = frame(&"m".repeat(200));
    let rss_before = rss_kib(pid);
    // Write for as long as the receiver takes bytes (bounded: 200 MB or a
    // 3 s stall, which is the backpressure reaching us).
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_write_timeout(Some(Duration::from_secs(3))).expect("timeout");
    let chunk: Vec<u8> = std::iter::repeat_n(one.as_slice(), 256).flatten().copied().collect();
    let mut written = 0usize;
    while written < 200 << 20 {
        match s.write_all(&chunk) {
            Ok(()) => written += chunk.len(),
            Err(_) => break,
        }
    }
    let rss_after = rss_kib(pid);
    eprintln!("wrote {written} bytes before the stall; RSS {rss_before} -> {rss_after} KiB");
    assert!(written < 200 << 20, "the receiver kept taking bytes with nobody reading its stdout");
    assert!(rss_after < rss_before + 128 * 1024, "RSS grew from {rss_before} to {rss_after} KiB");
}
