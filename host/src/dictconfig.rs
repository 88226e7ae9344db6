//! `logging.config.dictConfig` documents (JSON or TOML) to handler configs.
//!
//! Handler entries use CPython's class names and constructor keys, so a file
//! that configures Python's logging configures ours. Our own options go in
//! the `"."` attribute table, which CPython's dictConfig applies with
//! `setattr` and its handlers then ignore: the same file still loads in Python.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{Map, Value as Json};

use crate::bindings::{
    BufferOptions, Credentials, Destination, Endpoint, FileOptions, Formatter, HandlerConfig, HandlerKind, HttpOptions,
    NameOrNumber, Overflow, Rotation, SizeRotation, SmtpOptions, SocketOptions, SpoolOptions, StreamTarget,
    SyslogFormat, SyslogFraming, SyslogOptions, TimedRotation,
};
use crate::routing::{LoggerNode, Routing};

/// The handlers a document configures, in the order records reach them.
#[derive(Debug, Clone)]
pub struct Document {
    /// Handlers records reach directly (a MemoryHandler is its target with
    /// `buffer` set).
    pub handlers: Vec<HandlerConfig>,
    /// QueueHandlers: records reach their targets through a host thread.
    pub queues: Vec<QueueConfig>,
    /// Which of them a record reaches, by its logger name and level.
    pub routing: Routing,
    /// Keys CPython's dictConfig ignores, and so does pylog; each with its
    /// path, for the CLI to show (a typo there changes nothing, silently,
    /// in CPython).
    pub ignored: Vec<String>,
}

/// `QueueHandler` with the `handlers` of its `QueueListener` (the form
/// Python 3.12's dictConfig accepts).
#[derive(Debug, Clone)]
pub struct QueueConfig {
    pub name: String,
    pub level: i64,
    /// The QueueHandler's formatter, which `prepare` applies.
    pub formatter: Formatter,
    pub targets: Vec<HandlerConfig>,
    /// QueueListener's `respect_handler_level` (False in CPython: the
    /// targets' levels are ignored unless it is set).
    pub respect_handler_level: bool,
    /// Records the queue holds before `emit` drops (and counts) new ones.
    pub capacity: usize,
}

/// Local-time facts for formatters: the guest cannot read the host's zone.
#[derive(Debug, Clone)]
pub struct LocalTime {
    pub utc_offset_seconds: i32,
    pub tz_name: String,
}

impl LocalTime {
    /// The host's current offset from UTC. `%Z` prints a numeric name
    /// ("UTC+01:00") because the zone's abbreviation is not portable to read.
    pub fn of_host() -> LocalTime {
        let offset = chrono::Local::now().offset().local_minus_utc();
        LocalTime { utc_offset_seconds: offset, tz_name: tz_name(offset) }
    }
}

/// The most records a MemoryHandler buffer or a QueueHandler queue may hold.
pub const MAX_CAPACITY: u32 = 1_000_000;
/// The most backups a rotating file handler may keep.
pub const MAX_BACKUP_COUNT: u32 = 100_000;

fn tz_name(offset: i32) -> String {
    if offset == 0 {
        return "UTC".into();
    }
    let abs = offset.unsigned_abs();
    format!("UTC{}{:02}:{:02}", if offset < 0 { '-' } else { '+' }, abs / 3600, abs % 3600 / 60)
}

pub fn parse_file(path: &Path) -> Result<Document> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read config {}", path.display()))?;
    let toml = path.extension().is_some_and(|e| e == "toml");
    parse_str(&text, toml, &LocalTime::of_host()).with_context(|| format!("config {}", path.display()))
}

pub fn parse_str(text: &str, toml: bool, local: &LocalTime) -> Result<Document> {
    let doc: Json = if toml {
        let value: toml::Value = toml::from_str(text).map_err(|e| anyhow!("not TOML: {e}"))?;
        serde_json::to_value(value)?
    } else {
        serde_json::from_str(text).map_err(|e| anyhow!("not JSON: {e}"))?
    };
    let Json::Object(doc) = doc else { bail!("a dictConfig document is a mapping with version, formatters, handlers") };
    match doc.get("version") {
        Some(v) if v.as_i64() == Some(1) => {}
        Some(v) => bail!("version {v} is not supported; dictConfig knows version 1"),
        None => bail!("the document has no \"version\": 1 (dictConfig requires it)"),
    }
    let empty = Map::new();
    let formatters = doc.get("formatters").and_then(Json::as_object).unwrap_or(&empty);
    let handlers = doc
        .get("handlers")
        .and_then(Json::as_object)
        .ok_or_else(|| anyhow!("the document has no \"handlers\" mapping; nothing would receive records"))?;
    match doc.get("incremental") {
        None | Some(Json::Bool(false)) => {}
        Some(_) => bail!(
            "\"incremental\": true changes a running Python's logging; pylog starts from nothing, so leave it out"
        ),
    }
    if let Some(v) = doc.get("disable_existing_loggers") {
        // pylog has no loggers before the document: nothing to disable.
        v.as_bool().ok_or_else(|| anyhow!("disable_existing_loggers must be true or false, not {v}"))?;
    }
    let mut ignored = Vec::new();
    for key in doc.keys() {
        if ![
            "version",
            "formatters",
            "filters",
            "handlers",
            "loggers",
            "root",
            "incremental",
            "disable_existing_loggers",
        ]
        .contains(&key.as_str())
        {
            ignored.push(format!(
                "{key}: not a dictConfig section (version, formatters, filters, handlers, loggers, root, incremental, \
                 disable_existing_loggers)"
            ));
        }
    }
    // Every problem is reported, each with its path in the document, not
    // only the first: a pasted configuration is fixed in one round.
    let mut problems = Problems::default();
    let filters = filter_prefixes(doc.get("filters"), &mut problems)?;
    for (name, spec) in formatters {
        problems.check(&format!("formatters.{name}"), formatter(name, spec, local).map(|_| ()));
    }
    let mut routing = Routing::default();
    let loggers = match doc.get("loggers") {
        None => Map::new(),
        Some(Json::Object(m)) => m.clone(),
        Some(other) => bail!("\"loggers\" must be a mapping of logger names, not {other}"),
    };
    // Without root and loggers, every handler defined receives records
    // (pylog's shorthand); otherwise only those a logger names, as in CPython.
    let legacy = !doc.contains_key("root") && loggers.is_empty();
    // `loggers` may configure the root logger too, as "" or "root" (what
    // `logging.getLogger` returns root for); CPython applies `loggers`
    // first, then `root`, which replaces the handlers and keeps a level it
    // does not set. Root starts at WARNING, as CPython's does.
    let mut root_specs: Vec<(&str, &Json)> =
        loggers.iter().filter(|(name, _)| is_root_name(name)).map(|(n, spec)| (n.as_str(), spec)).collect();
    if let Some(root) = doc.get("root") {
        root_specs.push(("root", root));
    }
    routing.root = if !root_specs.is_empty() {
        let mut root = LoggerNode { level: Some(logging_level::WARNING), ..Default::default() };
        for (name, spec) in root_specs {
            let path = if doc.get("root").is_some_and(|r| std::ptr::eq(r, spec)) {
                "root".to_string()
            } else {
                format!("loggers.{name:?}")
            };
            let Some(node) = problems.check(&path, logger_node(name, spec, &filters)) else { continue };
            root.level = node.level.or(root.level);
            root.handlers = node.handlers;
            root.filters.extend(node.filters);
        }
        root.propagate = true;
        root
    } else if legacy {
        // Handlers that others feed (a MemoryHandler's target, a
        // QueueHandler's listener handlers) are reached through those.
        let fed: Vec<&str> = handlers
            .values()
            .filter_map(Json::as_object)
            .flat_map(|e| {
                let target = e.get("target").and_then(Json::as_str).into_iter();
                let listeners =
                    e.get("handlers").and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str);
                target.chain(listeners)
            })
            .collect();
        let direct = handlers.keys().filter(|k| !fed.contains(&k.as_str())).cloned().collect();
        LoggerNode { handlers: direct, propagate: true, ..Default::default() }
    } else {
        LoggerNode { level: Some(logging_level::WARNING), ..Default::default() }
    };
    for (name, spec) in loggers.iter().filter(|(name, _)| !is_root_name(name)) {
        if let Some(node) = problems.check(&format!("loggers.{name}"), logger_node(name, spec, &filters)) {
            routing.loggers.insert(name.clone(), node);
        }
    }
    let mut chosen: Vec<String> = Vec::new();
    for h in routing.root.handlers.iter().chain(routing.loggers.values().flat_map(|l| l.handlers.iter())) {
        if !chosen.contains(h) {
            chosen.push(h.clone());
        }
    }
    let ctx = Resolver { handlers, formatters, local, chosen: &chosen };
    for (name, spec) in &loggers {
        let path = if name.is_empty() { "loggers.\"\"".to_string() } else { format!("loggers.{name}") };
        ignored.extend(ignored_logger_keys(spec).map(|key| format!("{path}.{key}: not a logger setting")));
    }
    if let Some(root) = doc.get("root") {
        ignored.extend(ignored_logger_keys(root).map(|key| format!("root.{key}: not a logger setting")));
    }
    for (id, spec) in doc.get("filters").and_then(Json::as_object).into_iter().flatten() {
        let keys = spec.as_object().into_iter().flat_map(|o| o.keys()).filter(|k| *k != "name" && *k != "()");
        ignored.extend(keys.map(|key| format!("filters.{id}.{key}: a logging.Filter takes only \"name\"")));
    }
    let mut out = Document { handlers: Vec::new(), queues: Vec::new(), routing: Routing::default(), ignored };
    for name in &chosen {
        let path = format!("handlers.{name}");
        let Some(entry) = problems.check(&path, ctx.entry(name).context("a logger names it")) else { continue };
        let mut entry = entry.clone();
        if let Some(names) = entry.remove("filters") {
            if let Some(prefixes) = problems.check(&format!("{path}.filters"), filter_names(&names, &filters)) {
                routing.handler_filters.insert(name.clone(), prefixes);
            }
        }
        let Some(class) = problems.check(&format!("{path}.class"), class_of(&entry)) else { continue };
        match short_class(class) {
            "QueueHandler" => {
                if let Some(q) = problems.check(&path, ctx.queue(name, &entry)) {
                    out.queues.push(q);
                }
            }
            _ => match ctx.buffered(name, &entry) {
                Ok(h) => out.handlers.push(h),
                Err(e) if e.downcast_ref::<ClassProblem>().is_some() => {
                    problems.check::<()>(&format!("{path}.class"), Err(e));
                }
                Err(e) => {
                    problems.check::<()>(&path, Err(e));
                }
            },
        }
    }
    problems.into_result()?;
    out.routing = routing;
    Ok(out)
}

/// A handler's `class` is what is wrong: reported at `handlers.NAME.class`.
#[derive(Debug)]
struct ClassProblem(String);

impl std::fmt::Display for ClassProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ClassProblem {}

/// What is wrong with a document, each with its path (`handlers.mail.class`).
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    /// Keeps the value, or notes the problem under `path`.
    fn check<T>(&mut self, path: &str, result: Result<T>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(format!("{path}: {e:#}"));
                None
            }
        }
    }

    fn into_result(self) -> Result<()> {
        match self.0.len() {
            0 => Ok(()),
            1 => bail!("{}", self.0[0]),
            n => bail!("{n} problems:\n  {}", self.0.join("\n  ")),
        }
    }
}

/// The `filters` section: each entry is `logging.Filter(name)`, written
/// `{"name": "app.web"}`. Factories are Python code.
/// A refused filter stays known by its id, so that what names it is not
/// reported a second time.
fn filter_prefixes(
    section: Option<&Json>,
    problems: &mut Problems,
) -> Result<std::collections::HashMap<String, String>> {
    let mut out = std::collections::HashMap::new();
    let Some(section) = section else { return Ok(out) };
    let section = section.as_object().ok_or_else(|| anyhow!("\"filters\" must be a mapping of filter names"))?;
    for (id, spec) in section {
        let prefix = problems.check(&format!("filters.{id}"), filter_prefix(spec));
        out.insert(id.clone(), prefix.unwrap_or_default());
    }
    Ok(out)
}

fn filter_prefix(spec: &Json) -> Result<String> {
    let spec = spec.as_object().ok_or_else(|| anyhow!("a filter must be a mapping"))?;
    if spec.contains_key("()") {
        bail!("a \"()\" factory is Python code; pylog runs logging.Filter(name) filters: {{\"name\": \"app.web\"}}");
    }
    // Other keys are ignored, as `configure_filter` ignores them
    // (`Document::ignored`).
    Ok(str_key(spec, "name")?.unwrap_or_default())
}

fn filter_names(names: &Json, filters: &std::collections::HashMap<String, String>) -> Result<Vec<String>> {
    let list = names.as_array().ok_or_else(|| anyhow!("filters must be a list of names from \"filters\""))?;
    list.iter()
        .map(|n| {
            let n = n.as_str().ok_or_else(|| anyhow!("filters must be names, not {n}"))?;
            filters.get(n).cloned().ok_or_else(|| anyhow!("filter {n:?} is not defined in \"filters\""))
        })
        .collect()
}

/// The names `logging.getLogger` answers with the root logger.
fn is_root_name(name: &str) -> bool {
    name.is_empty() || name == "root"
}

/// Logging's level numbers the loader needs by name.
mod logging_level {
    pub const WARNING: i64 = 30;
}

/// Python's truth value of a JSON value, as `logger.propagate = value`
/// later tested with `if not c.propagate` sees it.
fn truthy(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(o) => !o.is_empty(),
    }
}

/// What a logger takes; `qualname` is fileConfig's, and dictConfig ignores it
/// silently, as it ignores any other key.
const LOGGER_KEYS: &[&str] = &["level", "handlers", "propagate", "filters", "qualname"];

fn ignored_logger_keys(spec: &Json) -> impl Iterator<Item = &String> {
    spec.as_object().into_iter().flat_map(|o| o.keys()).filter(|k| !LOGGER_KEYS.contains(&k.as_str()))
}

/// A `loggers` entry or `root`: level, handlers, propagate, filters.
fn logger_node(name: &str, spec: &Json, filters: &std::collections::HashMap<String, String>) -> Result<LoggerNode> {
    let spec = spec.as_object().ok_or_else(|| anyhow!("logger {name:?} must be a mapping"))?;
    // Other keys are ignored, as CPython ignores them (`Document::ignored`).
    let handlers = match spec.get("handlers") {
        None => Vec::new(),
        Some(Json::Array(list)) => list
            .iter()
            .map(|h| h.as_str().map(str::to_string).ok_or_else(|| anyhow!("handlers must be names, not {h}")))
            .collect::<Result<_>>()?,
        Some(other) => bail!("handlers must be a list of handler names, not {other}"),
    };
    Ok(LoggerNode {
        level: match spec.get("level") {
            None => None,
            Some(v) => Some(level(v)?),
        },
        handlers,
        // CPython sets `propagate` to whatever is given unless it is None,
        // and tests its truth: 0 and 1 are as common as false and true.
        propagate: match spec.get("propagate") {
            None | Some(Json::Null) => true,
            Some(v) => truthy(v),
        },
        filters: match spec.get("filters") {
            None => Vec::new(),
            Some(names) => filter_names(names, filters)?,
        },
    })
}

struct Resolver<'a> {
    handlers: &'a Map<String, Json>,
    formatters: &'a Map<String, Json>,
    local: &'a LocalTime,
    chosen: &'a [String],
}

fn class_of(e: &Map<String, Json>) -> Result<&str> {
    e.get("class").and_then(Json::as_str).ok_or_else(|| anyhow!("has no \"class\""))
}

impl Resolver<'_> {
    fn entry(&self, name: &str) -> Result<&Map<String, Json>> {
        let entry = self.handlers.get(name).ok_or_else(|| anyhow!("handler {name:?} is not defined"))?;
        entry.as_object().ok_or_else(|| anyhow!("handler {name:?} must be a mapping"))
    }

    /// A handler that records reach directly; a MemoryHandler becomes its
    /// target with a buffer in front.
    fn buffered(&self, name: &str, e: &Map<String, Json>) -> Result<HandlerConfig> {
        let short = short_class(class_of(e)?);
        if short != "MemoryHandler" && short != "BufferingHandler" {
            return handler(name, e, self.formatters, self.local);
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

    fn queue(&self, name: &str, e: &Map<String, Json>) -> Result<QueueConfig> {
        for key in e.keys() {
            if !["class", "level", "formatter", "handlers", "respect_handler_level", "queue", "listener", "."]
                .contains(&key.as_str())
            {
                bail!("QueueHandler has no argument {key:?}");
            }
        }
        match e.get("queue") {
            None | Some(Json::Null) => {}
            Some(_) => bail!(
                "\"queue\" names a Python queue object, which cannot cross into pylog; leave it out (the host \
                 keeps a bounded queue: \".\" queue_size)"
            ),
        }
        match e.get("listener").and_then(Json::as_str) {
            None | Some("logging.handlers.QueueListener") => {}
            Some(other) => bail!("listener {other:?} is Python code; only logging.handlers.QueueListener is available"),
        }
        let names = e
            .get("handlers")
            .and_then(Json::as_array)
            .ok_or_else(|| anyhow!("QueueHandler needs \"handlers\": the names of the handlers its listener feeds"))?;
        let mut targets = Vec::new();
        for t in names {
            let t = t.as_str().ok_or_else(|| anyhow!("handlers must be handler names"))?;
            let entry = self.entry(t)?;
            if short_class(class_of(entry)?) == "QueueHandler" {
                bail!("a QueueHandler cannot feed another QueueHandler ({t:?})");
            }
            targets.push(self.buffered(t, entry).with_context(|| format!("listener handler {t:?}"))?);
        }
        let attrs = match e.get(".") {
            None => Map::new(),
            Some(Json::Object(m)) => m.clone(),
            Some(_) => bail!("\".\" must be a mapping"),
        };
        let capacity = match attrs.get("queue_size") {
            None => 10_000,
            Some(v) => v.as_u64().filter(|n| *n > 0 && *n <= MAX_CAPACITY as u64).ok_or_else(|| {
                anyhow!("\".\" queue_size must be a count from 1 to {MAX_CAPACITY} (the queue is allocated up front)")
            })? as usize,
        };
        Ok(QueueConfig {
            name: name.into(),
            level: level_of(e)?,
            formatter: formatter_of(e, self.formatters, self.local)?,
            targets,
            respect_handler_level: attr_bool(e, "respect_handler_level", false)?,
            capacity,
        })
    }
}

fn formatter_of(e: &Map<String, Json>, formatters: &Map<String, Json>, local: &LocalTime) -> Result<Formatter> {
    match e.get("formatter") {
        None => Ok(default_formatter(local)),
        Some(Json::String(f)) => {
            let spec = formatters.get(f).ok_or_else(|| anyhow!("formatter {f:?} is not defined in \"formatters\""))?;
            formatter(f, spec, local)
        }
        Some(other) => bail!("formatter must be the name of an entry in \"formatters\", not {other}"),
    }
}

fn short_class(class: &str) -> &str {
    class.rsplit('.').next().unwrap_or(class)
}

fn handler(
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
    let (kind, destination, allowed): (HandlerKind, Destination, &[&str]) = match short {
        "SocketHandler" | "DatagramHandler" => {
            let host =
                str_key(e, "host")?.filter(|h| !h.is_empty()).ok_or_else(|| anyhow!("{short} needs \"host\""))?;
            let port = e.get("port").ok_or_else(|| anyhow!("{short} needs \"port\" (null for a unix socket path)"))?;
            let tcp = short == "SocketHandler";
            let destination = match port {
                Json::Null if tcp => Destination::UnixStream(host),
                Json::Null => Destination::UnixDatagram(host),
                p => {
                    let endpoint = Endpoint { host, port: port_number(p)? };
                    if tcp {
                        Destination::Tcp(endpoint)
                    } else {
                        Destination::Udp(endpoint)
                    }
                }
            };
            let opts = socket_options(&attrs)?;
            let kind = if tcp { HandlerKind::Socket(opts) } else { HandlerKind::Datagram(opts) };
            (kind, destination, &["host", "port"])
        }
        "SysLogHandler" => {
            let stream = match e.get("socktype") {
                None | Some(Json::Null) => false,
                Some(v) => socktype_is_stream(v)?,
            };
            let destination = match e.get("address") {
                None => udp_or_tcp(stream, "localhost".into(), 514),
                Some(Json::String(path)) if stream => Destination::UnixStream(path.clone()),
                Some(Json::String(path)) => Destination::UnixDatagram(path.clone()),
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
            (HandlerKind::Syslog(syslog_options(facility, &attrs)?), destination, &["address", "facility", "socktype"])
        }
        "NullHandler" => (HandlerKind::Null, Destination::Memory, &[]),
        "StreamHandler" => {
            let target = match e.get("stream").and_then(Json::as_str) {
                None | Some("ext://sys.stderr") => StreamTarget::Stderr,
                Some("ext://sys.stdout") => StreamTarget::Stdout,
                Some(other) => bail!("stream {other:?} must be ext://sys.stderr or ext://sys.stdout"),
            };
            check_attrs_none(&attrs)?;
            (HandlerKind::Stream(target), Destination::Configured, &["stream"])
        }
        "FileHandler" | "WatchedFileHandler" | "RotatingFileHandler" | "TimedRotatingFileHandler" => {
            check_attrs_none(&attrs)?;
            (HandlerKind::File(file_options(short, e)?), Destination::Configured, FILE_KEYS)
        }
        "HTTPHandler" => {
            check_attrs_none(&attrs)?;
            let host =
                str_key(e, "host")?.filter(|h| !h.is_empty()).ok_or_else(|| anyhow!("HTTPHandler needs \"host\""))?;
            let url = str_key(e, "url")?.ok_or_else(|| anyhow!("HTTPHandler needs \"url\""))?;
            let method = str_key(e, "method")?.unwrap_or_else(|| "GET".into()).to_uppercase();
            if method != "GET" && method != "POST" {
                bail!("method must be 'GET' or 'POST'");
            }
            let options =
                HttpOptions { host, url, method, secure: attr_bool(e, "secure", false)?, credentials: credentials(e)? };
            (
                HandlerKind::Http(options),
                Destination::Configured,
                &["host", "url", "method", "secure", "credentials", "context"],
            )
        }
        "SMTPHandler" => {
            check_attrs(&attrs, &["local_hostname"])?;
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
                Some(Json::Array(_)) => true,
                Some(other) => bail!("secure must be null or a list (keyfile, certfile), not {other}"),
            };
            let options = SmtpOptions {
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
            (
                HandlerKind::Smtp(options),
                Destination::Tcp(Endpoint { host, port }),
                &["mailhost", "fromaddr", "toaddrs", "subject", "credentials", "secure", "timeout"],
            )
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
    Ok(HandlerConfig { name: name.into(), kind, destination, level, formatter, spool, buffer: None })
}

/// The file handlers' constructor arguments, across the four classes.
const FILE_KEYS: &[&str] = &[
    "filename",
    "mode",
    "encoding",
    "delay",
    "errors",
    "maxBytes",
    "backupCount",
    "when",
    "interval",
    "utc",
    "atTime",
];

fn file_options(class: &str, e: &Map<String, Json>) -> Result<FileOptions> {
    let own: &[&str] = match class {
        "RotatingFileHandler" => &["maxBytes", "backupCount"],
        "TimedRotatingFileHandler" => &["when", "interval", "backupCount", "utc", "atTime"],
        _ => &[],
    };
    for key in e.keys() {
        if FILE_KEYS.contains(&key.as_str())
            && !["filename", "mode", "encoding", "delay", "errors"].contains(&key.as_str())
            && !own.contains(&key.as_str())
        {
            bail!("{class} has no constructor argument {key:?}");
        }
    }
    let count = |key: &str| -> Result<u64> {
        match e.get(key) {
            None => Ok(0),
            Some(v) => v.as_u64().ok_or_else(|| anyhow!("{key} must be a count, 0 or more, not {v}")),
        }
    };
    let backup_count =
        u32::try_from(count("backupCount")?).ok().filter(|n| *n <= MAX_BACKUP_COUNT).ok_or_else(|| {
            anyhow!("backupCount must be at most {MAX_BACKUP_COUNT} (each rollover renames every backup)")
        })?;
    let rotation = match class {
        "WatchedFileHandler" => Rotation::Watched,
        "RotatingFileHandler" => Rotation::Size(SizeRotation { max_bytes: count("maxBytes")?, backup_count }),
        "TimedRotatingFileHandler" => Rotation::Timed(TimedRotation {
            when: str_key(e, "when")?.unwrap_or_else(|| "h".into()),
            interval: match e.get("interval") {
                None => 1,
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| anyhow!("interval must be a count above 0, not {v}"))?,
            },
            backup_count,
            utc: attr_bool(e, "utc", false)?,
            at_time: match str_key(e, "atTime")? {
                None => None,
                Some(t) => Some(time_of_day(&t)?),
            },
        }),
        _ => Rotation::None,
    };
    let mode = str_key(e, "mode")?.unwrap_or_else(|| "a".into());
    if mode != "a" && mode != "w" {
        bail!("mode {mode:?} must be \"a\" or \"w\" (a log file is written as text)");
    }
    Ok(FileOptions {
        path: str_key(e, "filename")?.filter(|f| !f.is_empty()).ok_or_else(|| anyhow!("{class} needs \"filename\""))?,
        mode,
        encoding: str_key(e, "encoding")?.unwrap_or_default(),
        errors: str_key(e, "errors")?.unwrap_or_default(),
        delay: attr_bool(e, "delay", false)?,
        rotation,
    })
}

/// `atTime` as "HH:MM" or "HH:MM:SS" (dictConfig cannot carry a
/// `datetime.time`), in seconds after midnight.
fn time_of_day(t: &str) -> Result<u32> {
    let parts: Vec<u32> = t
        .split(':')
        .map(|p| p.parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow!("atTime {t:?} must be HH:MM or HH:MM:SS"))?;
    match parts.as_slice() {
        [h, m] if *h < 24 && *m < 60 => Ok(h * 3600 + m * 60),
        [h, m, s] if *h < 24 && *m < 60 && *s < 60 => Ok(h * 3600 + m * 60 + s),
        _ => bail!("atTime {t:?} must be HH:MM or HH:MM:SS"),
    }
}

/// `credentials`: a (username, password) pair.
fn credentials(e: &Map<String, Json>) -> Result<Option<Credentials>> {
    match e.get("credentials") {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Array(pair)) if pair.len() == 2 => match (pair[0].as_str(), pair[1].as_str()) {
            (Some(u), Some(p)) => Ok(Some(Credentials { username: u.into(), password: p.into() })),
            _ => bail!("credentials must be [username, password] strings"),
        },
        Some(_) => bail!("credentials must be [username, password]"),
    }
}

/// The name this host gives in SMTP's EHLO (CPython sends `socket.getfqdn()`).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The handlers that have none of our `"."` options.
fn check_attrs_none(attrs: &Map<String, Json>) -> Result<()> {
    match attrs.keys().next() {
        None => Ok(()),
        Some(key) => bail!("\".\" has {key:?}, which this handler does not use"),
    }
}

fn udp_or_tcp(stream: bool, host: String, port: u16) -> Destination {
    let e = Endpoint { host, port };
    if stream {
        Destination::Tcp(e)
    } else {
        Destination::Udp(e)
    }
}

fn str_key(e: &Map<String, Json>, key: &str) -> Result<Option<String>> {
    match e.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(other) => bail!("{key} must be a string, not {other}"),
    }
}

fn port_number(v: &Json) -> Result<u16> {
    v.as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .filter(|p| *p != 0)
        .ok_or_else(|| anyhow!("port {v} must be a number from 1 to 65535"))
}

/// An entry's `level`, NOTSET (0) when absent.
fn level_of(e: &Map<String, Json>) -> Result<i64> {
    e.get("level").map_or(Ok(0), level)
}

fn level(v: &Json) -> Result<i64> {
    match v {
        Json::Number(n) => n.as_i64().ok_or_else(|| anyhow!("level {n} must be an integer")),
        Json::String(s) => crate::records::level_number(s)
            .ok_or_else(|| anyhow!("Unknown level: {s:?} (use DEBUG, INFO, WARNING, ERROR, CRITICAL or a number)")),
        other => bail!("level must be a name or a number, not {other}"),
    }
}

/// `socket.SOCK_STREAM` as Python users write it, or a short form.
fn socktype_is_stream(v: &Json) -> Result<bool> {
    match v {
        Json::Number(n) if n.as_i64() == Some(1) => Ok(true),
        Json::Number(n) if n.as_i64() == Some(2) => Ok(false),
        Json::String(s) => match s.trim_start_matches("ext://").trim_start_matches("socket.") {
            "SOCK_STREAM" | "tcp" | "stream" => Ok(true),
            "SOCK_DGRAM" | "udp" | "dgram" | "datagram" => Ok(false),
            other => bail!(
                "socktype {other:?} must be ext://socket.SOCK_STREAM, ext://socket.SOCK_DGRAM, \"tcp\" or \"udp\""
            ),
        },
        other => bail!("socktype must be ext://socket.SOCK_STREAM or ext://socket.SOCK_DGRAM, not {other}"),
    }
}

/// A facility as a table name ("local3"), a number, or CPython's constant
/// (`ext://logging.handlers.SysLogHandler.LOG_LOCAL3`). Names are checked by
/// the plugin, which owns the table.
fn facility(v: &Json) -> Result<NameOrNumber> {
    match v {
        Json::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(NameOrNumber::Number)
            .ok_or_else(|| anyhow!("facility {n} must be a non-negative integer")),
        Json::String(s) => match s.rsplit('.').next().and_then(|c| c.strip_prefix("LOG_")) {
            Some(constant) if s.starts_with("ext://") => Ok(NameOrNumber::Name(match constant {
                "SOLCRON" => "solaris-cron".into(),
                other => other.to_lowercase(),
            })),
            _ => Ok(NameOrNumber::Name(s.clone())),
        },
        other => bail!("facility must be a name such as \"local3\" or a number, not {other}"),
    }
}

fn default_formatter(local: &LocalTime) -> Formatter {
    Formatter {
        fmt: None,
        datefmt: None,
        style: '%',
        utc_offset_seconds: local.utc_offset_seconds,
        tz_name: local.tz_name.clone(),
    }
}

fn formatter(name: &str, spec: &Json, local: &LocalTime) -> Result<Formatter> {
    let spec = spec.as_object().ok_or_else(|| anyhow!("formatter {name:?} must be a mapping"))?;
    if spec.contains_key("()") {
        bail!("formatter {name:?} uses a \"()\" factory, which is Python code; use format/datefmt/style");
    }
    if let Some(class) = spec.get("class").and_then(Json::as_str) {
        if class != "logging.Formatter" {
            bail!("formatter class {class:?} is Python code; only logging.Formatter is available");
        }
    }
    let style = match str_key(spec, "style")?.as_deref() {
        None => '%',
        Some(s) if s.chars().count() == 1 => s.chars().next().unwrap_or('%'),
        Some(s) => bail!("formatter {name:?} style {s:?} must be one of %, {{, $"),
    };
    let fmt = match str_key(spec, "format")? {
        Some(f) => Some(f),
        None => str_key(spec, "fmt")?,
    };
    Ok(Formatter { fmt, datefmt: str_key(spec, "datefmt")?, style, ..default_formatter(local) })
}

fn attr_f64(attrs: &Map<String, Json>, key: &str, default: f64) -> Result<f64> {
    match attrs.get(key) {
        None => Ok(default),
        Some(v) => v.as_f64().ok_or_else(|| anyhow!("\".\" {key} must be a number, not {v}")),
    }
}

/// A time option in seconds, within the bounds the plugin accepts (it
/// checks them too, for hosts that bypass this loader).
fn attr_seconds(attrs: &Map<String, Json>, key: &str, default: f64, zero_allowed: bool) -> Result<f64> {
    bounded_seconds(attr_f64(attrs, key, default)?, key, zero_allowed, MAX_WAIT_SECONDS)
}

fn bounded_seconds(s: f64, key: &str, zero_allowed: bool, max: f64) -> Result<f64> {
    let low_ok = if zero_allowed { s >= 0.0 } else { s > 0.0 };
    if !(low_ok && s <= max) {
        let low = if zero_allowed { "from 0" } else { "above 0 and" };
        bail!("\".\" {key} must be {low} up to {max} seconds, not {s}");
    }
    Ok(s)
}

/// The longest one wait (a write, a flush, a blocked emit) may last: an
/// hour, as the plugin also checks.
const MAX_WAIT_SECONDS: f64 = 3600.0;
/// The longest pause between reconnection attempts: a day (the plugin's
/// backoff clamps there).
const MAX_RETRY_SECONDS: f64 = 86_400.0;

fn attr_bool(attrs: &Map<String, Json>, key: &str, default: bool) -> Result<bool> {
    match attrs.get(key) {
        None => Ok(default),
        Some(v) => v.as_bool().ok_or_else(|| anyhow!("\".\" {key} must be true or false, not {v}")),
    }
}

fn attr_str(attrs: &Map<String, Json>, key: &str) -> Result<String> {
    Ok(str_key(attrs, key).with_context(|| format!("\".\" {key}"))?.unwrap_or_default())
}

/// The spool's keys, for every handler with a stream destination.
const SPOOL_KEYS: &[&str] =
    &["spool_records", "spool_bytes", "spool_overflow", "block_timeout", "flush_timeout", "spool_dir", "timeout"];

fn spool_options(attrs: &Map<String, Json>) -> Result<SpoolOptions> {
    let count = |key: &str, default: u64| -> Result<u64> {
        match attrs.get(key) {
            None => Ok(default),
            Some(v) => v.as_u64().ok_or_else(|| anyhow!("\".\" {key} must be a count, 0 or more, not {v}")),
        }
    };
    let overflow = match str_key(attrs, "spool_overflow")?.as_deref() {
        None | Some("drop-oldest") => Overflow::DropOldest,
        Some("drop-newest") => Overflow::DropNewest,
        Some("block") => Overflow::Block,
        Some(other) => bail!("\".\" spool_overflow {other:?} must be \"drop-oldest\", \"drop-newest\" or \"block\""),
    };
    Ok(SpoolOptions {
        max_records: u32::try_from(count("spool_records", 10_000)?)
            .ok()
            .filter(|n| *n <= MAX_CAPACITY)
            .ok_or_else(|| anyhow!("\".\" spool_records must be at most {MAX_CAPACITY}"))?,
        max_bytes: count("spool_bytes", 16 << 20)?,
        overflow,
        block_timeout: attr_seconds(attrs, "block_timeout", 1.0, true)?,
        flush_timeout: attr_seconds(attrs, "flush_timeout", 5.0, true)?,
        // CPython's SocketHandler.timeout, settable through "." there too.
        write_timeout: attr_seconds(attrs, "timeout", 1.0, false)?,
        directory: str_key(attrs, "spool_dir")?,
    })
}

fn check_attrs(attrs: &Map<String, Json>, allowed: &[&str]) -> Result<()> {
    for key in attrs.keys() {
        if !allowed.contains(&key.as_str()) && !SPOOL_KEYS.contains(&key.as_str()) {
            bail!(
                "\".\" has {key:?}, which this handler does not use; known: {}, {}",
                allowed.join(", "),
                SPOOL_KEYS.join(", ")
            );
        }
    }
    Ok(())
}

fn socket_options(attrs: &Map<String, Json>) -> Result<SocketOptions> {
    check_attrs(
        attrs,
        &[
            "retryStart",
            "retryFactor",
            "retryMax",
            "closeOnError",
            "pickle_protocol",
            "hmac_key_file",
            "acknowledged",
            "ack_window",
        ],
    )?;
    let ack_window = match (attr_bool(attrs, "acknowledged", false)?, attrs.get("ack_window")) {
        (false, _) => 0,
        (true, None) => 1024,
        (true, Some(v)) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0 && u64::from(*n) <= pylog_wire::frame::MAX_ACK_WINDOW)
            .ok_or_else(|| {
                anyhow!(
                    "\".\" ack_window must be a count from 1 to {} (what a receiver de-duplicates), not {v}",
                    pylog_wire::frame::MAX_ACK_WINDOW
                )
            })?,
    };
    let hmac_key = match str_key(attrs, "hmac_key_file")? {
        None => None,
        Some(path) => Some(read_key_file(Path::new(&path))?),
    };
    let protocol = attrs.get("pickle_protocol").map_or(Some(3), Json::as_u64);
    Ok(SocketOptions {
        pickle_protocol: protocol
            .and_then(|p| u8::try_from(p).ok())
            .ok_or_else(|| anyhow!("\".\" pickle_protocol must be 2 or 3"))?,
        retry_start: bounded_seconds(attr_f64(attrs, "retryStart", 1.0)?, "retryStart", true, MAX_RETRY_SECONDS)?,
        retry_factor: match attr_f64(attrs, "retryFactor", 2.0)? {
            f if (1.0..=100.0).contains(&f) => f,
            f => bail!("\".\" retryFactor must be from 1 to 100 (each failed attempt multiplies the wait), not {f}"),
        },
        retry_max: bounded_seconds(attr_f64(attrs, "retryMax", 30.0)?, "retryMax", true, MAX_RETRY_SECONDS)?,
        close_on_error: attr_bool(attrs, "closeOnError", false)?,
        hmac_key,
        ack_window,
    })
}

/// An HMAC key file: its bytes, one trailing newline removed (so `head -c32
/// /dev/urandom > k` and `openssl rand -hex 32 > k` both work). Errors name
/// the path, never the contents.
pub fn read_key_file(path: &Path) -> Result<Vec<u8>> {
    let mut key = std::fs::read(path).with_context(|| format!("read HMAC key file {}", path.display()))?;
    if key.last() == Some(&b'\n') {
        key.pop();
    }
    if key.len() < 16 {
        bail!(
            "HMAC key file {} holds {} bytes; use at least 16 random bytes (32 recommended)",
            path.display(),
            key.len()
        );
    }
    Ok(key)
}

fn syslog_options(facility: NameOrNumber, attrs: &Map<String, Json>) -> Result<SyslogOptions> {
    check_attrs(
        attrs,
        &[
            "ident",
            "append_nul",
            "rfc5424",
            "framing",
            "hostname",
            "app_name",
            "procid",
            "cpython_exact_bytes",
            "max_message_bytes",
        ],
    )?;
    let max_message_bytes = match attrs.get("max_message_bytes") {
        None => 8192,
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| anyhow!("\".\" max_message_bytes must be a byte count (0 for no limit), not {v}"))?,
    };
    let framing = match str_key(attrs, "framing")?.as_deref() {
        None | Some("none") | Some("unframed") => SyslogFraming::Unframed,
        Some("octet-counting") | Some("octet_counting") => SyslogFraming::OctetCounting,
        Some(other) => bail!("\".\" framing {other:?} must be \"unframed\" or \"octet-counting\""),
    };
    Ok(SyslogOptions {
        facility,
        ident: attr_str(attrs, "ident")?,
        append_nul: attr_bool(attrs, "append_nul", true)?,
        format: if attr_bool(attrs, "rfc5424", false)? { SyslogFormat::Rfc5424 } else { SyslogFormat::Cpython },
        framing,
        hostname: attr_str(attrs, "hostname")?,
        app_name: attr_str(attrs, "app_name")?,
        procid: attr_str(attrs, "procid")?,
        cpython_exact_bytes: attr_bool(attrs, "cpython_exact_bytes", false)?,
        max_message_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Document> {
        parse_str(text, false, &LocalTime { utc_offset_seconds: 0, tz_name: "UTC".into() })
    }

    #[test]
    fn cpython_shapes_parse() {
        let d = parse(
            r#"{"version": 1,
            "formatters": {"f": {"format": "%(levelname)s %(message)s"}},
            "handlers": {
              "s": {"class": "logging.handlers.SysLogHandler", "address": ["127.0.0.1", 1514],
                    "facility": "local3", "socktype": "ext://socket.SOCK_STREAM", "formatter": "f",
                    ".": {"ident": "app: ", "append_nul": false}},
              "t": {"class": "logging.handlers.SocketHandler", "host": "localhost", "port": 9020, "level": "INFO"}}}"#,
        )
        .unwrap();
        assert_eq!(d.handlers.len(), 2);
        assert!(matches!(&d.handlers[0].destination, Destination::Tcp(e) if e.port == 1514));
        assert_eq!(d.handlers[1].level, 20);
    }

    #[test]
    fn toml_documents_parse_like_json() {
        let d = parse_str(
            "version = 1\n[formatters.f]\nformat = \"%(name)s: %(message)s\"\n\
             [handlers.sys]\nclass = \"logging.handlers.SysLogHandler\"\naddress = [\"127.0.0.1\", 5514]\n\
             facility = \"local3\"\nformatter = \"f\"\n[handlers.sys.\".\"]\nident = \"app: \"\n",
            true,
            &LocalTime { utc_offset_seconds: 0, tz_name: "UTC".into() },
        )
        .unwrap();
        assert_eq!(d.handlers.len(), 1);
        let HandlerKind::Syslog(o) = &d.handlers[0].kind else { panic!("not syslog") };
        assert_eq!(o.ident, "app: ");
        assert_eq!(d.handlers[0].formatter.fmt.as_deref(), Some("%(name)s: %(message)s"));
    }

    #[test]
    fn mistakes_are_named() {
        let err = |t: &str| format!("{:#}", parse(t).unwrap_err());
        assert!(err(r#"{"handlers": {}}"#).contains("version"));
        assert!(
            err(r#"{"version": 1, "handlers": {"h": {"class": "FancyHandler"}}}"#).contains("unknown handler class")
        );
        assert!(err(r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SocketHandler", "port": 1}}}"#)
            .contains("needs \"host\""));
        assert!(err(r#"{"version": 1, "handlers": {"h": {"class": "logging.handlers.SocketHandler", "host": "x", "port": 1, "bogus": 1}}}"#).contains("bogus"));
    }

    #[test]
    fn keys_cpython_ignores_are_ignored_and_named() {
        let d = parse(
            r#"{"version": 1, "handlers": {}, "handler": {}, "loggers": {"app": {"level": "INFO", "formatter": "x"}}}"#,
        )
        .unwrap();
        assert!(d.ignored.iter().any(|w| w.starts_with("handler: ")), "{:?}", d.ignored);
        assert!(d.ignored.iter().any(|w| w.starts_with("loggers.app.formatter: ")), "{:?}", d.ignored);
    }
}
