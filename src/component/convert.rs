//! WIT <-> core conversions, as `From`/`TryFrom`: the only place that
//! maps generated types. Parsing and validation stay in the core (the
//! native build tests them); these are field-by-field moves.

use crate::deliver::backoff::RetryPolicy;
use crate::deliver::file::{FileOptions, Rotation};
use crate::deliver::http::HttpOptions;
use crate::deliver::smtp::SmtpOptions;
use crate::deliver::spool::{self, Overflow, SpoolLimits};
use crate::deliver::timed_rollover::{TimedRollover, When};
use crate::deliver::transport::{Console, Destination};
use crate::encode::priority::NameOrNumber;
use crate::encode::syslog::{Framing, SyslogFormat, SyslogOptions};
use crate::error::Error;
use crate::handlers::memory::BufferOptions;
use crate::handlers::{
    DatagramHandler, FamilyOptions, FileHandler, HandlerConfig, HttpHandler, NullHandler, Secret, SmtpHandler,
    SocketHandler, SocketOptions, Stats, StreamHandler, SysLogHandler,
};
use crate::python::formatter::Formatter;
use crate::python::record::{Args, LogRecord, Value};
use crate::python::text_encoding::TextEncoding;
use pylog_wire::rollover;

use super::wit::exports::pylog::handlers::handlers as wh;
use super::wit::pylog::handlers::config as wc;
use super::wit::pylog::handlers::types as wt;

impl From<Error> for wt::HandlerError {
    fn from(e: Error) -> Self {
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
}

impl From<wt::Value> for Value {
    fn from(v: wt::Value) -> Self {
        match v {
            wt::Value::None => Value::None,
            wt::Value::Boolean(b) => Value::Bool(b),
            wt::Value::Int(i) => Value::Int(i),
            wt::Value::Float(f) => Value::Float(f),
            wt::Value::Str(s) => Value::Str(s),
            wt::Value::Bytes(b) => Value::Bytes(b),
        }
    }
}

fn pairs(items: Vec<(String, wt::Value)>) -> Vec<(String, Value)> {
    items.into_iter().map(|(k, v)| (k, v.into())).collect()
}

impl From<wt::LogRecord> for LogRecord {
    fn from(r: wt::LogRecord) -> Self {
        LogRecord {
            name: r.name,
            msg: r.msg,
            args: r.args.map(|a| match a {
                wt::Args::Positional(items) => Args::Tuple(items.into_iter().map(Value::from).collect()),
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
}

impl From<Value> for wt::Value {
    fn from(v: Value) -> Self {
        match v {
            Value::None => wt::Value::None,
            Value::Bool(b) => wt::Value::Boolean(b),
            Value::Int(i) => wt::Value::Int(i),
            Value::Float(f) => wt::Value::Float(f),
            Value::Str(s) => wt::Value::Str(s),
            Value::Bytes(b) => wt::Value::Bytes(b),
        }
    }
}

fn wit_pairs(items: Vec<(String, Value)>) -> Vec<(String, wt::Value)> {
    items.into_iter().map(|(k, v)| (k, v.into())).collect()
}

impl From<LogRecord> for wt::LogRecord {
    fn from(r: LogRecord) -> Self {
        wt::LogRecord {
            name: r.name,
            msg: r.msg,
            args: r.args.map(|a| match a {
                Args::Tuple(items) => wt::Args::Positional(items.into_iter().map(wt::Value::from).collect()),
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
}

impl From<wc::NameOrNumber> for NameOrNumber {
    fn from(n: wc::NameOrNumber) -> Self {
        match n {
            wc::NameOrNumber::Name(s) => NameOrNumber::Name(s),
            wc::NameOrNumber::Number(n) => NameOrNumber::Number(n),
        }
    }
}

impl TryFrom<wc::Formatter> for Formatter {
    type Error = Error;
    fn try_from(f: wc::Formatter) -> Result<Self, Error> {
        let style = match f.style {
            wc::FormatStyle::Percent => '%',
            wc::FormatStyle::Brace => '{',
            wc::FormatStyle::Dollar => '$',
        };
        Formatter::new(f.fmt.as_deref(), f.datefmt.as_deref(), style, f.utc_offset_seconds, &f.tz_name)
    }
}

impl From<wc::SocketOptions> for SocketOptions {
    fn from(o: wc::SocketOptions) -> Self {
        SocketOptions {
            pickle_protocol: o.pickle_protocol,
            retry: RetryPolicy { start: o.retry_start, factor: o.retry_factor, max: o.retry_max },
            close_on_error: o.close_on_error,
            hmac_key: o.hmac_key.map(Secret),
            ack_window: o.ack_window,
        }
    }
}

impl TryFrom<wc::HandlerConfig> for HandlerConfig {
    type Error = Error;
    fn try_from(c: wc::HandlerConfig) -> Result<Self, Error> {
        // Each WIT case names its family's type: this match is where a
        // family is registered.
        let (family, destination): (Box<dyn FamilyOptions>, Destination) = match c.kind {
            wc::HandlerKind::Socket((address, o)) => (Box::new(SocketHandler(o.into())), address.into()),
            wc::HandlerKind::Datagram((address, o)) => (Box::new(DatagramHandler(o.into())), address.into()),
            wc::HandlerKind::Syslog((address, o)) => (Box::new(SysLogHandler(o.into())), address.into()),
            wc::HandlerKind::Null => (Box::new(NullHandler), Destination::Configured),
            wc::HandlerKind::Stream(t) => (
                Box::new(StreamHandler(match t {
                    wc::StreamTarget::Stderr => Console::Stderr,
                    wc::StreamTarget::Stdout => Console::Stdout,
                })),
                Destination::Configured,
            ),
            wc::HandlerKind::File(o) => {
                (Box::new(file_handler(o, c.formatter.utc_offset_seconds)?), Destination::Configured)
            }
            wc::HandlerKind::Http(o) => (
                Box::new(HttpHandler(HttpOptions {
                    host: o.host,
                    url: o.url,
                    method: match o.method {
                        wc::HttpMethod::Get => "GET".into(),
                        wc::HttpMethod::Post => "POST".into(),
                    },
                    secure: o.secure,
                    credentials: o.credentials.map(|c| (c.username, c.password)),
                })),
                Destination::Configured,
            ),
            wc::HandlerKind::Smtp(o) => (
                Box::new(SmtpHandler(SmtpOptions {
                    fromaddr: o.fromaddr,
                    toaddrs: o.toaddrs,
                    subject: o.subject,
                    credentials: o.credentials.map(|c| (c.username, c.password)),
                    secure: o.secure,
                    timeout: o.timeout,
                    local_hostname: o.local_hostname,
                })),
                Destination::Tcp { host: o.mailhost.host, port: o.mailhost.port },
            ),
        };
        // A dry run is the core's memory destination: every family's bytes
        // are kept, nothing is opened.
        let destination = if c.dry_run { Destination::Memory } else { destination };
        let spool = SpoolLimits {
            max_records: c.spool.max_records as usize,
            max_bytes: usize::try_from(c.spool.max_bytes).unwrap_or(usize::MAX),
            overflow: match c.spool.overflow {
                wc::Overflow::DropOldest => Overflow::DropOldest,
                wc::Overflow::DropNewest => Overflow::DropNewest,
                wc::Overflow::Block => Overflow::Block,
            },
            block_timeout: spool::seconds("block_timeout", c.spool.block_timeout)?,
            flush_timeout: spool::seconds("flush_timeout", c.spool.flush_timeout)?,
            write_timeout: spool::seconds("timeout", c.spool.write_timeout)?,
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
            family,
            destination,
            level: c.level,
            formatter: c.formatter.try_into()?,
            spool,
            buffer,
        })
    }
}

impl From<wc::StreamAddress> for Destination {
    fn from(a: wc::StreamAddress) -> Self {
        match a {
            wc::StreamAddress::Tcp(e) => Destination::Tcp { host: e.host, port: e.port },
            wc::StreamAddress::Tls(e) => Destination::Tls { host: e.host, port: e.port },
            wc::StreamAddress::Unix(path) => Destination::UnixStream(path),
        }
    }
}

impl From<wc::DatagramAddress> for Destination {
    fn from(a: wc::DatagramAddress) -> Self {
        match a {
            wc::DatagramAddress::Udp(e) => Destination::Udp { host: e.host, port: e.port },
            wc::DatagramAddress::Unix(path) => Destination::UnixDatagram(path),
        }
    }
}

impl From<wc::SyslogAddress> for Destination {
    fn from(a: wc::SyslogAddress) -> Self {
        match a {
            wc::SyslogAddress::Udp(e) => Destination::Udp { host: e.host, port: e.port },
            wc::SyslogAddress::Tcp(e) => Destination::Tcp { host: e.host, port: e.port },
            wc::SyslogAddress::Tls(e) => Destination::Tls { host: e.host, port: e.port },
            wc::SyslogAddress::UnixDatagram(path) => Destination::UnixDatagram(path),
            wc::SyslogAddress::UnixStream(path) => Destination::UnixStream(path),
        }
    }
}

impl From<wc::SyslogOptions> for SyslogOptions {
    fn from(o: wc::SyslogOptions) -> Self {
        SyslogOptions {
            facility: o.facility.into(),
            ident: o.ident,
            append_nul: o.append_nul,
            format: match o.format {
                wc::SyslogFormat::Cpython => SyslogFormat::Cpython,
                wc::SyslogFormat::Rfc5424 => SyslogFormat::Rfc5424,
            },
            framing: match o.framing {
                wc::SyslogFraming::Unframed => Framing::Unframed,
                wc::SyslogFraming::OctetCounting => Framing::OctetCounting,
                wc::SyslogFraming::Relp => Framing::Relp,
            },
            hostname: o.hostname,
            app_name: o.app_name,
            procid: o.procid,
            cpython_exact_bytes: o.cpython_exact_bytes,
            escape_controls: false,
            lf_trailer: false,
            max_message_bytes: o.max_message_bytes,
        }
    }
}

/// The file handlers' options; the core parses the mode, the codec and
/// the rollover schedule (and refuses what it cannot do).
fn file_handler(o: wc::FileOptions, utc_offset_seconds: i32) -> Result<FileHandler, Error> {
    let mode = match &o.mode {
        wc::FileMode::Append => "a",
        wc::FileMode::Write => "w",
        wc::FileMode::Other(m) => m,
    };
    let encoding = match &o.encoding {
        wc::TextEncoding::Utf8 => "utf-8",
        wc::TextEncoding::Ascii => "ascii",
        wc::TextEncoding::Latin1 => "latin-1",
        wc::TextEncoding::Other(e) => e,
    };
    let errors = match &o.errors {
        wc::EncodingErrors::Strict => "strict",
        wc::EncodingErrors::Ignore => "ignore",
        wc::EncodingErrors::Replace => "replace",
        wc::EncodingErrors::BackslashReplace => "backslashreplace",
        wc::EncodingErrors::Other(e) => e,
    };
    let rotation = match o.rotation {
        wc::Rotation::None => Rotation::None,
        wc::Rotation::Watched => Rotation::Watched,
        wc::Rotation::Size(r) => Rotation::Size { max_bytes: r.max_bytes, backup_count: r.backup_count },
        wc::Rotation::Timed(t) => {
            let when = match t.when {
                wc::RolloverWhen::Seconds => When::Seconds,
                wc::RolloverWhen::Minutes => When::Minutes,
                wc::RolloverWhen::Hours => When::Hours,
                wc::RolloverWhen::Days => When::Days,
                wc::RolloverWhen::Midnight => When::Midnight,
                wc::RolloverWhen::Weekday(day) => rollover::weekday(day).map_err(Error::BadConfig)?,
            };
            Rotation::Timed(TimedRollover::new(when, t.interval, t.backup_count, t.utc, t.at_time, utc_offset_seconds)?)
        }
    };
    Ok(FileHandler {
        encoding: TextEncoding::parse(encoding, errors)?,
        options: FileOptions { append: FileOptions::append_mode(mode)?, path: o.path, delay: o.delay, rotation },
    })
}

impl From<Stats> for wh::HandlerStats {
    fn from(s: Stats) -> Self {
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
}
