//! Python's printf-style `%` formatting, as `LogRecord.getMessage` (`msg %
//! args`) and `Formatter` (`fmt % record.__dict__`) use it.
//!
//! Errors carry CPython's own wording so that a user who knows the Python
//! traceback recognises the mistake.
//!
//! One concept, over 400 lines: `%`-formatting (`str % args`) for every
//! conversion CPython supports, with its error messages.

use crate::error::{Error, Result};
use crate::python::repr::{py_repr, py_str};
use crate::python::value::{Args, Value};

/// Where conversion specifiers take their values from.
pub trait ArgSource {
    /// The next positional argument, or None when they are used up.
    fn next_positional(&mut self) -> Result<Option<Value>>;
    /// The value for `%(key)s`.
    fn by_key(&mut self, key: &str) -> Result<Value>;
    /// CPython's "not all arguments converted" check after the last spec.
    fn finish(&mut self) -> Result<()>;
}

/// `msg % args` for a record's args.
pub fn format(fmt: &str, args: &Args) -> Result<String> {
    match args {
        Args::Tuple(items) => format_with(fmt, &mut TupleArgs { items, next: 0 }),
        Args::Mapping(items) => format_with(fmt, &mut MappingArgs { items, used_whole: false }),
    }
}

struct TupleArgs<'a> {
    items: &'a [Value],
    next: usize,
}

impl ArgSource for TupleArgs<'_> {
    fn next_positional(&mut self) -> Result<Option<Value>> {
        let v = self.items.get(self.next).cloned();
        self.next += 1;
        Ok(v)
    }
    fn by_key(&mut self, _key: &str) -> Result<Value> {
        Err(type_error("format requires a mapping"))
    }
    fn finish(&mut self) -> Result<()> {
        if self.next < self.items.len() {
            return Err(type_error("not all arguments converted during string formatting"));
        }
        Ok(())
    }
}

struct MappingArgs<'a> {
    items: &'a [(String, Value)],
    used_whole: bool,
}

impl ArgSource for MappingArgs<'_> {
    /// Python formats the mapping itself when a spec has no key.
    fn next_positional(&mut self) -> Result<Option<Value>> {
        if self.used_whole {
            return Ok(None);
        }
        self.used_whole = true;
        let mut s = String::new();
        crate::python::repr::dict_repr(self.items, &mut s);
        Ok(Some(Value::Str(s)))
    }
    /// CPython replaces its argument with the looked-up value, so after a
    /// keyed spec the mapping itself is no longer there for a `%s`.
    fn by_key(&mut self, key: &str) -> Result<Value> {
        self.used_whole = true;
        self.items.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone()).ok_or_else(|| key_error(key))
    }
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

pub fn type_error(msg: &str) -> Error {
    Error::BadRecord(format!("TypeError: {msg}"))
}

fn value_error(msg: &str) -> Error {
    Error::BadRecord(format!("ValueError: {msg}"))
}

pub fn key_error(key: &str) -> Error {
    let mut r = String::new();
    py_repr(&Value::Str(key.to_string()), &mut r);
    Error::BadRecord(format!("KeyError: {r} (the format names a key the record does not have)"))
}

#[derive(Default, Clone, Copy)]
struct Spec {
    alternate: bool,
    zero: bool,
    left: bool,
    plus: bool,
    space: bool,
    width: usize,
    precision: Option<usize>,
}

impl Spec {
    /// No flag, width or precision: `%s`, `%d`.
    fn is_plain(&self) -> bool {
        let Spec { alternate, zero, left, plus, space, width, precision } = *self;
        !(alternate || zero || left || plus || space) && width == 0 && precision.is_none()
    }
}

/// Formats `fmt` taking values from `source`. The format is scanned as
/// bytes (every character it acts on is ASCII), and literal runs are copied
/// whole.
pub fn format_with(fmt: &str, source: &mut dyn ArgSource) -> Result<String> {
    let mut out = String::with_capacity(fmt.len() + 16);
    let bytes = fmt.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let Some(percent) = fmt[i..].find('%') else {
            out.push_str(&fmt[i..]);
            break;
        };
        out.push_str(&fmt[i..i + percent]);
        i += percent + 1;
        let mut key: Option<&str> = None;
        if bytes.get(i) == Some(&b'(') {
            // Python allows nested parentheses inside the key.
            let mut depth = 1;
            let start = i + 1;
            i += 1;
            while i < bytes.len() && depth > 0 {
                match bytes[i] {
                    b'(' => depth += 1,
                    b')' => depth -= 1,
                    _ => {}
                }
                i += 1;
            }
            if depth > 0 {
                return Err(value_error("incomplete format key"));
            }
            key = Some(&fmt[start..i - 1]);
        }
        let mut spec = Spec::default();
        while let Some(&f) = bytes.get(i) {
            match f {
                b'#' => spec.alternate = true,
                b'0' => spec.zero = true,
                b'-' => spec.left = true,
                b'+' => spec.plus = true,
                b' ' => spec.space = true,
                _ => break,
            }
            i += 1;
        }
        if bytes.get(i) == Some(&b'*') {
            i += 1;
            let w = star_arg(source)?;
            if w < 0 {
                spec.left = true;
            }
            spec.width = w.unsigned_abs() as usize;
        } else {
            spec.width = read_number(bytes, &mut i)?;
        }
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            if bytes.get(i) == Some(&b'*') {
                i += 1;
                spec.precision = Some(star_arg(source)?.max(0) as usize);
            } else {
                spec.precision = Some(read_number(bytes, &mut i)?);
            }
        }
        while matches!(bytes.get(i), Some(b'h' | b'l' | b'L')) {
            i += 1;
        }
        let Some(conv) = fmt[i..].chars().next() else {
            return Err(value_error("incomplete format"));
        };
        let at = i;
        i += conv.len_utf8();
        if conv == '%' {
            // '%%' never consumes an argument, even with a width.
            out.push('%');
            continue;
        }
        if !matches!(
            conv,
            's' | 'r' | 'a' | 'b' | 'd' | 'i' | 'u' | 'o' | 'x' | 'X' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 'c'
        ) {
            // Python counts the index in characters.
            return Err(value_error(&format!(
                "unsupported format character '{}' (0x{:x}) at index {}",
                conv,
                conv as u32,
                fmt[..at].chars().count()
            )));
        }
        let value = match key {
            Some(k) => source.by_key(k)?,
            None => source.next_positional()?.ok_or_else(|| type_error("not enough arguments for format string"))?,
        };
        convert(conv, &spec, &value, &mut out)?;
    }
    source.finish()?;
    Ok(out)
}

fn read_number(bytes: &[u8], i: &mut usize) -> Result<usize> {
    decimal(bytes, i).ok_or_else(|| value_error("width or precision too big"))
}

/// The decimal digits at `items[*i..]` (characters or ASCII bytes) as a
/// number (0 for none), moving `*i` past them; `None` beyond 2^20, more
/// than any width or precision a format needs (`%` and `{` styles each
/// word that error their own way).
pub(crate) fn decimal<T: Copy + Into<char>>(items: &[T], i: &mut usize) -> Option<usize> {
    let mut n: usize = 0;
    while let Some(d) = items.get(*i).and_then(|&c| c.into().to_digit(10)) {
        n = n.checked_mul(10).and_then(|n| n.checked_add(d as usize)).filter(|n| *n <= 1 << 20)?;
        *i += 1;
    }
    Some(n)
}

fn star_arg(source: &mut dyn ArgSource) -> Result<i64> {
    match source.next_positional()? {
        Some(Value::Int(n)) if n.unsigned_abs() <= 1 << 20 => Ok(n),
        Some(Value::Bool(b)) => Ok(b as i64),
        Some(Value::Int(_)) => Err(value_error("width or precision too big")),
        Some(_) => Err(type_error("* wants int")),
        None => Err(type_error("not enough arguments for format string")),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::None => "NoneType",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::Str(_) => "str",
        Value::Bytes(_) => "bytes",
    }
}

fn convert(conv: char, spec: &Spec, value: &Value, out: &mut String) -> Result<()> {
    // The common cases, `%s` of anything and `%d` of an int with no flags,
    // width or precision, are written straight into `out`: the general
    // path below builds each conversion in a string of its own first.
    if spec.is_plain() {
        match (conv, value) {
            ('s', v) => {
                py_str(v, out);
                return Ok(());
            }
            ('d' | 'i' | 'u', Value::Int(n)) => {
                use std::fmt::Write;
                let _ = write!(out, "{n}");
                return Ok(());
            }
            _ => {}
        }
    }
    match conv {
        's' | 'r' | 'a' => {
            let mut s = String::new();
            match conv {
                's' => py_str(value, &mut s),
                'r' => py_repr(value, &mut s),
                _ => {
                    py_repr(value, &mut s);
                    s = ascii_escape(&s);
                }
            }
            if let Some(p) = spec.precision {
                if let Some((idx, _)) = s.char_indices().nth(p) {
                    s.truncate(idx);
                }
            }
            pad(out, "", &s, spec, false);
        }
        'c' => {
            let s = match value {
                Value::Int(n) => char::from_u32(u32::try_from(*n).unwrap_or(u32::MAX))
                    .ok_or_else(|| Error::BadRecord("OverflowError: %c arg not in range(0x110000)".into()))?
                    .to_string(),
                Value::Bool(b) => char::from(*b as u8).to_string(),
                Value::Str(s) if s.chars().count() == 1 => s.clone(),
                _ => return Err(type_error("%c requires int or char")),
            };
            pad(out, "", &s, spec, false);
        }
        'd' | 'i' | 'u' | 'o' | 'x' | 'X' => {
            let n: i128 = match value {
                Value::Int(n) => *n as i128,
                Value::Bool(b) => *b as i128,
                Value::Float(f) if matches!(conv, 'd' | 'i' | 'u') => {
                    if f.is_nan() {
                        return Err(value_error("cannot convert float NaN to integer"));
                    }
                    if f.is_infinite() {
                        return Err(Error::BadRecord("OverflowError: cannot convert float infinity to integer".into()));
                    }
                    if f.abs() >= 1e38 {
                        return Err(Error::Unsupported("%d of a float beyond 1e38 is not implemented".into()));
                    }
                    f.trunc() as i128
                }
                other if matches!(conv, 'd' | 'i' | 'u') => {
                    return Err(type_error(&format!(
                        "%{conv} format: a real number is required, not {}",
                        type_name(other)
                    )))
                }
                other => {
                    return Err(type_error(&format!(
                        "%{conv} format: an integer is required, not {}",
                        type_name(other)
                    )))
                }
            };
            let mut digits = match conv {
                'o' => format!("{:o}", n.unsigned_abs()),
                'x' => format!("{:x}", n.unsigned_abs()),
                'X' => format!("{:X}", n.unsigned_abs()),
                _ => n.unsigned_abs().to_string(),
            };
            if let Some(p) = spec.precision {
                while digits.len() < p {
                    digits.insert(0, '0');
                }
            }
            let mut prefix = sign_prefix(n < 0, spec).to_string();
            if spec.alternate {
                prefix.push_str(match conv {
                    'o' => "0o",
                    'x' => "0x",
                    'X' => "0X",
                    _ => "",
                });
            }
            pad(out, &prefix, &digits, spec, true);
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
            let f = match value {
                Value::Float(f) => *f,
                Value::Int(n) => *n as f64,
                Value::Bool(b) => *b as i64 as f64,
                other => return Err(type_error(&format!("must be real number, not {}", type_name(other)))),
            };
            let upper = conv.is_ascii_uppercase();
            let prefix = sign_prefix(f.is_sign_negative() && !f.is_nan(), spec);
            if !f.is_finite() {
                let body = match (f.is_nan(), upper) {
                    (true, false) => "nan",
                    (true, true) => "NAN",
                    (false, false) => "inf",
                    (false, true) => "INF",
                };
                // CPython pads inf and nan with spaces even under the 0 flag.
                let spec = Spec { zero: false, ..*spec };
                pad(out, prefix, body, &spec, true);
                return Ok(());
            }
            let precision = spec.precision.unwrap_or(6);
            let body = match conv.to_ascii_lowercase() {
                'f' => format!("{:.*}", precision, f.abs()),
                'e' => exp_form(f.abs(), precision),
                _ => general_form(f.abs(), precision, spec.alternate),
            };
            let mut body = if upper { body.to_uppercase() } else { body };
            if spec.alternate && !body.contains('.') {
                // '#' keeps the decimal point even with no digits after it.
                match body.find(['e', 'E']) {
                    Some(pos) => body.insert(pos, '.'),
                    None => body.push('.'),
                }
            }
            pad(out, prefix, &body, spec, true);
        }
        _ => unreachable_conversion(conv)?,
    }
    Ok(())
}

fn unreachable_conversion(conv: char) -> Result<()> {
    Err(value_error(&format!("unsupported format character '{conv}'")))
}

fn sign_prefix(negative: bool, spec: &Spec) -> &'static str {
    if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

/// `%e`: Rust writes `1.5e3`; Python writes `1.500000e+03`.
pub(crate) fn exp_form(f: f64, precision: usize) -> String {
    let s = format!("{:.*e}", precision, f);
    let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.unsigned_abs())
}

/// `%g`: positional when the rounded exponent is in -4..precision, else
/// exponential; trailing zeros go unless `#`.
pub(crate) fn general_form(f: f64, precision: usize, alternate: bool) -> String {
    let p = precision.max(1);
    let rounded = format!("{:.*e}", p - 1, f);
    let exp: i32 = rounded.split_once('e').map_or(0, |(_, e)| e.parse().unwrap_or(0));
    let mut s = if exp >= -4 && (exp as i64) < p as i64 {
        format!("{:.*}", (p as i64 - 1 - exp as i64).max(0) as usize, f)
    } else {
        exp_form(f, p - 1)
    };
    if !alternate {
        let (num, tail) = match s.find('e') {
            Some(pos) => (s[..pos].to_string(), s[pos..].to_string()),
            None => (s.clone(), String::new()),
        };
        let num = if num.contains('.') { num.trim_end_matches('0').trim_end_matches('.').to_string() } else { num };
        s = num + &tail;
    }
    s
}

pub(crate) fn ascii_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let n = c as u32;
        if n < 0x80 {
            out.push(c);
        } else if n < 0x100 {
            out.push_str(&format!("\\x{n:02x}"));
        } else if n < 0x10000 {
            out.push_str(&format!("\\u{n:04x}"));
        } else {
            out.push_str(&format!("\\U{n:08x}"));
        }
    }
    out
}

/// Applies width: left-aligned with '-', zero-filled after the sign for
/// numbers under '0', right-aligned with spaces otherwise.
fn pad(out: &mut String, prefix: &str, body: &str, spec: &Spec, numeric: bool) {
    if spec.width == 0 {
        out.push_str(prefix);
        out.push_str(body);
        return;
    }
    let len = prefix.chars().count() + body.chars().count();
    let fill = spec.width.saturating_sub(len);
    if spec.left {
        out.push_str(prefix);
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && numeric {
        out.push_str(prefix);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(body);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(prefix);
        out.push_str(body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(f: &str, args: Vec<Value>) -> Result<String> {
        format(f, &Args::Tuple(args))
    }

    #[test]
    fn conversions_match_python() {
        use Value::*;
        let cases: Vec<(&str, Vec<Value>, &str)> = vec![
            ("%s %d %i %r", vec![Str("a".into()), Int(-5), Float(3.9), Str("q".into())], "a -5 3 'q'"),
            ("%5.2f|%-6x|%#o|%+d|% d", vec![Float(2.71), Int(255), Int(8), Int(3), Int(4)], " 2.71|ff    |0o10|+3| 4"),
            (
                "%05d|%.3d|%e|%g|%g|%G",
                vec![Int(-42), Int(7), Float(1234.5), Float(0.00001234), Float(1e20), Float(1.5)],
                "-0042|007|1.234500e+03|1.234e-05|1e+20|1.5",
            ),
            ("%s %s %s %%", vec![None, Bool(true), Float(1e16)], "None True 1e+16 %"),
            ("%c%c|%.2s|%*d", vec![Int(65), Str("é".into()), Str("héllo".into()), Int(4), Int(7)], "Aé|hé|   7"),
            ("%05f|%a", vec![Float(f64::INFINITY), Str("é".into())], "  inf|'\\xe9'"),
        ];
        for (f, args, want) in cases {
            assert_eq!(fmt(f, args).unwrap(), want, "{f}");
        }
    }

    #[test]
    fn errors_use_cpython_wording() {
        let e = fmt("%s %s", vec![Value::Int(1)]).unwrap_err();
        assert!(e.to_string().contains("not enough arguments"), "{e}");
        let e = fmt("%s", vec![Value::Int(1), Value::Int(2)]).unwrap_err();
        assert!(e.to_string().contains("not all arguments converted"), "{e}");
        let e = fmt("%d", vec![Value::Str("x".into())]).unwrap_err();
        assert!(e.to_string().contains("real number is required, not str"), "{e}");
        let e = fmt("%q", vec![Value::Int(1)]).unwrap_err();
        assert!(e.to_string().contains("unsupported format character 'q' (0x71) at index 1"), "{e}");
        let e = fmt("abc %", vec![Value::Int(1)]).unwrap_err();
        assert!(e.to_string().contains("incomplete format"), "{e}");
    }

    #[test]
    fn mapping_args_format_by_key() {
        let args = Args::Mapping(vec![("user".into(), Value::Str("ann".into())), ("n".into(), Value::Int(3))]);
        assert_eq!(format("%(user)s has %(n)03d", &args).unwrap(), "ann has 003");
        assert!(format("%(missing)s", &args).unwrap_err().to_string().contains("KeyError: 'missing'"));
        assert_eq!(format("%s", &args).unwrap(), "{'user': 'ann', 'n': 3}");
        assert!(format("%(n)s %s", &args).unwrap_err().to_string().contains("not enough arguments"));
    }
}
