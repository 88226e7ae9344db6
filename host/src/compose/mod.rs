//! `pylog compose`: the plugin and a dictConfig baked into an extension
//! that imports `wasi:logging`, for hosts that are not ours. The result
//! imports nothing but `wasi:*` (no `wasi:http` unless an HTTPHandler is
//! configured), so the stock `wasmtime run`, `wasmtime serve`, jco and Spin
//! can run it.

mod document_component;
mod graph;
mod stock_host;

use anyhow::Result;

use crate::config::Document;

/// The plugin builds and the configuration component, as bytes.
pub struct Components<'a> {
    /// The default build, with HTTPHandler's wasi:http client.
    pub plugin: &'a [u8],
    /// The build without wasi:http, for configurations with no HTTPHandler.
    pub plugin_without_http: &'a [u8],
    pub route_config: &'a [u8],
}

/// What `compose` made, and what to tell its user.
pub struct Composition {
    pub bytes: Vec<u8>,
    /// The route's handlers, in order.
    pub handlers: Vec<String>,
    /// How the route differs from what CPython would do with the document.
    pub notes: Vec<String>,
    pub with_http: bool,
}

/// Why a document cannot be composed: every problem, one line each.
#[derive(Debug)]
pub struct Refused(pub Vec<String>);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.len();
        write!(f, "{n} handler problem{} for a stock host:", if n == 1 { "" } else { "s" })?;
        for p in &self.0 {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refused {}

pub fn compose(extension: &[u8], doc: &Document, components: &Components) -> Result<Composition> {
    let route = stock_host::route(doc).map_err(Refused)?;
    let json = serde_json::to_string(&route.handlers)?;
    let document = document_component::build(&json)?;
    let plugin = if route.needs_http { components.plugin } else { components.plugin_without_http };
    let bytes =
        graph::compose(&graph::Parts { extension, plugin, config: components.route_config, document: &document })?;
    Ok(Composition {
        bytes,
        handlers: route.handlers.iter().map(|h| h.name.clone()).collect(),
        notes: route.notes,
        with_http: route.needs_http,
    })
}
