//! A handler: a record encoder (pickle or syslog) composed with a transport,
//! with CPython's level filter and delivery counters.

use crate::ack::AckState;
use crate::backoff::RetryPolicy;
use crate::buffer::{Buffer, BufferOptions};
use crate::delivery::{deliver_or_spool, enqueue, pump_acked, pump_any, wait_for};
use crate::email_message::{self, Envelope};
use crate::error::{Error, Result};
use crate::file_sink::{FileOptions, FileSink};
use crate::formatter::Formatter;
use crate::http_body::urlencoded_record;
use crate::http_client::{HttpOptions, HttpTarget};
use crate::pickle;
use crate::record::LogRecord;
use crate::signing::Signer;
use crate::smtp::{SmtpOptions, SmtpTarget};
use crate::spool::{Spool, SpoolLimits};
use crate::syslog::{self, Framing, SyslogFormat, SyslogOptions};
use crate::text_encoding::{Encoding, Errors, TextEncoding};
use crate::transport::{Console, Destination, NoUnixSockets, Transport, UnixSockets};
use std::time::Instant;

#[derive(Debug, Clone, PartialEq)]
pub struct SocketOptions {
    pub pickle_protocol: u8,
    pub retry: RetryPolicy,
    pub close_on_error: bool,
    pub hmac_key: Option<Secret>,
    /// Acknowledged mode when above 0: at most this many frames in flight.
    pub ack_window: u32,
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
            ack_window: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Socket(SocketOptions),
    Datagram(SocketOptions),
    Syslog(SyslogOptions),
    Null,
    Stream(Console),
    File { options: FileOptions, encoding: TextEncoding },
    Http(HttpOptions),
    Smtp(SmtpOptions),
}

#[derive(Debug, Clone, PartialEq)]
pub struct HandlerConfig {
    pub name: String,
    pub kind: Kind,
    pub destination: Destination,
    pub level: i64,
    pub formatter: Formatter,
    /// For stream destinations (TCP, unix stream); 0 records turns it off.
    pub spool: SpoolLimits,
    /// A MemoryHandler in front of this handler.
    pub buffer: Option<BufferOptions>,
}

/// Every emitted record is in exactly one of sent, spooled (now), buffered
/// (now), dropped or skipped:
/// `emitted == sent + spooled + buffered + dropped() + skipped_by_level`
/// after every call.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    pub emitted: u64,
    pub sent: u64,
    pub skipped_by_level: u64,
    pub bytes: u64,
    pub reconnects: u64,
    pub truncated: u64,
    /// Waiting in the spool now.
    pub spooled: u64,
    /// Sent from the spool after an outage (also counted in `sent`).
    pub replayed: u64,
    /// Dropped because the spool was full (by its overflow policy).
    pub dropped_spool_full: u64,
    /// Dropped because the record could not be encoded (bad-record).
    pub dropped_invalid: u64,
    /// Dropped because sending failed with no spool to keep it (datagrams),
    /// or because it was still spooled when the handler closed.
    pub dropped_unsent: u64,
    /// Acknowledged mode: written to the receiver but never acknowledged
    /// when the spool let go of them (overflow with nothing unwritten left
    /// to drop, or close): they may have arrived.
    pub dropped_unconfirmed: u64,
    /// Records an earlier run left in the durable spool, reloaded at open
    /// (also counted in `emitted`).
    pub recovered: u64,
    /// Durable spool entries that failed their checksum at open and were cut off.
    pub corrupt: u64,
    /// Waiting in a MemoryHandler buffer now.
    pub buffered: u64,
}

impl Stats {
    /// Every drop has exactly one reason, so the total is their sum.
    pub fn dropped(&self) -> u64 {
        self.dropped_spool_full + self.dropped_invalid + self.dropped_unsent + self.dropped_unconfirmed
    }
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
    spool: Option<Spool>,
    ack: Option<AckState>,
    /// Reused by `emit_batch` for the coalesced frames.
    batch: Vec<u8>,
    buffer: Option<Buffer>,
    /// Characters in the last encoded line (RotatingFileHandler compares
    /// them with the file's size, as CPython does).
    line_chars: u64,
    /// While a batch is delivered: when the `block` overflow policy stops
    /// waiting, for the whole batch.
    block_until: Option<Instant>,
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
            o.lf_trailer = stream && o.framing == Framing::Unframed && o.format == SyslogFormat::Rfc5424;
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
            _ => RetryPolicy::default(),
        };
        let signer = match &config.kind {
            // Acknowledged and signed: the receiver acknowledges the signed
            // sequence, so nothing it acknowledges went unverified.
            Kind::Socket(SocketOptions { hmac_key: Some(key), ack_window, .. }) if *ack_window > 0 => {
                Some(Signer::acknowledged(&key.0)?)
            }
            Kind::Socket(SocketOptions { hmac_key: Some(key), .. })
            | Kind::Datagram(SocketOptions { hmac_key: Some(key), .. }) => Some(Signer::new(&key.0)?),
            _ => None,
        };
        let transport = match (&config.kind, &config.destination) {
            (Kind::Null, _) => None,
            // A dry run shows every kind's bytes.
            (_, Destination::Memory) => Some(Transport::Memory(Vec::new())),
            (Kind::Stream(console), _) => Some(Transport::Console(*console)),
            (Kind::File { options, .. }, _) => Some(Transport::File(FileSink::open(options.clone())?)),
            (Kind::Http(o), _) => Some(Transport::Http(HttpTarget::new(o.clone())?)),
            (Kind::Smtp(o), Destination::Tcp { host, port }) => {
                Some(Transport::Smtp(SmtpTarget::new(o.clone(), host.clone(), *port)?))
            }
            (Kind::Smtp(_), _) => {
                return Err(Error::BadConfig("SMTPHandler's mailhost must be a TCP destination".into()))
            }
            _ => Some(Transport::open(&config.destination, retry, config.spool.write_timeout, unix)?),
        };
        check_spool(&config.spool)?;
        let mut recovered = 0;
        let mut over_limit = 0;
        let mut corrupt = 0;
        let spool = match &transport {
            Some(t) if t.is_stream() && config.spool.max_records > 0 => match &config.spool.directory {
                None => Some(Spool::new(config.spool.clone())),
                Some(dir) => {
                    let (spool, found) = Spool::open_durable(config.spool.clone(), dir, &config.name)?;
                    if let Some(why) = &found.quarantined {
                        // The host shows the plugin's stderr (Handler::plugin_said); the count
                        // reaches the summary as a corrupt entry.
                        eprintln!("{why}");
                    }
                    recovered = found.frames;
                    over_limit = found.over_limit;
                    corrupt = found.corrupt + u64::from(found.quarantined.is_some());
                    Some(spool)
                }
            },
            _ if config.spool.directory.is_some() => {
                return Err(Error::BadConfig(
                    "a durable spool (spool_dir) needs a stream destination (TCP or a unix stream) and spool_records above 0"
                        .into(),
                ))
            }
            _ => None,
        };
        let ack = match &config.kind {
            Kind::Socket(o) if o.ack_window > 0 => {
                if spool.is_none() || !matches!(config.destination, Destination::Tcp { .. }) {
                    return Err(Error::BadConfig(
                        "acknowledged mode needs a TCP destination and a spool (spool_records above 0)".into(),
                    ));
                }
                Some(AckState::new(o.ack_window as usize)?)
            }
            Kind::Datagram(o) if o.ack_window > 0 => {
                return Err(Error::BadConfig(
                    "acknowledged mode needs a stream: use SocketHandler, not DatagramHandler".into(),
                ))
            }
            _ => None,
        };
        // Records an earlier run left in the durable spool count as emitted
        // now, so that the accounting identity holds from the start.
        // Those over the spool's bounds were dropped as a full spool drops.
        let stats = Stats {
            emitted: recovered,
            spooled: recovered - over_limit,
            recovered,
            corrupt,
            dropped_spool_full: over_limit,
            ..Stats::default()
        };
        if let Some(b) = &config.buffer {
            if b.capacity == 0 {
                return Err(Error::BadConfig("MemoryHandler capacity must be at least 1".into()));
            }
        }
        Ok(Handler {
            buffer: config.buffer.clone().map(Buffer::new),
            line_chars: 0,
            block_until: None,
            config,
            transport,
            stats,
            buf: Vec::with_capacity(1024),
            closed_output: Vec::new(),
            signer,
            scratch: Vec::new(),
            spool,
            ack,
            batch: Vec::new(),
        })
    }

    /// Encodes `record` into `self.buf`: a pickle frame (signed or
    /// sequenced as configured) or a syslog message.
    fn encode(&mut self, record: &LogRecord) -> Result<()> {
        self.buf.clear();
        match &self.config.kind {
            Kind::Socket(o) | Kind::Datagram(o) => match (self.signer.as_mut(), self.ack.as_mut()) {
                (None, Some(ack)) => {
                    self.scratch.clear();
                    pickle::write_frame(&mut self.scratch, record, o.pickle_protocol)
                        .and_then(|()| ack.write_frame(&mut self.buf, &self.scratch[4..]))
                }
                (None, None) => pickle::write_frame(&mut self.buf, record, o.pickle_protocol),
                (Some(signer), _) => {
                    self.scratch.clear();
                    pickle::write_frame(&mut self.scratch, record, o.pickle_protocol)
                        .and_then(|()| signer.write_frame(&mut self.buf, &self.scratch[4..], now_us()))
                }
            },
            Kind::Syslog(o) => syslog::write_message(&mut self.buf, record, &self.config.formatter, o).map(|cut| {
                self.stats.truncated += u64::from(cut);
            }),
            Kind::Null => Ok(()),
            Kind::Stream(_) => {
                let utf8 = TextEncoding { encoding: Encoding::Utf8, errors: Errors::Strict };
                self.write_line(record, utf8)
            }
            Kind::File { encoding, .. } => {
                let encoding = *encoding;
                self.write_line(record, encoding)
            }
            Kind::Http(_) => {
                self.buf.extend_from_slice(urlencoded_record(record).as_bytes());
                Ok(())
            }
            Kind::Smtp(o) => {
                let body = self.config.formatter.format(record)?;
                let envelope = Envelope {
                    fromaddr: &o.fromaddr,
                    toaddrs: &o.toaddrs,
                    subject: &o.subject,
                    now: now_us() as f64 / 1e6,
                    utc_offset_seconds: self.config.formatter.utc_offset_seconds,
                };
                self.buf = email_message::build(&envelope, &body);
                Ok(())
            }
        }
    }

    /// `StreamHandler.emit`: the formatted record and its terminator.
    fn write_line(&mut self, record: &LogRecord, encoding: TextEncoding) -> Result<()> {
        let mut line = self.config.formatter.format(record)?;
        line.push('\n');
        self.line_chars = line.chars().count() as u64;
        encoding.encode(&line, &mut self.buf)
    }

    fn is_open(&self) -> bool {
        self.transport.is_some() || matches!(self.config.kind, Kind::Null)
    }

    pub fn emit(&mut self, record: &LogRecord) -> Result<()> {
        if self.buffer.is_some() {
            return self.emit_owned(record.clone());
        }
        if !self.is_open() {
            return Err(Error::Closed);
        }
        self.stats.emitted += 1;
        self.deliver(record)
    }

    /// `emit` for a record the caller gives away: a MemoryHandler keeps it
    /// without copying (the component's records arrive owned).
    pub fn emit_owned(&mut self, record: LogRecord) -> Result<()> {
        if !self.is_open() {
            return Err(Error::Closed);
        }
        self.stats.emitted += 1;
        let Some(buffer) = self.buffer.as_mut() else { return self.deliver(&record) };
        if record.levelno < buffer.options.level {
            self.stats.skipped_by_level += 1;
            return Ok(());
        }
        self.stats.buffered += 1;
        if buffer.push(record) {
            return self.flush_buffer();
        }
        Ok(())
    }

    /// `MemoryHandler.flush`: the buffered records go to the target as one
    /// batch. The first failure is returned; each is counted in stats.
    fn flush_buffer(&mut self) -> Result<()> {
        let Some(buffer) = self.buffer.as_mut() else { return Ok(()) };
        let records = buffer.take();
        self.stats.buffered -= records.len() as u64;
        self.deliver_batch(&records).into_iter().find(Result::is_err).unwrap_or(Ok(()))
    }

    /// `Handler.handle` on the target: its level, then encode and send.
    fn deliver(&mut self, record: &LogRecord) -> Result<()> {
        if matches!(self.config.kind, Kind::Null) {
            // NullHandler discards by design; its records count as skipped.
            self.stats.skipped_by_level += 1;
            return Ok(());
        }
        if record.levelno < self.config.level {
            self.stats.skipped_by_level += 1;
            return Ok(());
        }
        let encoded = self.encode(record);
        let Some(transport) = self.transport.as_mut() else { return Err(Error::Closed) };
        if let Err(e) = encoded {
            self.stats.dropped_invalid += 1;
            if let Kind::Socket(SocketOptions { close_on_error: true, .. }) = self.config.kind {
                transport.close();
            }
            return Err(e);
        }
        let block_until = match (self.block_until, self.spool.as_ref()) {
            (Some(until), _) => until,
            (None, Some(spool)) => Instant::now() + spool.limits.block_timeout,
            (None, None) => Instant::now(),
        };
        let result = match self.spool.as_mut() {
            None => match transport.send_record(&self.buf, self.line_chars, record.created) {
                Ok(()) => {
                    self.stats.sent += 1;
                    self.stats.bytes += self.buf.len() as u64;
                    Ok(())
                }
                Err(e) => {
                    self.stats.dropped_unsent += 1;
                    if let Kind::Socket(SocketOptions { close_on_error: true, .. }) = self.config.kind {
                        transport.close();
                    }
                    Err(e)
                }
            },
            Some(spool) => match self.ack.as_mut() {
                None => deliver_or_spool(transport, spool, &self.buf, &mut self.stats, block_until),
                Some(ack) => {
                    let queued = enqueue(transport, spool, self.buf.to_vec(), &mut self.stats, Some(ack), block_until);
                    pump_acked(transport, spool, &mut self.stats, ack);
                    queued
                }
            },
        };
        self.stats.reconnects = transport.reconnects();
        result
    }

    /// Emits several records with as few writes as possible: on a stream
    /// with nothing spooled (and not in acknowledged mode) their frames go
    /// out in one write; if that write fails, each frame joins the spool.
    /// Returns one result per record, as `emit` would.
    pub fn emit_batch(&mut self, records: &[LogRecord]) -> Vec<Result<()>> {
        if self.buffer.is_some() || !self.is_open() {
            return records.iter().map(|r| self.emit(r)).collect();
        }
        self.stats.emitted += records.len() as u64;
        self.deliver_batch(records)
    }

    /// `emit_batch` for records the caller gives away (see `emit_owned`).
    pub fn emit_batch_owned(&mut self, records: Vec<LogRecord>) -> Vec<Result<()>> {
        if self.buffer.is_some() || !self.is_open() {
            return records.into_iter().map(|r| self.emit_owned(r)).collect();
        }
        self.stats.emitted += records.len() as u64;
        self.deliver_batch(&records)
    }

    fn deliver_batch(&mut self, records: &[LogRecord]) -> Vec<Result<()>> {
        self.block_until = self.spool.as_ref().map(|s| Instant::now() + s.limits.block_timeout);
        let results = self.deliver_batch_until(records);
        self.block_until = None;
        results
    }

    fn deliver_batch_until(&mut self, records: &[LogRecord]) -> Vec<Result<()>> {
        let block_until = self.block_until.unwrap_or_else(Instant::now);
        let coalesce = self.ack.is_none()
            && self.transport.as_ref().is_some_and(Transport::coalesces)
            && self.spool.as_ref().is_none_or(Spool::is_empty);
        if !coalesce {
            return records.iter().map(|r| self.deliver(r)).collect();
        }
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        // (result index, frame start, frame end) for each encoded record.
        let mut frames: Vec<(usize, usize, usize)> = Vec::with_capacity(records.len());
        let mut results: Vec<Result<()>> = Vec::with_capacity(records.len());
        for record in records {
            if record.levelno < self.config.level {
                self.stats.skipped_by_level += 1;
                results.push(Ok(()));
                continue;
            }
            match self.encode(record) {
                Ok(()) => {
                    frames.push((results.len(), batch.len(), batch.len() + self.buf.len()));
                    batch.extend_from_slice(&self.buf);
                    results.push(Ok(()));
                }
                Err(e) => {
                    self.stats.dropped_invalid += 1;
                    results.push(Err(e));
                }
            }
        }
        if let (Some(transport), false) = (self.transport.as_mut(), frames.is_empty()) {
            match transport.send(&batch) {
                Ok(()) => {
                    self.stats.sent += frames.len() as u64;
                    self.stats.bytes += batch.len() as u64;
                }
                // Some frames may have left before the failure: spooling all
                // of them is at-least-once, as a single emit's retry is.
                Err(e) => match self.spool.as_mut() {
                    Some(spool) => {
                        for &(i, start, end) in &frames {
                            if let Err(err) = enqueue(
                                transport,
                                spool,
                                batch[start..end].to_vec(),
                                &mut self.stats,
                                None,
                                block_until,
                            ) {
                                results[i] = Err(err);
                            }
                        }
                    }
                    None => {
                        self.stats.dropped_unsent += frames.len() as u64;
                        for &(i, _, _) in &frames {
                            results[i] = Err(e.clone());
                        }
                    }
                },
            }
            self.stats.reconnects = transport.reconnects();
        }
        self.batch = batch;
        results
    }

    /// Delivers what is spooled, trying for up to the spool's
    /// `flush_timeout`; what is still spooled then stays spooled.
    pub fn flush(&mut self) -> Result<()> {
        let buffered = if self.buffer.as_ref().is_some_and(|b| !b.is_empty()) { self.flush_buffer() } else { Ok(()) };
        self.flush_transport().and(buffered)
    }

    fn flush_transport(&mut self) -> Result<()> {
        let Some(transport) = self.transport.as_mut() else {
            return if matches!(self.config.kind, Kind::Null) { Ok(()) } else { Err(Error::Closed) };
        };
        if let Some(spool) = self.spool.as_mut() {
            let deadline = Instant::now() + spool.limits.flush_timeout;
            while !pump_any(transport, spool, &mut self.stats, self.ack.as_mut()) && Instant::now() < deadline {
                wait_for(transport, deadline);
            }
            self.stats.reconnects = transport.reconnects();
            if !spool.is_empty() {
                return Err(Error::Io(format!(
                    "{} records are still spooled after {:.1} s: the receiver is unreachable ({}); they stay spooled",
                    spool.len(),
                    spool.limits.flush_timeout.as_secs_f64(),
                    transport.last_failure().unwrap_or_default()
                )));
            }
        }
        transport.flush()
    }

    /// Flushes, then closes. Records still spooled after the flush timeout
    /// are dropped and counted, and the error says how many. Closing twice
    /// is harmless, as in CPython.
    pub fn close(&mut self) -> Result<()> {
        // MemoryHandler.close: flush only with flushOnClose; otherwise the
        // buffered records are discarded, and counted.
        let mut discarded = 0;
        if let Some(buffer) = self.buffer.as_mut() {
            if buffer.options.flush_on_close {
                let _ = self.flush_buffer();
            } else {
                discarded = buffer.take().len() as u64;
                self.stats.buffered -= discarded;
                self.stats.dropped_unsent += discarded;
            }
        }
        if self.transport.is_none() {
            return Ok(());
        }
        let flushed = self.flush_transport();
        if let Some(spool) = self.spool.as_mut().filter(|s| s.is_durable() && !s.is_empty()) {
            let kept = spool.len();
            spool.clear();
            if let Some(mut t) = self.transport.take() {
                t.close();
            }
            return Err(Error::Io(format!(
                "{kept} records could not be delivered before close; they stay in the durable spool for the next start"
            )));
        }
        let unconfirmed = self.spool.as_ref().map_or(0, Spool::in_flight) as u64;
        let why = self.transport.as_ref().and_then(Transport::last_failure).unwrap_or_default();
        let abandoned = self.spool.as_mut().map_or(0, Spool::clear) as u64;
        self.stats.spooled = 0;
        self.stats.dropped_unconfirmed += unconfirmed;
        self.stats.dropped_unsent += abandoned - unconfirmed;
        if let Some(mut t) = self.transport.take() {
            t.close();
            // Keep a memory destination's bytes readable after close.
            if let Transport::Memory(buf) = t {
                self.closed_output = buf;
            }
        }
        if abandoned > 0 {
            return Err(Error::Dropped(format!(
                "{abandoned} spooled records could not be delivered before close: the receiver stayed unreachable ({why})"
            )));
        }
        if discarded > 0 {
            return Err(Error::Dropped(format!(
                "{discarded} buffered records were discarded at close (flushOnClose is false)"
            )));
        }
        flushed
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
}

fn check_spool(s: &SpoolLimits) -> Result<()> {
    let ok = s.block_timeout.as_secs_f64() <= 3600.0 && s.flush_timeout.as_secs_f64() <= 3600.0;
    if !ok {
        return Err(Error::BadConfig("block_timeout and flush_timeout must be at most 3600 s".into()));
    }
    if s.write_timeout.is_zero() || s.write_timeout.as_secs_f64() > 3600.0 {
        return Err(Error::BadConfig(format!(
            "timeout {} must be above 0 and at most 3600 s (CPython's SocketHandler.timeout is 1.0)",
            s.write_timeout.as_secs_f64()
        )));
    }
    Ok(())
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
