//! A handler: a record encoder (pickle or syslog) composed with a transport,
//! with CPython's level filter and delivery counters.

use crate::backoff::RetryPolicy;
use crate::error::{Error, Result};
use crate::formatter::Formatter;
use crate::pickle;
use crate::record::LogRecord;
use crate::signing::Signer;
use crate::syslog::{self, Framing, SyslogOptions};
use crate::transport::{Destination, NoUnixSockets, Transport, UnixSockets};

#[derive(Debug, Clone, PartialEq)]
pub struct SocketOptions {
    pub pickle_protocol: u8,
    pub retry: RetryPolicy,
    pub close_on_error: bool,
    pub hmac_key: Option<Secret>,
}

/// Key bytes that never print.
#[derive(Clone, PartialEq)]
pub struct Secret(pub Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            pickle_protocol: pickle::DEFAULT_PROTOCOL,
            retry: RetryPolicy::default(),
            close_on_error: false,
            hmac_key: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Socket(SocketOptions),
    Datagram(SocketOptions),
    Syslog(SyslogOptions),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HandlerConfig {
    pub name: String,
    pub kind: Kind,
    pub destination: Destination,
    pub level: i64,
    pub formatter: Formatter,
}

/// Every emitted record is counted once as sent, dropped or skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    pub emitted: u64,
    pub sent: u64,
    pub dropped: u64,
    pub skipped_by_level: u64,
    pub bytes: u64,
    pub reconnects: u64,
    pub truncated: u64,
}

pub struct Handler {
    config: HandlerConfig,
    transport: Option<Transport>,
    stats: Stats,
    /// Reused for every record so that steady-state emits do not allocate
    /// a frame buffer.
    buf: Vec<u8>,
    /// What a memory destination still held when the handler was closed.
    closed_output: Vec<u8>,
    signer: Option<Signer>,
    /// The unsigned frame, before signing wraps it.
    scratch: Vec<u8>,
}

impl Handler {
    /// Opens a handler with no unix socket capability.
    pub fn open(config: HandlerConfig) -> Result<Handler> {
        Handler::open_with(config, Box::new(NoUnixSockets))
    }

    pub fn open_with(mut config: HandlerConfig, unix: Box<dyn UnixSockets>) -> Result<Handler> {
        // The handler, not the user, knows whether its transport is an
        // unframed stream, where CR/LF/NUL would split one record into two.
        let stream = matches!(config.destination, Destination::Tcp { .. } | Destination::UnixStream(_));
        if let Kind::Syslog(o) = &mut config.kind {
            o.escape_controls = stream && o.framing == Framing::Unframed && !o.cpython_exact_bytes;
        }
        let retry = match &config.kind {
            Kind::Socket(o) | Kind::Datagram(o) => {
                pickle::check_protocol(o.pickle_protocol)?;
                check_retry(&o.retry)?;
                o.retry.clone()
            }
            Kind::Syslog(o) => {
                o.validate()?;
                if o.framing == Framing::OctetCounting && matches!(config.destination, Destination::Udp { .. }) {
                    return Err(Error::BadConfig(format!(
                        "handler {:?}: octet-counting framing is for TCP; a UDP datagram is already one message",
                        config.name
                    )));
                }
                RetryPolicy::default()
            }
            Kind::Null => RetryPolicy::default(),
        };
        let signer = match &config.kind {
            Kind::Socket(SocketOptions { hmac_key: Some(key), .. })
            | Kind::Datagram(SocketOptions { hmac_key: Some(key), .. }) => Some(Signer::new(&key.0)?),
            _ => None,
        };
        let transport = match config.kind {
            Kind::Null => None,
            _ => Some(Transport::open(&config.destination, retry, unix)?),
        };
        Ok(Handler {
            config,
            transport,
            stats: Stats::default(),
            buf: Vec::with_capacity(1024),
            closed_output: Vec::new(),
            signer,
            scratch: Vec::new(),
        })
    }

    pub fn emit(&mut self, record: &LogRecord) -> Result<()> {
        let Some(transport) = self.transport.as_mut() else {
            if matches!(self.config.kind, Kind::Null) {
                self.stats.emitted += 1;
                self.stats.skipped_by_level += 1;
                return Ok(());
            }
            return Err(Error::Closed);
        };
        self.stats.emitted += 1;
        if record.levelno < self.config.level {
            self.stats.skipped_by_level += 1;
            return Ok(());
        }
        self.buf.clear();
        let encoded = match &self.config.kind {
            Kind::Socket(o) | Kind::Datagram(o) => match self.signer.as_mut() {
                None => pickle::write_frame(&mut self.buf, record, o.pickle_protocol),
                Some(signer) => {
                    self.scratch.clear();
                    pickle::write_frame(&mut self.scratch, record, o.pickle_protocol)
                        .and_then(|()| signer.write_frame(&mut self.buf, &self.scratch[4..], now_us()))
                }
            },
            Kind::Syslog(o) => syslog::write_message(&mut self.buf, record, &self.config.formatter, o).map(|cut| {
                self.stats.truncated += u64::from(cut);
            }),
            Kind::Null => Ok(()),
        };
        let result = encoded.and_then(|()| transport.send(&self.buf));
        self.stats.reconnects = transport.reconnects();
        match result {
            Ok(()) => {
                self.stats.sent += 1;
                self.stats.bytes += self.buf.len() as u64;
                Ok(())
            }
            Err(e) => {
                self.stats.dropped += 1;
                if let Kind::Socket(SocketOptions { close_on_error: true, .. }) = self.config.kind {
                    transport.close();
                }
                Err(e)
            }
        }
    }

    pub fn flush(&mut self) -> Result<()> {
        match self.transport.as_mut() {
            Some(t) => t.flush(),
            None if matches!(self.config.kind, Kind::Null) => Ok(()),
            None => Err(Error::Closed),
        }
    }

    /// Closing twice is harmless, as in CPython.
    pub fn close(&mut self) -> Result<()> {
        if let Some(mut t) = self.transport.take() {
            let flushed = t.flush();
            t.close();
            // Keep a memory destination's bytes readable after close.
            if let Transport::Memory(buf) = t {
                self.transport = None;
                self.closed_output = buf;
            }
            return flushed;
        }
        Ok(())
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    pub fn take_output(&mut self) -> Vec<u8> {
        match self.transport.as_mut() {
            Some(t) => t.take_output(),
            None => std::mem::take(&mut self.closed_output),
        }
    }

    pub fn config(&self) -> &HandlerConfig {
        &self.config
    }
}

fn now_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

fn check_retry(r: &RetryPolicy) -> Result<()> {
    let ok = r.start.is_finite()
        && r.start >= 0.0
        && r.factor.is_finite()
        && r.factor >= 1.0
        && r.max.is_finite()
        && r.max >= r.start;
    if ok {
        Ok(())
    } else {
        Err(Error::BadConfig(format!(
            "retry schedule start={}, factor={}, max={} is invalid: need 0 <= start <= max and factor >= 1",
            r.start, r.factor, r.max
        )))
    }
}
