//! What a plugin instance's store holds: its WASI context and resource
//! table, the sandbox's state (grants in force, denials, socket count), the
//! memory limiter, the call clock and its captured stderr.

use wasmtime::component::ResourceTable;
use wasmtime::StoreLimits;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::HandlerConfig;
use crate::runtime::deadline::CallClock;
use crate::sandbox::http_gate::HttpGate;
use crate::sandbox::tls_streams::TlsCapability;
use crate::sandbox::udp_datagrams::UdpCapability;
use crate::sandbox::unix_sockets::UnixCapability;
use crate::sandbox::{SandboxState, SandboxView};

/// What the store holds for one instance.
pub struct State {
    pub(crate) ctx: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limits: PeakTracking,
    pub(crate) unix: UnixCapability,
    pub(crate) udp: UdpCapability,
    pub(crate) tls: TlsCapability,
    pub(crate) stderr: wasmtime_wasi::p2::pipe::MemoryOutputPipe,
    /// Name lookups allowed, denials, the socket count.
    pub(crate) sandbox: SandboxState,
    pub(crate) http: WasiHttpCtx,
    pub(crate) http_gate: HttpGate,
    /// What `route-config.handlers` answers: where the wasi:logging route
    /// of this instance sends messages.
    pub(crate) route: Vec<HandlerConfig>,
    /// The CPU deadline and wall-clock bound of the call in progress.
    pub(crate) clock: CallClock,
}

impl SandboxView for State {
    fn sandbox(&mut self) -> &mut SandboxState {
        &mut self.sandbox
    }
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
pub(crate) struct PeakTracking {
    pub(crate) limits: StoreLimits,
    pub(crate) peak_memory: usize,
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
