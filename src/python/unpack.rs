//! `LogRecord`s from a packed batch (the layout is `pylog_wire::packed`):
//! how `emit-packed` receives what `pylog emit` parsed on the host.

use pylog_wire::packed::{PackedArgs, PackedError, PackedReader, PackedRecord, PackedValue};

use crate::python::record::LogRecord;
use crate::python::value::{Args, Value};

/// Every record of a batch, or where the batch is malformed. `count` is
/// what the host says the buffers hold; more or fewer is an error.
pub fn unpack(text: &str, layout: &[u8], count: u32) -> Result<Vec<LogRecord>, PackedError> {
    Ok(PackedReader::records(text, layout, count)?.into_iter().map(LogRecord::from).collect())
}

impl From<PackedRecord<'_>> for LogRecord {
    fn from(r: PackedRecord) -> Self {
        let owned = |s: Option<&str>| s.map(str::to_string);
        LogRecord {
            name: r.name.to_string(),
            msg: r.msg.to_string(),
            args: r.args.map(|a| match a {
                PackedArgs::Positional(items) => Args::Tuple(items.into_iter().map(Value::from).collect()),
                PackedArgs::Mapping(items) => Args::Mapping(pairs(items)),
            }),
            levelname: r.levelname.to_string(),
            levelno: r.levelno,
            pathname: r.pathname.to_string(),
            filename: r.filename.to_string(),
            module: r.module.to_string(),
            exc_text: owned(r.exc_text),
            stack_info: owned(r.stack_info),
            lineno: r.lineno,
            func_name: owned(r.func_name),
            created: r.created,
            msecs: r.msecs,
            relative_created: r.relative_created,
            thread: r.thread,
            thread_name: owned(r.thread_name),
            process_name: owned(r.process_name),
            process: r.process,
            task_name: owned(r.task_name),
            extra: pairs(r.extra),
        }
    }
}

fn pairs(items: Vec<(&str, PackedValue)>) -> Vec<(String, Value)> {
    items.into_iter().map(|(k, v)| (k.to_string(), Value::from(v))).collect()
}

impl From<PackedValue<'_>> for Value {
    fn from(v: PackedValue) -> Self {
        match v {
            PackedValue::None => Value::None,
            PackedValue::Bool(b) => Value::Bool(b),
            PackedValue::Int(i) => Value::Int(i),
            PackedValue::Float(f) => Value::Float(f),
            PackedValue::Str(s) => Value::Str(s.to_string()),
            PackedValue::Bytes(b) => Value::Bytes(b.to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pylog_wire::packed::{args_kind, tag, PackedWriter};

    /// The packed form of `records`, as the host writes them
    /// (host/src/records/packed.rs, for the WIT type).
    fn pack<'a>(records: impl IntoIterator<Item = &'a LogRecord>) -> PackedWriter {
        let mut w = PackedWriter::default();
        for rec in records {
            w.str(&rec.name);
            w.str(&rec.msg);
            match &rec.args {
                None => w.u8(0),
                Some(Args::Tuple(items)) => {
                    w.u8(1);
                    w.u8(args_kind::POSITIONAL);
                    w.u32(items.len() as u32);
                    items.iter().for_each(|v| pack_value(&mut w, v));
                }
                Some(Args::Mapping(items)) => {
                    w.u8(1);
                    w.u8(args_kind::MAPPING);
                    pack_pairs(&mut w, items);
                }
            }
            w.str(&rec.levelname);
            w.i64(rec.levelno);
            w.str(&rec.pathname);
            w.str(&rec.filename);
            w.str(&rec.module);
            w.opt_str(rec.exc_text.as_deref());
            w.opt_str(rec.stack_info.as_deref());
            w.i64(rec.lineno);
            w.opt_str(rec.func_name.as_deref());
            w.f64(rec.created);
            w.f64(rec.msecs);
            w.f64(rec.relative_created);
            w.opt_i64(rec.thread);
            w.opt_str(rec.thread_name.as_deref());
            w.opt_str(rec.process_name.as_deref());
            w.opt_i64(rec.process);
            w.opt_str(rec.task_name.as_deref());
            pack_pairs(&mut w, &rec.extra);
            w.end_record();
        }
        w
    }

    fn pack_pairs(w: &mut PackedWriter, items: &[(String, Value)]) {
        w.u32(items.len() as u32);
        for (k, v) in items {
            w.str(k);
            pack_value(w, v);
        }
    }

    fn pack_value(w: &mut PackedWriter, v: &Value) {
        match v {
            Value::None => w.u8(tag::NONE),
            Value::Bool(false) => w.u8(tag::FALSE),
            Value::Bool(true) => w.u8(tag::TRUE),
            Value::Int(i) => {
                w.u8(tag::INT);
                w.i64(*i);
            }
            Value::Float(f) => {
                w.u8(tag::FLOAT);
                w.f64(*f);
            }
            Value::Str(s) => {
                w.u8(tag::STR);
                w.str(s);
            }
            Value::Bytes(b) => {
                w.u8(tag::BYTES);
                w.bytes(b);
            }
        }
    }

    fn varied() -> Vec<LogRecord> {
        let mut a = LogRecord::new("app.x", 20, "hi %s %r", 1_700_000_000.25);
        a.args = Some(Args::Tuple(vec![
            Value::Str("é".into()),
            Value::Bytes(vec![0, 255]),
            Value::Float(f64::NAN),
            Value::Int(i64::MIN),
            Value::Bool(true),
            Value::None,
        ]));
        a.extra = vec![("user".into(), Value::Str("ann".into())), ("n".into(), Value::Bool(false))];
        a.exc_text = Some("Traceback\n".into());
        a.task_name = Some("t".into());
        let mut b = LogRecord::new("", 0, "", 0.0);
        b.args = Some(Args::Mapping(vec![("k".into(), Value::Float(-0.0))]));
        b.thread = None;
        b.func_name = None;
        vec![a, b]
    }

    #[test]
    fn records_survive_packing() {
        let records = varied();
        let w = pack(&records);
        let back = unpack(&w.text, &w.layout, w.count).unwrap();
        // NaN != NaN: compare the debug text, which shows every field.
        assert_eq!(format!("{back:?}"), format!("{records:?}"));
    }

    #[test]
    fn a_wrong_count_or_truncated_layout_is_an_error() {
        let w = pack(&varied());
        assert!(unpack(&w.text, &w.layout, w.count + 1).is_err());
        assert!(unpack(&w.text, &w.layout, w.count - 1).is_err());
        for cut in [1, 10, w.layout.len() / 2, w.layout.len() - 1] {
            assert!(unpack(&w.text, &w.layout[..cut], w.count).is_err());
        }
        assert!(unpack(&w.text, &w.layout, u32::MAX).is_err());
    }
}
