//! A cache of precompiled components, so that a CLI run or a host restart
//! does not pay Cranelift's compile time again (about a second for this
//! component) when nothing changed.
//!
//! Entries are keyed by the component's SHA-256 and the engine's
//! compatibility hash; `Component::deserialize_file` is only ever given files
//! this module wrote into a directory the host user owns.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

/// `$PYLOG_CACHE_DIR`, else `$XDG_CACHE_HOME/pylog`, else `~/.cache/pylog`.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PYLOG_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("pylog"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("pylog"))
}

fn entry_path(dir: &Path, engine: &Engine, bytes: &[u8]) -> PathBuf {
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut engine_hash);
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{hex}-{:016x}.cwasm", engine_hash.finish()))
}

/// Loads `bytes` as a component, from the cache when an entry exists.
pub fn load(engine: &Engine, bytes: &[u8], dir: Option<&Path>) -> Result<Component> {
    let Some(dir) = dir else {
        return Component::new(engine, bytes).map_err(anyhow::Error::from).context("compile component");
    };
    let path = entry_path(dir, engine, bytes);
    if path.exists() {
        // SAFETY: the file was written by `store` below from this engine's
        // own `precompile_component`; wasmtime still checks its header.
        if let Ok(c) = unsafe { Component::deserialize_file(engine, &path) } {
            return Ok(c);
        }
    }
    let compiled = engine.precompile_component(bytes).map_err(anyhow::Error::from).context("compile component")?;
    store(dir, &path, &compiled);
    // SAFETY: `compiled` was produced by this engine just now.
    unsafe { Component::deserialize(engine, &compiled) }
        .map_err(anyhow::Error::from)
        .context("load precompiled component")
}

/// A cache that cannot be written only costs time on the next run, so
/// failures here are ignored.
fn store(dir: &Path, path: &Path, compiled: &[u8]) {
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, compiled).is_ok() && std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}
