//! The plugin's `wasi:logging/logging` export, driven by the host: one
//! sandboxed instance whose `log` sends every message through the handlers
//! the host configured (`log-routing.configure`).
//!
//! This is what a component composed with ours calls; the host calls it
//! directly too, which is how a wasmtime embedder routes its own logs (and
//! how the tests reach it).

use std::sync::Arc;

use wasmtime::Store;

pub use crate::bindings::exports::wasi::logging::logging::Level;
use crate::bindings::{HandlerConfig, HandlerStats, PluginWorld};
use crate::runtime::deadline::begin_call;
use crate::runtime::error::flatten;
use crate::runtime::state::State;
use crate::runtime::{Plugin, PluginError};
use crate::sandbox::{Denials, Grants};

pub struct WasiLogging {
    store: Store<State>,
    world: PluginWorld,
    denials: Arc<Denials>,
    wall: std::time::Duration,
    /// How much of the instance's stderr `plugin_said` has returned.
    said_up_to: usize,
}

/// One instance reaches every configured handler's destination.
pub(crate) fn union(plugin: &Plugin, configs: &[HandlerConfig]) -> Result<(Grants, Vec<HandlerConfig>), PluginError> {
    let mut all = Grants::default();
    let mut placed = Vec::with_capacity(configs.len());
    for c in configs {
        let g = Grants::for_handler(c).map_err(PluginError::Handler)?;
        all.tcp.extend(g.tcp);
        all.udp.extend(g.udp);
        all.name_lookup |= g.name_lookup;
        if let Some(paths) = g.unix {
            all.unix.get_or_insert_with(Default::default).extend(paths);
        }
        let conflict = |what: &str| {
            PluginError::Handler(crate::bindings::HandlerError::BadConfig(format!(
                "the wasi:logging route can have one {what}; configure one such handler"
            )))
        };
        if let Some(a) = g.http_authority {
            if all.http_authority.replace(a.clone()).is_some_and(|b| b != a) {
                return Err(conflict("HTTP authority"));
            }
        }
        if let Some(t) = g.console {
            if all.console.replace(t).is_some_and(|u| u != t) {
                return Err(conflict("console stream"));
            }
        }
        if let Some(t) = g.tls {
            if all.tls.replace(t.clone()).is_some_and(|u| (u.host, u.port) != (t.host, t.port)) {
                return Err(conflict("TLS destination"));
            }
        }
        placed.push(plugin.place_in_sandbox(c, &mut all)?);
    }
    Ok((all, placed))
}

impl WasiLogging {
    /// An instance whose `wasi:logging` messages go to `handlers`.
    pub fn open(plugin: &Plugin, handlers: &[HandlerConfig]) -> Result<WasiLogging, PluginError> {
        let (grants, placed) = union(plugin, handlers)?;
        let denials = Arc::new(Denials::default());
        let (mut store, world) = plugin.instantiate(&grants, denials.clone())?;
        // A message may wait for a write as long again as the CPU deadline.
        let wall = plugin.call_deadline() * 2;
        begin_call(&mut store, wall);
        flatten(world.pylog_handlers_log_routing().call_configure(&mut store, &placed))?;
        Ok(WasiLogging { store, world, denials, wall, said_up_to: 0 })
    }

    /// `wasi:logging/logging.log`. Only a trap is an error here: what a
    /// handler could not send is in `stats`.
    pub fn log(&mut self, level: Level, context: &str, message: &str) -> Result<(), PluginError> {
        begin_call(&mut self.store, self.wall);
        Ok(self.world.wasi_logging_logging().call_log(&mut self.store, level, context, message)?)
    }

    pub fn stats(&mut self) -> Result<Vec<HandlerStats>, PluginError> {
        begin_call(&mut self.store, self.wall);
        Ok(self.world.pylog_handlers_log_routing().call_stats(&mut self.store)?)
    }

    pub fn close(&mut self) -> Result<(), PluginError> {
        begin_call(&mut self.store, self.wall * 2);
        flatten(self.world.pylog_handlers_log_routing().call_close(&mut self.store))
    }

    pub fn denials(&self) -> &Denials {
        &self.denials
    }

    /// What the plugin wrote to its stderr since the last call: a line for
    /// each message a handler could not deliver (`log` returns nothing).
    pub fn plugin_said(&mut self) -> Option<String> {
        let all = self.store.data().stderr.contents();
        let new = all.get(self.said_up_to..).filter(|b| !b.is_empty())?;
        self.said_up_to = all.len();
        Some(String::from_utf8_lossy(new).trim().to_string())
    }
}
