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
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimitsBuilder};
use wasmtime_wasi_http::WasiHttpCtx;

use crate::bindings::{Destination, HandlerConfig, HandlerKind, HandlerStats, PluginWorld, PluginWorldPre};
use crate::runtime::cache;
use crate::runtime::deadline::{begin_call, CallClock, EPOCH_TICK};
use crate::runtime::error::PluginError;
use crate::runtime::handler::Handler;
use crate::runtime::limits::{pool, Limits};
use crate::runtime::pure::Pure;
use crate::runtime::state::{PeakTracking, State};
use crate::sandbox::http_gate::HttpGate;
use crate::sandbox::unix_sockets::UnixCapability;
use crate::sandbox::{wasi_ctx, Denials, Grants, SandboxState};

/// The loaded component, ready to instantiate.
#[derive(Clone)]
pub struct Plugin {
    engine: Engine,
    pre: PluginWorldPre<State>,
    /// Kept to instantiate components composed with the plugin. Shared:
    /// every handler holds a clone of its `Plugin`, and cloning a linker
    /// (hundreds of WASI functions) cost 130 µs per `open`.
    linker: Arc<Linker<State>>,
    pub(crate) limits: Limits,
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
            sandbox: SandboxState {
                lookup_allowed: grants.name_lookup,
                denials: denials.clone(),
                socket_count: Default::default(),
                max_sockets: self.limits.max_sockets,
            },
            http: WasiHttpCtx::new(),
            http_gate: HttpGate { allowed: grants.http_authority.clone(), denials: denials.clone() },
            route: Vec::new(),
            clock: CallClock::new(self.limits.call_deadline),
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
        let bad = PluginError::Config;
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
            Some(dir) => {
                Some(crate::runtime::spool_lock::SpoolLock::acquire(dir, &config.name).map_err(PluginError::Config)?)
            }
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
            carried: HandlerStats::default(),
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
            snapshot: HandlerStats::default(),
            lost_in_traps: 0,
            said_up_to: 0,
        };
        handler.start()?;
        Ok(handler)
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
