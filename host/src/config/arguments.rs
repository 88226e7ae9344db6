//! Constructor arguments as CPython's handlers take them: file modes and
//! rotation, addresses, ports, levels, facilities, socket types, formatters.

use anyhow::{anyhow, bail, Result};
use serde_json::{Map, Value as Json};

use crate::bindings::{
    Credentials, EncodingErrors, Endpoint, FileMode, FileOptions, FormatStyle, Formatter, NameOrNumber, RolloverWhen,
    Rotation, SizeRotation, SyslogAddress, TextEncoding, TimedRotation,
};
use crate::config::local_time::LocalTime;
use crate::config::values::{attr_bool, str_key, MAX_BACKUP_COUNT};

/// The file handlers' constructor arguments, across the four classes.
pub(crate) const FILE_KEYS: &[&str] = &[
    "filename",
    "mode",
    "encoding",
    "delay",
    "errors",
    "maxBytes",
    "backupCount",
    "when",
    "interval",
    "utc",
    "atTime",
];

pub(crate) fn file_options(class: &str, e: &Map<String, Json>) -> Result<FileOptions> {
    let own: &[&str] = match class {
        "RotatingFileHandler" => &["maxBytes", "backupCount"],
        "TimedRotatingFileHandler" => &["when", "interval", "backupCount", "utc", "atTime"],
        _ => &[],
    };
    for key in e.keys() {
        if FILE_KEYS.contains(&key.as_str())
            && !["filename", "mode", "encoding", "delay", "errors"].contains(&key.as_str())
            && !own.contains(&key.as_str())
        {
            bail!("{class} has no constructor argument {key:?}");
        }
    }
    let count = |key: &str| -> Result<u64> {
        match e.get(key) {
            None => Ok(0),
            Some(v) => v.as_u64().ok_or_else(|| anyhow!("{key} must be a count, 0 or more, not {v}")),
        }
    };
    let backup_count =
        u32::try_from(count("backupCount")?).ok().filter(|n| *n <= MAX_BACKUP_COUNT).ok_or_else(|| {
            anyhow!("backupCount must be at most {MAX_BACKUP_COUNT} (each rollover renames every backup)")
        })?;
    let rotation = match class {
        "WatchedFileHandler" => Rotation::Watched,
        "RotatingFileHandler" => Rotation::Size(SizeRotation { max_bytes: count("maxBytes")?, backup_count }),
        "TimedRotatingFileHandler" => Rotation::Timed(TimedRotation {
            when: rollover_when(&str_key(e, "when")?.unwrap_or_else(|| "h".into()))?,
            interval: match e.get("interval") {
                None => 1,
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| anyhow!("interval must be a count above 0, not {v}"))?,
            },
            backup_count,
            utc: attr_bool(e, "utc", false)?,
            at_time: match str_key(e, "atTime")? {
                None => None,
                Some(t) => Some(time_of_day(&t)?),
            },
        }),
        _ => Rotation::None,
    };
    let mode = match str_key(e, "mode")?.as_deref() {
        None | Some("a") => FileMode::Append,
        Some("w") => FileMode::Write,
        Some(mode) => bail!("mode {mode:?} must be \"a\" or \"w\" (a log file is written as text)"),
    };
    Ok(FileOptions {
        path: str_key(e, "filename")?.filter(|f| !f.is_empty()).ok_or_else(|| anyhow!("{class} needs \"filename\""))?,
        mode,
        encoding: match str_key(e, "encoding")?.as_deref() {
            None | Some("utf-8") => TextEncoding::Utf8,
            Some("ascii") => TextEncoding::Ascii,
            Some("latin-1") => TextEncoding::Latin1,
            // Other spellings ("UTF8", "iso-8859-1") and codecs: the plugin
            // reads the spelling or says the codec is unavailable.
            Some(other) => TextEncoding::Other(other.into()),
        },
        errors: match str_key(e, "errors")?.as_deref() {
            None | Some("strict") => EncodingErrors::Strict,
            Some("ignore") => EncodingErrors::Ignore,
            Some("replace") => EncodingErrors::Replace,
            Some("backslashreplace") => EncodingErrors::BackslashReplace,
            Some(other) => EncodingErrors::Other(other.into()),
        },
        delay: attr_bool(e, "delay", false)?,
        rotation,
    })
}

/// `when` as CPython reads it, refused with CPython's message.
fn rollover_when(when: &str) -> Result<RolloverWhen> {
    use pylog_wire::rollover::{parse_when, When};
    Ok(match parse_when(when).map_err(|e| anyhow!(e))? {
        When::Seconds => RolloverWhen::Seconds,
        When::Minutes => RolloverWhen::Minutes,
        When::Hours => RolloverWhen::Hours,
        When::Days => RolloverWhen::Days,
        When::Midnight => RolloverWhen::Midnight,
        When::Weekday(day) => RolloverWhen::Weekday(day),
    })
}

/// `atTime` as "HH:MM" or "HH:MM:SS" (dictConfig cannot carry a
/// `datetime.time`), in seconds after midnight.
pub(crate) fn time_of_day(t: &str) -> Result<u32> {
    let parts: Vec<u32> = t
        .split(':')
        .map(|p| p.parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow!("atTime {t:?} must be HH:MM or HH:MM:SS"))?;
    match parts.as_slice() {
        [h, m] if *h < 24 && *m < 60 => Ok(h * 3600 + m * 60),
        [h, m, s] if *h < 24 && *m < 60 && *s < 60 => Ok(h * 3600 + m * 60 + s),
        _ => bail!("atTime {t:?} must be HH:MM or HH:MM:SS"),
    }
}

/// `credentials`: a (username, password) pair.
pub(crate) fn credentials(e: &Map<String, Json>) -> Result<Option<Credentials>> {
    match e.get("credentials") {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Array(pair)) if pair.len() == 2 => match (pair[0].as_str(), pair[1].as_str()) {
            (Some(u), Some(p)) => Ok(Some(Credentials { username: u.into(), password: p.into() })),
            _ => bail!("credentials must be [username, password] strings"),
        },
        Some(_) => bail!("credentials must be [username, password]"),
    }
}

/// The name this host gives in SMTP's EHLO (CPython sends `socket.getfqdn()`).
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The handlers that have none of our `"."` options.
pub(crate) fn check_attrs_none(attrs: &Map<String, Json>) -> Result<()> {
    match attrs.keys().next() {
        None => Ok(()),
        Some(key) => bail!("\".\" has {key:?}, which this handler does not use"),
    }
}

pub(crate) fn udp_or_tcp(stream: bool, host: String, port: u16) -> SyslogAddress {
    let e = Endpoint { host, port };
    if stream {
        SyslogAddress::Tcp(e)
    } else {
        SyslogAddress::Udp(e)
    }
}

pub(crate) fn port_number(v: &Json) -> Result<u16> {
    v.as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .filter(|p| *p != 0)
        .ok_or_else(|| anyhow!("port {v} must be a number from 1 to 65535"))
}

/// An entry's `level`, NOTSET (0) when absent.
pub(crate) fn level_of(e: &Map<String, Json>) -> Result<i64> {
    e.get("level").map_or(Ok(0), level)
}

pub(crate) fn level(v: &Json) -> Result<i64> {
    match v {
        Json::Number(n) => n.as_i64().ok_or_else(|| anyhow!("level {n} must be an integer")),
        Json::String(s) => crate::records::level_number(s)
            .ok_or_else(|| anyhow!("Unknown level: {s:?} (use DEBUG, INFO, WARNING, ERROR, CRITICAL or a number)")),
        other => bail!("level must be a name or a number, not {other}"),
    }
}

/// `socket.SOCK_STREAM` as Python users write it, or a short form.
pub(crate) fn socktype_is_stream(v: &Json) -> Result<bool> {
    match v {
        Json::Number(n) if n.as_i64() == Some(1) => Ok(true),
        Json::Number(n) if n.as_i64() == Some(2) => Ok(false),
        Json::String(s) => match s.trim_start_matches("ext://").trim_start_matches("socket.") {
            "SOCK_STREAM" | "tcp" | "stream" => Ok(true),
            "SOCK_DGRAM" | "udp" | "dgram" | "datagram" => Ok(false),
            other => bail!(
                "socktype {other:?} must be ext://socket.SOCK_STREAM, ext://socket.SOCK_DGRAM, \"tcp\" or \"udp\""
            ),
        },
        other => bail!("socktype must be ext://socket.SOCK_STREAM or ext://socket.SOCK_DGRAM, not {other}"),
    }
}

/// A facility as a table name ("local3"), a number, or CPython's constant
/// (`ext://logging.handlers.SysLogHandler.LOG_LOCAL3`). Names are checked by
/// the plugin, which owns the table.
pub(crate) fn facility(v: &Json) -> Result<NameOrNumber> {
    match v {
        Json::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(NameOrNumber::Number)
            .ok_or_else(|| anyhow!("facility {n} must be a non-negative integer")),
        Json::String(s) => match s.rsplit('.').next().and_then(|c| c.strip_prefix("LOG_")) {
            Some(constant) if s.starts_with("ext://") => Ok(NameOrNumber::Name(match constant {
                "SOLCRON" => "solaris-cron".into(),
                other => other.to_lowercase(),
            })),
            _ => Ok(NameOrNumber::Name(s.clone())),
        },
        other => bail!("facility must be a name such as \"local3\" or a number, not {other}"),
    }
}

pub(crate) fn default_formatter(local: &LocalTime) -> Formatter {
    Formatter {
        fmt: None,
        datefmt: None,
        style: FormatStyle::Percent,
        utc_offset_seconds: local.utc_offset_seconds,
        tz_name: local.tz_name.clone(),
    }
}

pub(crate) fn formatter(name: &str, spec: &Json, local: &LocalTime) -> Result<Formatter> {
    let spec = spec.as_object().ok_or_else(|| anyhow!("formatter {name:?} must be a mapping"))?;
    if spec.contains_key("()") {
        bail!("formatter {name:?} uses a \"()\" factory, which is Python code; use format/datefmt/style");
    }
    if let Some(class) = spec.get("class").and_then(Json::as_str) {
        if class != "logging.Formatter" {
            bail!("formatter class {class:?} is Python code; only logging.Formatter is available");
        }
    }
    let style = match str_key(spec, "style")?.as_deref() {
        None | Some("%") => FormatStyle::Percent,
        Some("{") => FormatStyle::Brace,
        Some("$") => FormatStyle::Dollar,
        Some(s) => bail!("formatter {name:?} style {s:?} must be one of %, {{, $"),
    };
    let fmt = match str_key(spec, "format")? {
        Some(f) => Some(f),
        None => str_key(spec, "fmt")?,
    };
    Ok(Formatter { fmt, datefmt: str_key(spec, "datefmt")?, style, ..default_formatter(local) })
}
