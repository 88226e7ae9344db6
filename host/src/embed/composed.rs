//! Running a component composed with the plugin (`wac plug ext.wasm --plug
//! pylog_handlers.wasm`): the composition's `wasi:logging` calls reach our
//! handlers, configured by the host through the `route-config` import,
//! and the instance may reach only those handlers' destinations.

use std::sync::Arc;

use wasmtime::component::{Component, Instance};
use wasmtime::Store;

use crate::bindings::HandlerConfig;
use crate::runtime::state::State;
use crate::runtime::{Plugin, PluginError};
use crate::sandbox::Denials;

pub struct Composed {
    store: Store<State>,
    instance: Instance,
    denials: Arc<Denials>,
}

impl Composed {
    /// Instantiates `component` (which must import only what the plugin's
    /// host provides) with its log route going to `route`.
    pub fn open(plugin: &Plugin, component: &[u8], route: &[HandlerConfig]) -> Result<Composed, PluginError> {
        let (grants, placed) = crate::embed::wasi_logging::union(plugin, route)?;
        let component = Component::new(plugin.engine(), component)?;
        let denials = Arc::new(Denials::default());
        // The extension's modules and ours: more core instances than one plugin.
        let mut store = plugin.new_store(&grants, denials.clone(), 32);
        store.data_mut().route = placed;
        let instance = plugin.linker().instantiate(&mut store, &component)?;
        Ok(Composed { store, instance, denials })
    }

    /// Calls `interface#function`, taking and returning one u32 (the shape
    /// of the example extension's `work.process`).
    pub fn call_u32(&mut self, interface: &str, function: &str, arg: u32) -> Result<u32, PluginError> {
        let missing = |what: &str| PluginError::Trap(anyhow::anyhow!("the component exports no {what}"));
        let iface =
            self.instance.get_export_index(&mut self.store, None, interface).ok_or_else(|| missing(interface))?;
        let func =
            self.instance.get_export_index(&mut self.store, Some(&iface), function).ok_or_else(|| missing(function))?;
        let f = self.instance.get_typed_func::<(u32,), (u32,)>(&mut self.store, &func)?;
        let (out,) = f.call(&mut self.store, (arg,))?;
        Ok(out)
    }

    pub fn denials(&self) -> &Denials {
        &self.denials
    }
}
