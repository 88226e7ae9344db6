//! Records packed for `emit-packed` (the layout is `pylog_wire::packed`): a
//! batch crosses into the plugin as two buffers instead of about 25
//! guest allocations per record.

use pylog_wire::packed::{args_kind, tag, PackedWriter};

use crate::bindings::{Args, LogRecord, PackedRecords, Value};

/// `records`, packed in order.
pub fn pack<'a>(records: impl IntoIterator<Item = &'a LogRecord>) -> PackedRecords {
    let mut w = PackedWriter::default();
    for rec in records {
        record(&mut w, rec);
    }
    PackedRecords { text: w.text, layout: w.layout, count: w.count }
}

fn record(w: &mut PackedWriter, rec: &LogRecord) {
    w.str(&rec.name);
    w.str(&rec.msg);
    match &rec.args {
        None => w.u8(0),
        Some(Args::Positional(items)) => {
            w.u8(1);
            w.u8(args_kind::POSITIONAL);
            w.u32(items.len() as u32);
            items.iter().for_each(|v| value(w, v));
        }
        Some(Args::Mapping(items)) => {
            w.u8(1);
            w.u8(args_kind::MAPPING);
            pairs(w, items);
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
    pairs(w, &rec.extra);
    w.end_record();
}

fn pairs(w: &mut PackedWriter, items: &[(String, Value)]) {
    w.u32(items.len() as u32);
    for (k, v) in items {
        w.str(k);
        value(w, v);
    }
}

fn value(w: &mut PackedWriter, v: &Value) {
    match v {
        Value::None => w.u8(tag::NONE),
        Value::Boolean(false) => w.u8(tag::FALSE),
        Value::Boolean(true) => w.u8(tag::TRUE),
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
