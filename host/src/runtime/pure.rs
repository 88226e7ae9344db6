//! The plugin's pure exports (`make-pickle`, `encode-priority`, ...) in an
//! instance with no network at all.

use std::time::Duration;

use wasmtime::Store;

use crate::bindings::{Formatter, HandlerError, LogRecord, NameOrNumber, PackedRecords, PluginWorld};
use crate::runtime::deadline::begin_call;
use crate::runtime::error::{flatten, PluginError};
use crate::runtime::state::State;

/// The exports that touch no network: `make-pickle`, `encode-priority`, ...
pub struct Pure {
    pub(crate) store: Store<State>,
    pub(crate) world: PluginWorld,
    /// Pure exports never block, so their bound is the CPU deadline.
    pub(crate) wall: Duration,
    /// The buffers records are packed into, kept from call to call.
    pub(crate) packed: PackedRecords,
}

impl Pure {
    /// `makePickle`. The record crosses packed (`make-pickles`): two copies
    /// instead of a `cabi_realloc` per string.
    pub fn make_pickle(&mut self, record: &LogRecord, protocol: u8) -> Result<Vec<u8>, PluginError> {
        match self.make_pickles(std::slice::from_ref(record), protocol)?.pop() {
            Some(result) => result.map_err(PluginError::Handler),
            None => Err(PluginError::Trap(anyhow::anyhow!("make-pickles gave no result for one record"))),
        }
    }

    /// `makePickle` of each record, in one call; a record that cannot be
    /// pickled has its error in its place.
    pub fn make_pickles(
        &mut self,
        records: &[LogRecord],
        protocol: u8,
    ) -> Result<Vec<Result<Vec<u8>, HandlerError>>, PluginError> {
        crate::records::packed::pack_into(&mut self.packed, records);
        begin_call(&mut self.store, self.wall);
        let results =
            self.world.pylog_handlers_handlers().call_make_pickles(&mut self.store, &self.packed, protocol)?;
        if results.len() != records.len() {
            return Err(PluginError::Trap(anyhow::anyhow!(
                "make-pickles gave {} results for {} records",
                results.len(),
                records.len()
            )));
        }
        Ok(results)
    }

    pub fn encode_priority(&mut self, facility: &NameOrNumber, priority: &NameOrNumber) -> Result<u32, PluginError> {
        begin_call(&mut self.store, self.wall);
        flatten(self.world.pylog_handlers_handlers().call_encode_priority(&mut self.store, facility, priority))
    }

    pub fn map_priority(&mut self, levelname: &str) -> Result<String, PluginError> {
        begin_call(&mut self.store, self.wall);
        Ok(self.world.pylog_handlers_handlers().call_map_priority(&mut self.store, levelname)?)
    }

    pub fn format_record(&mut self, record: &LogRecord, formatter: &Formatter) -> Result<String, PluginError> {
        begin_call(&mut self.store, self.wall);
        flatten(self.world.pylog_handlers_handlers().call_format_record(&mut self.store, record, formatter))
    }

    /// `QueueHandler.prepare` with `formatter`.
    pub fn prepare_record(&mut self, record: &LogRecord, formatter: &Formatter) -> Result<LogRecord, PluginError> {
        begin_call(&mut self.store, self.wall);
        flatten(self.world.pylog_handlers_handlers().call_prepare_record(&mut self.store, record, formatter))
    }

    /// What HTTPHandler sends for `record` (url-encoded `mapLogRecord`).
    pub fn http_body(&mut self, record: &LogRecord) -> Result<String, PluginError> {
        begin_call(&mut self.store, self.wall);
        Ok(self.world.pylog_handlers_handlers().call_http_body(&mut self.store, record)?)
    }
}
