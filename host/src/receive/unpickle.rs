//! Received pickles to JSON records, without ever running code.
//!
//! serde-pickle interprets the opcodes itself and resolves only a fixed set
//! of harmless globals (set, frozenset, bytes via `_codecs.encode`, which
//! CPython's protocol 1 and 2 pickles use for bytes); any other global, such
//! as `os.system`, is an error. This is the defence CPython's docs ask
//! receivers for, built in rather than opt-in.

use serde_json::{Map, Value as Json};
use serde_pickle::{DeOptions, HashableValue, Value};

/// Why a frame was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The pickle names a global (a callable) that is not plain data.
    Global,
    /// The opcode scan found code or object construction; the text says which.
    Code(String),
    Malformed(String),
    NotARecord(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Global => write!(
                f,
                "the pickle asks for a global or a reduce (code to run); refused, pickles from the network never run code"
            ),
            Refusal::Code(e) => write!(f, "{e}"),
            Refusal::Malformed(e) => write!(f, "not a valid pickle: {e}"),
            Refusal::NotARecord(e) => write!(f, "not a LogRecord dict: {e}"),
        }
    }
}

/// One pickle payload (without the 4-byte prefix) to a record.
pub fn record_from_pickle(payload: &[u8]) -> Result<Map<String, Json>, Refusal> {
    crate::receive::pickle_scan::scan(payload).map_err(|e| match e {
        crate::receive::pickle_scan::ScanError::Malformed(m) => Refusal::Malformed(m),
        refused => Refusal::Code(refused.to_string()),
    })?;
    // Defence in depth: a decoder panic on input nobody foresaw is one
    // refused frame, not a lost connection thread.
    let decoded = std::panic::catch_unwind(|| serde_pickle::value_from_slice(payload, DeOptions::new()))
        .map_err(|_| Refusal::Malformed("the decoder could not handle this pickle".into()))?;
    let value = decoded.map_err(|e| {
        let text = e.to_string();
        if text.contains("global") {
            Refusal::Global
        } else {
            Refusal::Malformed(text)
        }
    })?;
    let Value::Dict(dict) = value else {
        return Err(Refusal::NotARecord(format!("top level is {}", kind(&value))));
    };
    let mut pairs: Vec<(String, Json)> = Vec::with_capacity(dict.len());
    for (k, v) in dict {
        let HashableValue::String(key) = k else {
            return Err(Refusal::NotARecord("a key is not a string".into()));
        };
        pairs.push((key, to_json(v)));
    }
    // CPython's attribute order first, so a person reading the JSON sees the
    // familiar layout; extras after, by name.
    let rank = crate::records::attribute_rank;
    pairs.sort_by(|a, b| rank(&a.0).cmp(&rank(&b.0)).then_with(|| a.0.cmp(&b.0)));
    if !pairs.iter().any(|(k, _)| k == "msg") {
        return Err(Refusal::NotARecord("it has no \"msg\"".into()));
    }
    Ok(pairs.into_iter().collect())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::None => "None",
        Value::Bool(_) => "bool",
        Value::I64(_) | Value::Int(_) => "int",
        Value::F64(_) => "float",
        Value::Bytes(_) => "bytes",
        Value::String(_) => "str",
        Value::List(_) => "list",
        Value::Tuple(_) => "tuple",
        Value::Set(_) | Value::FrozenSet(_) => "set",
        Value::Dict(_) => "dict",
    }
}

fn hashable_to_json(v: HashableValue) -> Json {
    to_json(v.into_value())
}

fn to_json(v: Value) -> Json {
    match v {
        Value::None => Json::Null,
        Value::Bool(b) => Json::Bool(b),
        Value::I64(i) => Json::from(i),
        // Beyond 64 bits: keep every digit, as a string.
        Value::Int(i) => Json::String(i.to_string()),
        Value::F64(f) if f.is_finite() => Json::from(f),
        Value::F64(f) => {
            serde_json::json!({"$float": if f.is_nan() { "nan" } else if f > 0.0 { "inf" } else { "-inf" }})
        }
        Value::Bytes(b) => {
            serde_json::json!({"$bytes": b.iter().map(|x| format!("{x:02x}")).collect::<String>()})
        }
        Value::String(s) => Json::String(s),
        Value::List(items) | Value::Tuple(items) => Json::Array(items.into_iter().map(to_json).collect()),
        Value::Set(items) | Value::FrozenSet(items) => Json::Array(items.into_iter().map(hashable_to_json).collect()),
        Value::Dict(d) => Json::Object(
            d.into_iter()
                .map(|(k, v)| {
                    let key = match hashable_to_json(k) {
                        Json::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_globals_and_non_records() {
        // pickle.dumps of a class whose __reduce__ returns (os.system, ("true",)), protocol 0.
        let evil = b"cposix\nsystem\np0\n(Vtrue\np1\ntp2\nRp3\n.";
        assert!(matches!(record_from_pickle(evil), Err(Refusal::Code(m)) if m.contains("posix.system")));
        assert!(matches!(record_from_pickle(b"I1\n."), Err(Refusal::NotARecord(_))));
        assert!(matches!(record_from_pickle(b"\x80\x03}q"), Err(Refusal::Malformed(_))));
    }
}
