//! Records packed for `emit-packed` (the layout is `pylog_wire::packed`): a
//! batch crosses into the plugin as two buffers instead of about 25
//! guest allocations per record.

use pylog_wire::packed::{PackedValue, PackedWriter};

use crate::bindings::{Args, LogRecord, PackedRecords, Value};

/// `records`, packed in order.
pub fn pack<'a>(records: impl IntoIterator<Item = &'a LogRecord>) -> PackedRecords {
    let mut packed = PackedRecords { text: String::new(), layout: Vec::new(), count: 0 };
    pack_into(&mut packed, records);
    packed
}

/// `pack` into buffers kept from an earlier batch: a caller packing one
/// record per call (`Pure::make_pickle`) would otherwise grow two buffers
/// from empty each time, a dozen reallocations for a 700-byte record.
pub fn pack_into<'a>(packed: &mut PackedRecords, records: impl IntoIterator<Item = &'a LogRecord>) {
    let mut text = std::mem::take(&mut packed.text);
    let mut layout = std::mem::take(&mut packed.layout);
    text.clear();
    layout.clear();
    let mut w = PackedWriter { text, layout, count: 0 };
    for rec in records {
        record(&mut w, rec);
    }
    *packed = PackedRecords { text: w.text, layout: w.layout, count: w.count };
}

fn record(w: &mut PackedWriter, rec: &LogRecord) {
    w.str(&rec.name);
    w.str(&rec.msg);
    match &rec.args {
        None => w.no_args(),
        Some(Args::Positional(items)) => w.positional_args(items.iter().map(view)),
        Some(Args::Mapping(items)) => w.mapping_args(items.iter().map(pair)),
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
    w.pairs(rec.extra.iter().map(pair));
    w.end_record();
}

fn pair((key, value): &(String, Value)) -> (&str, PackedValue<'_>) {
    (key, view(value))
}

fn view(v: &Value) -> PackedValue<'_> {
    match v {
        Value::None => PackedValue::None,
        Value::Boolean(b) => PackedValue::Bool(*b),
        Value::Int(i) => PackedValue::Int(*i),
        Value::Float(f) => PackedValue::Float(*f),
        Value::Str(s) => PackedValue::Str(s),
        Value::Bytes(b) => PackedValue::Bytes(b),
    }
}
