//! The only file that knows wit-bindgen: converts WIT types to the core's
//! and back. No logic lives here.

use std::cell::RefCell;

use crate::backoff::RetryPolicy;
use crate::buffer::BufferOptions;
use crate::error::Error;
use crate::file_sink::{FileOptions, Rotation};
use crate::formatter::Formatter;
use crate::handler::{Handler, HandlerConfig, Kind, SocketOptions};
use crate::http_body::urlencoded_record;
use crate::http_client::HttpOptions;
use crate::log_routing::{Level, Router};
use crate::priority::{self, NameOrNumber};
use crate::record::{Args, LogRecord, Value};
use crate::smtp::SmtpOptions;
use crate::spool::{Overflow, SpoolLimits};
use crate::syslog::{Framing, SyslogFormat, SyslogOptions};
use crate::text_encoding::TextEncoding;
use crate::timed_rollover::TimedRollover;
use crate::transport::{Console, Destination, UnixSockets};
use crate::{handler, pickle, prepare};

mod wit {
    wit_bindgen::generate!({ path: "wit", world: "plugin" });
}

use wit::exports::pylog::handlers::handlers as wh;
use wit::exports::pylog::handlers::log_routing as wr;
use wit::exports::wasi::logging::logging as wl;
use wit::pylog::handlers::config as wc;
use wit::pylog::handlers::types as wt;
use wit::pylog::handlers::unix_sockets as unix;

/// Unix sockets through the host's `unix-sockets` import.
struct ImportedUnixSockets;

fn unix_error(e: unix::UnixError) -> Error {
    match e {
        unix::UnixError::Unsupported(m) => Error::Unsupported(m),
        unix::UnixError::Denied(m) => Error::Denied(m),
        unix::UnixError::Io(m) => Error::Io(m),
    }
}

impl UnixSockets for ImportedUnixSockets {
    fn connect_stream(&mut self, path: &str) -> Result<u32, Error> {
        unix::connect_stream(path).map_err(unix_error)
    }
    fn send_stream(&mut self, connection: u32, bytes: &[u8]) -> Result<(), Error> {
        unix::send_stream(connection, bytes).map_err(unix_error)
    }
    fn close_stream(&mut self, connection: u32) {
        unix::close_stream(connection)
    }
    fn send_datagram(&mut self, path: &str, bytes: &[u8]) -> Result<(), Error> {
        unix::send_datagram(path, bytes).map_err(unix_error)
    }
}

struct Plugin;

fn error(e: Error) -> wt::HandlerError {
    match e {
        Error::BadConfig(m) => wt::HandlerError::BadConfig(m),
        Error::BadRecord(m) => wt::HandlerError::BadRecord(m),
        Error::UnknownFacility(m) => wt::HandlerError::UnknownFacility(m),
        Error::UnknownPriority(m) => wt::HandlerError::UnknownPriority(m),
        Error::Io(m) => wt::HandlerError::Io(m),
        Error::Denied(m) => wt::HandlerError::Denied(m),
        Error::Unsupported(m) => wt::HandlerError::Unsupported(m),
        Error::Closed => wt::HandlerError::Closed,
        Error::Dropped(m) => wt::HandlerError::Dropped(m),
    }
}

fn value(v: wt::Value) -> Value {
    match v {
        wt::Value::None => Value::None,
        wt::Value::Boolean(b) => Value::Bool(b),
        wt::Value::Int(i) => Value::Int(i),
        wt::Value::Float(f) => Value::Float(f),
        wt::Value::Str(s) => Value::Str(s),
        wt::Value::Bytes(b) => Value::Bytes(b),
    }
}

fn pairs(items: Vec<(String, wt::Value)>) -> Vec<(String, Value)> {
    items.into_iter().map(|(k, v)| (k, value(v))).collect()
}

fn record(r: wt::LogRecord) -> LogRecord {
    LogRecord {
        name: r.name,
        msg: r.msg,
        args: r.args.map(|a| match a {
            wt::Args::Positional(items) => Args::Tuple(items.into_iter().map(value).collect()),
            wt::Args::Mapping(items) => Args::Mapping(pairs(items)),
        }),
        levelname: r.levelname,
        levelno: r.levelno,
        pathname: r.pathname,
        filename: r.filename,
        module: r.module,
        exc_text: r.exc_text,
        stack_info: r.stack_info,
        lineno: r.lineno,
        func_name: r.func_name,
        created: r.created,
        msecs: r.msecs,
        relative_created: r.relative_created,
        thread: r.thread,
        thread_name: r.thread_name,
        process_name: r.process_name,
        process: r.process,
        task_name: r.task_name,
        extra: pairs(r.extra),
    }
}

fn wit_value(v: Value) -> wt::Value {
    match v {
        Value::None => wt::Value::None,
        Value::Bool(b) => wt::Value::Boolean(b),
        Value::Int(i) => wt::Value::Int(i),
        Value::Float(f) => wt::Value::Float(f),
        Value::Str(s) => wt::Value::Str(s),
        Value::Bytes(b) => wt::Value::Bytes(b),
    }
}

fn wit_pairs(items: Vec<(String, Value)>) -> Vec<(String, wt::Value)> {
    items.into_iter().map(|(k, v)| (k, wit_value(v))).collect()
}

fn wit_record(r: LogRecord) -> wt::LogRecord {
    wt::LogRecord {
        name: r.name,
        msg: r.msg,
        args: r.args.map(|a| match a {
            Args::Tuple(items) => wt::Args::Positional(items.into_iter().map(wit_value).collect()),
            Args::Mapping(items) => wt::Args::Mapping(wit_pairs(items)),
        }),
        levelname: r.levelname,
        levelno: r.levelno,
        pathname: r.pathname,
        filename: r.filename,
        module: r.module,
        exc_text: r.exc_text,
        stack_info: r.stack_info,
        lineno: r.lineno,
        func_name: r.func_name,
        created: r.created,
        msecs: r.msecs,
        relative_created: r.relative_created,
        thread: r.thread,
        thread_name: r.thread_name,
        process_name: r.process_name,
        process: r.process,
        task_name: r.task_name,
        extra: wit_pairs(r.extra),
    }
}

fn name_or_number(n: wc::NameOrNumber) -> NameOrNumber {
    match n {
        wc::NameOrNumber::Name(s) => NameOrNumber::Name(s),
        wc::NameOrNumber::Number(n) => NameOrNumber::Number(n),
    }
}

fn formatter(f: wc::Formatter) -> Result<Formatter, Error> {
    Formatter::new(f.fmt.as_deref(), f.datefmt.as_deref(), f.style, f.utc_offset_seconds, &f.tz_name)
}

fn socket_options(o: wc::SocketOptions) -> SocketOptions {
    SocketOptions {
        pickle_protocol: o.pickle_protocol,
        retry: RetryPolicy { start: o.retry_start, factor: o.retry_factor, max: o.retry_max },
        close_on_error: o.close_on_error,
        hmac_key: o.hmac_key.map(crate::handler::Secret),
        ack_window: o.ack_window,
    }
}

fn config(c: wc::HandlerConfig) -> Result<HandlerConfig, Error> {
    let kind = match c.kind {
        wc::HandlerKind::Socket(o) => Kind::Socket(socket_options(o)),
        wc::HandlerKind::Datagram(o) => Kind::Datagram(socket_options(o)),
        wc::HandlerKind::Syslog(o) => Kind::Syslog(SyslogOptions {
            facility: name_or_number(o.facility),
            ident: o.ident,
            append_nul: o.append_nul,
            format: match o.format {
                wc::SyslogFormat::Cpython => SyslogFormat::Cpython,
                wc::SyslogFormat::Rfc5424 => SyslogFormat::Rfc5424,
            },
            framing: match o.framing {
                wc::SyslogFraming::Unframed => Framing::Unframed,
                wc::SyslogFraming::OctetCounting => Framing::OctetCounting,
            },
            hostname: o.hostname,
            app_name: o.app_name,
            procid: o.procid,
            cpython_exact_bytes: o.cpython_exact_bytes,
            escape_controls: false,
            lf_trailer: false,
            max_message_bytes: o.max_message_bytes,
        }),
        wc::HandlerKind::Null => Kind::Null,
        wc::HandlerKind::Stream(t) => Kind::Stream(match t {
            wc::StreamTarget::Stderr => Console::Stderr,
            wc::StreamTarget::Stdout => Console::Stdout,
        }),
        wc::HandlerKind::File(o) => Kind::File {
            encoding: TextEncoding::parse(&o.encoding, &o.errors)?,
            options: FileOptions {
                append: match o.mode.as_str() {
                    "a" => true,
                    "w" => false,
                    other => {
                        return Err(Error::BadConfig(format!("mode {other:?} must be \"a\" or \"w\" for a log file")))
                    }
                },
                path: o.path,
                delay: o.delay,
                rotation: match o.rotation {
                    wc::Rotation::None => Rotation::None,
                    wc::Rotation::Watched => Rotation::Watched,
                    wc::Rotation::Size(r) => Rotation::Size { max_bytes: r.max_bytes, backup_count: r.backup_count },
                    wc::Rotation::Timed(t) => Rotation::Timed(TimedRollover::new(
                        &t.when,
                        t.interval,
                        t.backup_count,
                        t.utc,
                        t.at_time,
                        c.formatter.utc_offset_seconds,
                    )?),
                },
            },
        },
        wc::HandlerKind::Http(o) => Kind::Http(HttpOptions {
            host: o.host,
            url: o.url,
            method: o.method,
            secure: o.secure,
            credentials: o.credentials.map(|c| (c.username, c.password)),
        }),
        wc::HandlerKind::Smtp(o) => Kind::Smtp(SmtpOptions {
            fromaddr: o.fromaddr,
            toaddrs: o.toaddrs,
            subject: o.subject,
            credentials: o.credentials.map(|c| (c.username, c.password)),
            secure: o.secure,
            timeout: o.timeout,
            local_hostname: o.local_hostname,
        }),
    };
    let destination = match c.destination {
        wc::Destination::Memory => Destination::Memory,
        wc::Destination::Tcp(e) => Destination::Tcp { host: e.host, port: e.port },
        wc::Destination::Udp(e) => Destination::Udp { host: e.host, port: e.port },
        wc::Destination::UnixStream(p) => Destination::UnixStream(p),
        wc::Destination::UnixDatagram(p) => Destination::UnixDatagram(p),
        wc::Destination::Configured => Destination::Configured,
    };
    let spool = SpoolLimits {
        max_records: c.spool.max_records as usize,
        max_bytes: usize::try_from(c.spool.max_bytes).unwrap_or(usize::MAX),
        overflow: match c.spool.overflow {
            wc::Overflow::DropOldest => Overflow::DropOldest,
            wc::Overflow::DropNewest => Overflow::DropNewest,
            wc::Overflow::Block => Overflow::Block,
        },
        block_timeout: seconds("block_timeout", c.spool.block_timeout)?,
        flush_timeout: seconds("flush_timeout", c.spool.flush_timeout)?,
        write_timeout: seconds("timeout", c.spool.write_timeout)?,
        directory: c.spool.directory,
    };
    let buffer = c.buffer.map(|b| BufferOptions {
        capacity: b.capacity,
        flush_level: b.flush_level,
        flush_on_close: b.flush_on_close,
        level: b.level,
    });
    Ok(HandlerConfig {
        name: c.name,
        kind,
        destination,
        level: c.level,
        formatter: formatter(c.formatter)?,
        spool,
        buffer,
    })
}

/// A handler from its WIT configuration, with the host's unix sockets: the
/// one way `handler.open`, `log-routing.configure` and the wasi:logging
/// route open handlers.
fn open_handler(c: wc::HandlerConfig) -> Result<Handler, Error> {
    config(c).and_then(|c| Handler::open_with(c, Box::new(ImportedUnixSockets)))
}

fn seconds(name: &str, s: f64) -> Result<std::time::Duration, Error> {
    std::time::Duration::try_from_secs_f64(s)
        .map_err(|_| Error::BadConfig(format!("{name} must be a number of seconds from 0 to 3600, not {s}")))
}

fn stats(s: handler::Stats) -> wh::HandlerStats {
    wh::HandlerStats {
        emitted: s.emitted,
        sent: s.sent,
        dropped: s.dropped(),
        skipped_by_level: s.skipped_by_level,
        bytes: s.bytes,
        reconnects: s.reconnects,
        truncated: s.truncated,
        spooled: s.spooled,
        replayed: s.replayed,
        dropped_spool_full: s.dropped_spool_full,
        dropped_invalid: s.dropped_invalid,
        dropped_unsent: s.dropped_unsent,
        dropped_unconfirmed: s.dropped_unconfirmed,
        recovered: s.recovered,
        corrupt: s.corrupt,
        buffered: s.buffered,
    }
}

impl wh::Guest for Plugin {
    type Handler = HandlerResource;

    fn make_pickle(rec: wt::LogRecord, protocol: u8) -> Result<Vec<u8>, wt::HandlerError> {
        pickle::make_pickle(&record(rec), protocol).map_err(error)
    }

    fn encode_priority(facility: wc::NameOrNumber, priority: wc::NameOrNumber) -> Result<u32, wt::HandlerError> {
        priority::encode_priority(&name_or_number(facility), &name_or_number(priority)).map_err(error)
    }

    fn map_priority(levelname: String) -> String {
        priority::map_priority(&levelname).to_string()
    }

    fn format_record(rec: wt::LogRecord, fmt: wc::Formatter) -> Result<String, wt::HandlerError> {
        formatter(fmt).and_then(|f| f.format(&record(rec))).map_err(error)
    }

    fn prepare_record(rec: wt::LogRecord, fmt: wc::Formatter) -> Result<wt::LogRecord, wt::HandlerError> {
        formatter(fmt).and_then(|f| prepare::prepare(&record(rec), &f)).map(wit_record).map_err(error)
    }

    fn http_body(rec: wt::LogRecord) -> String {
        urlencoded_record(&record(rec))
    }
}

/// Resource methods take `&self`; a component instance is single-threaded,
/// so a `RefCell` is all the interior mutability needed.
struct HandlerResource(RefCell<Handler>);

impl wh::GuestHandler for HandlerResource {
    fn open(c: wc::HandlerConfig) -> Result<wh::Handler, wt::HandlerError> {
        let handler = open_handler(c).map_err(error)?;
        Ok(wh::Handler::new(HandlerResource(RefCell::new(handler))))
    }

    fn emit(&self, rec: wt::LogRecord) -> Result<(), wt::HandlerError> {
        self.0.borrow_mut().emit_owned(record(rec)).map_err(error)
    }

    fn emit_batch(&self, recs: Vec<wt::LogRecord>) -> Vec<Result<(), wt::HandlerError>> {
        let recs: Vec<LogRecord> = recs.into_iter().map(record).collect();
        self.0.borrow_mut().emit_batch_owned(recs).into_iter().map(|r| r.map_err(error)).collect()
    }

    fn flush(&self) -> Result<(), wt::HandlerError> {
        self.0.borrow_mut().flush().map_err(error)
    }

    fn close(&self) -> Result<(), wt::HandlerError> {
        self.0.borrow_mut().close().map_err(error)
    }

    fn stats(&self) -> wh::HandlerStats {
        stats(self.0.borrow().stats())
    }

    fn take_output(&self) -> Vec<u8> {
        self.0.borrow_mut().take_output()
    }
}

thread_local! {
    /// The handlers behind wasi:logging; an instance is single-threaded.
    static ROUTER: RefCell<Router> = RefCell::new(Router::default());
}

fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

impl wr::Guest for Plugin {
    fn configure(handlers: Vec<wc::HandlerConfig>) -> Result<(), wt::HandlerError> {
        let mut opened = Vec::with_capacity(handlers.len());
        for c in handlers {
            opened.push(open_handler(c).map_err(error)?);
        }
        ROUTER.with(|r| r.borrow_mut().configure(opened)).map_err(error)
    }

    fn stats() -> Vec<wh::HandlerStats> {
        ROUTER.with(|r| r.borrow().stats().into_iter().map(stats).collect())
    }

    fn close() -> Result<(), wt::HandlerError> {
        ROUTER.with(|r| r.borrow_mut().close()).map_err(error)
    }
}

impl wl::Guest for Plugin {
    fn log(level: wl::Level, context: String, message: String) {
        // Unconfigured: ask the host (the route of a composed component).
        if !ROUTER.with(|r| r.borrow().is_configured()) {
            let handlers = wit::pylog::handlers::route_config::handlers();
            let mut opened: Vec<Handler> = Vec::new();
            for c in handlers {
                let name = c.name.clone();
                match open_handler(c) {
                    Ok(h) => opened.push(h),
                    // `log` cannot return an error; the host shows the
                    // plugin's stderr, and the other handlers still work.
                    Err(e) => eprintln!("pylog: wasi:logging route: handler {name:?} not opened: {e}"),
                }
            }
            ROUTER.with(|r| {
                let _ = r.borrow_mut().configure(opened);
            });
        }
        let level = match level {
            wl::Level::Trace => Level::Trace,
            wl::Level::Debug => Level::Debug,
            wl::Level::Info => Level::Info,
            wl::Level::Warn => Level::Warn,
            wl::Level::Error => Level::Error,
            wl::Level::Critical => Level::Critical,
        };
        ROUTER.with(|r| r.borrow_mut().log(level, &context, &message, now()));
    }
}

wit::export!(Plugin with_types_in wit);
