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

use crate::bindings::{PluginWorld, PluginWorldPre};
use crate::runtime::cache;
use crate::runtime::deadline::{begin_call, CallClock, EPOCH_TICK};
use crate::runtime::error::PluginError;
use crate::runtime::limits::{pool, Limits, POOLED_INSTANCES};
use crate::runtime::state::{PeakTracking, State};
use crate::sandbox::http_gate::HttpGate;
use crate::sandbox::tls_streams::TlsCapability;
use crate::sandbox::udp_datagrams::UdpCapability;
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
        // The plugin's exports are synchronous and the host calls them one at
        // a time, so the component-model-async bookkeeping wasmtime otherwise
        // keeps per call (a task pushed and popped in hashed tables) is
        // off: it was about half of a bare call (0.9-1.1 us, now 0.46-0.66).
        config.concurrency_support(false);
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
        crate::bindings::pylog::handlers::udp_datagrams::add_to_linker::<State, HasSelf<UdpCapability>>(
            &mut linker,
            |s| &mut s.udp,
        )?;
        crate::bindings::pylog::handlers::tls_streams::add_to_linker::<State, HasSelf<TlsCapability>>(
            &mut linker,
            |s| &mut s.tls,
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
            http_gate: HttpGate {
                allowed: grants.http_authority.clone(),
                denials: denials.clone(),
                tls: grants.http_tls.clone(),
            },
            route: Vec::new(),
            clock: CallClock::new(self.limits.call_deadline),
            unix: UnixCapability::new(grants.unix.clone(), denials.clone()),
            udp: UdpCapability::new(grants.udp.clone(), denials.clone()),
            tls: TlsCapability::new(grants.tls.clone(), denials.clone()),
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
        let world = self.pre.instantiate(&mut store).map_err(|e| {
            if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_none() {
                return anyhow::Error::from(e);
            }
            // Not a trap: the configuration asks for more instances than
            // the pool reserves, which a caller must hear as such.
            anyhow::Error::new(PluginError::Config(format!(
                "at most {POOLED_INSTANCES} plugin instances can be alive at once (handlers, queue targets and \
                 pure instances: runtime::limits::POOLED_INSTANCES), and this one would be one more; use fewer \
                 handlers, or split them over several processes"
            )))
        })?;
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
