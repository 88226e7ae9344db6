//! `Handler`: one handler in its own sandboxed instance. After a trap the
//! instance is discarded and the next call starts a fresh one with the same
//! configuration and grants; counters survive the trap.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::ResourceAny;
use wasmtime::Store;

use crate::bindings::{HandlerConfig, HandlerError, HandlerStats, LogRecord, PackedRecords, PluginWorld};
use crate::runtime::deadline::begin_call;
use crate::runtime::error::{flatten, PluginError};
use crate::runtime::plugin::Plugin;
use crate::runtime::state::State;
use crate::sandbox::{Denials, Grants};

pub(crate) struct Live {
    store: Store<State>,
    world: PluginWorld,
    resource: ResourceAny,
}

/// One open handler in its own instance. After a trap the instance is
/// discarded and the next call starts a fresh one with the same
/// configuration and grants; counters survive in `carried`.
pub struct Handler {
    pub(crate) plugin: Plugin,
    pub(crate) config: HandlerConfig,
    pub(crate) grants: Grants,
    pub(crate) denials: Arc<Denials>,
    pub(crate) live: Option<Live>,
    pub(crate) carried: HandlerStats,
    pub(crate) traps: u64,
    /// The wall-clock bound of each call, fixed at open (deadline.rs).
    pub(crate) wall_limit: Duration,
    /// Held while the handler lives, so no other process shares its spool.
    pub(crate) _spool_lock: Option<crate::runtime::spool_lock::SpoolLock>,
    /// The live instance's counters after its last successful call: what a
    /// trap would otherwise take with it.
    pub(crate) snapshot: HandlerStats,
    /// Records held by instances that trapped (spooled, buffered, or in the
    /// trapping call), counted as dropped.
    pub(crate) lost_in_traps: u64,
    /// How much of the live instance's stderr `plugin_said` has returned.
    pub(crate) said_up_to: usize,
}

impl Handler {
    pub(crate) fn start(&mut self) -> Result<(), PluginError> {
        self.said_up_to = 0;
        let (mut store, world) = self
            .plugin
            .instantiate(&self.grants, self.denials.clone())
            .map_err(|e| e.downcast::<PluginError>().unwrap_or_else(PluginError::Trap))?;
        let resource = flatten(world.pylog_handlers_handlers().handler().call_open(&mut store, &self.config)).map_err(
            |e| match e {
                PluginError::Handler(e) => PluginError::Handler(self.grants.unsandboxed(e)),
                other => other,
            },
        )?;
        self.live = Some(Live { store, world, resource });
        Ok(())
    }

    /// Runs one call on the live instance, starting one if the last trapped.
    /// `records` is how many records the call hands in: if it traps, they
    /// and whatever the instance held are counted as lost.
    fn call<T>(
        &mut self,
        records: u64,
        f: impl FnOnce(&mut Live) -> wasmtime::Result<Result<T, HandlerError>>,
    ) -> Result<T, PluginError> {
        if self.live.is_none() {
            self.start()?;
        }
        let wall = self.wall_limit;
        let Some(live) = self.live.as_mut() else { return Err(PluginError::Closed) };
        begin_call(&mut live.store, wall);
        let mut result = flatten(f(live));
        if let Err(PluginError::Trap(e)) = &mut result {
            let said = live.store.data().stderr.contents();
            if !said.is_empty() {
                let said = String::from_utf8_lossy(&said).trim().to_string();
                *e = std::mem::replace(e, anyhow::anyhow!("")).context(format!("the plugin said: {said}"));
            }
            self.traps += 1;
            self.live = None;
            self.absorb_trapped(records);
        }
        result
    }

    /// Moves the trapped instance's last counters into `carried`. What it
    /// held in memory (spool, MemoryHandler buffer) and the records of the
    /// trapping call are lost and counted dropped; a durable spool's records
    /// are on disk and come back with the next instance, which counts them
    /// as recovered (so they are not counted as emitted twice).
    fn absorb_trapped(&mut self, records_in_call: u64) {
        let last = std::mem::take(&mut self.snapshot);
        let durable = self.config.spool.directory.is_some();
        let held_in_memory = last.buffered + if durable { 0 } else { last.spooled };
        let lost = held_in_memory + records_in_call;
        let mut c = self.carried;
        c += last;
        c.spooled = 0;
        c.buffered = 0;
        if durable {
            c.emitted = c.emitted.saturating_sub(last.spooled);
        }
        c.emitted += records_in_call;
        c.dropped += lost;
        c.dropped_unsent += lost;
        self.carried = c;
        self.lost_in_traps += lost;
    }

    /// Reads the live instance's counters after a call that changed them.
    fn take_snapshot(&mut self) {
        if let Some(l) = self.live.as_mut() {
            if let Ok(s) = l.world.pylog_handlers_handlers().handler().call_stats(&mut l.store, l.resource) {
                self.snapshot = s;
            }
        }
    }

    /// The refusal of a record over `Limits::max_record_bytes`, counted
    /// as dropped (invalid) without entering the plugin.
    fn oversized(&mut self, record: &LogRecord) -> Option<PluginError> {
        let (size, max) = self.over_limit(record)?;
        self.carried.emitted += 1;
        self.carried.dropped += 1;
        self.carried.dropped_invalid += 1;
        Some(PluginError::RecordTooLarge { size, max })
    }

    /// `(size, limit)` when `record` is over `Limits::max_record_bytes`.
    fn over_limit(&self, record: &LogRecord) -> Option<(usize, usize)> {
        let (size, max) = (crate::records::payload_bytes(record), self.plugin.limits.max_record_bytes);
        (size > max).then_some((size, max))
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn emit(&mut self, record: &LogRecord) -> Result<(), PluginError> {
        if let Some(refusal) = self.oversized(record) {
            return Err(refusal);
        }
        let result =
            self.call(1, |l| l.world.pylog_handlers_handlers().handler().call_emit(&mut l.store, l.resource, record));
        if !matches!(result, Err(PluginError::Trap(_))) {
            self.take_snapshot();
        }
        result
    }

    /// `emit` for several records with as few writes as possible: one
    /// result per record, or a trap for the whole call.
    pub fn emit_batch(&mut self, records: &[LogRecord]) -> Result<Vec<Result<(), PluginError>>, PluginError> {
        let refusals: Vec<Option<PluginError>> = records.iter().map(|r| self.oversized(r)).collect();
        if refusals.iter().any(Option::is_some) {
            // Rare: send the records that fit, keeping each result in place.
            let fitting: Vec<LogRecord> =
                records.iter().zip(&refusals).filter(|(_, r)| r.is_none()).map(|(rec, _)| rec.clone()).collect();
            let mut sent = self.emit_fitting(&fitting)?.into_iter();
            return Ok(refusals.into_iter().map(|r| r.map_or_else(|| sent.next().unwrap_or(Ok(())), Err)).collect());
        }
        self.emit_fitting(records)
    }

    /// `emit_batch` with the records also packed (`records::packed::pack`
    /// of exactly `records`): the batch crosses into the plugin as two
    /// buffers, and one packing can serve every handler the batch reaches.
    pub fn emit_packed(
        &mut self,
        records: &[LogRecord],
        packed: &PackedRecords,
    ) -> Result<Vec<Result<(), PluginError>>, PluginError> {
        if records.is_empty() || records.iter().any(|r| self.over_limit(r).is_some()) {
            // Rare: the path that refuses oversized records one by one.
            return self.emit_batch(records);
        }
        self.call_batch(records.len(), |l| {
            l.world.pylog_handlers_handlers().handler().call_emit_packed(&mut l.store, l.resource, packed)
        })
    }

    fn emit_fitting(&mut self, records: &[LogRecord]) -> Result<Vec<Result<(), PluginError>>, PluginError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        self.call_batch(records.len(), |l| {
            l.world.pylog_handlers_handlers().handler().call_emit_batch(&mut l.store, l.resource, records)
        })
    }

    /// A call handing in `records` records that answers one result each;
    /// the counters are read afterwards unless it trapped.
    fn call_batch(
        &mut self,
        records: usize,
        f: impl FnOnce(&mut Live) -> wasmtime::Result<Vec<Result<(), HandlerError>>>,
    ) -> Result<Vec<Result<(), PluginError>>, PluginError> {
        let result = self.call(records as u64, |l| f(l).map(Ok));
        if result.is_ok() {
            self.take_snapshot();
        }
        result.map(|results| results.into_iter().map(|r| r.map_err(PluginError::Handler)).collect())
    }

    pub fn flush(&mut self) -> Result<(), PluginError> {
        let result = self.call(0, |l| l.world.pylog_handlers_handlers().handler().call_flush(&mut l.store, l.resource));
        if !matches!(result, Err(PluginError::Trap(_))) {
            self.take_snapshot();
        }
        result
    }

    pub fn close(&mut self) -> Result<(), PluginError> {
        if self.live.is_none() {
            return Ok(());
        }
        self.call(0, |l| l.world.pylog_handlers_handlers().handler().call_close(&mut l.store, l.resource))
    }

    /// Counters of every instance this handler has had.
    pub fn stats(&mut self) -> Result<HandlerStats, PluginError> {
        let c = self.carried;
        let live = match self.live.is_some() {
            true => self.call(0, |l| {
                l.world.pylog_handlers_handlers().handler().call_stats(&mut l.store, l.resource).map(Ok)
            })?,
            false => HandlerStats::default(),
        };
        // The spool and buffer live in the instance: `carried` holds none.
        let mut total = c;
        total += live;
        Ok(total)
    }

    /// What the plugin wrote on its stderr since the last call (a durable
    /// spool moved aside, say), with sandbox paths written as host paths.
    pub fn plugin_said(&mut self) -> Option<String> {
        let live = self.live.as_ref()?;
        let all = live.store.data().stderr.contents();
        let new = all.get(self.said_up_to..).filter(|b| !b.is_empty())?;
        self.said_up_to = all.len();
        Some(self.grants.unsandboxed_text(String::from_utf8_lossy(new).trim()))
    }

    /// Records that instances held when they trapped, counted as dropped.
    pub fn lost_in_traps(&self) -> u64 {
        self.lost_in_traps
    }

    /// Bytes a `memory` destination collected since the last call.
    pub fn take_output(&mut self) -> Result<Vec<u8>, PluginError> {
        if self.live.is_none() {
            return Ok(Vec::new());
        }
        self.call(0, |l| l.world.pylog_handlers_handlers().handler().call_take_output(&mut l.store, l.resource).map(Ok))
    }

    /// Connection attempts the sandbox refused.
    pub fn denials(&self) -> &Denials {
        &self.denials
    }

    /// The largest linear memory the current instance has had, in bytes.
    pub fn peak_memory(&self) -> usize {
        self.live.as_ref().map_or(0, |l| l.store.data().limits.peak_memory)
    }

    /// How many times an instance of this handler trapped (and was replaced).
    pub fn traps(&self) -> u64 {
        self.traps
    }
}

impl Drop for Handler {
    fn drop(&mut self) {
        if let Some(mut live) = self.live.take() {
            let _ = live.resource.resource_drop(&mut live.store);
        }
    }
}
