//! The Python values a record carries (`args`, `extra`): a leaf module, so
//! that formatting (`percent`, `repr`) and the record can both use them.

/// A scalar Python value as it crosses the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
}

impl Value {
    /// The bytes of its text, for sizing buffers (0 for a number).
    pub fn text_len(&self) -> usize {
        match self {
            Value::Str(s) => s.len(),
            Value::Bytes(b) => b.len(),
            _ => 0,
        }
    }
}

/// `LogRecord.args`: a tuple, or the single mapping CPython unwraps from
/// `args=({...},)` so that `%(key)s` works.
#[derive(Debug, Clone, PartialEq)]
pub enum Args {
    Tuple(Vec<Value>),
    Mapping(Vec<(String, Value)>),
}

impl Args {
    /// Python truthiness: `getMessage` formats only when `self.args` is truthy.
    pub fn is_truthy(&self) -> bool {
        match self {
            Args::Tuple(items) => !items.is_empty(),
            Args::Mapping(items) => !items.is_empty(),
        }
    }
}
