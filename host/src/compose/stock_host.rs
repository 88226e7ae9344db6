//! What a host that is not ours can run: the handlers of the wasi:logging
//! route, checked against what WASI 0.2 gives a component. A stock host has
//! no unix sockets and offers the plugin no TLS, never calls `close` (so a
//! MemoryHandler's buffer or a QueueHandler's thread would hold records
//! nobody delivers), and may run many instances at once (so a durable
//! spool's folder would be shared without pylog's lock): each is refused
//! here, by name, with what to do.

use crate::bindings::{Address, HandlerConfig, HandlerKind};
use crate::config::Document;

/// The handlers the composition's route sends to, and what a reader of the
/// document should know about how the route differs from CPython's loggers.
pub struct Route {
    pub handlers: Vec<HandlerConfig>,
    pub notes: Vec<String>,
    /// Whether an HTTPHandler is among them (the plugin build with wasi:http).
    pub needs_http: bool,
}

/// The route for `doc`, or every reason a stock host cannot run it.
pub fn route(doc: &Document) -> Result<Route, Vec<String>> {
    let routing = &doc.routing;
    let attached: Vec<&str> = routing
        .root
        .handlers
        .iter()
        .chain(routing.loggers.values().flat_map(|l| l.handlers.iter()))
        .map(String::as_str)
        .collect();
    let mut problems = Vec::new();
    for q in doc.queues.iter().filter(|q| attached.contains(&q.name.as_str())) {
        problems.push(format!(
            "handlers.{}: a QueueHandler's listener is a thread of pylog's host, which a composition has not; \
             attach its targets ({}) to the logger instead",
            q.name,
            q.targets.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    let mut handlers = Vec::new();
    for h in doc.handlers.iter().filter(|h| attached.contains(&h.name.as_str())) {
        if let Err(why) = runnable(h, doc) {
            problems.push(format!("handlers.{}: {why}", h.name));
        }
        handlers.push(h.clone());
    }
    if handlers.is_empty() && problems.is_empty() {
        problems.push("no handler is attached to root or to a logger: the composition would log nothing".into());
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut notes = Vec::new();
    let only_root = routing.loggers.values().all(|l| l.handlers.is_empty() && l.level.is_none());
    if only_root {
        // CPython checks root's level before any handler's: the same
        // record reaches the handler when both levels let it through.
        let root_level = routing.effective_level("root");
        for h in &mut handlers {
            h.level = h.level.max(root_level);
        }
    } else {
        notes.push(
            "the wasi:logging route sends every message to each handler above (each with its own level); \
             the levels and handlers of loggers other than root are not applied to a message's context"
                .into(),
        );
    }
    let logger_filters = std::iter::once(&routing.root).chain(routing.loggers.values()).any(|l| !l.filters.is_empty());
    let handler_filters = handlers.iter().any(|h| routing.handler_filters.get(&h.name).is_some_and(|f| !f.is_empty()));
    if logger_filters || handler_filters {
        notes.push("logger and handler filters are not applied by the wasi:logging route".into());
    }
    for h in handlers.iter().filter(|h| matches!(h.kind, HandlerKind::File(_))) {
        notes.push(format!(
            "handlers.{}: writes files; the host must open their directory to the component under the same path \
             (wasmtime run --dir DIR::DIR)",
            h.name
        ));
    }
    let needs_http = handlers.iter().any(|h| matches!(h.kind, HandlerKind::Http(_)));
    Ok(Route { handlers, notes, needs_http })
}

/// Why a stock host cannot run `h`, if it cannot.
fn runnable(h: &HandlerConfig, doc: &Document) -> Result<(), String> {
    match h.kind.address() {
        Some(a @ (Address::UnixStream(_) | Address::UnixDatagram(_))) => {
            return Err(format!("{a}: WASI 0.2 has no unix sockets; send to a TCP or UDP address instead"));
        }
        Some(a @ Address::Tls(_)) => {
            return Err(format!(
                "{a}: a stock host offers the plugin no TLS (WASI 0.2 has none); send plain TCP to a local \
                 relay (rsyslog) that forwards over TLS, or run the extension under pylog's host"
            ));
        }
        _ => {}
    }
    if doc.tls.contains_key(&h.name) {
        return Err("its \".\" tls options (or SMTP secure) need pylog's TLS capability, which a stock host has not; \
                    an HTTPS URL without them uses the host's own trust store"
            .into());
    }
    if h.spool.directory.is_some() {
        return Err("a durable spool (\".\" spool_dir) needs pylog's host, which locks its folder for one \
                    handler; a stock host may run several instances at once (wasmtime serve runs one per \
                    request), which would share it; use the in-memory spool"
            .into());
    }
    if let Some(b) = &h.buffer {
        return Err(format!(
            "a MemoryHandler holds up to {} records until close, which a stock host never calls, so they would be \
             lost at exit; use its target directly",
            b.capacity
        ));
    }
    Ok(())
}
