//! Our own options, in the `"."` attribute table CPython's dictConfig applies
//! with `setattr` and its handlers ignore: spool, retry, signing,
//! acknowledgements, syslog framing and format. Each is bounded.

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use serde_json::{Map, Value as Json};

use crate::bindings::{
    NameOrNumber, Overflow, SocketOptions, SpoolOptions, SyslogFormat, SyslogFraming, SyslogOptions,
};
use crate::config::key_file::read_key_file;
use crate::config::values::{
    attr_bool, attr_f64, attr_seconds, attr_str, bounded_seconds, str_key, MAX_CAPACITY, MAX_RETRY_SECONDS,
};

/// The spool's keys, for every handler with a stream destination.
pub(crate) const SPOOL_KEYS: &[&str] =
    &["spool_records", "spool_bytes", "spool_overflow", "block_timeout", "flush_timeout", "spool_dir", "timeout"];

pub(crate) fn spool_options(attrs: &Map<String, Json>) -> Result<SpoolOptions> {
    let count = |key: &str, default: u64| -> Result<u64> {
        match attrs.get(key) {
            None => Ok(default),
            Some(v) => v.as_u64().ok_or_else(|| anyhow!("\".\" {key} must be a count, 0 or more, not {v}")),
        }
    };
    let overflow = match str_key(attrs, "spool_overflow")?.as_deref() {
        None | Some("drop-oldest") => Overflow::DropOldest,
        Some("drop-newest") => Overflow::DropNewest,
        Some("block") => Overflow::Block,
        Some(other) => bail!("\".\" spool_overflow {other:?} must be \"drop-oldest\", \"drop-newest\" or \"block\""),
    };
    Ok(SpoolOptions {
        max_records: u32::try_from(count("spool_records", 10_000)?)
            .ok()
            .filter(|n| *n <= MAX_CAPACITY)
            .ok_or_else(|| anyhow!("\".\" spool_records must be at most {MAX_CAPACITY}"))?,
        max_bytes: count("spool_bytes", 16 << 20)?,
        overflow,
        block_timeout: attr_seconds(attrs, "block_timeout", 1.0, true)?,
        flush_timeout: attr_seconds(attrs, "flush_timeout", 5.0, true)?,
        // CPython's SocketHandler.timeout, settable through "." there too.
        write_timeout: attr_seconds(attrs, "timeout", 1.0, false)?,
        directory: str_key(attrs, "spool_dir")?,
    })
}

pub(crate) fn socket_options(attrs: &Map<String, Json>) -> Result<SocketOptions> {
    check_attrs(
        attrs,
        &[
            "retryStart",
            "retryFactor",
            "retryMax",
            "closeOnError",
            "pickle_protocol",
            "hmac_key_file",
            "acknowledged",
            "ack_window",
            "tls",
        ],
    )?;
    let ack_window = match (attr_bool(attrs, "acknowledged", false)?, attrs.get("ack_window")) {
        (false, _) => 0,
        (true, None) => 1024,
        (true, Some(v)) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0 && u64::from(*n) <= pylog_wire::frame::MAX_ACK_WINDOW)
            .ok_or_else(|| {
                anyhow!(
                    "\".\" ack_window must be a count from 1 to {} (what a receiver de-duplicates), not {v}",
                    pylog_wire::frame::MAX_ACK_WINDOW
                )
            })?,
    };
    let hmac_key = match str_key(attrs, "hmac_key_file")? {
        None => None,
        Some(path) => Some(read_key_file(Path::new(&path))?),
    };
    let protocol = attrs.get("pickle_protocol").map_or(Some(3), Json::as_u64);
    Ok(SocketOptions {
        pickle_protocol: protocol
            .and_then(|p| u8::try_from(p).ok())
            .ok_or_else(|| anyhow!("\".\" pickle_protocol must be 2 or 3"))?,
        retry_start: bounded_seconds(attr_f64(attrs, "retryStart", 1.0)?, "retryStart", true, MAX_RETRY_SECONDS)?,
        retry_factor: match attr_f64(attrs, "retryFactor", 2.0)? {
            f if (1.0..=100.0).contains(&f) => f,
            f => bail!("\".\" retryFactor must be from 1 to 100 (each failed attempt multiplies the wait), not {f}"),
        },
        retry_max: bounded_seconds(attr_f64(attrs, "retryMax", 30.0)?, "retryMax", true, MAX_RETRY_SECONDS)?,
        close_on_error: attr_bool(attrs, "closeOnError", false)?,
        hmac_key,
        ack_window,
    })
}

pub(crate) fn syslog_options(facility: NameOrNumber, attrs: &Map<String, Json>) -> Result<SyslogOptions> {
    check_attrs(
        attrs,
        &[
            "ident",
            "append_nul",
            "rfc5424",
            "framing",
            "hostname",
            "app_name",
            "procid",
            "cpython_exact_bytes",
            "max_message_bytes",
            "tls",
            "relp",
        ],
    )?;
    let max_message_bytes = match attrs.get("max_message_bytes") {
        None => 8192,
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| anyhow!("\".\" max_message_bytes must be a byte count (0 for no limit), not {v}"))?,
    };
    let relp = attr_bool(attrs, "relp", false)?;
    let framing = match (str_key(attrs, "framing")?.as_deref(), relp) {
        (None, true) => SyslogFraming::Relp,
        (Some(f), true) => bail!("\".\" relp frames every message itself; leave out \"framing\" ({f:?})"),
        (None | Some("none") | Some("unframed"), false) => SyslogFraming::Unframed,
        (Some("octet-counting") | Some("octet_counting"), false) => SyslogFraming::OctetCounting,
        (Some(other), false) => bail!("\".\" framing {other:?} must be \"unframed\" or \"octet-counting\""),
    };
    Ok(SyslogOptions {
        facility,
        ident: attr_str(attrs, "ident")?,
        // CPython's NUL ends a message for receivers that split on it; a
        // RELP command carries its own length, where a NUL would only be
        // one more character of the message.
        append_nul: attr_bool(attrs, "append_nul", !relp)?,
        format: if attr_bool(attrs, "rfc5424", false)? { SyslogFormat::Rfc5424 } else { SyslogFormat::Cpython },
        framing,
        hostname: attr_str(attrs, "hostname")?,
        app_name: attr_str(attrs, "app_name")?,
        procid: attr_str(attrs, "procid")?,
        cpython_exact_bytes: attr_bool(attrs, "cpython_exact_bytes", false)?,
        max_message_bytes,
    })
}

pub(crate) fn check_attrs(attrs: &Map<String, Json>, allowed: &[&str]) -> Result<()> {
    for key in attrs.keys() {
        if !allowed.contains(&key.as_str()) && !SPOOL_KEYS.contains(&key.as_str()) {
            bail!(
                "\".\" has {key:?}, which this handler does not use; known: {}, {}",
                allowed.join(", "),
                SPOOL_KEYS.join(", ")
            );
        }
    }
    Ok(())
}
