//! A Rust application's own logs through the sandboxed plugin: a `log::Log`
//! and a `tracing_subscriber::Layer` that turn records and events into
//! CPython LogRecords for the handlers of a dictConfig document.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! let plugin = pylog_host::Plugin::load("pylog_handlers.wasm")?;
//! pylog_host::embed::log_bridge::init(&plugin, "logging.json".as_ref())?;
//! log::warn!("disk {} is {}% full", "/var", 91);
//! # Ok(()) }
//! ```

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use pylog_wire::record as level;

use crate::bindings::{LogRecord, Value};
use crate::runtime::{Handler, Plugin};

/// The handlers records go to; shared by the `log` and `tracing` bridges.
#[derive(Clone)]
pub struct Sink {
    handlers: Arc<Mutex<Vec<Handler>>>,
    started: f64,
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

impl Sink {
    /// Opens every handler of a dictConfig document, each in its own
    /// sandboxed instance. (QueueHandler entries are refused: a bridge is
    /// called on the application's threads, so give it a MemoryHandler.)
    pub fn open(plugin: &Plugin, config: &Path) -> Result<Sink> {
        let doc = crate::config::parse_file(config)?;
        if let Some(q) = doc.queues.first() {
            anyhow::bail!("handler {:?}: the log bridge does not run QueueHandlers; use the targets directly", q.name);
        }
        let mut handlers = Vec::new();
        for h in &doc.handlers {
            handlers.push(plugin.open(h).with_context(|| format!("open handler {:?}", h.name))?);
        }
        Ok(Sink { handlers: Arc::new(Mutex::new(handlers)), started: now() })
    }

    /// Emits to every handler. A failure is counted in that handler's stats
    /// (a logger cannot report it to its caller).
    pub fn emit(&self, record: &LogRecord) {
        if is_runtime(&record.name) || IN_BRIDGE.with(|b| b.replace(true)) {
            return;
        }
        if let Ok(mut handlers) = self.handlers.lock() {
            for h in handlers.iter_mut() {
                let _ = h.emit(record);
            }
        }
        IN_BRIDGE.with(|b| b.set(false));
    }

    pub fn flush(&self) {
        if let Ok(mut handlers) = self.handlers.lock() {
            for h in handlers.iter_mut() {
                let _ = h.flush();
            }
        }
    }

    /// Closes the handlers (delivering what is spooled) and returns each
    /// one's name and stats.
    pub fn close(&self) -> Vec<(String, crate::bindings::HandlerStats)> {
        let Ok(mut handlers) = self.handlers.lock() else { return Vec::new() };
        handlers
            .iter_mut()
            .filter_map(|h| {
                let _ = h.close();
                h.stats().ok().map(|s| (h.name().to_string(), s))
            })
            .collect()
    }

    /// `Logger.makeRecord` for one message of the application.
    fn record(&self, levelno: i64, name: &str, msg: String, place: Place, extra: Vec<(String, Value)>) -> LogRecord {
        let created = now();
        let pathname = place.file.unwrap_or("(unknown file)").to_string();
        let filename = pathname.rsplit('/').next().unwrap_or(&pathname).to_string();
        let module = filename.strip_suffix(".rs").unwrap_or(&filename).to_string();
        LogRecord {
            name: name.to_string(),
            msg,
            args: None,
            levelname: crate::records::level_name(levelno),
            levelno,
            pathname,
            filename,
            module,
            exc_text: None,
            stack_info: None,
            lineno: place.line.map_or(0, i64::from),
            func_name: place.module_path.map(str::to_string),
            created,
            msecs: ((created - created.trunc()) * 1000.0).trunc(),
            relative_created: (created - self.started) * 1000.0,
            thread: None,
            thread_name: std::thread::current().name().map(str::to_string),
            process_name: Some("MainProcess".into()),
            process: Some(i64::from(std::process::id())),
            task_name: None,
            extra,
        }
    }
}

thread_local! {
    /// Set while this thread is inside the plugin: wasmtime logs through
    /// the same facades, and shipping those records would re-enter the
    /// handlers (and deadlock on their lock).
    static IN_BRIDGE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The crates that run the plugin. Their records come from inside a
/// handler call, often on wasmtime's I/O threads while a call waits for
/// them, so they are not shipped.
const RUNTIME_TARGETS: &[&str] =
    &["wasmtime", "cranelift", "wasi", "wiggle", "tokio", "mio", "hyper", "h2", "rustls", "regalloc2", "want"];

fn is_runtime(target: &str) -> bool {
    RUNTIME_TARGETS.iter().any(|t| {
        target.strip_prefix(t).is_some_and(|rest| rest.is_empty() || rest.starts_with("::") || rest.starts_with('_'))
    })
}

struct Place<'a> {
    file: Option<&'a str>,
    line: Option<u32>,
    /// Rust has no function name at a log call; the module path stands in
    /// for `funcName`.
    module_path: Option<&'a str>,
}

/// Python's levels for Rust's: TRACE becomes 5, below DEBUG.
fn levelno(level: log::Level) -> i64 {
    match level {
        log::Level::Error => level::ERROR,
        log::Level::Warn => level::WARNING,
        log::Level::Info => level::INFO,
        log::Level::Debug => level::DEBUG,
        log::Level::Trace => level::TRACE,
    }
}

/// `log::Log` over a `Sink`; the record's target is the logger name.
pub struct PylogLogger(pub Sink);

impl log::Log for PylogLogger {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }

    fn log(&self, r: &log::Record) {
        let place = Place { file: r.file(), line: r.line(), module_path: r.module_path() };
        let record = self.0.record(levelno(r.level()), r.target(), r.args().to_string(), place, Vec::new());
        self.0.emit(&record);
    }

    fn flush(&self) {
        self.0.flush();
    }
}

/// Installs a `PylogLogger` for the document's handlers as the `log`
/// facade's logger; returns the sink, to close at exit.
pub fn init(plugin: &Plugin, config: &Path) -> Result<Sink> {
    let sink = Sink::open(plugin, config)?;
    log::set_boxed_logger(Box::new(PylogLogger(sink.clone()))).context("a logger is already installed")?;
    log::set_max_level(log::LevelFilter::Trace);
    Ok(sink)
}

/// A `tracing_subscriber` layer over a `Sink`: an event's `message` field is
/// `msg`, its other fields are `extra`, its target the logger name.
pub struct PylogLayer(pub Sink);

#[derive(Default)]
struct Fields {
    message: String,
    extra: Vec<(String, Value)>,
}

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.extra.push((field.name().to_string(), Value::Str(text)));
        }
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.extra.push((field.name().to_string(), Value::Str(value.to_string())));
        }
    }
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.extra.push((field.name().to_string(), Value::Int(value)));
    }
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        let v = i64::try_from(value).map_or_else(|_| Value::Str(value.to_string()), Value::Int);
        self.extra.push((field.name().to_string(), v));
    }
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.extra.push((field.name().to_string(), Value::Float(value)));
    }
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.extra.push((field.name().to_string(), Value::Boolean(value)));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for PylogLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let level = match *meta.level() {
            tracing::Level::ERROR => log::Level::Error,
            tracing::Level::WARN => log::Level::Warn,
            tracing::Level::INFO => log::Level::Info,
            tracing::Level::DEBUG => log::Level::Debug,
            tracing::Level::TRACE => log::Level::Trace,
        };
        let place = Place { file: meta.file(), line: meta.line(), module_path: meta.module_path() };
        let record = self.0.record(levelno(level), meta.target(), fields.message, place, fields.extra);
        self.0.emit(&record);
    }
}
