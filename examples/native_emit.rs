//! The native ceiling of `pylog emit` (make bench): the same pipeline with
//! the plugin's core compiled natively instead of into the component. Lines
//! are parsed on a reading thread in batches by the host's parser, packed,
//! unpacked by the core's `Slots` and sent by the core's handler, as `pylog
//! emit` does across the component boundary.
//!
//! usage: native_emit socket|datagram|syslog-udp|syslog-tcp PORT RECORDS.jsonl

use std::io::BufRead;
use std::sync::mpsc::sync_channel;

use pylog_handlers::deliver::transport::Destination;
use pylog_handlers::encode::syslog::SyslogOptions;
use pylog_handlers::handlers::{
    DatagramHandler, FamilyOptions, Handler, HandlerConfig, SocketHandler, SocketOptions, SysLogHandler,
};
use pylog_handlers::python::formatter::Formatter;
use pylog_handlers::python::unpack::Slots;
use pylog_host::records::{self, packed, Defaults};
use pylog_host::LogRecord;

/// The allocator the pylog binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, kind, port, path] = &args[..] else {
        eprintln!("usage: native_emit socket|datagram|syslog-udp|syslog-tcp PORT RECORDS.jsonl");
        std::process::exit(2);
    };
    let port: u16 = port.parse().expect("port");
    let (tcp, udp) =
        (Destination::Tcp { host: "127.0.0.1".into(), port }, Destination::Udp { host: "127.0.0.1".into(), port });
    let (family, destination): (Box<dyn FamilyOptions>, _) = match kind.as_str() {
        "socket" => (Box::new(SocketHandler(SocketOptions::default())), tcp),
        "datagram" => (Box::new(DatagramHandler(SocketOptions::default())), udp),
        "syslog-udp" => (Box::new(SysLogHandler(SyslogOptions::cpython_defaults())), udp),
        "syslog-tcp" => (Box::new(SysLogHandler(SyslogOptions::cpython_defaults())), tcp),
        other => panic!("unknown kind {other}"),
    };
    let config = HandlerConfig {
        name: "native".into(),
        family,
        destination,
        level: 0,
        formatter: Formatter::default(),
        spool: Default::default(),
        buffer: None,
    };
    let mut handler = Handler::open(config).expect("open");
    let (tx, rx) = sync_channel::<Vec<LogRecord>>(8);
    let path = path.clone();
    let defaults = Defaults::default();
    std::thread::spawn(move || {
        let input = std::io::BufReader::with_capacity(256 << 10, std::fs::File::open(path).expect("records"));
        let mut batch = Vec::with_capacity(512);
        for line in input.lines() {
            if let Ok(record) = records::from_json_line(&line.expect("read"), &defaults) {
                batch.push(record);
            }
            if batch.len() == 512 {
                tx.send(std::mem::take(&mut batch)).expect("send");
            }
        }
        tx.send(batch).expect("send");
    });
    let mut slots = Slots::default();
    let (mut sent, mut failed) = (0, 0);
    for batch in rx {
        let p = packed::pack(&batch);
        let records = slots.unpack(&p.text, p.layout.as_slice(), p.count).expect("unpack");
        for r in handler.emit_batch(records) {
            if r.is_ok() {
                sent += 1
            } else {
                failed += 1
            }
        }
    }
    handler.close().expect("close");
    eprintln!("native_emit: {sent} sent, {failed} failed");
}
