//! Reading JSON values as dictConfig documents hold them: strings, booleans,
//! bounded numbers and durations, with the key named in every refusal; and
//! the bounds on counts a document may ask for.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{Map, Value as Json};

/// The most records a MemoryHandler buffer or a QueueHandler queue may hold.
pub const MAX_CAPACITY: u32 = 1_000_000;

/// The most backups a rotating file handler may keep.
pub const MAX_BACKUP_COUNT: u32 = 100_000;

pub(crate) fn attr_f64(attrs: &Map<String, Json>, key: &str, default: f64) -> Result<f64> {
    match attrs.get(key) {
        None => Ok(default),
        Some(v) => v.as_f64().ok_or_else(|| anyhow!("\".\" {key} must be a number, not {v}")),
    }
}

/// A time option in seconds, within the bounds the plugin accepts (it
/// checks them too, for hosts that bypass this loader).
pub(crate) fn attr_seconds(attrs: &Map<String, Json>, key: &str, default: f64, zero_allowed: bool) -> Result<f64> {
    bounded_seconds(attr_f64(attrs, key, default)?, key, zero_allowed, MAX_WAIT_SECONDS)
}

pub(crate) fn bounded_seconds(s: f64, key: &str, zero_allowed: bool, max: f64) -> Result<f64> {
    let low_ok = if zero_allowed { s >= 0.0 } else { s > 0.0 };
    if !(low_ok && s <= max) {
        let low = if zero_allowed { "from 0" } else { "above 0 and" };
        bail!("\".\" {key} must be {low} up to {max} seconds, not {s}");
    }
    Ok(s)
}

/// The longest one wait (a write, a flush, a blocked emit) may last: an
/// hour, as the plugin also checks.
pub(crate) const MAX_WAIT_SECONDS: f64 = 3600.0;

/// The longest pause between reconnection attempts: a day (the plugin's
/// backoff clamps there).
pub(crate) const MAX_RETRY_SECONDS: f64 = 86_400.0;

pub(crate) fn attr_bool(attrs: &Map<String, Json>, key: &str, default: bool) -> Result<bool> {
    match attrs.get(key) {
        None => Ok(default),
        Some(v) => v.as_bool().ok_or_else(|| anyhow!("\".\" {key} must be true or false, not {v}")),
    }
}

pub(crate) fn attr_str(attrs: &Map<String, Json>, key: &str) -> Result<String> {
    Ok(str_key(attrs, key).with_context(|| format!("\".\" {key}"))?.unwrap_or_default())
}

pub(crate) fn str_key(e: &Map<String, Json>, key: &str) -> Result<Option<String>> {
    match e.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(other) => bail!("{key} must be a string, not {other}"),
    }
}
