//! A handler: a family's encoder (one file per family in this folder)
//! composed with an `Outbox`, behind CPython's level filter and an optional
//! `MemoryHandler` buffer.
//!
//! Every record takes one path: `emit_batch` (`emit` is a batch of one).
//! Records below the level are skipped; the rest are encoded, joined into
//! one write when the outbox allows it, else delivered one by one.

pub mod config;
pub mod family;
pub mod file;
pub mod http;
pub mod memory;
pub mod null;
pub mod smtp;
pub mod socket;
pub mod stream;
pub mod syslog;

use std::borrow::Borrow;
use std::time::Instant;

use crate::deliver::outbox::Outbox;
pub use crate::deliver::stats::Stats;
use crate::error::{Error, Result};
pub use crate::handlers::config::HandlerConfig;
pub use crate::handlers::family::FamilyOptions;
use crate::handlers::family::{Capabilities, Family, Opened, Setup};
pub use crate::handlers::file::FileHandler;
pub use crate::handlers::http::HttpHandler;
use crate::handlers::memory::Buffer;
pub use crate::handlers::null::NullHandler;
pub use crate::handlers::smtp::SmtpHandler;
pub use crate::handlers::socket::{DatagramHandler, Secret, SocketHandler, SocketOptions};
pub use crate::handlers::stream::StreamHandler;
pub use crate::handlers::syslog::SysLogHandler;
use crate::python::record::LogRecord;

/// A record the caller lends (`&LogRecord`) or gives away (`LogRecord`):
/// a MemoryHandler keeps given records without copying them.
pub trait Record: Borrow<LogRecord> {
    fn into_owned(self) -> LogRecord;
}

impl Record for LogRecord {
    fn into_owned(self) -> LogRecord {
        self
    }
}

impl Record for &LogRecord {
    fn into_owned(self) -> LogRecord {
        self.clone()
    }
}

pub struct Handler {
    /// The dictConfig key, for messages.
    name: String,
    level: i64,
    family: Box<dyn Family>,
    outbox: Outbox,
    buffer: Option<Buffer>,
    /// What happened to records before they became frames: emitted,
    /// skipped, buffered, refused by the encoder, discarded by the buffer.
    /// The outbox counts the frames; `stats` adds the two.
    records: Stats,
    /// Reused for each batch's frames, so steady-state emits do not
    /// allocate.
    batch: Vec<u8>,
    /// (result index, start, end) of each frame in `batch`.
    frames: Vec<(usize, usize, usize)>,
}

impl Handler {
    /// Opens a handler with no capability beyond WASI's sockets.
    pub fn open(config: HandlerConfig) -> Result<Handler> {
        Handler::open_with(config, Capabilities::none())
    }

    /// Opens a handler with what the host lends (unix sockets, HTTP).
    pub fn open_with(config: HandlerConfig, capabilities: Capabilities) -> Result<Handler> {
        let mut setup = Setup {
            name: &config.name,
            destination: &config.destination,
            formatter: &config.formatter,
            spool: &config.spool,
            capabilities,
        };
        let Opened { family, transport, outbox } = config.family.open(&mut setup)?;
        let outbox = Outbox::open(transport, &config.name, outbox)?;
        if config.buffer.as_ref().is_some_and(|b| b.capacity == 0) {
            return Err(Error::BadConfig("MemoryHandler capacity must be at least 1".into()));
        }
        Ok(Handler {
            name: config.name.clone(),
            level: config.level,
            family,
            outbox,
            buffer: config.buffer.map(Buffer::new),
            records: Stats::default(),
            batch: Vec::with_capacity(1024),
            frames: Vec::new(),
        })
    }

    fn is_open(&self) -> bool {
        !self.outbox.is_closed() || self.family.discards()
    }

    /// `Handler.handle` for one record.
    pub fn emit(&mut self, record: impl Record) -> Result<()> {
        self.emit_batch([record]).pop().unwrap_or(Ok(()))
    }

    /// Emits several records with as few writes as possible, returning one
    /// result per record, as `emit` would. On a stream with nothing spooled
    /// (and not in acknowledged mode) their frames go out in one write; if
    /// that write fails, each frame joins the spool.
    pub fn emit_batch<R: Record>(&mut self, records: impl IntoIterator<Item = R>) -> Vec<Result<()>> {
        let records: Vec<R> = records.into_iter().collect();
        if !self.is_open() {
            return records.iter().map(|_| Err(Error::Closed)).collect();
        }
        self.records.emitted += records.len() as u64;
        if self.buffer.is_none() {
            let until = self.outbox.block_deadline();
            return self.deliver(records.iter().map(Borrow::borrow), until);
        }
        records.into_iter().map(|r| self.buffer_record(r.into_owned())).collect()
    }

    /// `MemoryHandler.emit`: keep the record; flush to the target when the
    /// buffer is full or the record is important enough.
    fn buffer_record(&mut self, record: LogRecord) -> Result<()> {
        let Some(buffer) = self.buffer.as_mut() else { return Err(Error::Closed) };
        if record.levelno < buffer.options.level {
            self.records.skipped_by_level += 1;
            return Ok(());
        }
        self.records.buffered += 1;
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
        self.records.buffered -= records.len() as u64;
        let until = self.outbox.block_deadline();
        self.deliver(records.iter(), until).into_iter().find(Result::is_err).unwrap_or(Ok(()))
    }

    /// `Handler.handle` on the target: its level, then encode and send.
    fn deliver<'r>(&mut self, records: impl Iterator<Item = &'r LogRecord>, until: Instant) -> Vec<Result<()>> {
        let mut results = Vec::with_capacity(records.size_hint().0);
        // Frames go out together: joined in one write on a stream, or as
        // separate datagrams in one call; otherwise one by one.
        let joined = self.outbox.coalesces();
        let bulk = !joined && self.outbox.sends_in_bulk();
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        self.frames.clear();
        for record in records {
            let index = results.len();
            let result = self.take_one(record, index, joined || bulk, &mut batch, until);
            results.push(result);
        }
        if bulk {
            self.outbox.deliver_each(&batch, &self.frames, &mut results);
        } else {
            self.outbox.deliver_joined(&batch, &self.frames, &mut results, until);
        }
        self.batch = batch;
        results
    }

    /// One record of `deliver`: skipped below the level, encoded into
    /// `batch`, then either kept there to go out `together` with the batch
    /// (noted in `frames` under `index`) or delivered now.
    fn take_one(
        &mut self,
        record: &LogRecord,
        index: usize,
        together: bool,
        batch: &mut Vec<u8>,
        until: Instant,
    ) -> Result<()> {
        if self.family.discards() || record.levelno < self.level {
            self.records.skipped_by_level += 1;
            return Ok(());
        }
        let start = batch.len();
        if let Err(e) = self.family.encode(record, batch) {
            batch.truncate(start);
            match e {
                Error::Io(_) | Error::Denied(_) => self.records.dropped_unsent += 1,
                _ => {
                    self.records.dropped_invalid += 1;
                    self.outbox.refused();
                }
            }
            return Err(e);
        }
        if together {
            self.frames.push((index, start, batch.len()));
            return Ok(());
        }
        let delivered = self.outbox.deliver(&batch[start..], until);
        batch.truncate(start);
        delivered
    }

    /// Delivers what is buffered and spooled, trying for up to the spool's
    /// `flush_timeout`; what is still spooled then stays spooled.
    pub fn flush(&mut self) -> Result<()> {
        let buffered = if self.buffer.as_ref().is_some_and(|b| !b.is_empty()) { self.flush_buffer() } else { Ok(()) };
        if self.family.discards() {
            return buffered;
        }
        self.outbox.flush().and(buffered)
    }

    /// Delivers what is spooled while the receiver can be reached, for up
    /// to the spool's `flush_timeout` (see `Outbox::flush_while_reachable`).
    /// A MemoryHandler's buffer is not flushed: that is its target's choice.
    pub fn flush_while_reachable(&mut self) -> Result<()> {
        if self.family.discards() {
            return Ok(());
        }
        self.outbox.flush_while_reachable()
    }

    /// Flushes, then closes. Records still spooled after the flush timeout
    /// are dropped and counted (or stay in the durable spool), and the error
    /// says how many. Closing twice is harmless, as in CPython.
    pub fn close(&mut self) -> Result<()> {
        // MemoryHandler.close: flush only with flushOnClose; otherwise the
        // buffered records are discarded, and counted.
        let mut discarded = 0;
        if let Some(buffer) = self.buffer.as_mut() {
            if buffer.options.flush_on_close {
                let _ = self.flush_buffer();
            } else {
                discarded = buffer.take().len() as u64;
                self.records.buffered -= discarded;
                self.records.dropped_unsent += discarded;
            }
        }
        let closing = self.outbox.close();
        if let Some(lost) = closing.left_behind {
            return Err(lost);
        }
        if discarded > 0 {
            return Err(Error::Dropped(format!(
                "{discarded} buffered records were discarded at close (flushOnClose is false)"
            )));
        }
        closing.flushed
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn stats(&self) -> Stats {
        let mut stats = self.records;
        stats += self.outbox.stats();
        stats.truncated += self.family.truncated();
        stats
    }

    /// A dry run's bytes (memory destination), also after close.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.outbox.take_output()
    }
}
