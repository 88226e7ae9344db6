//! What one plugin instance may use: memory, CPU time per call, record
//! size, sockets; and the instance pool they come from.

use std::time::Duration;

/// Instances one plugin may have alive at once (handlers, queue targets,
/// pure instances); each reserves address space, not memory.
pub const POOLED_INSTANCES: u32 = 128;

pub(crate) fn pool() -> wasmtime::PoolingAllocationConfig {
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
