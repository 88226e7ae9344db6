//! The receiver behind `pylog listen`: SocketHandler streams, DatagramHandler
//! datagrams and syslog over UDP and TCP, all at once, decoded to records
//! handed to one consumer in batches.
//!
//! Built for senders it does not trust (the limits are `ListenLimits`):
//! - a connection's buffer grows with the bytes that arrived, never with
//!   the length a frame announces;
//! - connections are capped; past the cap new ones are closed at once, and
//!   an accept error (out of descriptors) pauses accepting instead of spinning;
//! - a connection silent for `idle_timeout`, or that takes longer than
//!   `frame_timeout` to finish a frame it started, is closed;
//! - the queue to the consumer is bounded, so a slow consumer (stdout
//!   blocked) slows the readers instead of growing memory;
//! - acknowledgements are cumulative and written by each connection's own
//!   task: a sender that never reads them stalls only itself, and is dropped
//!   after `ack_timeout`;
//! - syslog over TCP is split incrementally (no rescans of a trickle).
//!
//! Records are written out as lines by the connection's own task, one
//! batch per read: the consumer only copies bytes to stdout. A pickle goes
//! straight to JSON (`pickle_json`) when it has the common shape.
//!
//! One concept, over 400 lines: the listener's accept loops, per-connection
//! tasks, limits and acknowledgements share one state and one shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Map, Value as Json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch, Semaphore};

pub use crate::receive::frame_check::FrameCheck;
use crate::receive::frame_check::Refused;
use crate::receive::syslog_parse::{self, StreamSplitter};
use crate::receive::unpickle;
use crate::records::now;

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

/// What one receiver lets its senders use.
#[derive(Debug, Clone)]
pub struct ListenLimits {
    /// The largest frame or syslog message (`--max-frame`).
    pub max_frame: usize,
    /// Connections open at once, over every TCP input (`--max-connections`).
    pub max_connections: usize,
    /// A connection that sends nothing for this long is closed (`--idle-timeout`).
    pub idle_timeout: Duration,
    /// A frame or message once started must be complete within this (`--frame-timeout`).
    pub frame_timeout: Duration,
    /// A sender that does not read its acknowledgements for this long is
    /// disconnected.
    pub ack_timeout: Duration,
    /// Batches (one per read) waiting for the consumer.
    pub queue_batches: usize,
}

impl Default for ListenLimits {
    fn default() -> Self {
        ListenLimits {
            max_frame: DEFAULT_MAX_FRAME,
            max_connections: 1024,
            idle_timeout: Duration::from_secs(600),
            frame_timeout: Duration::from_secs(30),
            ack_timeout: Duration::from_secs(10),
            queue_batches: 64,
        }
    }
}

/// What the receiver owes the sender of an acknowledged-mode frame: the
/// acknowledgement, once the record has been handled. Acknowledgements are
/// cumulative, so only the newest is kept: never a queue to grow.
pub struct AckTicket {
    pub seq: u64,
    acks: Arc<watch::Sender<u64>>,
}

impl std::fmt::Debug for AckTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AckTicket({})", self.seq)
    }
}

impl AckTicket {
    /// Hands the acknowledgement to the connection's writer; never blocks.
    pub fn acknowledge(&self) {
        let seq = self.seq;
        self.acks.send_if_modified(|highest| {
            let newer = seq > *highest;
            *highest = (*highest).max(seq);
            newer
        });
    }
}

/// How each record is written out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Output {
    /// One JSON object per line: the record's attributes.
    Json,
    /// `records::text_line`: time, level, logger, message.
    Text,
}

/// What one read completed: the records' lines, one after another, and
/// what happened, in order.
#[derive(Debug, Default)]
pub struct Batch {
    pub lines: Vec<u8>,
    pub events: Vec<Event>,
}

impl Batch {
    fn of(event: Event) -> Batch {
        Batch { lines: Vec::new(), events: vec![event] }
    }

    fn rejected(input: Input, peer: SocketAddr, reason: String) -> Batch {
        Batch::of(Event::Rejected { input, peer, reason })
    }

    /// Appends one record's line (with its newline) and its event.
    fn record(
        &mut self,
        input: Input,
        peer: SocketAddr,
        record: &Map<String, Json>,
        output: Output,
        ack: Option<AckTicket>,
    ) {
        match output {
            Output::Json => {
                let _ = serde_json::to_writer(&mut self.lines, record);
            }
            Output::Text => self.lines.extend_from_slice(crate::records::text_line(record).as_bytes()),
        }
        self.end_record(input, peer, ack);
    }

    /// Appends a received pickle's line; a refusal leaves no line.
    fn pickle(
        &mut self,
        input: Input,
        peer: SocketAddr,
        payload: &[u8],
        output: Output,
        ack: Option<AckTicket>,
    ) -> Result<(), unpickle::Refusal> {
        if output == Output::Json && crate::receive::pickle_json::write_record(payload, &mut self.lines).is_some() {
            self.end_record(input, peer, ack);
            return Ok(());
        }
        let record = unpickle::record_from_pickle(payload)?;
        self.record(input, peer, &record, output, ack);
        Ok(())
    }

    fn end_record(&mut self, input: Input, peer: SocketAddr, ack: Option<AckTicket>) {
        self.lines.push(b'\n');
        self.events.push(Event::Record { input, peer, end: self.lines.len(), ack });
    }
}

#[derive(Debug)]
pub enum Event {
    /// A record whose line ends at `end` in its batch's `lines`.
    Record {
        input: Input,
        peer: SocketAddr,
        end: usize,
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
    /// One batch per read: the records that read completed.
    pub events: mpsc::Receiver<Batch>,
    /// Serves the inputs until the listener is dropped.
    _runtime: tokio::runtime::Runtime,
}

fn now_us() -> u64 {
    (now() * 1e6) as u64
}

struct Shared {
    limits: ListenLimits,
    check: FrameCheck,
    output: Output,
    tx: mpsc::Sender<Batch>,
    connections: Arc<Semaphore>,
    /// Some: every TCP input speaks TLS (`receive::tls`).
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Binds every requested address, then serves them all on a small runtime.
pub fn start(
    requests: &[(Input, SocketAddr)],
    limits: ListenLimits,
    check: FrameCheck,
    output: Output,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<Listener> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("pylog-listen")
        .enable_all()
        .build()
        .context("start the receiver's runtime")?;
    let (tx, rx) = mpsc::channel(limits.queue_batches.max(1));
    let shared = Arc::new(Shared {
        connections: Arc::new(Semaphore::new(limits.max_connections)),
        limits,
        check,
        output,
        tx,
        tls: tls.map(tokio_rustls::TlsAcceptor::from),
    });
    let mut bound = Vec::new();
    for &(input, addr) in requests {
        let what = format!("listen on {} {addr}", input.label());
        let shared = shared.clone();
        match input {
            Input::Tcp | Input::SyslogTcp => {
                let listener = runtime.block_on(TcpListener::bind(addr)).with_context(|| what.clone())?;
                bound.push((input, listener.local_addr()?));
                runtime.spawn(accept_loop(listener, input, shared));
            }
            Input::Udp | Input::SyslogUdp => {
                let socket = runtime.block_on(UdpSocket::bind(addr)).with_context(|| what.clone())?;
                bound.push((input, socket.local_addr()?));
                runtime.spawn(datagram_loop(socket, input, shared));
            }
        }
    }
    Ok(Listener { bound, events: rx, _runtime: runtime })
}

async fn accept_loop(listener: TcpListener, input: Input, shared: Arc<Shared>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Out of descriptors (or a transient error): pause instead
                // of spinning on an accept that keeps failing.
                let _ = shared.tx.try_send(Batch::rejected(
                    input,
                    listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0))),
                    format!("accept failed ({e}); pausing 100 ms"),
                ));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = shared.connections.clone().try_acquire_owned() else {
            let reason = format!(
                "over the {} connection limit (--max-connections); connection closed",
                shared.limits.max_connections
            );
            let _ = shared.tx.try_send(Batch::rejected(input, peer, reason));
            drop(stream);
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let reason = match &shared.tls {
                None => serve_stream(stream, input, peer, &shared).await,
                // The handshake is bounded like a frame: a sender that
                // starts one and stalls cannot hold a connection open.
                Some(acceptor) => {
                    match tokio::time::timeout(shared.limits.frame_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => serve_stream(tls, input, peer, &shared).await,
                        Ok(Err(e)) => Some(format!("TLS handshake failed: {e}; connection closed")),
                        Err(_) => Some(format!(
                            "TLS handshake unfinished after {:.0} s; connection closed",
                            shared.limits.frame_timeout.as_secs_f64()
                        )),
                    }
                }
            };
            if let Some(reason) = reason {
                let _ = shared.tx.send(Batch::rejected(input, peer, reason)).await;
            }
            drop(permit);
        });
    }
}

async fn serve_stream<S>(stream: S, input: Input, peer: SocketAddr, shared: &Shared) -> Option<String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match input {
        Input::SyslogTcp => serve_syslog_stream(stream, peer, shared).await,
        _ => serve_pickle_stream(stream, peer, shared).await,
    }
}

/// Reads more bytes into `buf`, growing it only by what can arrive.
/// `None` at end of stream; `Err` with the reason the connection ends.
async fn read_more(
    stream: &mut (impl AsyncReadExt + Unpin),
    buf: &mut Vec<u8>,
    wanted: usize,
    limit: Duration,
    what: &str,
) -> Result<Option<usize>, String> {
    if buf.capacity() - buf.len() < 1024 {
        buf.reserve(wanted.clamp(4096, 64 * 1024));
    }
    match tokio::time::timeout(limit, stream.read_buf(buf)).await {
        Err(_) => Err(format!("{what} for {:.0} s; connection closed", limit.as_secs_f64())),
        // A TLS sender that closes without close_notify (CPython's
        // SocketHandler.close over `ssl`) ends its stream as plain TCP
        // would; frames cut short are still caught by their length.
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Ok(Err(e)) => Err(format!("read failed: {e}; connection closed")),
        Ok(Ok(0)) => Ok(None),
        Ok(Ok(n)) => Ok(Some(n)),
    }
}

/// The logging cookbook's receiver loop (a 4-byte big-endian length, then
/// that many bytes of pickle), with the frame kinds of `frame_check`. Returns
/// why the connection was closed, if it was not an orderly end.
async fn serve_pickle_stream<S>(stream: S, peer: SocketAddr, shared: &Shared) -> Option<String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = &shared.limits;
    let (mut reader, mut writer) = tokio::io::split(stream);
    let (acks, mut to_send) = watch::channel(0u64);
    let acks = Arc::new(acks);
    let ack_timeout = limits.ack_timeout;
    let ack_writer = tokio::spawn(async move {
        let mut sent = 0;
        while to_send.changed().await.is_ok() {
            let seq = *to_send.borrow_and_update();
            if seq > sent {
                // Flushed: over TLS a write may sit in the session's buffer.
                let ack = pylog_wire::frame::ack(seq);
                let write = async {
                    writer.write_all(&ack).await?;
                    writer.flush().await
                };
                match tokio::time::timeout(ack_timeout, write).await {
                    Ok(Ok(())) => sent = seq,
                    _ => return,
                }
            }
        }
    });
    let mut buf: Vec<u8> = Vec::new();
    let mut at = 0;
    // When the partial frame at the front of `buf` began to arrive.
    let mut frame_started: Option<tokio::time::Instant> = None;
    let result = loop {
        // Complete frames in what has arrived, as one batch.
        let mut batch = Batch::default();
        let mut end = None;
        while let Some(prefix) = buf.get(at..at + 4) {
            let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
            if len > limits.max_frame {
                // The stream cannot be resynchronised after a length we
                // refuse to read, so the connection ends here.
                end = Some(format!(
                    "frame of {len} bytes is over the {}-byte limit (--max-frame); connection closed",
                    limits.max_frame
                ));
                break;
            }
            let Some(body) = buf.get(at + 4..at + 4 + len) else { break };
            at += 4 + len;
            if let Err(reason) = decode_frame(body, peer, shared, &acks, &mut batch) {
                end = Some(reason);
                break;
            }
        }
        if !batch.events.is_empty() && shared.tx.send(batch).await.is_err() {
            break None;
        }
        if end.is_some() {
            break end;
        }
        if ack_writer.is_finished() {
            break Some(format!(
                "the sender has not read its acknowledgements for {:.0} s; connection closed",
                ack_timeout.as_secs_f64()
            ));
        }
        // Keep only the partial frame, at the front.
        buf.drain(..at);
        at = 0;
        if buf.capacity() > 1 << 20 && buf.len() < 1 << 16 {
            buf.shrink_to(1 << 16);
        }
        // A frame once begun must finish within frame_timeout in all: a
        // sender trickling a byte now and then cannot hold it open forever.
        frame_started = if buf.is_empty() { None } else { frame_started.or_else(|| Some(tokio::time::Instant::now())) };
        let (wanted, limit, what) = match (buf.get(..4), frame_started) {
            (Some(p), Some(started)) => {
                let len = u32::from_be_bytes([p[0], p[1], p[2], p[3]]) as usize;
                let left = limits.frame_timeout.saturating_sub(started.elapsed());
                (4 + len - buf.len().min(4 + len), left, "a frame unfinished")
            }
            (None, Some(started)) => (4, limits.frame_timeout.saturating_sub(started.elapsed()), "a frame unfinished"),
            _ => (4, limits.idle_timeout, "no frame"),
        };
        match read_more(&mut reader, &mut buf, wanted, limit, what).await {
            Ok(Some(_)) => {}
            Ok(None) if buf.is_empty() => break None,
            Ok(None) => break Some(format!("connection closed inside a frame ({} bytes of it arrived)", buf.len())),
            Err(reason) => break Some(reason),
        }
    };
    ack_writer.abort();
    result
}

/// One frame body into the batch; `Err` ends the connection.
fn decode_frame(
    body: &[u8],
    peer: SocketAddr,
    shared: &Shared,
    acks: &Arc<watch::Sender<u64>>,
    batch: &mut Batch,
) -> Result<(), String> {
    let input = Input::Tcp;
    let accepted = match shared.check.accept(body, now_us()) {
        Ok(accepted) => accepted,
        Err(Refused::Replayed(reason)) => {
            batch.events.push(Event::Rejected { input, peer, reason });
            return Ok(());
        }
        // Nothing after an unauthentic frame can be trusted either.
        Err(Refused::Unauthentic(reason)) => return Err(format!("{reason}; connection closed")),
    };
    let ticket = |seq| AckTicket { seq, acks: acks.clone() };
    if accepted.repeated {
        if let Some(seq) = accepted.ack {
            ticket(seq).acknowledge();
        }
        batch.events.push(Event::Duplicate);
        return Ok(());
    }
    if let Err(refusal) = batch.pickle(input, peer, accepted.pickle, shared.output, accepted.ack.map(ticket)) {
        // An authentic record that is refused is acknowledged too:
        // sending it again would not make it acceptable.
        if let Some(seq) = accepted.ack {
            ticket(seq).acknowledge();
        }
        batch.events.push(Event::Rejected { input, peer, reason: refusal.to_string() });
    }
    Ok(())
}

async fn serve_syslog_stream(mut stream: impl AsyncRead + Unpin, peer: SocketAddr, shared: &Shared) -> Option<String> {
    let limits = &shared.limits;
    let mut splitter = StreamSplitter::default();
    let mut chunk: Vec<u8> = Vec::new();
    loop {
        chunk.clear();
        let read = read_more(&mut stream, &mut chunk, 4096, limits.idle_timeout, "no message").await;
        let messages = match read {
            Ok(Some(_)) => splitter.push(&chunk, limits.max_frame),
            Ok(None) => {
                // A last message without a delimiter still counts, as in rsyslog.
                let rest = splitter.rest();
                if !rest.is_empty() {
                    let mut batch = Batch::default();
                    syslog_event(&rest, Input::SyslogTcp, peer, shared.output, &mut batch);
                    let _ = shared.tx.send(batch).await;
                }
                return None;
            }
            Err(reason) => return Some(reason),
        };
        match messages {
            Ok(messages) if messages.is_empty() => {}
            Ok(messages) => {
                let mut batch = Batch::default();
                for m in &messages {
                    syslog_event(m, Input::SyslogTcp, peer, shared.output, &mut batch);
                }
                if shared.tx.send(batch).await.is_err() {
                    return None;
                }
            }
            Err(reason) => return Some(format!("{reason}; connection closed")),
        }
    }
}

fn syslog_event(message: &[u8], input: Input, peer: SocketAddr, output: Output, batch: &mut Batch) {
    match syslog_parse::record_from_message(message, now(), &peer.to_string()) {
        Ok(record) => batch.record(input, peer, &record, output, None),
        Err(reason) => batch.events.push(Event::Rejected { input, peer, reason: reason.to_string() }),
    }
}

async fn datagram_loop(socket: UdpSocket, input: Input, shared: Arc<Shared>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let datagram = &buf[..n];
        let mut batch = Batch::default();
        match input {
            Input::SyslogUdp => syslog_event(datagram, input, peer, shared.output, &mut batch),
            _ => {
                let decoded = decode_datagram(datagram, shared.limits.max_frame, &shared.check).and_then(|pickle| {
                    batch.pickle(input, peer, pickle, shared.output, None).map_err(|r| r.to_string())
                });
                if let Err(reason) = decoded {
                    batch.events.push(Event::Rejected { input, peer, reason });
                }
            }
        }
        // Datagrams cannot be slowed down: while the consumer is behind,
        // this waits and the kernel's socket buffer drops what overflows.
        if shared.tx.send(batch).await.is_err() {
            return;
        }
    }
}

/// The pickle a datagram carries, once its frame is checked.
fn decode_datagram<'a>(datagram: &'a [u8], max_frame: usize, check: &FrameCheck) -> Result<&'a [u8], String> {
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
    Ok(accepted.pickle)
}
