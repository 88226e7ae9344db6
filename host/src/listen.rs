//! The receiver behind `pylog listen`: SocketHandler streams, DatagramHandler
//! datagrams and syslog over UDP and TCP, all at once, decoded to records on
//! one channel.
//!
//! Each connection has its own thread; a frame's length is checked against
//! the limit before anything is allocated for it.

use std::io::{BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use serde_json::{Map, Value as Json};

pub use crate::frame_check::FrameCheck;
use crate::frame_check::Refused;
use crate::records::now;
use crate::syslog_parse;
use crate::unpickle;

/// CPython's `logging.handlers.DEFAULT_TCP_LOGGING_PORT` and its UDP twin.
pub const DEFAULT_TCP_PORT: u16 = 9020;
pub const DEFAULT_UDP_PORT: u16 = 9021;
/// The default cap on one frame or message.
pub const DEFAULT_MAX_FRAME: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Input {
    Tcp,
    Udp,
    SyslogUdp,
    SyslogTcp,
}

impl Input {
    pub fn label(self) -> &'static str {
        match self {
            Input::Tcp => "tcp",
            Input::Udp => "udp",
            Input::SyslogUdp => "syslog-udp",
            Input::SyslogTcp => "syslog-tcp",
        }
    }
}

/// What the receiver owes the sender of an acknowledged-mode frame: the
/// acknowledgement, written once the record has been handled.
pub struct AckTicket {
    pub seq: u64,
    writer: Arc<Mutex<TcpStream>>,
}

impl std::fmt::Debug for AckTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AckTicket({})", self.seq)
    }
}

impl AckTicket {
    /// Sends the acknowledgement; a sender that has gone will send again.
    pub fn acknowledge(&self) {
        use std::io::Write;
        if let Ok(mut w) = self.writer.lock() {
            let _ = w.write_all(&pylog_wire::frame::ack(self.seq));
        }
    }
}

#[derive(Debug)]
pub enum Event {
    Record {
        input: Input,
        peer: SocketAddr,
        record: Map<String, Json>,
        ack: Option<AckTicket>,
    },
    Rejected {
        input: Input,
        peer: SocketAddr,
        reason: String,
    },
    /// An acknowledged-mode frame received before, acknowledged again.
    Duplicate,
}

pub struct Listener {
    /// What was bound, with the real ports when 0 was asked for.
    pub bound: Vec<(Input, SocketAddr)>,
    pub events: Receiver<Event>,
}

fn now_us() -> u64 {
    (now() * 1e6) as u64
}

/// Binds every requested address, then serves each on its own thread.
pub fn start(requests: &[(Input, SocketAddr)], max_frame: usize, check: FrameCheck) -> Result<Listener> {
    let (tx, rx) = channel();
    let mut bound = Vec::new();
    for &(input, addr) in requests {
        let what = format!("listen on {} {addr}", input.label());
        match input {
            Input::Tcp | Input::SyslogTcp => {
                let listener = TcpListener::bind(addr).with_context(|| what.clone())?;
                bound.push((input, listener.local_addr()?));
                let (tx, check) = (tx.clone(), check.clone());
                std::thread::spawn(move || accept_loop(listener, input, max_frame, check, tx));
            }
            Input::Udp | Input::SyslogUdp => {
                let socket = UdpSocket::bind(addr).with_context(|| what.clone())?;
                bound.push((input, socket.local_addr()?));
                let (tx, check) = (tx.clone(), check.clone());
                std::thread::spawn(move || datagram_loop(socket, input, max_frame, check, tx));
            }
        }
    }
    Ok(Listener { bound, events: rx })
}

fn accept_loop(listener: TcpListener, input: Input, max_frame: usize, check: FrameCheck, tx: Sender<Event>) {
    for conn in listener.incoming() {
        let Ok(stream) = conn else { continue };
        let Ok(peer) = stream.peer_addr() else {
            continue;
        };
        let (tx, check) = (tx.clone(), check.clone());
        std::thread::spawn(move || {
            let _ = match input {
                Input::SyslogTcp => serve_syslog_stream(stream, peer, max_frame, &tx),
                _ => serve_pickle_stream(stream, peer, max_frame, &check, &tx),
            };
        });
    }
}

/// The logging cookbook's receiver loop: a 4-byte big-endian length, then
/// that many bytes of pickle.
fn serve_pickle_stream(
    stream: TcpStream,
    peer: SocketAddr,
    max_frame: usize,
    check: &FrameCheck,
    tx: &Sender<Event>,
) -> Result<()> {
    let writer = Arc::new(Mutex::new(stream.try_clone()?));
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut frame = Vec::new();
    loop {
        let mut prefix = [0u8; 4];
        if reader.read_exact(&mut prefix).is_err() {
            return Ok(());
        }
        let len = u32::from_be_bytes(prefix) as usize;
        if len > max_frame {
            // The stream cannot be resynchronised after skipping a length we
            // refuse to read, so the connection ends here.
            tx.send(Event::Rejected {
                input: Input::Tcp,
                peer,
                reason: format!(
                    "frame of {len} bytes is over the {max_frame}-byte limit (--max-frame); connection closed"
                ),
            })?;
            return Ok(());
        }
        frame.resize(len, 0);
        if reader.read_exact(&mut frame).is_err() {
            tx.send(Event::Rejected {
                input: Input::Tcp,
                peer,
                reason: format!("connection closed inside a {len}-byte frame"),
            })?;
            return Ok(());
        }
        let accepted = match check.accept(&frame, now_us()) {
            Ok(accepted) => accepted,
            Err(Refused::Replayed(reason)) => {
                tx.send(Event::Rejected { input: Input::Tcp, peer, reason })?;
                continue;
            }
            Err(Refused::Unauthentic(reason)) => {
                // Nothing after an unauthentic frame can be trusted either.
                tx.send(Event::Rejected { input: Input::Tcp, peer, reason: format!("{reason}; connection closed") })?;
                return Ok(());
            }
        };
        let ticket = accepted.ack.map(|seq| AckTicket { seq, writer: writer.clone() });
        if accepted.repeated {
            if let Some(ticket) = ticket {
                ticket.acknowledge();
            }
            tx.send(Event::Duplicate)?;
            continue;
        }
        tx.send(match unpickle::record_from_pickle(accepted.pickle) {
            Ok(record) => Event::Record { input: Input::Tcp, peer, record, ack: ticket },
            Err(refusal) => {
                // An authentic record that is refused is acknowledged too:
                // sending it again would not make it acceptable.
                if let Some(ticket) = ticket {
                    ticket.acknowledge();
                }
                Event::Rejected { input: Input::Tcp, peer, reason: refusal.to_string() }
            }
        })?;
    }
}

fn serve_syslog_stream(mut stream: TcpStream, peer: SocketAddr, max_frame: usize, tx: &Sender<Event>) -> Result<()> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            // A last message without a delimiter still counts, as in rsyslog.
            if !buf.is_empty() {
                send_syslog(&buf, Input::SyslogTcp, peer, tx)?;
            }
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        match syslog_parse::split_stream(&buf, max_frame) {
            Ok((messages, used)) => {
                for m in messages {
                    send_syslog(&m, Input::SyslogTcp, peer, tx)?;
                }
                buf.drain(..used);
            }
            Err(reason) => {
                tx.send(Event::Rejected {
                    input: Input::SyslogTcp,
                    peer,
                    reason: format!("{reason}; connection closed"),
                })?;
                return Ok(());
            }
        }
    }
}

fn send_syslog(message: &[u8], input: Input, peer: SocketAddr, tx: &Sender<Event>) -> Result<()> {
    tx.send(match syslog_parse::record_from_message(message, now(), &peer.to_string()) {
        Ok(record) => Event::Record { input, peer, record, ack: None },
        Err(reason) => Event::Rejected { input, peer, reason: reason.to_string() },
    })?;
    Ok(())
}

fn datagram_loop(socket: UdpSocket, input: Input, max_frame: usize, check: FrameCheck, tx: Sender<Event>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok((n, peer)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let datagram = &buf[..n];
        let event = match input {
            Input::SyslogUdp => match syslog_parse::record_from_message(datagram, now(), &peer.to_string()) {
                Ok(record) => Event::Record { input, peer, record, ack: None },
                Err(reason) => Event::Rejected { input, peer, reason: reason.to_string() },
            },
            _ => decode_datagram(datagram, max_frame, &check).map_or_else(
                |reason| Event::Rejected { input, peer, reason },
                |record| Event::Record { input, peer, record, ack: None },
            ),
        };
        if tx.send(event).is_err() {
            return;
        }
    }
}

fn decode_datagram(datagram: &[u8], max_frame: usize, check: &FrameCheck) -> Result<Map<String, Json>, String> {
    if datagram.len() < 4 {
        return Err(format!("datagram of {} bytes has no length prefix", datagram.len()));
    }
    let len = u32::from_be_bytes([datagram[0], datagram[1], datagram[2], datagram[3]]) as usize;
    if len != datagram.len() - 4 {
        return Err(format!("length prefix says {len} bytes, the datagram carries {}", datagram.len() - 4));
    }
    if len > max_frame {
        return Err(format!("frame of {len} bytes is over the {max_frame}-byte limit (--max-frame)"));
    }
    let accepted = check.accept(&datagram[4..], now_us()).map_err(|r| r.to_string())?;
    if accepted.repeated {
        return Err("repeated frame (its session and sequence were already accepted)".into());
    }
    unpickle::record_from_pickle(accepted.pickle).map_err(|r| r.to_string())
}
