//! The component's exports: wit-bindgen's generated types stay in the
//! hidden `wit` module, `convert` maps them to the core's, and each export
//! below is one call into the core. No logic lives here.

mod convert;
#[cfg(feature = "http")]
mod http;
mod tls;
mod udp;
mod unix;

use std::cell::RefCell;

use crate::encode::http_body::urlencoded_record;
use crate::encode::pickle;
use crate::encode::priority;
use crate::error::Error;
use crate::handlers::family::Capabilities;
use crate::handlers::{Handler, HandlerConfig, Record};
use crate::python::formatter::Formatter;
use crate::python::prepare;
use crate::python::record::LogRecord;
use crate::python::unpack::Slots;
use crate::routing::{Level, Router};
#[cfg(feature = "http")]
use http::WasiHttp;
use tls::ImportedTlsStreams;
use udp::ImportedDatagrams;
use unix::ImportedUnixSockets;

mod wit {
    wit_bindgen::generate!({ path: "wit", world: "plugin" });
}

use wit::exports::pylog::handlers::handlers as wh;
use wit::exports::pylog::handlers::log_routing as wr;
use wit::exports::wasi::logging::logging as wl;
use wit::pylog::handlers::config as wc;
use wit::pylog::handlers::types as wt;

struct Plugin;

/// A handler from its WIT configuration, with the host's unix sockets, TLS
/// and wasi:http: the one way `handler.open`, `log-routing.configure` and the wasi:logging
/// route open handlers.
fn open_handler(c: wc::HandlerConfig) -> Result<Handler, Error> {
    let capabilities = Capabilities {
        unix: Some(Box::new(ImportedUnixSockets)),
        datagrams: Some(Box::new(ImportedDatagrams)),
        tls: Some(Box::new(ImportedTlsStreams)),
        #[cfg(feature = "http")]
        http: Some(Box::new(WasiHttp)),
        #[cfg(not(feature = "http"))]
        http: None,
    };
    HandlerConfig::try_from(c).and_then(|c| Handler::open_with(c, capabilities))
}

impl wh::Guest for Plugin {
    type Handler = HandlerResource;

    fn make_pickle(rec: wt::LogRecord, protocol: u8) -> Result<Vec<u8>, wt::HandlerError> {
        pickle::make_pickle(&LogRecord::from(rec), protocol).map_err(wt::HandlerError::from)
    }

    fn make_pickles(batch: wt::PackedRecords, protocol: u8) -> Vec<Result<Vec<u8>, wt::HandlerError>> {
        PURE_SLOTS.with_borrow_mut(|slots| match slots.unpack(&batch.text, &batch.layout, batch.count) {
            Ok(records) => {
                records.iter().map(|r| pickle::make_pickle(r, protocol).map_err(wt::HandlerError::from)).collect()
            }
            Err(e) => (0..batch.count).map(|_| Err(wt::HandlerError::BadRecord(e.to_string()))).collect(),
        })
    }

    fn encode_priority(facility: wc::NameOrNumber, priority: wc::NameOrNumber) -> Result<u32, wt::HandlerError> {
        priority::encode_priority(&facility.into(), &priority.into()).map_err(wt::HandlerError::from)
    }

    fn map_priority(levelname: String) -> String {
        priority::map_priority(&levelname).to_string()
    }

    fn format_record(rec: wt::LogRecord, fmt: wc::Formatter) -> Result<String, wt::HandlerError> {
        Formatter::try_from(fmt).and_then(|f| f.format(&LogRecord::from(rec))).map_err(wt::HandlerError::from)
    }

    fn prepare_record(rec: wt::LogRecord, fmt: wc::Formatter) -> Result<wt::LogRecord, wt::HandlerError> {
        Formatter::try_from(fmt)
            .and_then(|f| prepare::prepare(&LogRecord::from(rec), &f))
            .map(wt::LogRecord::from)
            .map_err(wt::HandlerError::from)
    }

    fn http_body(rec: wt::LogRecord) -> String {
        urlencoded_record(&LogRecord::from(rec))
    }
}

/// Resource methods take `&self`; a component instance is single-threaded,
/// so a `RefCell` is all the interior mutability needed.
struct HandlerResource(RefCell<Handler>, RefCell<Slots>);

impl HandlerResource {
    fn emit_batch_core<R: Record>(&self, records: impl IntoIterator<Item = R>) -> Vec<Result<(), wt::HandlerError>> {
        let results = self.0.borrow_mut().emit_batch(records);
        results.into_iter().map(|r| r.map_err(wt::HandlerError::from)).collect()
    }
}

impl wh::GuestHandler for HandlerResource {
    fn open(c: wc::HandlerConfig) -> Result<wh::Handler, wt::HandlerError> {
        let handler = open_handler(c).map_err(wt::HandlerError::from)?;
        Ok(wh::Handler::new(HandlerResource(RefCell::new(handler), RefCell::default())))
    }

    fn emit(&self, rec: wt::LogRecord) -> Result<(), wt::HandlerError> {
        self.0.borrow_mut().emit(LogRecord::from(rec)).map_err(wt::HandlerError::from)
    }

    fn emit_batch(&self, recs: Vec<wt::LogRecord>) -> Vec<Result<(), wt::HandlerError>> {
        self.emit_batch_core(recs.into_iter().map(LogRecord::from))
    }

    fn emit_packed(&self, batch: wt::PackedRecords) -> Vec<Result<(), wt::HandlerError>> {
        let mut slots = self.1.borrow_mut();
        match slots.unpack(&batch.text, &batch.layout, batch.count) {
            Ok(records) => self.emit_batch_core(records),
            Err(e) => (0..batch.count).map(|_| Err(wt::HandlerError::BadRecord(e.to_string()))).collect(),
        }
    }

    fn flush(&self) -> Result<(), wt::HandlerError> {
        self.0.borrow_mut().flush().map_err(wt::HandlerError::from)
    }

    fn close(&self) -> Result<(), wt::HandlerError> {
        self.0.borrow_mut().close().map_err(wt::HandlerError::from)
    }

    fn stats(&self) -> wh::HandlerStats {
        self.0.borrow().stats().into()
    }

    fn take_output(&self) -> Vec<u8> {
        self.0.borrow_mut().take_output()
    }
}

thread_local! {
    /// Records the pure exports unpack into, kept from call to call.
    static PURE_SLOTS: RefCell<Slots> = RefCell::default();
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
            opened.push(open_handler(c).map_err(wt::HandlerError::from)?);
        }
        ROUTER.with(|r| r.borrow_mut().configure(opened)).map_err(wt::HandlerError::from)
    }

    fn stats() -> Vec<wh::HandlerStats> {
        ROUTER.with(|r| r.borrow().stats().into_iter().map(wh::HandlerStats::from).collect())
    }

    fn close() -> Result<(), wt::HandlerError> {
        ROUTER.with(|r| r.borrow_mut().close()).map_err(wt::HandlerError::from)
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
