//! JSON lines to `LogRecord`s, filling what `Logger.makeRecord` would fill at
//! emit time, and `LogRecord`s back to JSON (what `pylog listen` prints).
//!
//! Keys are LogRecord attribute names; any other key is an `extra`. Bytes,
//! which JSON cannot carry, are written `{"$bytes": "<hex>"}`.
//!
//! One concept, over 400 lines: the record-line format both ways, with the
//! fast reader for the common shape beside the general one it must match.

pub mod input_lines;
pub mod packed;

pub use pylog_wire::record::{attribute_rank, level_name, level_number, ATTRIBUTES};
use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Result};
use serde_json::{Map, Value as Json};

use crate::bindings::{Args, LogRecord, Value};

/// What the filling needs to know about the sending process: what
/// `logging.makeLogRecord` takes from the process and thread that call it.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// `logging._startTime`, for `relativeCreated`.
    pub start_time: f64,
    pub process: i64,
    pub process_name: String,
    /// `threading.get_ident()` of the thread making the records (the
    /// thread's pthread id, as CPython's on Linux).
    pub thread: i64,
    /// `threading.current_thread().name`: "MainThread" on the main thread.
    pub thread_name: String,
}

impl Default for Defaults {
    /// The calling process and thread.
    fn default() -> Self {
        // SAFETY: pthread_self has no preconditions and always succeeds.
        let thread = unsafe { libc::pthread_self() } as usize as i64;
        let thread_name = match std::thread::current().name() {
            Some("main") => "MainThread".to_string(),
            Some(name) => name.to_string(),
            None => "Dummy-1".to_string(),
        };
        Defaults {
            start_time: now(),
            process: std::process::id() as i64,
            process_name: "MainProcess".into(),
            thread,
            thread_name,
        }
    }
}

pub fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

pub fn value_from_json(key: impl std::fmt::Display, v: Json) -> Result<Value> {
    Ok(match v {
        Json::Null => Value::None,
        Json::Bool(b) => Value::Boolean(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None if n.is_u64() => bail!("{key}: {n} does not fit a 64-bit int"),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Str(s),
        Json::Object(o) if o.len() == 1 && o.contains_key("$bytes") => {
            let hex = o["$bytes"].as_str().ok_or_else(|| anyhow!("{key}: $bytes must be a hex string"))?;
            Value::Bytes(from_hex(hex).ok_or_else(|| anyhow!("{key}: $bytes {hex:?} is not hex"))?)
        }
        Json::Object(o) if o.len() == 1 && o.contains_key("$float") => {
            // JSON has no NaN or infinity; Python's json module writes them bare.
            match o["$float"].as_str() {
                Some("nan") => Value::Float(f64::NAN),
                Some("inf") => Value::Float(f64::INFINITY),
                Some("-inf") => Value::Float(f64::NEG_INFINITY),
                _ => bail!("{key}: $float must be \"nan\", \"inf\" or \"-inf\""),
            }
        }
        Json::Array(_) | Json::Object(_) => {
            bail!("{key}: lists and dicts cannot cross the wire as record values; use a string")
        }
    })
}

/// Refuses an integer literal that does not fit 64 bits. serde_json turns
/// `99999999999999999999` into the float 1e20, which `%d` would then print
/// as 100000000000000000000: a silent change of the user's number. A float
/// literal (`1e20`, `1.5`) stays a float, as in Python's `json`.
fn refuse_wide_integers(line: &str) -> Result<()> {
    // Most lines have no run of 19 digits; only those are tokenized.
    let bytes = line.as_bytes();
    if !has_digit_run(bytes, 19) {
        return Ok(());
    }
    let (mut i, mut in_string) = (0, false);
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
        } else if b == b'"' {
            in_string = true;
            i += 1;
        } else if b == b'-' || b.is_ascii_digit() {
            let start = i;
            i += 1;
            while i < bytes.len() && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                i += 1;
            }
            let token = &line[start..i];
            let integral = !token.contains(['.', 'e', 'E']);
            if integral && token.parse::<i64>().is_err() {
                bail!(
                    "the integer {token} does not fit 64 bits, and pylog carries ints as 64-bit; \
                     send it as a string (\"{token}\") or as a float (with an exponent or a point)"
                );
            }
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// Whether `bytes` holds `len` ASCII digits in a row. Any `len` bytes in a
/// row include one index in every `len`, so only those are looked at
/// until a digit is found (a line is scanned a nineteenth as often).
fn has_digit_run(bytes: &[u8], len: usize) -> bool {
    let mut i = len - 1;
    while let Some(b) = bytes.get(i) {
        if !b.is_ascii_digit() {
            i += len;
            continue;
        }
        let start = bytes[..i].iter().rposition(|b| !b.is_ascii_digit()).map_or(0, |p| p + 1);
        let end = bytes[i..].iter().position(|b| !b.is_ascii_digit()).map_or(bytes.len(), |p| i + p);
        if end - start >= len {
            return true;
        }
        // bytes[end] is not a digit: a long enough run starts after it.
        i = end + len;
    }
    false
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn opt_string(o: &mut impl Fields, key: &str) -> Result<Option<String>> {
    match o.take(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(other) => bail!("{key} must be a string or null, not {other}"),
    }
}

fn opt_int(o: &mut impl Fields, key: &str) -> Result<Option<i64>> {
    match o.take(key) {
        None | Some(Json::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| anyhow!("{key} must be an integer, not {v}")),
    }
}

fn opt_float(o: &mut impl Fields, key: &str) -> Result<Option<f64>> {
    match o.take(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => match value_from_json(key, Json::Number(n))? {
            Value::Float(f) => Ok(Some(f)),
            Value::Int(i) => Ok(Some(i as f64)),
            // A JSON number is always one of the two.
            _ => bail!("{key} must be a number"),
        },
        Some(v) => {
            let shown = v.to_string();
            match value_from_json(key, v)? {
                Value::Float(f) => Ok(Some(f)),
                Value::Int(i) => Ok(Some(i as f64)),
                _ => bail!("{key} must be a number, not {shown}"),
            }
        }
    }
}

/// Keys that are not extras: the attributes, and `message`, which
/// `Formatter.format` adds and `makePickle` removes.
fn is_known(key: &str) -> bool {
    key == "message" || ATTRIBUTES.contains(&key)
}

/// A record's attributes, taken out by name (each is read once, and its
/// strings move into the record instead of being copied): a JSON map, or
/// the ordered list `from_json_line` reads without hashing every key.
pub trait Fields {
    fn take(&mut self, key: &str) -> Option<Json>;
    fn has(&self, key: &str) -> bool;
    /// The members whose keys are not LogRecord attributes, in order.
    fn take_extras(&mut self) -> Vec<(String, Json)>;
}

impl Fields for Map<String, Json> {
    fn take(&mut self, key: &str) -> Option<Json> {
        // `remove` would move the last member into the hole, and extras keep their order.
        self.shift_remove(key)
    }

    fn has(&self, key: &str) -> bool {
        self.contains_key(key)
    }

    fn take_extras(&mut self) -> Vec<(String, Json)> {
        let keys: Vec<String> = self.keys().filter(|k| !is_known(k)).cloned().collect();
        keys.into_iter().filter_map(|k| self.shift_remove(&k).map(|v| (k, v))).collect()
    }
}

/// A JSON object's members in order, a key given twice keeping its first
/// place and its last value, as serde_json's ordered `Map` keeps them. A
/// record has a dozen keys: a scan beats hashing each with SipHash, and a
/// key without escapes is borrowed from the line.
#[derive(Default)]
pub struct OrderedFields<'de>(Vec<(Cow<'de, str>, Option<Json>)>);

impl Fields for OrderedFields<'_> {
    fn take(&mut self, key: &str) -> Option<Json> {
        self.0.iter_mut().find(|(k, _)| k == key).and_then(|(_, v)| v.take())
    }

    fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, v)| k == key && v.is_some())
    }

    fn take_extras(&mut self) -> Vec<(String, Json)> {
        let mut extras = Vec::new();
        for (k, v) in &mut self.0 {
            if !is_known(k) {
                if let Some(v) = v.take() {
                    extras.push((k.to_string(), v));
                }
            }
        }
        extras
    }
}

/// A key, borrowed from the line unless it has escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> serde::de::Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> serde::Deserialize<'de> for OrderedFields<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = OrderedFields<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<OrderedFields<'de>, A::Error> {
                let mut out: Vec<(Cow<'de, str>, Option<Json>)> = Vec::with_capacity(16);
                while let Some((Key(key), value)) = map.next_entry::<Key<'de>, Json>()? {
                    match out.iter_mut().find(|(k, _)| *k == key) {
                        Some(slot) => slot.1 = Some(value),
                        None => out.push((key, Some(value))),
                    }
                }
                Ok(OrderedFields(out))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

/// One JSON object to a record.
pub fn from_json_line(line: &str, defaults: &Defaults) -> Result<LogRecord> {
    // The common case: an object, read into an ordered list. Anything else
    // (not JSON, not an object) takes the general path, whose messages
    // name what is wrong.
    match serde_json::from_str::<OrderedFields>(line) {
        Ok(fields) => {
            refuse_wide_integers(line)?;
            from_json_object(fields, defaults)
        }
        Err(_) => from_json_line_general(line, defaults),
    }
}

/// `from_json_line` through a `serde_json::Value`: the reference the
/// direct path is checked against (`tests/all/record_lines.rs`), and the path
/// that words the errors.
pub fn from_json_line_general(line: &str, defaults: &Defaults) -> Result<LogRecord> {
    let json: Json = serde_json::from_str(line).map_err(|e| anyhow!("not JSON: {e}"))?;
    refuse_wide_integers(line)?;
    let Json::Object(o) = json else { bail!("a record must be a JSON object of LogRecord attributes") };
    from_json_object(o, defaults)
}

pub fn from_json_object(mut o: impl Fields, defaults: &Defaults) -> Result<LogRecord> {
    let o = &mut o;
    let (levelno, levelname) = match (opt_int(o, "levelno")?, opt_string(o, "levelname")?) {
        (Some(n), Some(name)) => (n, name),
        (Some(n), None) => (n, level_name(n)),
        (None, Some(name)) => (
            level_number(&name).ok_or_else(|| {
                anyhow!("levelname {name:?} is not a level; give levelno too, or use INFO, WARNING, ...")
            })?,
            name,
        ),
        // `logging.info` is what a line without a level most likely meant.
        (None, None) => (20, "INFO".into()),
    };
    let pathname = opt_string(o, "pathname")?.unwrap_or_else(|| "(unknown file)".into());
    let filename = match opt_string(o, "filename")? {
        Some(f) => f,
        None => pathname.rsplit('/').next().unwrap_or(&pathname).to_string(),
    };
    let module = match opt_string(o, "module")? {
        Some(m) => m,
        None => match filename.rfind('.') {
            Some(dot) if dot > 0 => filename[..dot].to_string(),
            _ => filename.clone(),
        },
    };
    let created = opt_float(o, "created")?.unwrap_or_else(now);
    let msecs = match opt_float(o, "msecs")? {
        Some(m) => m,
        None => ((created - created.trunc()) * 1000.0).trunc(),
    };
    let args = match o.take("args") {
        None | Some(Json::Null) => None,
        Some(Json::Array(items)) => Some(Args::Positional(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| value_from_json(format_args!("args[{i}]"), v))
                .collect::<Result<_>>()?,
        )),
        Some(Json::Object(map)) => Some(Args::Mapping(
            map.into_iter()
                .map(|(k, v)| {
                    let v = value_from_json(format_args!("args.{k}"), v)?;
                    Ok((k, v))
                })
                .collect::<Result<_>>()?,
        )),
        Some(other) => Some(Args::Positional(vec![value_from_json("args", other)?])),
    };
    let msg = match o.take("msg") {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(s)) => s,
        // `str(msg)`: a number or bool logged directly.
        Some(other) => other.to_string(),
    };
    let mut extra = Vec::new();
    for (k, v) in o.take_extras() {
        let v = value_from_json(&k, v)?;
        extra.push((k, v));
    }
    Ok(LogRecord {
        name: opt_string(o, "name")?.unwrap_or_else(|| "root".into()),
        msg,
        args,
        levelname,
        levelno,
        pathname,
        filename,
        module,
        exc_text: opt_string(o, "exc_text")?,
        stack_info: opt_string(o, "stack_info")?,
        lineno: opt_int(o, "lineno")?.unwrap_or(0),
        func_name: match o.has("funcName") {
            true => opt_string(o, "funcName")?,
            false => Some("(unknown function)".into()),
        },
        created,
        msecs,
        relative_created: opt_float(o, "relativeCreated")?.unwrap_or((created - defaults.start_time) * 1000.0),
        thread: match o.has("thread") {
            true => opt_int(o, "thread")?,
            false => Some(defaults.thread),
        },
        thread_name: match o.has("threadName") {
            true => opt_string(o, "threadName")?,
            false => Some(defaults.thread_name.clone()),
        },
        process_name: match o.has("processName") {
            true => opt_string(o, "processName")?,
            false => Some(defaults.process_name.clone()),
        },
        process: match o.has("process") {
            true => opt_int(o, "process")?,
            false => Some(defaults.process),
        },
        task_name: opt_string(o, "taskName")?,
        extra,
    })
}

/// A value as JSON, the inverse of `value_from_json`.
pub fn value_to_json(v: &Value) -> Json {
    match v {
        Value::None => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) if f.is_nan() => serde_json::json!({"$float": "nan"}),
        Value::Float(f) if f.is_infinite() => {
            serde_json::json!({"$float": if *f > 0.0 { "inf" } else { "-inf" }})
        }
        Value::Float(f) => Json::from(*f),
        Value::Str(s) => Json::String(s.clone()),
        Value::Bytes(b) => serde_json::json!({"$bytes": to_hex(b)}),
    }
}

/// A record as one JSON object whose keys are LogRecord attribute names:
/// what `pylog listen` prints and what `from_json_object` reads back.
pub fn to_json(r: &LogRecord) -> Map<String, Json> {
    let mut o = Map::new();
    let s = |v: &Option<String>| v.clone().map_or(Json::Null, Json::String);
    let i = |v: Option<i64>| v.map_or(Json::Null, Json::from);
    let f = |v: f64| value_to_json(&Value::Float(v));
    o.insert("name".into(), Json::String(r.name.clone()));
    o.insert("msg".into(), Json::String(r.msg.clone()));
    o.insert(
        "args".into(),
        match &r.args {
            None => Json::Null,
            Some(Args::Positional(items)) => Json::Array(items.iter().map(value_to_json).collect()),
            Some(Args::Mapping(items)) => {
                Json::Object(items.iter().map(|(k, v)| (k.clone(), value_to_json(v))).collect())
            }
        },
    );
    o.insert("levelname".into(), Json::String(r.levelname.clone()));
    o.insert("levelno".into(), Json::from(r.levelno));
    o.insert("pathname".into(), Json::String(r.pathname.clone()));
    o.insert("filename".into(), Json::String(r.filename.clone()));
    o.insert("module".into(), Json::String(r.module.clone()));
    o.insert("exc_text".into(), s(&r.exc_text));
    o.insert("stack_info".into(), s(&r.stack_info));
    o.insert("lineno".into(), Json::from(r.lineno));
    o.insert("funcName".into(), s(&r.func_name));
    o.insert("created".into(), f(r.created));
    o.insert("msecs".into(), f(r.msecs));
    o.insert("relativeCreated".into(), f(r.relative_created));
    o.insert("thread".into(), i(r.thread));
    o.insert("threadName".into(), s(&r.thread_name));
    o.insert("processName".into(), s(&r.process_name));
    o.insert("process".into(), i(r.process));
    o.insert("taskName".into(), s(&r.task_name));
    for (k, v) in &r.extra {
        o.insert(k.clone(), value_to_json(v));
    }
    o
}

/// A received record as a person reads it: CPython's
/// `%(asctime)s %(levelname)s %(name)s: %(message)s`, in the host's local time.
pub fn text_line(r: &Map<String, Json>) -> String {
    use chrono::TimeZone;
    let created = r.get("created").and_then(Json::as_f64).unwrap_or(0.0);
    let when = chrono::Local
        .timestamp_opt(created.floor() as i64, 0)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default();
    let msecs = ((created - created.floor()) * 1000.0) as u32;
    let field = |k: &str| r.get(k).and_then(Json::as_str).unwrap_or("");
    let mut line = format!("{when},{msecs:03} {} {}: {}", field("levelname"), field("name"), field("msg"));
    for tail in ["exc_text", "stack_info"] {
        if let Some(t) = r.get(tail).and_then(Json::as_str).filter(|t| !t.is_empty()) {
            line.push('\n');
            line.push_str(t);
        }
    }
    line
}

/// Bytes a record's text and bytes take: what it costs the plugin to hold
/// it, give or take the fixed-size fields. Checked against
/// `Limits::max_record_bytes` before a record enters the plugin.
pub fn payload_bytes(r: &LogRecord) -> usize {
    fn value(v: &Value) -> usize {
        match v {
            Value::Str(s) => s.len(),
            Value::Bytes(b) => b.len(),
            _ => 8,
        }
    }
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let args = match &r.args {
        None => 0,
        Some(Args::Positional(items)) => items.iter().map(value).sum(),
        Some(Args::Mapping(items)) => items.iter().map(|(k, v)| k.len() + value(v)).sum(),
    };
    r.name.len()
        + r.msg.len()
        + args
        + r.levelname.len()
        + r.pathname.len()
        + r.filename.len()
        + r.module.len()
        + opt(&r.exc_text)
        + opt(&r.stack_info)
        + opt(&r.func_name)
        + opt(&r.thread_name)
        + opt(&r.process_name)
        + opt(&r.task_name)
        + r.extra.iter().map(|(k, v)| k.len() + value(v)).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_runs_are_found_wherever_they_sit() {
        for total in 0..45 {
            for start in 0..total {
                for run in 17..21.min(total - start + 1) {
                    let mut line = vec![b'x'; total];
                    line[start..start + run].fill(b'7');
                    assert_eq!(has_digit_run(&line, 19), run >= 19, "total {total} start {start} run {run}");
                }
            }
        }
        assert!(!has_digit_run(b"", 19));
    }

    #[test]
    fn fills_like_make_record() {
        let r = from_json_line(
            r#"{"msg":"x %s","args":[1],"levelname":"ERROR","pathname":"/a/b.py","user":"ann"}"#,
            &Defaults::default(),
        )
        .unwrap();
        assert_eq!((r.levelno, r.filename.as_str(), r.module.as_str()), (40, "b.py", "b"));
        assert!(matches!(r.extra.as_slice(), [(k, Value::Str(v))] if k == "user" && v == "ann"));
        assert_eq!(r.func_name.as_deref(), Some("(unknown function)"));
        assert!(from_json_line("[1]", &Defaults::default()).is_err());
        assert!(from_json_line(r#"{"levelname":"LOUD"}"#, &Defaults::default()).is_err());
    }

    #[test]
    fn integers_beyond_64_bits_are_refused_and_floats_and_strings_are_not() {
        let d = Defaults::default();
        for line in [
            r#"{"msg":"%d","args":[99999999999999999999]}"#,
            r#"{"msg":"%d","args":[-9223372036854775809]}"#,
            r#"{"msg":"x","big":123456789012345678901234567890}"#,
        ] {
            let e = from_json_line(line, &d).unwrap_err().to_string();
            assert!(e.contains("does not fit 64 bits"), "{line}: {e}");
        }
        for line in [
            r#"{"msg":"%d","args":[9223372036854775807]}"#,
            r#"{"msg":"%d","args":[-9223372036854775808]}"#,
            r#"{"msg":"%s","args":[1e20, 99999999999999999999.0, 1.5E+300]}"#,
            r#"{"msg":"99999999999999999999 \" 99999999999999999999","args":["99999999999999999999"]}"#,
        ] {
            assert!(from_json_line(line, &d).is_ok(), "{line}");
        }
    }
}
