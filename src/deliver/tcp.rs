//! TCP to a log receiver, as CPython's `SocketHandler` and a TCP
//! `SysLogHandler` use it: connect on first use, reconnect on the
//! `retry_*` schedule after a failure, notice a peer that closed before
//! writing into a dead connection, and read back what it sends
//! (acknowledgements). The connection is plain TCP through wasi:sockets,
//! or TLS through the host's capability (`deliver::tls`).

use std::net::ToSocketAddrs;
use std::time::{Duration, Instant};

use crate::deliver::backoff::{Backoff, RetryPolicy};
use crate::deliver::connection::{Connection, Ending, Peer};
use crate::deliver::tls::{TlsConnection, TlsStreams};
use crate::deliver::transport::Transport;
use crate::error::{Error, Result};

pub(crate) fn resolve(host: &str, port: u16) -> Result<Vec<std::net::SocketAddr>> {
    let addrs: Vec<_> =
        (host, port).to_socket_addrs().map_err(|e| Error::from_io(&format!("resolve {host}:{port}"), &e))?.collect();
    if addrs.is_empty() {
        return Err(Error::Io(format!("{host} has no address; check the host name")));
    }
    Ok(addrs)
}

/// One connection to the receiver.
enum Link {
    Plain(Connection),
    Tls(Box<dyn TlsConnection>),
}

impl Link {
    fn write_all_within(&mut self, bytes: &[u8], timeout: Duration) -> std::result::Result<(), LinkError> {
        match self {
            Link::Plain(c) => c.write_all_within(bytes, timeout).map_err(LinkError::Io),
            Link::Tls(c) => c.write(bytes, timeout).map_err(LinkError::Tls),
        }
    }

    fn flush_within(&mut self, timeout: Duration) -> Result<()> {
        match self {
            Link::Plain(c) => c.flush_within(timeout).map_err(|e| Error::from_io("flush", &e)),
            // Each TLS write is complete when it returns.
            Link::Tls(_) => Ok(()),
        }
    }

    fn read_available(&mut self, inbox: &mut Vec<u8>, limit: usize) -> Peer {
        match self {
            Link::Plain(c) => c.read_available(inbox, limit),
            Link::Tls(c) => c.read_available(inbox, limit),
        }
    }
}

enum LinkError {
    Io(std::io::Error),
    /// Already worded by the host, which knows the TLS details.
    Tls(Error),
}

pub struct TcpTransport {
    host: String,
    port: u16,
    stream: Option<Link>,
    /// Some: the connection is TLS, made by the host's capability.
    tls: Option<Box<dyn TlsStreams>>,
    backoff: Backoff,
    reconnects: u64,
    connected_once: bool,
    /// What the receiver sent back (acknowledgements), not yet consumed.
    inbox: Vec<u8>,
    last_write: Option<Instant>,
    /// For one connect and one write: a receiver that stops reading costs
    /// a record this long, then a reconnect, never a hung process.
    timeout: Duration,
    /// Why the last connection attempt failed (destination and OS error),
    /// for the message that reports records left undelivered.
    last_failure: Option<String>,
    /// A connection the receiver discarded, not yet reported (`take_discarded`).
    discarded: Option<String>,
}

/// A write after a pause this long first checks whether the peer closed.
const PAUSE: Duration = Duration::from_millis(1);
/// After this long without a write, a peer that closed meanwhile is likely;
/// see `TcpTransport::send`.
const IDLE: Duration = Duration::from_millis(100);

/// What a flooding receiver may make us hold before we stop reading: it is
/// not acknowledging.
const INBOX_LIMIT: usize = 1 << 20;

impl TcpTransport {
    pub fn new(host: &str, port: u16, retry: RetryPolicy, timeout: Duration) -> TcpTransport {
        TcpTransport {
            host: host.to_string(),
            port,
            stream: None,
            tls: None,
            backoff: Backoff::new(retry),
            reconnects: 0,
            connected_once: false,
            inbox: Vec::new(),
            last_write: None,
            timeout,
            last_failure: None,
            discarded: None,
        }
    }

    /// Connections made so far: a new number means a new connection (a
    /// session protocol such as RELP must open its session again).
    pub fn generation(&self) -> u64 {
        self.reconnects + u64::from(self.connected_once)
    }

    pub fn is_connected(&self) -> bool {
        self.stream.is_some()
    }

    /// Closes the connection because the peer failed at a layer above TCP
    /// (a session it refused, or never answered): the next attempt then
    /// waits for the reconnect schedule, as after a failed connect.
    pub fn fail_connection(&mut self, why: String) {
        self.stream = None;
        self.backoff.failed(Instant::now());
        self.last_failure = Some(why);
    }

    /// The same transport inside TLS: each connection is made (and
    /// verified) by the host's `tls` capability.
    pub fn with_tls(mut self, tls: Box<dyn TlsStreams>) -> TcpTransport {
        self.tls = Some(tls);
        self
    }

    /// Reads whatever the receiver has sent, without waiting, into `inbox`;
    /// true when the peer has closed (or reset) the connection. A plain log
    /// receiver sends nothing, so there readable means end of stream.
    fn peer_closed(&mut self) -> bool {
        let Some(stream) = self.stream.as_mut() else { return false };
        let peer = stream.read_available(&mut self.inbox, INBOX_LIMIT);
        if let Some(why) = self.discarding(peer == Peer::Reset) {
            self.discarded = Some(why);
            return true;
        }
        peer != Peer::Open
    }

    /// Why the receiver discarded this plain connection, if it did: it
    /// reset it, or answered with a TLS alert (a TLS port given plaintext).
    /// A receiver that reads to the end closes; it never does either.
    fn discarding(&self, reset: bool) -> Option<String> {
        if !matches!(self.stream, Some(Link::Plain(_))) {
            return None;
        }
        let (host, port) = (&self.host, self.port);
        // A TLS record header: content type 21 (alert), version 3.x.
        if self.inbox.first() == Some(&0x15) && self.inbox.get(1) == Some(&0x03) {
            return Some(format!(
                "{host}:{port} answered with a TLS alert: it is a TLS port and discarded the plaintext written to it; \
                 set \".\" tls"
            ));
        }
        reset.then(|| {
            format!(
                "{host}:{port} reset the connection instead of reading it to the end: what was written on it may not \
                 have been read (a receiver that died does this, and so does a TLS port given plaintext: set \".\" \
                 tls if it is one; acknowledged mode or RELP confirm each record)"
            )
        })
    }

    fn connect(&mut self) -> Result<()> {
        let now = Instant::now();
        if !self.backoff.may_attempt(now) {
            return Err(Error::Dropped(format!(
                "{}:{} is unreachable; next connection attempt in {:.1} s (retry_start/retry_factor/retry_max)",
                self.host,
                self.port,
                self.backoff.remaining(now).as_secs_f64()
            )));
        }
        let attempt = match self.tls.as_mut() {
            Some(tls) => tls.connect(&self.host, self.port, self.timeout).map(Link::Tls),
            None => resolve(&self.host, self.port).and_then(|addrs| {
                let mut last = None;
                for addr in addrs {
                    match Connection::connect(addr, self.timeout) {
                        Ok(s) => return Ok(Link::Plain(s)),
                        Err(e) => last = Some(Error::from_io(&format!("connect {addr}"), &e)),
                    }
                }
                Err(last.unwrap_or_else(|| Error::Io("no address to connect to".into())))
            }),
        };
        match attempt {
            Ok(stream) => {
                self.backoff.succeeded();
                if self.connected_once {
                    self.reconnects += 1;
                }
                self.connected_once = true;
                self.stream = Some(stream);
                Ok(())
            }
            Err(e) => {
                self.backoff.failed(now);
                self.last_failure = Some(e.to_string());
                Err(e)
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        // Checked before every write: a record written after the peer has
        // gone would be accepted by the kernel and never read. (Records
        // already in flight when it dies are what acknowledged mode is for.)
        // Under steady traffic a dead peer shows up as a write error within
        // a few writes, and what is in flight then is acknowledged mode's
        // job; the check (three host calls) runs after a pause.
        let idle_for = self.last_write.map_or(Duration::MAX, |t| t.elapsed());
        let mut closed = idle_for >= PAUSE && self.peer_closed();
        if !closed && idle_for >= IDLE {
            // wasmtime answers a read from its I/O reactor's view of the
            // socket, which can lag the kernel by a moment after a peer's
            // close. After an idle spell, give it that moment once.
            std::thread::sleep(std::time::Duration::from_millis(1));
            closed = self.peer_closed();
        }
        if closed {
            // Writing now would put the record into a dead connection,
            // where the kernel accepts it and nobody reads it.
            self.stream = None;
        }
        if self.stream.is_none() {
            self.connect()?;
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(Error::Io("no connection".into()));
        };
        match stream.write_all_within(bytes, self.timeout) {
            Ok(()) => {
                self.last_write = Some(Instant::now());
                Ok(())
            }
            Err(LinkError::Tls(e)) => {
                self.stream = None;
                Err(e)
            }
            Err(LinkError::Io(e)) => {
                // CPython closes the socket and lets the next emit reconnect;
                // so do we, and report this record as not sent. A timed-out
                // write may have sent part of the frame: the connection
                // cannot carry another, so it is closed either way.
                // A failed write says nothing of what the receiver read: it
                // may have read everything and closed, and our write met
                // the closed socket. Only a read tells (`peer_closed`).
                if matches!(e.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe) {
                    let reset = self
                        .stream
                        .as_mut()
                        .is_some_and(|s| s.read_available(&mut self.inbox, INBOX_LIMIT) == Peer::Reset);
                    if let Some(why) = self.discarding(reset) {
                        self.discarded = Some(why);
                    }
                }
                self.stream = None;
                let timed_out = matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut);
                if timed_out {
                    self.backoff.failed(Instant::now());
                    return Err(Error::Io(format!(
                        "send to {}:{} timed out after {:.1} s: the receiver is not reading (timeout)",
                        self.host,
                        self.port,
                        self.timeout.as_secs_f64()
                    )));
                }
                Err(Error::from_io(&format!("send to {}:{}", self.host, self.port), &e))
            }
        }
    }
}

impl Transport for TcpTransport {
    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.write(bytes)
    }

    fn flush(&mut self) -> Result<()> {
        match self.stream.as_mut() {
            Some(s) => s.flush_within(self.timeout),
            None => Ok(()),
        }
    }

    fn close(&mut self) {
        self.stream = None;
    }

    /// Ends a plain connection with a FIN and waits (up to the timeout,
    /// at most 1 s) for the receiver to close its side: every log receiver
    /// does once it has read to the end. A reset instead, or a TLS alert,
    /// means it discarded what it was sent (a TLS port given plaintext).
    fn close_checked(&mut self) -> Result<()> {
        let wait = self.timeout.min(Duration::from_secs(1));
        let ending = match self.stream.as_mut() {
            Some(Link::Plain(c)) => c.finish_within(&mut self.inbox, INBOX_LIMIT, wait),
            _ => {
                self.stream = None;
                return Ok(());
            }
        };
        let discarded = self.discarding(matches!(ending, Ending::Reset(_)));
        self.stream = None;
        discarded.map_or(Ok(()), |why| Err(Error::Io(why)))
    }

    fn take_discarded(&mut self) -> Option<String> {
        self.discarded.take()
    }

    fn generation(&self) -> u64 {
        TcpTransport::generation(self)
    }

    fn is_stream(&self) -> bool {
        true
    }

    fn ready_in(&self) -> Duration {
        match self.stream {
            None => self.backoff.remaining(Instant::now()),
            Some(_) => Duration::ZERO,
        }
    }

    fn take_inbox(&mut self) -> (Vec<u8>, bool) {
        if self.peer_closed() {
            self.stream = None;
        }
        (std::mem::take(&mut self.inbox), self.stream.is_none())
    }

    fn last_failure(&self) -> Option<String> {
        let scheme = if self.tls.is_some() { "tls" } else { "tcp" };
        Some(
            self.last_failure.clone().unwrap_or_else(|| format!("{scheme} {}:{}: no connection", self.host, self.port)),
        )
    }

    fn reconnects(&self) -> u64 {
        self.reconnects
    }
}
