//! Handlers that share the console. CPython calls a record's handlers one
//! after the other, so two StreamHandlers on stdout (or stderr, with
//! `logging.lastResort`) interleave their lines record by record. Batching
//! each on its own thread would print one handler's batch, then the
//! other's. So when two or more handlers write to the console, they are
//! called here, on the main thread, one record at a time in CPython's
//! order. A lone console handler is batched on its own thread like any
//! other, until a record reaches no handler: then lastResort opens here,
//! and the lone handler leaves its thread to join it.

use anyhow::{Context, Result};
use pylog_host::bindings::{describe, HandlerKind};
use pylog_host::config;
use pylog_host::sandbox::Grants;
use pylog_host::{Handler, HandlerConfig, LogRecord, Plugin};

use crate::cli::summary::Summary;

#[derive(Default)]
pub(crate) struct Console {
    pub handlers: Vec<Handler>,
    /// Where `logging.lastResort` sits in `handlers`, once a record needed it.
    pub last_resort: Option<usize>,
}

/// Whether `config` writes to the process's stdout or stderr.
pub(crate) fn writes_to_console(config: &HandlerConfig) -> bool {
    matches!(config.kind, HandlerKind::Stream(_)) && !config.dry_run
}

impl Console {
    /// Calls each console handler for each record it reaches, in record
    /// order, then handler order (`times`: how often handler `c` takes
    /// record `i`); a failure is reported with its line and counted.
    pub fn deliver(
        &mut self,
        records: &[LogRecord],
        line_numbers: &[usize],
        times: impl Fn(&Handler, Option<usize>, usize) -> usize,
        summary: &mut Summary,
    ) {
        for (i, record) in records.iter().enumerate() {
            for (c, handler) in self.handlers.iter_mut().enumerate() {
                let is_last_resort = (self.last_resort == Some(c)).then_some(c);
                for _ in 0..times(handler, is_last_resort, i) {
                    if let Err(e) = handler.emit(record) {
                        eprintln!("pylog: line {}: handler {:?}: {e}", line_numbers[i], handler.name());
                        summary.failed += 1;
                    }
                }
            }
        }
    }
}

/// `logging.lastResort`: a StreamHandler on stderr at WARNING with the
/// default formatter (`%(message)s`), for records no handler was found for.
pub(crate) fn open_last_resort(plugin: &Plugin) -> Result<Handler> {
    let doc = r#"{"version": 1, "handlers": {"lastResort": {"class": "logging.StreamHandler",
        "stream": "ext://sys.stderr", "level": "WARNING"}}}"#;
    let parsed = config::parse_str(doc, false, &config::LocalTime::of_host())?;
    let config = parsed.handlers.into_iter().next().context("the lastResort handler")?;
    let grants = Grants::for_handler(&config).map_err(|e| anyhow::anyhow!("lastResort: {}", describe(&e)))?;
    plugin.open_with(&config, grants).map_err(|e| anyhow::anyhow!("open lastResort: {e}"))
}
