//! `pylog compose --config FILE EXTENSION.wasm -o APP.wasm`: the extension
//! with the plugin plugged into its wasi:logging import and the document's
//! handlers baked in, for hosts that are not ours.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use pylog_host::compose::{self, Components};
use pylog_host::{config, Plugin};

/// The other components sit beside the plugin (`make build` puts them there).
const WITHOUT_HTTP: &str = "pylog_handlers_without_http.wasm";
const ROUTE_CONFIG: &str = "pylog_route_config.wasm";

pub fn run(config_file: &Path, extension: &Path, output: &Path, plugin: PathBuf) -> Result<ExitCode> {
    let doc = config::parse_file(config_file)?;
    crate::cli::emit::say_ignored(&doc);
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let beside = |name: &str| plugin.with_file_name(name);
    // Read once: loaded to check each handler, then composed as it is.
    let plugin_bytes = std::fs::read(&plugin)
        .with_context(|| format!("read plugin {} (build it with `make build`, or pass --plugin)", plugin.display()))?;
    let loaded = Plugin::from_bytes(&plugin_bytes, pylog_host::runtime::cache::default_dir().as_deref())?;
    crate::cli::config_check::open_each_in_plugin(&doc, &loaded)?;
    let without_http = read(&beside(WITHOUT_HTTP))?;
    let route_config = read(&beside(ROUTE_CONFIG))?;
    let made = compose::compose(
        &read(extension)?,
        &doc,
        &Components { plugin: &plugin_bytes, plugin_without_http: &without_http, route_config: &route_config },
    )
    .with_context(|| format!("composing {} with {}", extension.display(), config_file.display()))?;
    std::fs::write(output, &made.bytes).with_context(|| format!("writing {}", output.display()))?;
    println!(
        "{}: {} bytes; wasi:logging goes to {}{}",
        output.display(),
        made.bytes.len(),
        made.handlers.join(", "),
        if made.with_http { " (with wasi:http, for the HTTPHandler)" } else { "" }
    );
    for note in &made.notes {
        println!("note: {note}");
    }
    Ok(ExitCode::SUCCESS)
}
