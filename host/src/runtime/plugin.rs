//! Loading the component once and giving each handler its own sandboxed
//! instance.
//!
//! One instance per handler keeps the sandbox exact: an instance can reach
//! only its own handler's destination, and a fault in one handler cannot
//! disturb another's state. Instantiation from an `InstancePre` costs
//! microseconds, so this isolation is cheap, and a handler whose instance
//! trapped is simply instantiated again.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use wasmtime::component::{HasSelf, Linker, ResourceAny, ResourceTable};
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{
    Destination, Formatter, HandlerConfig, HandlerError, HandlerKind, HandlerStats, LogRecord, NameOrNumber,
    PluginWorld, PluginWorldPre,
};
use crate::runtime::cache;
use crate::runtime::deadline::{begin_call, CallClock, EPOCH_TICK};
use crate::sandbox::http_gate::HttpGate;
use crate::sandbox::unix_sockets::UnixCapability;
use crate::sandbox::{wasi_ctx, Denials, Grants};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// What the store holds for one instance.
pub struct State {
    ctx: WasiCtx,
    pub(crate) table: ResourceTable,
    limits: PeakTracking,
    unix: UnixCapability,
    stderr: wasmtime_wasi::p2::pipe::MemoryOutputPipe,
    /// Whether this instance may resolve names (its destination is a name).
    pub(crate) lookup_allowed: bool,
    pub(crate) denials: Arc<Denials>,
    http: WasiHttpCtx,
    http_gate: HttpGate,
    /// What `route-config.handlers` answers: where the wasi:logging route
    /// of this instance sends messages.
    pub(crate) route: Vec<HandlerConfig>,
    /// The CPU deadline and wall-clock bound of the call in progress.
    clock: CallClock,
    /// The sockets this instance holds, against `Limits::max_sockets`.
    pub(crate) socket_count: crate::sandbox::socket_gate::SocketCount,
    pub(crate) max_sockets: usize,
}

impl AsMut<CallClock> for State {
    fn as_mut(&mut self) -> &mut CallClock {
        &mut self.clock
    }
}

impl crate::bindings::pylog::handlers::route_config::Host for State {
    fn handlers(&mut self) -> Vec<HandlerConfig> {
        self.route.clone()
    }
}

impl crate::bindings::pylog::handlers::types::Host for State {}
impl crate::bindings::pylog::handlers::config::Host for State {}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.http_gate }
    }
}

/// `StoreLimits`, remembering the largest linear memory the instance asked
/// for, so that a host can see what a plugin really uses.
struct PeakTracking {
    limits: StoreLimits,
    peak_memory: usize,
}

impl wasmtime::ResourceLimiter for PeakTracking {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            self.peak_memory = self.peak_memory.max(desired);
        }
        Ok(allowed)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.ctx, table: &mut self.table }
    }
}

/// A call's failure: either the plugin's typed answer or a trap, which means
/// a bug or a plugin over its limits; the trapped instance is discarded.
#[derive(Debug)]
pub enum PluginError {
    Handler(HandlerError),
    Trap(anyhow::Error),
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginError::Handler(e) => write!(f, "{}", crate::bindings::describe(e)),
            PluginError::Trap(e) => write!(f, "plugin trapped and its instance was discarded: {e:#}"),
        }
    }
}

impl std::error::Error for PluginError {}

impl From<anyhow::Error> for PluginError {
    fn from(e: anyhow::Error) -> Self {
        PluginError::Trap(e)
    }
}

impl From<wasmtime::Error> for PluginError {
    fn from(e: wasmtime::Error) -> Self {
        PluginError::Trap(e.into())
    }
}

pub(crate) fn flatten<T>(r: wasmtime::Result<Result<T, HandlerError>>) -> Result<T, PluginError> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(PluginError::Handler(e)),
        Err(e) => Err(PluginError::Trap(e.into())),
    }
}

/// Instances one plugin may have alive at once (handlers, queue targets,
/// pure instances); each reserves address space, not memory.
pub const POOLED_INSTANCES: u32 = 128;

fn pool() -> wasmtime::PoolingAllocationConfig {
    let mut p = wasmtime::PoolingAllocationConfig::new();
    // A component instance holds a few core instances (the module and
    // wit-component's shims) but one memory.
    p.total_component_instances(POOLED_INSTANCES)
        .total_core_instances(POOLED_INSTANCES * 8)
        .total_memories(POOLED_INSTANCES)
        .total_tables(POOLED_INSTANCES * 4)
        .max_memories_per_component(2)
        .max_tables_per_component(8)
        .max_core_instances_per_component(16);
    p
}

/// What one instance may use. The defaults suit a log handler: it needs
/// about 1 MiB and answers in microseconds, unless the network blocks.
#[derive(Debug, Clone)]
pub struct Limits {
    pub memory_bytes: usize,
    /// The CPU time one call may use (deadline.rs). Time blocked in a host
    /// call (a connect or a write to a slow receiver) costs no CPU and does
    /// not count; a wall-clock bound derived from it stops a plugin that
    /// blocks on purpose.
    pub call_deadline: Duration,
    /// The largest record (its text and bytes, `records::payload_bytes`)
    /// let into the plugin; a larger one is refused before it enters, as a
    /// typed error, instead of exhausting the instance's memory.
    pub max_record_bytes: usize,
    /// The sockets one instance may hold at once; creating one more is
    /// refused (`new-socket-limit`) and counted as a sandbox refusal.
    pub max_sockets: usize,
}

/// 4 MiB: a record's encodings (a pickle, a `repr` that may quadruple
/// escaped bytes) fit beside a full default spool in the 64 MiB instance.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 4 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            call_deadline: Duration::from_secs(5),
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            max_sockets: crate::sandbox::socket_gate::DEFAULT_MAX_SOCKETS,
        }
    }
}

/// The loaded component, ready to instantiate.
#[derive(Clone)]
pub struct Plugin {
    engine: Engine,
    pre: PluginWorldPre<State>,
    /// Kept to instantiate components composed with the plugin. Shared:
    /// every handler holds a clone of its `Plugin`, and cloning a linker
    /// (hundreds of WASI functions) cost 130 µs per `open`.
    linker: Arc<Linker<State>>,
    limits: Limits,
}

impl Plugin {
    /// Loads a component file, using the precompiled cache in the default
    /// directory (see `cache::default_dir`).
    pub fn load(path: impl AsRef<Path>) -> Result<Plugin> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).with_context(|| {
            format!("read plugin {} (build it with `make build`, or pass --plugin)", path.display())
        })?;
        Plugin::from_bytes(&bytes, cache::default_dir().as_deref())
    }

    pub fn from_bytes(bytes: &[u8], cache_dir: Option<&Path>) -> Result<Plugin> {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        // `PYLOG_PERF_MAP=1` names the plugin's compiled functions for
        // `perf report` (/tmp/perf-PID.map), to profile through the boundary.
        if std::env::var_os("PYLOG_PERF_MAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        // Instances come from a pool of pre-reserved slots: a new handler
        // instance then costs a slot reset instead of fresh mmaps. Where the
        // address space cannot be reserved, fall back to allocating on demand.
        let mut pooled = config.clone();
        pooled.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool()));
        let engine = match Engine::new(&pooled) {
            Ok(engine) => engine,
            Err(_) => Engine::new(&config)?,
        };
        spawn_epoch_ticker(&engine);
        let component = cache::load(&engine, bytes, cache_dir)?;
        let mut linker = Linker::<State>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)?;
        crate::sandbox::name_lookup::add_to_linker(&mut linker)?;
        crate::sandbox::socket_gate::add_to_linker(&mut linker)?;
        crate::bindings::pylog::handlers::unix_sockets::add_to_linker::<State, HasSelf<UnixCapability>>(
            &mut linker,
            |s| &mut s.unix,
        )?;
        crate::bindings::pylog::handlers::route_config::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;
        crate::bindings::pylog::handlers::types::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;
        crate::bindings::pylog::handlers::config::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;
        let pre = PluginWorldPre::new(linker.instantiate_pre(&component)?)?;
        Ok(Plugin { engine, pre, linker: Arc::new(linker), limits: Limits::default() })
    }

    pub fn with_limits(mut self, limits: Limits) -> Plugin {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// A store whose WASI context grants `grants` and nothing else, with
    /// the memory cap and the call deadline.
    pub(crate) fn new_store(&self, grants: &Grants, denials: Arc<Denials>, max_instances: usize) -> Store<State> {
        // Enough for a panic message and its location.
        let stderr = wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(16 << 10);
        let state = State {
            lookup_allowed: grants.name_lookup,
            denials: denials.clone(),
            http: WasiHttpCtx::new(),
            http_gate: HttpGate { allowed: grants.http_authority.clone(), denials: denials.clone() },
            route: Vec::new(),
            clock: CallClock::new(self.limits.call_deadline),
            socket_count: Default::default(),
            max_sockets: self.limits.max_sockets,
            unix: UnixCapability::new(grants.unix.clone(), denials.clone()),
            ctx: wasi_ctx(grants, denials, stderr.clone()),
            stderr,
            table: ResourceTable::new(),
            limits: PeakTracking {
                limits: StoreLimitsBuilder::new()
                    .memory_size(self.limits.memory_bytes)
                    .instances(max_instances)
                    .trap_on_grow_failure(true)
                    .build(),
                peak_memory: 0,
            },
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        crate::runtime::deadline::install(&mut store);
        begin_call(&mut store, self.limits.call_deadline);
        store
    }

    pub(crate) fn instantiate(&self, grants: &Grants, denials: Arc<Denials>) -> Result<(Store<State>, PluginWorld)> {
        let mut store = self.new_store(grants, denials, 4);
        let world = self.pre.instantiate(&mut store)?;
        Ok((store, world))
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn linker(&self) -> &Linker<State> {
        &self.linker
    }

    pub(crate) fn call_deadline(&self) -> Duration {
        self.limits.call_deadline
    }

    /// The names the component exports (interfaces such as
    /// `wasi:logging/logging@0.1.0-draft`).
    pub fn exports(&self) -> Vec<String> {
        let component = self.pre.instance_pre().component();
        component.component_type().exports(&self.engine).map(|(name, _)| name.to_string()).collect()
    }

    /// An instance with no network at all, for the pure exports.
    pub fn pure(&self) -> Result<Pure> {
        let (store, world) = self.instantiate(&Grants::default(), Arc::default())?;
        Ok(Pure { store, world, wall: self.limits.call_deadline })
    }

    /// Opens a handler in an instance that may reach only `config`'s destination.
    pub fn open(&self, config: &HandlerConfig) -> Result<Handler, PluginError> {
        let grants = Grants::for_handler(config).map_err(PluginError::Handler)?;
        self.open_with(config, grants)
    }

    /// Rewrites the paths of a handler's configuration to where the plugin
    /// sees them, and grants their host directories. A durable spool's
    /// directory and a file handler's directory are the only filesystem
    /// paths a plugin gets: preopened as /spool and /logs, for that handler.
    /// The spool must fit in the instance's memory, next to the plugin's own.
    pub(crate) fn place_in_sandbox(
        &self,
        config: &HandlerConfig,
        grants: &mut Grants,
    ) -> Result<HandlerConfig, PluginError> {
        let bad = |m: String| PluginError::Handler(HandlerError::BadConfig(m));
        let mut config = config.clone();
        if let Some(dir) = config.spool.directory.take() {
            if grants.spool_dir.replace(std::path::PathBuf::from(&dir)).is_some_and(|d| d.as_os_str() != dir.as_str()) {
                return Err(bad("one plugin instance can hold one durable spool directory".into()));
            }
            config.spool.directory = Some(crate::sandbox::SPOOL_DIR.into());
        }
        if let (HandlerKind::File(o), Destination::Configured) = (&mut config.kind, &config.destination) {
            let file_name = std::path::Path::new(&o.path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| bad(format!("filename {:?} names no file", o.path)))?;
            let dir = crate::sandbox::log_dir_of(&o.path);
            if grants.log_dir.replace(dir.clone()).is_some_and(|d| d != dir) {
                return Err(bad("one plugin instance can write log files in one directory".into()));
            }
            o.path = format!("{}/{file_name}", crate::sandbox::LOG_DIR);
        }
        let room = (self.limits.memory_bytes / 2) as u64;
        if config.spool.max_records > 0 && config.spool.max_bytes > room {
            return Err(bad(format!(
                "spool_bytes {} is more than half the plugin's memory limit ({} bytes); lower spool_bytes or give the \
                 plugin more memory (Limits::memory_bytes)",
                config.spool.max_bytes, self.limits.memory_bytes
            )));
        }
        Ok(config)
    }

    /// As `open`, with grants the caller chose (`--allow` widens them).
    pub fn open_with(&self, config: &HandlerConfig, mut grants: Grants) -> Result<Handler, PluginError> {
        let config = self.place_in_sandbox(config, &mut grants)?;
        let spool_lock = match &grants.spool_dir {
            Some(dir) => Some(
                crate::runtime::spool_lock::SpoolLock::acquire(dir, &config.name)
                    .map_err(|e| PluginError::Handler(HandlerError::BadConfig(e)))?,
            ),
            None => None,
        };
        let config = &config;
        let denials = Arc::new(Denials::default());
        let mut handler = Handler {
            plugin: self.clone(),
            config: config.clone(),
            grants,
            denials,
            live: None,
            carried: zero_stats(),
            traps: 0,
            // A call may legitimately wait for the spool (flush, close, a
            // blocking overflow) and a write; its wall-clock bound allows
            // for that on top of the CPU deadline (deadline.rs).
            wall_limit: self.limits.call_deadline
                + Duration::from_secs_f64(
                    config.spool.flush_timeout.max(config.spool.block_timeout).clamp(0.0, 3600.0)
                        + 2.0 * config.spool.write_timeout.clamp(0.0, 3600.0),
                ),
            _spool_lock: spool_lock,
            snapshot: zero_stats(),
            lost_in_traps: 0,
            said_up_to: 0,
        };
        handler.start()?;
        Ok(handler)
    }
}

pub(crate) fn zero_stats() -> HandlerStats {
    HandlerStats {
        emitted: 0,
        sent: 0,
        dropped: 0,
        skipped_by_level: 0,
        bytes: 0,
        reconnects: 0,
        truncated: 0,
        spooled: 0,
        replayed: 0,
        dropped_spool_full: 0,
        dropped_invalid: 0,
        dropped_unsent: 0,
        dropped_unconfirmed: 0,
        recovered: 0,
        corrupt: 0,
        buffered: 0,
    }
}

/// The counters of two instances (or an instance and those before it) together.
pub(crate) fn add_stats(a: HandlerStats, b: HandlerStats) -> HandlerStats {
    HandlerStats {
        emitted: a.emitted + b.emitted,
        sent: a.sent + b.sent,
        dropped: a.dropped + b.dropped,
        skipped_by_level: a.skipped_by_level + b.skipped_by_level,
        bytes: a.bytes + b.bytes,
        reconnects: a.reconnects + b.reconnects,
        truncated: a.truncated + b.truncated,
        spooled: a.spooled + b.spooled,
        replayed: a.replayed + b.replayed,
        dropped_spool_full: a.dropped_spool_full + b.dropped_spool_full,
        dropped_invalid: a.dropped_invalid + b.dropped_invalid,
        dropped_unsent: a.dropped_unsent + b.dropped_unsent,
        dropped_unconfirmed: a.dropped_unconfirmed + b.dropped_unconfirmed,
        recovered: a.recovered + b.recovered,
        corrupt: a.corrupt + b.corrupt,
        buffered: a.buffered + b.buffered,
    }
}

/// Increments the engine's epoch until the engine is gone.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::spawn(move || loop {
        std::thread::sleep(EPOCH_TICK);
        match weak.upgrade() {
            Some(engine) => engine.increment_epoch(),
            None => return,
        }
    });
}

/// The exports that touch no network: `make-pickle`, `encode-priority`, ...
pub struct Pure {
    store: Store<State>,
    world: PluginWorld,
    /// Pure exports never block, so their bound is the CPU deadline.
    wall: Duration,
}

impl Pure {
    pub fn make_pickle(&mut self, record: &LogRecord, protocol: u8) -> Result<Vec<u8>, PluginError> {
        begin_call(&mut self.store, self.wall);
        flatten(self.world.pylog_handlers_handlers().call_make_pickle(&mut self.store, record, protocol))
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

struct Live {
    store: Store<State>,
    world: PluginWorld,
    resource: ResourceAny,
}

/// One open handler in its own instance. After a trap the instance is
/// discarded and the next call starts a fresh one with the same
/// configuration and grants; counters survive in `carried`.
pub struct Handler {
    plugin: Plugin,
    config: HandlerConfig,
    grants: Grants,
    denials: Arc<Denials>,
    live: Option<Live>,
    carried: HandlerStats,
    traps: u64,
    /// The wall-clock bound of each call, fixed at open (deadline.rs).
    wall_limit: Duration,
    /// Held while the handler lives, so no other process shares its spool.
    _spool_lock: Option<crate::runtime::spool_lock::SpoolLock>,
    /// The live instance's counters after its last successful call: what a
    /// trap would otherwise take with it.
    snapshot: HandlerStats,
    /// Records held by instances that trapped (spooled, buffered, or in the
    /// trapping call), counted as dropped.
    lost_in_traps: u64,
    /// How much of the live instance's stderr `plugin_said` has returned.
    said_up_to: usize,
}

impl Handler {
    fn start(&mut self) -> Result<(), PluginError> {
        self.said_up_to = 0;
        let (mut store, world) = self.plugin.instantiate(&self.grants, self.denials.clone())?;
        let resource = flatten(world.pylog_handlers_handlers().handler().call_open(&mut store, &self.config))
            .map_err(|e| self.grants.unsandboxed(e))?;
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
        let Some(live) = self.live.as_mut() else { return Err(PluginError::Handler(HandlerError::Closed)) };
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
        let last = std::mem::replace(&mut self.snapshot, zero_stats());
        let durable = self.config.spool.directory.is_some();
        let held_in_memory = last.buffered + if durable { 0 } else { last.spooled };
        let lost = held_in_memory + records_in_call;
        let mut c = add_stats(self.carried, last);
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

    /// The typed refusal of a record over `Limits::max_record_bytes`.
    fn oversized(&mut self, record: &LogRecord) -> Option<HandlerError> {
        let size = crate::records::payload_bytes(record);
        let max = self.plugin.limits.max_record_bytes;
        (size > max).then(|| {
            self.carried.emitted += 1;
            self.carried.dropped += 1;
            self.carried.dropped_invalid += 1;
            HandlerError::BadRecord(format!(
                "a record of {size} bytes is over the {max}-byte record limit and was not sent; raise it with \
                 `pylog emit --max-record-bytes` (Limits::max_record_bytes), or send less text"
            ))
        })
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn emit(&mut self, record: &LogRecord) -> Result<(), PluginError> {
        if let Some(refusal) = self.oversized(record) {
            return Err(PluginError::Handler(refusal));
        }
        let result =
            self.call(1, |l| l.world.pylog_handlers_handlers().handler().call_emit(&mut l.store, l.resource, record));
        if !matches!(result, Err(PluginError::Trap(_))) {
            self.take_snapshot();
        }
        result
    }

    /// `emit` for several records with as few writes as possible; one
    /// result per record.
    pub fn emit_batch(&mut self, records: &[LogRecord]) -> Result<Vec<Result<(), HandlerError>>, PluginError> {
        let refusals: Vec<Option<HandlerError>> = records.iter().map(|r| self.oversized(r)).collect();
        if refusals.iter().any(Option::is_some) {
            // Rare: send the records that fit, keeping each result in place.
            let fitting: Vec<LogRecord> =
                records.iter().zip(&refusals).filter(|(_, r)| r.is_none()).map(|(rec, _)| rec.clone()).collect();
            let mut sent = self.emit_fitting(&fitting)?.into_iter();
            return Ok(refusals.into_iter().map(|r| r.map_or_else(|| sent.next().unwrap_or(Ok(())), Err)).collect());
        }
        self.emit_fitting(records)
    }

    fn emit_fitting(&mut self, records: &[LogRecord]) -> Result<Vec<Result<(), HandlerError>>, PluginError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let result = self.call(records.len() as u64, |l| {
            l.world.pylog_handlers_handlers().handler().call_emit_batch(&mut l.store, l.resource, records).map(Ok)
        });
        if result.is_ok() {
            self.take_snapshot();
        }
        result
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
            false => zero_stats(),
        };
        // The spool and buffer live in the instance: `carried` holds none.
        Ok(add_stats(c, live))
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
