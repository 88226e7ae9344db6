//! `wasi:logging/logging.log` as CPython would see it: a message becomes a
//! `LogRecord` for the configured handlers.

use pylog_wire::record as level;

use crate::error::{Error, Result};
use crate::handlers::{Handler, Stats};
use crate::python::record::{level_name, msecs_of, LogRecord};

/// wasi:logging's levels, in its order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Critical,
}

impl Level {
    /// wasi:logging's TRACE is `pylog_wire::record::TRACE` (5).
    pub fn levelno(self) -> i64 {
        match self {
            Level::Trace => level::TRACE,
            Level::Debug => level::DEBUG,
            Level::Info => level::INFO,
            Level::Warn => level::WARNING,
            Level::Error => level::ERROR,
            Level::Critical => level::CRITICAL,
        }
    }
}

/// `Logger.makeRecord` for a message from wasi:logging, created `now`
/// (seconds since the epoch), `since_start` seconds after the router began.
pub fn record(level: Level, context: &str, message: &str, now: f64, since_start: f64) -> LogRecord {
    let levelno = level.levelno();
    let mut r = LogRecord::new(if context.is_empty() { "root" } else { context }, levelno, message, now);
    r.levelname = level_name(levelno);
    r.msecs = msecs_of(now);
    r.relative_created = since_start * 1000.0;
    r.pathname = "(unknown file)".into();
    r.filename = "(unknown file)".into();
    r.module = "(unknown file)".into();
    r.func_name = Some("(unknown function)".into());
    r.process_name = Some("MainProcess".into());
    r
}

/// A host that never calls `close` (every stock host: wasmtime run, jco,
/// Spin) gives no other chance to deliver what waits in the spool, so each
/// `log` tries: while the receiver is reachable, for up to the handler's
/// flush_timeout (a slow receiver is waited for); once a connection fails,
/// not again until the backoff allows, so that a receiver that is down
/// does not stall every `log`. What still waits is said on stderr.
fn deliver_spooled(h: &mut Handler) {
    if h.stats().spooled == 0 {
        return;
    }
    if let Err(e) = h.flush_while_reachable() {
        let s = h.stats();
        eprintln!(
            "pylog: handler {:?}: {} records wait in the spool, undelivered ({e}); {} dropped so far",
            h.name(),
            s.spooled,
            s.dropped()
        );
    }
}

/// The handlers `log` feeds.
#[derive(Default)]
pub struct Router {
    handlers: Vec<Handler>,
    start: Option<f64>,
    configured: bool,
}

impl Router {
    /// Replaces the handlers; the old ones are closed first (their close
    /// errors are returned after the new ones are in place).
    pub fn configure(&mut self, handlers: Vec<Handler>) -> Result<()> {
        let closed = self.close();
        self.handlers = handlers;
        self.configured = true;
        closed
    }

    /// Sends the message through every handler. `log` returns nothing, so
    /// what a handler could not send is counted in its stats and said on
    /// stderr (the extension's own, under a host that runs the composition).
    pub fn log(&mut self, level: Level, context: &str, message: &str, now: f64) {
        let start = *self.start.get_or_insert(now);
        let record = record(level, context, message, now, now - start);
        for h in &mut self.handlers {
            if let Err(e) = h.emit(&record) {
                let dropped = h.stats().dropped();
                eprintln!("pylog: handler {:?}: a record was not delivered ({e}); {dropped} dropped so far", h.name());
            }
            deliver_spooled(h);
        }
    }

    /// Whether `configure` has been called (with any number of handlers).
    pub fn is_configured(&self) -> bool {
        self.configured
    }

    pub fn stats(&self) -> Vec<Stats> {
        self.handlers.iter().map(Handler::stats).collect()
    }

    pub fn close(&mut self) -> Result<()> {
        let mut first: Option<Error> = None;
        for mut h in self.handlers.drain(..) {
            if let Err(e) = h.close() {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}
