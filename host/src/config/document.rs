//! A dictConfig document (JSON or TOML) read as CPython's `dictConfig` reads
//! it: version, formatters, filters, handlers, loggers and root, with every
//! problem reported by its path.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{Map, Value as Json};

use crate::bindings::HandlerConfig;
use crate::config::arguments::formatter;
use crate::config::classes::{class_of, short_class, Resolver};
use crate::config::local_time::LocalTime;
use crate::config::loggers::{
    filter_names, filter_prefixes, ignored_logger_keys, is_root_name, logger_node, logging_level,
};
use crate::config::problems::{ClassProblem, Problems};
use crate::config::queues::QueueConfig;
use crate::config::routing::{LoggerNode, Routing};
use crate::config::tls::TlsClient;

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
    /// The TLS client of each handler with a `"." tls` table, by handler
    /// name: host-side only (the plugin gets a `tls` address, never these).
    pub tls: HashMap<String, TlsClient>,
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
    let ctx = Resolver { handlers, formatters, local, chosen: &chosen, tls: Default::default() };
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
    let mut out = Document {
        handlers: Vec::new(),
        queues: Vec::new(),
        routing: Routing::default(),
        ignored,
        tls: HashMap::new(),
    };
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
    out.tls = ctx.tls.into_inner();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::{HandlerKind, SyslogAddress};

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
        assert!(matches!(&d.handlers[0].kind, HandlerKind::Syslog((SyslogAddress::Tcp(e), _)) if e.port == 1514));
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
        let HandlerKind::Syslog((_, o)) = &d.handlers[0].kind else { panic!("not syslog") };
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
