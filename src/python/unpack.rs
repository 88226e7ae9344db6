//! `LogRecord`s from a packed batch (the layout is `pylog_wire::packed`):
//! how `emit-packed` receives what `pylog emit` parsed on the host.

use pylog_wire::packed::{args_kind, tag, PackedError, PackedReader};

use crate::python::record::LogRecord;
use crate::python::value::{Args, Value};

/// Every record of a batch, or where the batch is malformed. `count` is
/// what the host says the buffers hold; more or fewer is an error.
pub fn unpack(text: &str, layout: &[u8], count: u32) -> Result<Vec<LogRecord>, PackedError> {
    let mut r = PackedReader::new(text, layout);
    // A record takes at least 60 bytes of layout: no count can allocate
    // more than the layout could describe.
    let mut records = Vec::with_capacity((count as usize).min(layout.len() / 60 + 1));
    for _ in 0..count {
        records.push(record(&mut r)?);
    }
    if !r.finished() {
        return Err(PackedError { at: layout.len(), what: "bytes left after the last record" });
    }
    Ok(records)
}

fn record(r: &mut PackedReader) -> Result<LogRecord, PackedError> {
    let owned = |s: Option<&str>| s.map(str::to_string);
    Ok(LogRecord {
        name: r.str()?.to_string(),
        msg: r.str()?.to_string(),
        args: if r.some()? { Some(args(r)?) } else { None },
        levelname: r.str()?.to_string(),
        levelno: r.i64()?,
        pathname: r.str()?.to_string(),
        filename: r.str()?.to_string(),
        module: r.str()?.to_string(),
        exc_text: owned(r.opt_str()?),
        stack_info: owned(r.opt_str()?),
        lineno: r.i64()?,
        func_name: owned(r.opt_str()?),
        created: r.f64()?,
        msecs: r.f64()?,
        relative_created: r.f64()?,
        thread: r.opt_i64()?,
        thread_name: owned(r.opt_str()?),
        process_name: owned(r.opt_str()?),
        process: r.opt_i64()?,
        task_name: owned(r.opt_str()?),
        extra: pairs(r)?,
    })
}

fn args(r: &mut PackedReader) -> Result<Args, PackedError> {
    match r.u8()? {
        args_kind::POSITIONAL => {
            let n = r.count(1)?;
            (0..n).map(|_| value(r)).collect::<Result<_, _>>().map(Args::Tuple)
        }
        args_kind::MAPPING => pairs(r).map(Args::Mapping),
        _ => r.fail_tag(),
    }
}

fn pairs(r: &mut PackedReader) -> Result<Vec<(String, Value)>, PackedError> {
    let n = r.count(5)?;
    (0..n).map(|_| Ok((r.str()?.to_string(), value(r)?))).collect()
}

fn value(r: &mut PackedReader) -> Result<Value, PackedError> {
    Ok(match r.u8()? {
        tag::NONE => Value::None,
        tag::FALSE => Value::Bool(false),
        tag::TRUE => Value::Bool(true),
        tag::INT => Value::Int(r.i64()?),
        tag::FLOAT => Value::Float(r.f64()?),
        tag::STR => Value::Str(r.str()?.to_string()),
        tag::BYTES => Value::Bytes(r.bytes()?.to_vec()),
        _ => return r.fail_tag(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pylog_wire::packed::PackedWriter;

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
