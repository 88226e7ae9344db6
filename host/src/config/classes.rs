//! The handler class table: each `logging.handlers` class name and its
//! constructor keys into a `HandlerConfig` (QueueHandler and MemoryHandler
//! resolved to their targets), and back from a `HandlerKind` to its class
//! name and the address its constructor named. One concept: what the host
//! knows of each CPython class, so a new handler kind touches this one
//! host file (the compiler lists each `match` to extend).

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{Map, Value as Json};

use crate::bindings::{
    Address, BufferOptions, DatagramAddress, Endpoint, Formatter, HandlerConfig, HandlerKind, HttpMethod, HttpOptions,
    NameOrNumber, Rotation, SmtpOptions, StreamAddress, StreamTarget, SyslogAddress, SyslogFraming,
};
use crate::config::arguments::{
    check_attrs_none, credentials, default_formatter, facility, file_options, formatter, host_name, level, level_of,
    port_number, socktype_is_stream, udp_or_tcp, FILE_KEYS,
};
use crate::config::local_time::LocalTime;
use crate::config::options::{check_attrs, socket_options, spool_options, syslog_options};
use crate::config::problems::ClassProblem;
use crate::config::tls::{tls_table, TlsClient};
use crate::config::values::{attr_bool, attr_seconds, str_key, MAX_CAPACITY};

impl HandlerKind {
    /// The CPython class this kind stands for (`logging.handlers.` left out).
    pub fn class_name(&self) -> &'static str {
        match self {
            HandlerKind::Socket(_) => "SocketHandler",
            HandlerKind::Datagram(_) => "DatagramHandler",
            HandlerKind::Syslog(_) => "SysLogHandler",
            HandlerKind::Null => "NullHandler",
            HandlerKind::Stream(_) => "StreamHandler",
            HandlerKind::File(o) => match o.rotation {
                Rotation::None => "FileHandler",
                Rotation::Watched => "WatchedFileHandler",
                Rotation::Size(_) => "RotatingFileHandler",
                Rotation::Timed(_) => "TimedRotatingFileHandler",
            },
            HandlerKind::Http(_) => "HTTPHandler",
            HandlerKind::Smtp(_) => "SMTPHandler",
        }
    }

    /// The network address this kind's constructor names; none for the
    /// kinds with their own target (a file, a URL, the console) or none.
    pub fn address(&self) -> Option<Address<'_>> {
        Some(match self {
            HandlerKind::Socket((StreamAddress::Tcp(e), _)) => Address::Tcp(e),
            HandlerKind::Socket((StreamAddress::Tls(e), _)) => Address::Tls(e),
            HandlerKind::Socket((StreamAddress::Unix(p), _)) => Address::UnixStream(p),
            HandlerKind::Datagram((DatagramAddress::Udp(e), _)) => Address::Udp(e),
            HandlerKind::Datagram((DatagramAddress::Unix(p), _)) => Address::UnixDatagram(p),
            HandlerKind::Syslog((SyslogAddress::Tcp(e), _)) => Address::Tcp(e),
            HandlerKind::Syslog((SyslogAddress::Tls(e), _)) => Address::Tls(e),
            HandlerKind::Syslog((SyslogAddress::Udp(e), _)) => Address::Udp(e),
            HandlerKind::Syslog((SyslogAddress::UnixStream(p), _)) => Address::UnixStream(p),
            HandlerKind::Syslog((SyslogAddress::UnixDatagram(p), _)) => Address::UnixDatagram(p),
            HandlerKind::Smtp(o) => Address::Tcp(&o.mailhost),
            HandlerKind::Null | HandlerKind::Stream(_) | HandlerKind::File(_) | HandlerKind::Http(_) => return None,
        })
    }
}

pub(crate) struct Resolver<'a> {
    pub(crate) handlers: &'a Map<String, Json>,
    pub(crate) formatters: &'a Map<String, Json>,
    pub(crate) local: &'a LocalTime,
    pub(crate) chosen: &'a [String],
    /// Each resolved handler's TLS client, by its config name (filled by
    /// `buffered`, through which every handler config passes).
    pub(crate) tls: std::cell::RefCell<std::collections::HashMap<String, TlsClient>>,
}

pub(crate) fn class_of(e: &Map<String, Json>) -> Result<&str> {
    e.get("class").and_then(Json::as_str).ok_or_else(|| anyhow!("has no \"class\""))
}

impl Resolver<'_> {
    pub(crate) fn entry(&self, name: &str) -> Result<&Map<String, Json>> {
        let entry = self.handlers.get(name).ok_or_else(|| anyhow!("handler {name:?} is not defined"))?;
        entry.as_object().ok_or_else(|| anyhow!("handler {name:?} must be a mapping"))
    }

    /// A handler that records reach directly; a MemoryHandler becomes its
    /// target with a buffer in front.
    pub(crate) fn buffered(&self, name: &str, e: &Map<String, Json>) -> Result<HandlerConfig> {
        let short = short_class(class_of(e)?);
        if short != "MemoryHandler" && short != "BufferingHandler" {
            let config = handler(name, e, self.formatters, self.local)?;
            self.keep_tls(name, e)?;
            return Ok(config);
        }
        let own_level = level_of(e)?;
        let capacity = e
            .get("capacity")
            .ok_or_else(|| anyhow!("{short} needs \"capacity\" (records held before a flush)"))?
            .as_u64()
            .and_then(|c| u32::try_from(c).ok())
            .filter(|c| *c > 0 && *c <= MAX_CAPACITY)
            .ok_or_else(|| {
                anyhow!("capacity must be a count from 1 to {MAX_CAPACITY} (the buffer lives in the plugin's memory)")
            })?;
        let allowed: &[&str] = if short == "MemoryHandler" {
            &["class", "level", "capacity", "flushLevel", "target", "flushOnClose", "formatter"]
        } else {
            &["class", "level", "capacity", "formatter"]
        };
        for key in e.keys() {
            if !allowed.contains(&key.as_str()) {
                bail!("{short} has no constructor argument {key:?}");
            }
        }
        if short == "BufferingHandler" {
            // BufferingHandler.flush empties the buffer without sending it
            // anywhere; records end at a NullHandler, counted as skipped.
            let mut null = handler(
                name,
                &Map::from_iter([("class".into(), "logging.NullHandler".into())]),
                self.formatters,
                self.local,
            )?;
            null.buffer =
                Some(BufferOptions { capacity, flush_level: i64::MAX, flush_on_close: true, level: own_level });
            return Ok(null);
        }
        let target = match e.get("target") {
            Some(Json::String(t)) if t == name => {
                bail!("MemoryHandler {name:?} is its own target; name another handler, one that sends")
            }
            Some(Json::String(t)) => t,
            None | Some(Json::Null) => bail!(
                "MemoryHandler needs \"target\" (the name of another handler): without one CPython keeps every \
                 record until setTarget is called, which a configuration cannot do"
            ),
            Some(other) => bail!("target must be the name of another handler, not {other}"),
        };
        if self.chosen.contains(target) {
            bail!(
                "handler {target:?} is both this MemoryHandler's target and a root handler; CPython would share one \
                 instance, pylog gives each its own, so list only the MemoryHandler (records at flushLevel still \
                 reach the target at once)"
            );
        }
        let target_entry = self.entry(target)?;
        let target_class = short_class(class_of(target_entry)?);
        if ["MemoryHandler", "BufferingHandler", "QueueHandler"].contains(&target_class) {
            bail!("a MemoryHandler's target must be a handler that sends ({target_class} cannot be a target here)");
        }
        let mut config =
            handler(target, target_entry, self.formatters, self.local).with_context(|| format!("target {target:?}"))?;
        self.keep_tls(name, target_entry).with_context(|| format!("target {target:?}"))?;
        config.name = name.to_string();
        // MemoryHandler.flush calls target.handle(), which has no level
        // check (Logger.callHandlers has it): the target's level is moot.
        config.level = 0;
        config.buffer = Some(BufferOptions {
            capacity,
            flush_level: match e.get("flushLevel") {
                None => 40,
                Some(v) => level(v)?,
            },
            flush_on_close: attr_bool(e, "flushOnClose", true)?,
            level: own_level,
        });
        Ok(config)
    }

    /// Reads the TLS files of the entry a config named `name` came from:
    /// its `"." tls` table, and an SMTPHandler's `secure` (keyfile, certfile).
    fn keep_tls(&self, name: &str, e: &Map<String, Json>) -> Result<()> {
        let empty = Map::new();
        let attrs = match e.get(".") {
            Some(Json::Object(attrs)) => attrs,
            _ => &empty,
        };
        let mut table = tls_table(attrs)?.cloned();
        if let Some((keyfile, certfile)) = smtp_client_certificate(e)? {
            let t = table.get_or_insert_with(Map::new);
            t.insert("keyfile".into(), keyfile.into());
            t.insert("certfile".into(), certfile.into());
        } else if e.get("secure").is_some_and(Json::is_array) {
            table.get_or_insert_with(Map::new);
        }
        if let Some(table) = table {
            self.tls.borrow_mut().insert(name.to_string(), TlsClient::from_table(&table)?);
        }
        Ok(())
    }
}

/// SMTPHandler's `secure`: `()` for STARTTLS alone, `(keyfile, certfile)`
/// for a client certificate too, as `smtplib.SMTP.starttls(*secure)` takes them.
fn smtp_client_certificate(e: &Map<String, Json>) -> Result<Option<(String, String)>> {
    let Some(Json::Array(items)) = e.get("secure") else { return Ok(None) };
    let files: Vec<&str> = items.iter().filter_map(Json::as_str).collect();
    match (files.len() == items.len(), files.as_slice()) {
        (true, []) => Ok(None),
        (true, [keyfile, certfile]) => Ok(Some((keyfile.to_string(), certfile.to_string()))),
        (true, [_]) => {
            bail!("secure (keyfile,) needs the certfile too, as smtplib's starttls does: (keyfile, certfile)")
        }
        _ => bail!("secure must be () or (keyfile, certfile), file paths"),
    }
}

pub(crate) fn formatter_of(
    e: &Map<String, Json>,
    formatters: &Map<String, Json>,
    local: &LocalTime,
) -> Result<Formatter> {
    match e.get("formatter") {
        None => Ok(default_formatter(local)),
        Some(Json::String(f)) => {
            let spec = formatters.get(f).ok_or_else(|| anyhow!("formatter {f:?} is not defined in \"formatters\""))?;
            formatter(f, spec, local)
        }
        Some(other) => bail!("formatter must be the name of an entry in \"formatters\", not {other}"),
    }
}

pub(crate) fn short_class(class: &str) -> &str {
    class.rsplit('.').next().unwrap_or(class)
}

pub(crate) fn handler(
    name: &str,
    e: &Map<String, Json>,
    formatters: &Map<String, Json>,
    local: &LocalTime,
) -> Result<HandlerConfig> {
    let class = e.get("class").and_then(Json::as_str).ok_or_else(|| anyhow!("has no \"class\""))?;
    let short = short_class(class);
    let attrs = match e.get(".") {
        None => Map::new(),
        Some(Json::Object(m)) => m.clone(),
        Some(_) => bail!("\".\" must be a mapping of attribute names to values"),
    };
    let level = level_of(e)?;
    let formatter = formatter_of(e, formatters, local)?;
    let common = ["class", "level", "formatter", ".", "filters"];
    let (kind, allowed): (HandlerKind, &[&str]) = match short {
        "SocketHandler" | "DatagramHandler" => {
            let host =
                str_key(e, "host")?.filter(|h| !h.is_empty()).ok_or_else(|| anyhow!("{short} needs \"host\""))?;
            let port = e.get("port").ok_or_else(|| anyhow!("{short} needs \"port\" (null for a unix socket path)"))?;
            let port = match port {
                Json::Null => None,
                p => Some(port_number(p)?),
            };
            let opts = socket_options(&attrs)?;
            let tls = tls_table(&attrs)?.is_some();
            if tls && (short != "SocketHandler" || port.is_none()) {
                bail!("\".\" tls needs a TCP stream: SocketHandler with a host and a port ({short} here has none)");
            }
            let kind = match (short == "SocketHandler", port) {
                (true, Some(port)) if tls => HandlerKind::Socket((StreamAddress::Tls(Endpoint { host, port }), opts)),
                (true, Some(port)) => HandlerKind::Socket((StreamAddress::Tcp(Endpoint { host, port }), opts)),
                (true, None) => HandlerKind::Socket((StreamAddress::Unix(host), opts)),
                (false, Some(port)) => HandlerKind::Datagram((DatagramAddress::Udp(Endpoint { host, port }), opts)),
                (false, None) => HandlerKind::Datagram((DatagramAddress::Unix(host), opts)),
            };
            (kind, &["host", "port"])
        }
        "SysLogHandler" => {
            let stream = match e.get("socktype") {
                None | Some(Json::Null) => false,
                Some(v) => socktype_is_stream(v)?,
            };
            let address = match e.get("address") {
                None => udp_or_tcp(stream, "localhost".into(), 514),
                Some(Json::String(path)) if stream => SyslogAddress::UnixStream(path.clone()),
                Some(Json::String(path)) => SyslogAddress::UnixDatagram(path.clone()),
                Some(Json::Array(pair)) if pair.len() == 2 => {
                    let host = pair[0]
                        .as_str()
                        .filter(|h| !h.is_empty())
                        .ok_or_else(|| anyhow!("address[0] must be a host name"))?;
                    udp_or_tcp(stream, host.into(), port_number(&pair[1])?)
                }
                Some(other) => {
                    bail!("address must be [host, port] or a unix socket path, not {other}")
                }
            };
            let facility = match e.get("facility") {
                None => NameOrNumber::Number(1),
                Some(v) => facility(v)?,
            };
            let mut options = syslog_options(facility, &attrs)?;
            if options.framing == SyslogFraming::Relp && !matches!(address, SyslogAddress::Tcp(_)) {
                bail!("\".\" relp needs a TCP stream: an address [host, port] with socktype SOCK_STREAM (imrelp)");
            }
            let address = match (tls_table(&attrs)?, address) {
                (None, address) => address,
                (Some(_), SyslogAddress::Tcp(endpoint)) => {
                    // RFC 5425 frames every message with its length.
                    if !attrs.contains_key("framing") && options.framing != SyslogFraming::Relp {
                        options.framing = SyslogFraming::OctetCounting;
                    }
                    SyslogAddress::Tls(endpoint)
                }
                (Some(_), _) => bail!(
                    "\".\" tls needs a TCP stream: an address [host, port] with socktype SOCK_STREAM (RFC 5425)"
                ),
            };
            (HandlerKind::Syslog((address, options)), &["address", "facility", "socktype"])
        }
        "NullHandler" => (HandlerKind::Null, &[]),
        "StreamHandler" => {
            let target = match e.get("stream").and_then(Json::as_str) {
                None | Some("ext://sys.stderr") => StreamTarget::Stderr,
                Some("ext://sys.stdout") => StreamTarget::Stdout,
                Some(other) => bail!("stream {other:?} must be ext://sys.stderr or ext://sys.stdout"),
            };
            check_attrs_none(&attrs)?;
            (HandlerKind::Stream(target), &["stream"])
        }
        "FileHandler" | "WatchedFileHandler" | "RotatingFileHandler" | "TimedRotatingFileHandler" => {
            check_attrs_none(&attrs)?;
            (HandlerKind::File(file_options(short, e)?), FILE_KEYS)
        }
        "HTTPHandler" => {
            if let Some(key) = attrs.keys().find(|k| *k != "tls") {
                bail!("\".\" has {key:?}, which HTTPHandler does not use; known: tls");
            }
            if tls_table(&attrs)?.is_some() && !attr_bool(e, "secure", false)? {
                bail!("\".\" tls is for secure=True (HTTPS); this HTTPHandler sends plain HTTP");
            }
            let host =
                str_key(e, "host")?.filter(|h| !h.is_empty()).ok_or_else(|| anyhow!("HTTPHandler needs \"host\""))?;
            let url = str_key(e, "url")?.ok_or_else(|| anyhow!("HTTPHandler needs \"url\""))?;
            let method = match str_key(e, "method")?.unwrap_or_else(|| "GET".into()).to_uppercase().as_str() {
                "GET" => HttpMethod::Get,
                "POST" => HttpMethod::Post,
                _ => bail!("method must be 'GET' or 'POST'"),
            };
            let options =
                HttpOptions { host, url, method, secure: attr_bool(e, "secure", false)?, credentials: credentials(e)? };
            (HandlerKind::Http(options), &["host", "url", "method", "secure", "credentials", "context"])
        }
        "SMTPHandler" => {
            check_attrs(&attrs, &["local_hostname", "tls"])?;
            let (host, port) = match e.get("mailhost") {
                Some(Json::String(h)) => (h.clone(), 25),
                Some(Json::Array(pair)) if pair.len() == 2 => (
                    pair[0].as_str().ok_or_else(|| anyhow!("mailhost[0] must be a host name"))?.to_string(),
                    port_number(&pair[1])?,
                ),
                _ => bail!("SMTPHandler needs \"mailhost\": a host name or [host, port]"),
            };
            let toaddrs = match e.get("toaddrs") {
                Some(Json::String(t)) => vec![t.clone()],
                Some(Json::Array(list)) => list
                    .iter()
                    .map(|t| t.as_str().map(str::to_string).ok_or_else(|| anyhow!("toaddrs must be addresses")))
                    .collect::<Result<_>>()?,
                _ => bail!("SMTPHandler needs \"toaddrs\": an address or a list of them"),
            };
            let secure = match e.get("secure") {
                None | Some(Json::Null) => false,
                Some(Json::Array(_)) => {
                    smtp_client_certificate(e)?;
                    true
                }
                Some(other) => bail!("secure must be null or a list (keyfile, certfile), not {other}"),
            };
            let options = SmtpOptions {
                mailhost: Endpoint { host, port },
                fromaddr: str_key(e, "fromaddr")?.ok_or_else(|| anyhow!("SMTPHandler needs \"fromaddr\""))?,
                toaddrs,
                subject: str_key(e, "subject")?.ok_or_else(|| anyhow!("SMTPHandler needs \"subject\""))?,
                credentials: credentials(e)?,
                secure,
                timeout: attr_seconds(e, "timeout", 5.0, false).map_err(|e| anyhow!("SMTPHandler {e}"))?,
                local_hostname: match str_key(&attrs, "local_hostname")? {
                    Some(h) => h,
                    None => host_name(),
                },
            };
            (HandlerKind::Smtp(options), &["mailhost", "fromaddr", "toaddrs", "subject", "credentials", "secure", "timeout"])
        }
        "QueueHandler" | "MemoryHandler" | "BufferingHandler" => {
            bail!("{short} wraps other handlers and cannot be used as a target here")
        }
        "BaseRotatingHandler" => {
            return Err(ClassProblem("BaseRotatingHandler is the abstract base of the rotating handlers; use RotatingFileHandler or TimedRotatingFileHandler".into()).into())
        }
        "Handler" => {
            return Err(ClassProblem(
                "logging.Handler is the abstract base class; its emit() raises NotImplementedError".into(),
            )
            .into())
        }
        "NTEventLogHandler" => {
            return Err(ClassProblem(
                "NTEventLogHandler writes the Windows event log, which a WASI plugin cannot reach".into(),
            )
            .into())
        }
        _ => {
            return Err(ClassProblem(format!(
                "unknown handler class {class:?}; use a class from logging.handlers such as \
                 logging.handlers.SocketHandler, DatagramHandler or SysLogHandler"
            ))
            .into())
        }
    };
    for key in e.keys() {
        if !common.contains(&key.as_str()) && !allowed.contains(&key.as_str()) {
            bail!("{short} has no constructor argument {key:?} (CPython would raise TypeError); our own options go under \".\"");
        }
    }
    let spool = spool_options(&attrs)?;
    Ok(HandlerConfig { name: name.into(), kind, dry_run: false, level, formatter, spool, buffer: None })
}
