//! The composition, with wac's own library (`wac-graph`): the document
//! component answers the configuration component, which answers the
//! plugin's imports, which answers the extension's `wasi:logging`. What no
//! component answers (wasi:* only) becomes an import of the result, and the
//! result exports what the extension exports.

use anyhow::{anyhow, bail, Context, Result};
use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, PackageId};

/// The imports the configuration component answers for the plugin.
const FROM_CONFIG: [&str; 6] = [
    "pylog:handlers/types@0.2.0",
    "pylog:handlers/config@0.2.0",
    "pylog:handlers/route-config@0.2.0",
    "pylog:handlers/unix-sockets@0.2.0",
    "pylog:handlers/udp-datagrams@0.2.0",
    "pylog:handlers/tls-streams@0.2.0",
];
const DOCUMENT: &str = "pylog:route-config/document@0.2.0";
const WASI_LOGGING: &str = "wasi:logging/logging@0.1.0-draft";

/// The four components, as bytes.
pub struct Parts<'a> {
    pub extension: &'a [u8],
    pub plugin: &'a [u8],
    pub config: &'a [u8],
    pub document: &'a [u8],
}

pub fn compose(parts: &Parts) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let register = |graph: &mut CompositionGraph, name: &str, bytes: &[u8]| -> Result<PackageId> {
        let package = Package::from_bytes(name, None, bytes.to_vec(), graph.types_mut())
            .with_context(|| format!("{name} is not a WebAssembly component"))?;
        Ok(graph.register_package(package)?)
    };
    let extension = register(&mut graph, "app:extension", parts.extension)?;
    let plugin = register(&mut graph, "pylog:plugin", parts.plugin)?;
    let config = register(&mut graph, "pylog:route-config", parts.config)?;
    let document = register(&mut graph, "pylog:document", parts.document)?;

    if !graph.types()[graph[extension].ty()].imports.contains_key(WASI_LOGGING) {
        bail!("the extension does not import {WASI_LOGGING}: there is nothing to plug the handlers into");
    }
    let document = graph.instantiate(document);
    let config = graph.instantiate(config);
    connect(&mut graph, document, config, DOCUMENT)?;
    let plugin = graph.instantiate(plugin);
    for name in FROM_CONFIG {
        connect(&mut graph, config, plugin, name)?;
    }
    let instance = graph.instantiate(extension);
    connect(&mut graph, plugin, instance, WASI_LOGGING)?;

    let exports: Vec<String> = graph.types()[graph[extension].ty()].exports.keys().cloned().collect();
    for name in exports {
        let node = graph.alias_instance_export(instance, &name)?;
        graph.export(node, name)?;
    }
    graph.encode(EncodeOptions::default()).map_err(|e| anyhow!("encoding the composition: {e}"))
}

/// `to`'s import `name` is `from`'s export of the same name.
fn connect(graph: &mut CompositionGraph, from: NodeId, to: NodeId, name: &str) -> Result<()> {
    let export = graph.alias_instance_export(from, name).with_context(|| format!("no export {name}"))?;
    graph.set_instantiation_argument(to, name, export).with_context(|| format!("plugging {name}"))?;
    Ok(())
}
