//! `pylog config check FILE`: validates a dictConfig document (opening each
//! handler in the plugin with its output kept in memory, so that check never
//! accepts what emit would refuse) and prints what it resolves to.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use pylog_host::sandbox::Grants;
use pylog_host::{config, records, Plugin};

/// What only the plugin checks (a formatter's fields, a syslog header, a
/// rotation schedule) is checked by opening each handler with its output
/// kept in memory: check and compose never accept what emit would refuse.
pub fn open_each_in_plugin(doc: &config::Document, plugin: &Plugin) -> Result<()> {
    let mut refused = Vec::new();
    for h in doc.handlers.iter().chain(doc.queues.iter().flat_map(|q| q.targets.iter())) {
        let mut config = h.clone();
        config.dry_run = true;
        // A durable spool's folder is the host's to check (and to lock),
        // not something to create from a check.
        config.spool.directory = None;
        if let Err(e) = plugin.open_with(&config, Grants::default()).and_then(|mut opened| opened.close()) {
            refused.push(format!("handlers.{}: {e}", h.name));
        }
    }
    if !refused.is_empty() {
        anyhow::bail!(
            "{} problem{}:\n  {}",
            refused.len(),
            if refused.len() == 1 { "" } else { "s" },
            refused.join("\n  ")
        );
    }
    Ok(())
}

/// `pylog config check`: what the document resolves to, one line each.
pub fn run(file: &std::path::Path, plugin: PathBuf) -> Result<ExitCode> {
    let doc = config::parse_file(file)?;
    crate::cli::emit::say_ignored(&doc);
    open_each_in_plugin(&doc, &Plugin::load(&plugin)?)?;
    let level = |l: Option<i64>| l.map_or("NOTSET (inherited)".to_string(), records::level_name);
    println!("{}: valid", file.display());
    println!("handlers:");
    for h in &doc.handlers {
        let buffer = h.buffer.as_ref().map_or(String::new(), |b| {
            format!(
                ", behind a MemoryHandler (capacity {}, flushLevel {})",
                b.capacity,
                records::level_name(b.flush_level)
            )
        });
        let tls = doc.tls.get(&h.name).map_or(String::new(), |c| format!(", TLS {}", c.summary));
        println!(
            "  {}: {} to {}{tls}, level {}, format {:?}{buffer}",
            h.name,
            h.kind.class_name(),
            destination_name(h),
            records::level_name(h.level),
            h.formatter.fmt.as_deref().unwrap_or("%(message)s")
        );
    }
    for q in &doc.queues {
        let targets: Vec<String> = q.targets.iter().map(|t| format!("{} ({})", t.name, t.kind.class_name())).collect();
        println!("  {}: QueueHandler (queue of {}) feeding {}", q.name, q.capacity, targets.join(", "));
    }
    let r = &doc.routing;
    println!("loggers:");
    println!("  root: level {}, handlers {:?}", level(r.root.level), r.root.handlers);
    for (name, l) in &r.loggers {
        println!(
            "  {name}: level {}, handlers {:?}, propagate {}{}",
            level(l.level),
            l.handlers,
            l.propagate,
            if l.filters.is_empty() { String::new() } else { format!(", only records of loggers {:?}", l.filters) }
        );
    }
    for (handler, prefixes) in &r.handler_filters {
        println!("filter: handler {handler} takes only records of loggers {prefixes:?}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Where a handler writes, as a user would name it, with the framing of a
/// syslog stream (receivers need to know it).
fn destination_name(h: &pylog_host::HandlerConfig) -> String {
    use pylog_host::bindings::{HandlerKind as K, HttpMethod, StreamTarget, SyslogFormat, SyslogFraming};
    if let Some(address) = h.kind.address() {
        let framing = match &h.kind {
            K::Syslog((_, o)) if address.is_stream() => match (o.framing, o.format) {
                (SyslogFraming::OctetCounting, _) if matches!(address, pylog_host::bindings::Address::Tls(_)) => {
                    ", octet-counted (RFC 5425)"
                }
                (SyslogFraming::OctetCounting, _) => ", octet-counted (RFC 6587)",
                (SyslogFraming::Relp, _) => ", RELP (each message confirmed by the receiver)",
                (SyslogFraming::Unframed, SyslogFormat::Rfc5424) => ", each message ending in LF (RFC 6587)",
                (SyslogFraming::Unframed, SyslogFormat::Cpython) if o.append_nul => {
                    ", unframed, each message ending in NUL (CPython's)"
                }
                (SyslogFraming::Unframed, SyslogFormat::Cpython) => ", unframed, no delimiter",
            },
            _ => "",
        };
        return format!("{address}{framing}");
    }
    match &h.kind {
        K::File(o) => format!("file {}", o.path),
        K::Http(o) => format!(
            "{} {}://{}{}",
            match o.method {
                HttpMethod::Get => "GET",
                HttpMethod::Post => "POST",
            },
            if o.secure { "https" } else { "http" },
            o.host,
            o.url
        ),
        K::Stream(StreamTarget::Stderr) => "stderr".into(),
        K::Stream(StreamTarget::Stdout) => "stdout".into(),
        _ => "nowhere (NullHandler)".into(),
    }
}
