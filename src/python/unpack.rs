//! `LogRecord`s from a packed batch (the layout is `pylog_wire::packed`):
//! how `emit-packed` receives what `pylog emit` parsed on the host.
//!
//! The records are written into slots kept from batch to batch, so their
//! strings reuse the memory of the last batch's: allocating and freeing
//! some 20 strings per record was two fifths of the plugin's time.

use pylog_wire::packed::{PackedArgs, PackedError, PackedItems, PackedReader, PackedRecord, PackedValue};

use crate::python::record::LogRecord;
use crate::python::value::{Args, Value};

/// A record whose text is larger than this is not kept as a slot after
/// its batch: one huge record must not pin its memory for the whole run.
const KEPT_SLOT_BYTES: usize = 64 << 10;

/// Records reused from batch to batch.
#[derive(Default)]
pub struct Slots {
    records: Vec<LogRecord>,
    /// Slots to let go of once their batch is done.
    heavy: Vec<usize>,
}

impl Slots {
    /// The records of a batch, or where the batch is malformed. `count` is
    /// what the host says the buffers hold; more or fewer is an error.
    pub fn unpack(&mut self, text: &str, layout: &[u8], count: u32) -> Result<&[LogRecord], PackedError> {
        self.release_heavy();
        let mut r = PackedReader::new(text, layout);
        let mut filled = 0;
        for _ in 0..count {
            let before = r.text_read();
            let packed = r.record()?;
            if filled == self.records.len() {
                self.records.push(LogRecord::new("", 0, "", 0.0));
            }
            fill(&mut self.records[filled], packed)?;
            if r.text_read() - before > KEPT_SLOT_BYTES {
                self.heavy.push(filled);
            }
            filled += 1;
        }
        r.check_finished()?;
        Ok(&self.records[..filled])
    }

    fn release_heavy(&mut self) {
        for i in self.heavy.drain(..) {
            if let Some(slot) = self.records.get_mut(i) {
                *slot = LogRecord::new("", 0, "", 0.0);
            }
        }
    }
}

fn fill(slot: &mut LogRecord, r: PackedRecord) -> Result<(), PackedError> {
    set(&mut slot.name, r.name);
    set(&mut slot.msg, r.msg);
    match r.args {
        None => slot.args = None,
        Some(PackedArgs::Positional(items)) => {
            if !matches!(slot.args, Some(Args::Tuple(_))) {
                slot.args = Some(Args::Tuple(Vec::new()));
            }
            if let Some(Args::Tuple(values)) = &mut slot.args {
                values.truncate(items.len());
                for (i, item) in items.enumerate() {
                    let (_, v) = item?;
                    match values.get_mut(i) {
                        Some(slot) => set_value(slot, v),
                        None => values.push(Value::from(v)),
                    }
                }
            }
        }
        Some(PackedArgs::Mapping(items)) => {
            if !matches!(slot.args, Some(Args::Mapping(_))) {
                slot.args = Some(Args::Mapping(Vec::new()));
            }
            if let Some(Args::Mapping(pairs)) = &mut slot.args {
                fill_pairs(pairs, items)?;
            }
        }
    }
    set(&mut slot.levelname, r.levelname);
    slot.levelno = r.levelno;
    set(&mut slot.pathname, r.pathname);
    set(&mut slot.filename, r.filename);
    set(&mut slot.module, r.module);
    set_opt(&mut slot.exc_text, r.exc_text);
    set_opt(&mut slot.stack_info, r.stack_info);
    slot.lineno = r.lineno;
    set_opt(&mut slot.func_name, r.func_name);
    slot.created = r.created;
    slot.msecs = r.msecs;
    slot.relative_created = r.relative_created;
    slot.thread = r.thread;
    set_opt(&mut slot.thread_name, r.thread_name);
    set_opt(&mut slot.process_name, r.process_name);
    slot.process = r.process;
    set_opt(&mut slot.task_name, r.task_name);
    fill_pairs(&mut slot.extra, r.extra)
}

fn set(slot: &mut String, s: &str) {
    slot.clear();
    slot.push_str(s);
}

fn set_opt(slot: &mut Option<String>, s: Option<&str>) {
    match (slot.as_mut(), s) {
        (Some(kept), Some(s)) => set(kept, s),
        (None, Some(s)) => *slot = Some(s.to_string()),
        (_, None) => *slot = None,
    }
}

fn set_value(slot: &mut Value, v: PackedValue) {
    match (slot, v) {
        (Value::Str(kept), PackedValue::Str(s)) => set(kept, s),
        (slot, v) => *slot = Value::from(v),
    }
}

fn fill_pairs(pairs: &mut Vec<(String, Value)>, items: PackedItems) -> Result<(), PackedError> {
    pairs.truncate(items.len());
    for (i, item) in items.enumerate() {
        let (k, v) = item?;
        match pairs.get_mut(i) {
            Some((key, value)) => {
                set(key, k);
                set_value(value, v);
            }
            None => pairs.push((k.to_string(), Value::from(v))),
        }
    }
    Ok(())
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
    use pylog_wire::packed::PackedWriter;

    /// Every record of a batch, as new records.
    fn unpack(text: &str, layout: &[u8], count: u32) -> Result<Vec<LogRecord>, PackedError> {
        Slots::default().unpack(text, layout, count).map(<[LogRecord]>::to_vec)
    }

    /// The packed form of `records`, as the host writes them
    /// (host/src/records/packed.rs, for the WIT type).
    fn pack<'a>(records: impl IntoIterator<Item = &'a LogRecord>) -> PackedWriter {
        let mut w = PackedWriter::default();
        for rec in records {
            w.str(&rec.name);
            w.str(&rec.msg);
            match &rec.args {
                None => w.no_args(),
                Some(Args::Tuple(items)) => w.positional_args(items.iter().map(view)),
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
        w
    }

    fn pair((key, value): &(String, Value)) -> (&str, PackedValue<'_>) {
        (key, view(value))
    }

    fn view(v: &Value) -> PackedValue<'_> {
        match v {
            Value::None => PackedValue::None,
            Value::Bool(b) => PackedValue::Bool(*b),
            Value::Int(i) => PackedValue::Int(*i),
            Value::Float(f) => PackedValue::Float(*f),
            Value::Str(s) => PackedValue::Str(s),
            Value::Bytes(b) => PackedValue::Bytes(b),
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
    fn reused_slots_hold_exactly_the_new_batch() {
        let mut records = varied();
        let mut slots = Slots::default();
        let w = pack(&records);
        slots.unpack(&w.text, &w.layout, w.count).unwrap();
        // The second batch has other shapes in the same slots: fewer args,
        // args of another kind, no extras, a huge message.
        records.swap(0, 1);
        records[1].extra.clear();
        records[1].args = Some(Args::Tuple(vec![Value::Str("x".into())]));
        records[0].msg = "m".repeat(KEPT_SLOT_BYTES + 1);
        let w = pack(&records);
        let back = slots.unpack(&w.text, &w.layout, w.count).unwrap();
        assert_eq!(format!("{back:?}"), format!("{records:?}"));
        assert_eq!(slots.heavy, vec![0]);
        let w = pack(&records[1..]);
        let back = slots.unpack(&w.text, &w.layout, w.count).unwrap();
        assert_eq!(format!("{back:?}"), format!("{:?}", &records[1..]));
        assert!(slots.heavy.is_empty() && slots.records[0].msg.capacity() < KEPT_SLOT_BYTES);
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
