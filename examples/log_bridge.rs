//! A Rust program whose own `log` and `tracing` records are shipped by the
//! sandboxed pylog-handlers plugin, as CPython's handlers would ship them.
//!
//! usage: cargo run --release --example log_bridge -- COMPONENT LOGGING.json

use tracing_subscriber::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (component, config) = (&args[1], std::path::Path::new(&args[2]));
    let plugin = pylog_host::Plugin::load(component)?;

    // The setup: `log` records, and `tracing` events, through the plugin.
    let sink = pylog_host::embed::log_bridge::init(&plugin, config)?;
    tracing_subscriber::registry().with(pylog_host::embed::log_bridge::PylogLayer(sink.clone())).init();

    log::warn!("disk {} is {}% full", "/var", 91);
    tracing::info!(order = "A-1042", amount = 99.5, paid = true, "order paid");
    log::error!(target: "shop.checkout", "payment declined");

    // Delivers what is spooled before the program exits.
    for (name, stats) in sink.close() {
        println!("{name}: {} sent, {} dropped", stats.sent, stats.dropped);
    }
    Ok(())
}
