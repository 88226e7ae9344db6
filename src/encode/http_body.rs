//! `HTTPHandler`'s request data: `urllib.parse.urlencode(record.__dict__)`.
//!
//! `mapLogRecord` returns the raw `__dict__`, so `msg` is the unmerged format
//! string, `args` is `str(args)` and `exc_info` is "None" (a traceback cannot
//! cross here; senders put it in `exc_text`). Each value is `str()`'d and
//! quoted with `quote_plus`, keys in the record's own order.

use crate::python::record::{Args, LogRecord, Value};
use crate::python::repr::{dict_repr, py_repr, py_str};

/// `urllib.parse.urlencode(mapLogRecord(record))`.
pub fn urlencoded_record(record: &LogRecord) -> String {
    let mut out = String::with_capacity(512);
    let mut value = String::new();
    let pair = |out: &mut String, key: &str, value: &str| {
        if !out.is_empty() {
            out.push('&');
        }
        quote_plus(key, out);
        out.push('=');
        quote_plus(value, out);
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "None".into());
    let int = |v: Option<i64>| v.map_or_else(|| "None".into(), |n| n.to_string());
    let float = |f: f64| {
        let mut s = String::new();
        py_str(&Value::Float(f), &mut s);
        s
    };
    pair(&mut out, "name", &record.name);
    pair(&mut out, "msg", &record.msg);
    value.clear();
    args_str(&record.args, &mut value);
    pair(&mut out, "args", &value);
    pair(&mut out, "levelname", &record.levelname);
    pair(&mut out, "levelno", &record.levelno.to_string());
    pair(&mut out, "pathname", &record.pathname);
    pair(&mut out, "filename", &record.filename);
    pair(&mut out, "module", &record.module);
    pair(&mut out, "exc_info", "None");
    pair(&mut out, "exc_text", &text(&record.exc_text));
    pair(&mut out, "stack_info", &text(&record.stack_info));
    pair(&mut out, "lineno", &record.lineno.to_string());
    pair(&mut out, "funcName", &text(&record.func_name));
    pair(&mut out, "created", &float(record.created));
    pair(&mut out, "msecs", &float(record.msecs));
    pair(&mut out, "relativeCreated", &float(record.relative_created));
    pair(&mut out, "thread", &int(record.thread));
    pair(&mut out, "threadName", &text(&record.thread_name));
    pair(&mut out, "processName", &text(&record.process_name));
    pair(&mut out, "process", &int(record.process));
    pair(&mut out, "taskName", &text(&record.task_name));
    for (key, v) in &record.extra {
        value.clear();
        py_str(v, &mut value);
        pair(&mut out, key, &value);
    }
    out
}

/// `str(record.args)`: a tuple's repr, the mapping's repr, or None.
fn args_str(args: &Option<Args>, out: &mut String) {
    match args {
        None => out.push_str("None"),
        Some(Args::Mapping(items)) => dict_repr(items, out),
        Some(Args::Tuple(items)) => {
            out.push('(');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_repr(v, out);
            }
            if items.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
    }
}

/// `urllib.parse.quote_plus(s, safe='')` over UTF-8.
pub fn quote_plus(s: &str, out: &mut String) {
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_plus_matches_python() {
        // urllib.parse.quote_plus("a b/c&d=é~", safe='')
        let mut s = String::new();
        quote_plus("a b/c&d=é~", &mut s);
        assert_eq!(s, "a+b%2Fc%26d%3D%C3%A9~");
    }

    #[test]
    fn single_arg_tuple_has_trailing_comma() {
        let mut s = String::new();
        args_str(&Some(Args::Tuple(vec![Value::Int(1)])), &mut s);
        assert_eq!(s, "(1,)");
    }
}
