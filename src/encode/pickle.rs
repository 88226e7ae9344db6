//! `SocketHandler.makePickle`: the length-prefixed pickled `LogRecord.__dict__`
//! that SocketHandler and DatagramHandler put on the wire.
//!
//! CPython pickles `dict(record.__dict__)` with `msg` replaced by
//! `getMessage()`, `args` and `exc_info` set to None and `message` removed.
//! We serialize the record directly (no intermediate dict), keeping CPython's
//! key order so that a receiver iterating the dict sees what it would see
//! from CPython.

use pylog_wire::record::ATTRIBUTES;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::python::record::{Args, LogRecord, Value};

/// Protocol 3 is the default: every Python 3 reads it and it pickles bytes
/// without a global, so receivers that refuse globals accept it. Protocol 2
/// keeps Python 2 receivers working.
pub const DEFAULT_PROTOCOL: u8 = 3;

pub fn check_protocol(protocol: u8) -> Result<()> {
    match protocol {
        2 | 3 => Ok(()),
        p => Err(Error::BadConfig(format!(
            "pickle protocol {p} is not supported: use 3 (Python 3 receivers, the default) or 2 (Python 2 and 3)"
        ))),
    }
}

/// `Logger.makeRecord` refuses `extra` keys that would overwrite an
/// attribute; so do we, before any byte is written.
pub fn check_extras(record: &LogRecord) -> Result<()> {
    for (key, _) in &record.extra {
        if ATTRIBUTES.contains(&key.as_str()) {
            return Err(Error::BadRecord(format!(
                "KeyError: \"Attempt to overwrite '{key}' in LogRecord\" (rename the extra key)"
            )));
        }
    }
    Ok(())
}

/// Appends the frame (4-byte big-endian length, then the pickle) to `out`.
pub fn write_frame(out: &mut Vec<u8>, record: &LogRecord, protocol: u8) -> Result<()> {
    check_protocol(protocol)?;
    check_extras(record)?;
    let msg = record.get_message()?;
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    let options =
        if protocol == 2 { serde_pickle::SerOptions::new().proto_v2() } else { serde_pickle::SerOptions::new() };
    let body = PickledRecord { record, msg: &msg };
    if let Err(e) = serde_pickle::to_writer(out, &body, options) {
        out.truncate(start);
        return Err(Error::BadRecord(format!("cannot pickle record: {e}")));
    }
    let len = out.len() - start - 4;
    let Ok(len) = u32::try_from(len) else {
        out.truncate(start);
        return Err(Error::BadRecord(format!(
            "pickled record is {len} bytes; struct.pack('>L') caps a frame at 4 GiB"
        )));
    };
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// `makePickle` as a fresh buffer, sized so that it is not grown while
/// the record is written into it (a 730-byte frame grew twice from 512).
pub fn make_pickle(record: &LogRecord, protocol: u8) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(frame_size_hint(record));
    write_frame(&mut out, record, protocol)?;
    Ok(out)
}

/// A little more than the frame of a record usually takes: the keys and
/// opcodes of the 21 attributes are about 330 bytes, the rest is text.
/// Formatting `msg` can make it longer; the buffer then grows as before.
fn frame_size_hint(r: &LogRecord) -> usize {
    let texts = [&r.name, &r.msg, &r.levelname, &r.pathname, &r.filename, &r.module].map(|s| s.len());
    let optional = [&r.exc_text, &r.stack_info, &r.func_name, &r.thread_name, &r.process_name, &r.task_name]
        .map(|s| s.as_ref().map_or(0, String::len));
    let extra: usize = r.extra.iter().map(|(k, v)| k.len() + 16 + v.text_len()).sum();
    let args = match &r.args {
        Some(Args::Tuple(items)) => items.iter().map(|v| 24 + v.text_len()).sum(),
        Some(Args::Mapping(items)) => items.iter().map(|(_, v)| 24 + v.text_len()).sum(),
        None => 0,
    };
    384 + texts.iter().sum::<usize>() + optional.iter().sum::<usize>() + extra + args
}

struct PickledRecord<'a> {
    record: &'a LogRecord,
    msg: &'a str,
}

impl Serialize for PickledRecord<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let r = self.record;
        let kept_extras = r.extra.iter().filter(|(k, _)| k != "message");
        let mut map = s.serialize_map(Some(21 + kept_extras.clone().count()))?;
        map.serialize_entry("name", &r.name)?;
        map.serialize_entry("msg", self.msg)?;
        map.serialize_entry("args", &())?;
        map.serialize_entry("levelname", &r.levelname)?;
        map.serialize_entry("levelno", &r.levelno)?;
        map.serialize_entry("pathname", &r.pathname)?;
        map.serialize_entry("filename", &r.filename)?;
        map.serialize_entry("module", &r.module)?;
        map.serialize_entry("exc_info", &())?;
        map.serialize_entry("exc_text", &r.exc_text)?;
        map.serialize_entry("stack_info", &r.stack_info)?;
        map.serialize_entry("lineno", &r.lineno)?;
        map.serialize_entry("funcName", &r.func_name)?;
        map.serialize_entry("created", &r.created)?;
        map.serialize_entry("msecs", &r.msecs)?;
        map.serialize_entry("relativeCreated", &r.relative_created)?;
        map.serialize_entry("thread", &r.thread)?;
        map.serialize_entry("threadName", &r.thread_name)?;
        map.serialize_entry("processName", &r.process_name)?;
        map.serialize_entry("process", &r.process)?;
        map.serialize_entry("taskName", &r.task_name)?;
        for (key, value) in kept_extras {
            map.serialize_entry(key, &PickledValue(value))?;
        }
        map.end()
    }
}

struct PickledValue<'a>(&'a Value);

impl Serialize for PickledValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self.0 {
            Value::None => s.serialize_none(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(v) => s.serialize_str(v),
            Value::Bytes(b) => s.serialize_bytes(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_is_length_prefixed_and_round_trips() {
        let mut r = LogRecord::new("app", 20, "hello %s", 1700000000.5);
        r.args = Some(Args::Tuple(vec![Value::Str("world".into())]));
        r.extra.push(("user".into(), Value::Bytes(vec![0, 255])));
        let frame = make_pickle(&r, 3).unwrap();
        let len = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
        assert_eq!(len, frame.len() - 4);
        let v: serde_pickle::Value = serde_pickle::from_slice(&frame[4..], Default::default()).unwrap();
        let serde_pickle::Value::Dict(d) = v else { panic!("not a dict") };
        let get = |k: &str| d.get(&serde_pickle::HashableValue::String(k.into())).cloned();
        assert_eq!(get("msg"), Some(serde_pickle::Value::String("hello world".into())));
        assert_eq!(get("args"), Some(serde_pickle::Value::None));
        assert_eq!(get("user"), Some(serde_pickle::Value::Bytes(vec![0, 255])));
        assert_eq!(d.len(), 22);
    }

    #[test]
    fn extras_may_not_overwrite_attributes() {
        let mut r = LogRecord::new("app", 20, "x", 0.0);
        r.extra.push(("lineno".into(), Value::Int(1)));
        assert!(matches!(make_pickle(&r, 3), Err(Error::BadRecord(m)) if m.contains("overwrite 'lineno'")));
        assert!(matches!(make_pickle(&LogRecord::new("a", 1, "", 0.0), 1), Err(Error::BadConfig(_))));
    }
}
