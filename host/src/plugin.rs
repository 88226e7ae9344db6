//! Loading the component once and giving each handler its own sandboxed
//! instance.
//!
//! One instance per handler keeps the sandbox exact: an instance can reach
//! only its own handler's destination, and a plugin fault in one handler
//! cannot disturb another's state. Instantiation from an `InstancePre` costs
//! microseconds, so this isolation is cheap.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use wasmtime::component::{HasSelf, Linker, ResourceAny, ResourceTable};
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{
    Formatter, HandlerConfig, HandlerError, HandlerStats, LogRecord, NameOrNumber, PluginWorld, PluginWorldPre,
};
use crate::cache;
use crate::sandbox::{wasi_ctx, Denials, Grants};
use crate::unix_sockets::UnixCapability;

/// What the store holds for one instance.
pub struct State {
    ctx: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    unix: UnixCapability,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.ctx, table: &mut self.table }
    }
}

/// A call's failure: either the plugin's typed answer or a trap, which means
/// a bug in the plugin or the host and leaves that instance unusable.
#[derive(Debug)]
pub enum PluginError {
    Handler(HandlerError),
    Trap(anyhow::Error),
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginError::Handler(e) => write!(f, "{}", crate::bindings::describe(e)),
            PluginError::Trap(e) => write!(f, "plugin trapped (a bug; the instance was discarded): {e:#}"),
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

fn flatten<T>(r: wasmtime::Result<Result<T, HandlerError>>) -> Result<T, PluginError> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(PluginError::Handler(e)),
        Err(e) => Err(PluginError::Trap(e.into())),
    }
}

/// Memory an instance may grow to; the component needs about 1 MiB.
const MEMORY_LIMIT: usize = 64 << 20;

/// The loaded component, ready to instantiate.
pub struct Plugin {
    engine: Engine,
    pre: PluginWorldPre<State>,
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
        let engine = Engine::new(&wasmtime::Config::new())?;
        let component = cache::load(&engine, bytes, cache_dir)?;
        let mut linker = Linker::<State>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        crate::bindings::pylog::handlers::unix_sockets::add_to_linker::<State, HasSelf<UnixCapability>>(
            &mut linker,
            |s| &mut s.unix,
        )?;
        let pre = PluginWorldPre::new(linker.instantiate_pre(&component)?)?;
        Ok(Plugin { engine, pre })
    }

    fn instantiate(&self, grants: &Grants, denials: Arc<Denials>) -> Result<(Store<State>, PluginWorld)> {
        let state = State {
            unix: UnixCapability::new(grants.unix.clone(), denials.clone()),
            ctx: wasi_ctx(grants, denials),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new().memory_size(MEMORY_LIMIT).instances(4).build(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        let world = self.pre.instantiate(&mut store)?;
        Ok((store, world))
    }

    /// An instance with no network at all, for the pure exports.
    pub fn pure(&self) -> Result<Pure> {
        let (store, world) = self.instantiate(&Grants::default(), Arc::default())?;
        Ok(Pure { store, world })
    }

    /// Opens a handler in an instance that may reach only `config`'s destination.
    pub fn open(&self, config: &HandlerConfig) -> Result<Handler, PluginError> {
        let grants = Grants::for_handler(config).map_err(PluginError::Handler)?;
        self.open_with(config, grants)
    }

    /// As `open`, with grants the caller widened (`--allow`).
    pub fn open_with(&self, config: &HandlerConfig, grants: Grants) -> Result<Handler, PluginError> {
        let denials = Arc::new(Denials::default());
        let (mut store, world) = self.instantiate(&grants, denials.clone())?;
        let resource = flatten(world.pylog_handlers_handlers().handler().call_open(&mut store, config))?;
        Ok(Handler { store, world, resource: Some(resource), name: config.name.clone(), denials })
    }
}

/// The exports that touch no network: `make-pickle`, `encode-priority`, ...
pub struct Pure {
    store: Store<State>,
    world: PluginWorld,
}

impl Pure {
    pub fn make_pickle(&mut self, record: &LogRecord, protocol: u8) -> Result<Vec<u8>, PluginError> {
        flatten(self.world.pylog_handlers_handlers().call_make_pickle(&mut self.store, record, protocol))
    }

    pub fn encode_priority(&mut self, facility: &NameOrNumber, priority: &NameOrNumber) -> Result<u32, PluginError> {
        flatten(self.world.pylog_handlers_handlers().call_encode_priority(&mut self.store, facility, priority))
    }

    pub fn map_priority(&mut self, levelname: &str) -> Result<String, PluginError> {
        Ok(self.world.pylog_handlers_handlers().call_map_priority(&mut self.store, levelname)?)
    }

    pub fn format_record(&mut self, record: &LogRecord, formatter: &Formatter) -> Result<String, PluginError> {
        flatten(self.world.pylog_handlers_handlers().call_format_record(&mut self.store, record, formatter))
    }
}

/// One open handler in its own instance.
pub struct Handler {
    store: Store<State>,
    world: PluginWorld,
    resource: Option<ResourceAny>,
    name: String,
    denials: Arc<Denials>,
}

impl Handler {
    fn resource(&self) -> Result<ResourceAny, PluginError> {
        self.resource.ok_or(PluginError::Handler(HandlerError::Closed))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn emit(&mut self, record: &LogRecord) -> Result<(), PluginError> {
        let r = self.resource()?;
        flatten(self.world.pylog_handlers_handlers().handler().call_emit(&mut self.store, r, record))
    }

    pub fn flush(&mut self) -> Result<(), PluginError> {
        let r = self.resource()?;
        flatten(self.world.pylog_handlers_handlers().handler().call_flush(&mut self.store, r))
    }

    pub fn close(&mut self) -> Result<(), PluginError> {
        let r = self.resource()?;
        flatten(self.world.pylog_handlers_handlers().handler().call_close(&mut self.store, r))
    }

    pub fn stats(&mut self) -> Result<HandlerStats, PluginError> {
        let r = self.resource()?;
        Ok(self.world.pylog_handlers_handlers().handler().call_stats(&mut self.store, r)?)
    }

    /// Bytes a `memory` destination collected since the last call.
    pub fn take_output(&mut self) -> Result<Vec<u8>, PluginError> {
        let r = self.resource()?;
        Ok(self.world.pylog_handlers_handlers().handler().call_take_output(&mut self.store, r)?)
    }

    /// Connection attempts the sandbox refused.
    pub fn denials(&self) -> &Denials {
        &self.denials
    }
}

impl Drop for Handler {
    fn drop(&mut self) {
        if let Some(r) = self.resource.take() {
            let _ = r.resource_drop(&mut self.store);
        }
    }
}
