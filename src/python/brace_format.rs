//! `str.format` as `logging.Formatter(style='{')` uses it: fields named by
//! record attributes, with `!r`/`!s`/`!a` conversions and the format-spec
//! mini-language (`[[fill]align][sign][#][0][width][,|_][.precision][type]`)
//! for text, ints, bools and floats. Indexing (`{args[0]}`), attribute
//! access and nested fields in a spec are refused when the formatter is
//! made, as CPython's `StrFormatStyle.validate` refuses the first two.
//!
//! One concept, over 400 lines: `str.format`'s mini-language (fields,
//! conversions, specs) for the types a record carries.

use crate::error::{Error, Result};
use crate::python::percent;
use crate::python::repr::{float_repr, py_repr, py_str};
use crate::python::value::Value;

/// One piece of a parsed format.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Field { name: String, conversion: Option<char>, spec: String },
}

fn value_error(msg: &str) -> Error {
    Error::BadConfig(format!("ValueError: {msg}"))
}

/// Splits a `{`-style format into text and fields, as `string.Formatter.parse`.
pub fn parse(fmt: &str) -> Result<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '}' => return Err(value_error("Single '}' encountered in format string")),
            '{' => {
                let mut field = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some('{') => {
                            return Err(Error::Unsupported(format!(
                                "a nested field in {fmt:?} is not supported; write the width and precision as numbers"
                            )))
                        }
                        Some(c) => field.push(c),
                        None => return Err(value_error("expected '}' before end of string")),
                    }
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(field_piece(&field)?);
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

fn field_piece(field: &str) -> Result<Piece> {
    let (head, spec) = match field.find(':') {
        Some(i) => (&field[..i], &field[i + 1..]),
        None => (field, ""),
    };
    let (name, conversion) = match head.find('!') {
        Some(i) => {
            let conv = &head[i + 1..];
            let c = match conv {
                "r" | "s" | "a" => conv.chars().next(),
                _ => return Err(value_error(&format!("invalid conversion: {conv:?}"))),
            };
            (&head[..i], c)
        }
        None => (head, None),
    };
    let identifier = name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    if !identifier {
        return Err(value_error(&format!("invalid field name/expression: {name:?}")));
    }
    Spec::parse(spec)?;
    Ok(Piece::Field { name: name.to_string(), conversion, spec: spec.to_string() })
}

/// A parsed format spec.
#[derive(Debug, Default, Clone, PartialEq)]
struct Spec {
    fill: Option<char>,
    align: Option<char>,
    sign: Option<char>,
    alternate: bool,
    zero: bool,
    width: usize,
    grouping: Option<char>,
    precision: Option<usize>,
    kind: Option<char>,
}

impl Spec {
    fn parse(spec: &str) -> Result<Spec> {
        let chars: Vec<char> = spec.chars().collect();
        let mut s = Spec::default();
        let mut i = 0;
        let is_align = |c: char| "<>=^".contains(c);
        if chars.len() >= 2 && is_align(chars[1]) {
            s.fill = Some(chars[0]);
            s.align = Some(chars[1]);
            i = 2;
        } else if chars.first().is_some_and(|c| is_align(*c)) {
            s.align = Some(chars[0]);
            i = 1;
        }
        if let Some(&c) = chars.get(i).filter(|c| "+- ".contains(**c)) {
            s.sign = Some(c);
            i += 1;
        }
        if chars.get(i) == Some(&'#') {
            s.alternate = true;
            i += 1;
        }
        if chars.get(i) == Some(&'0') {
            s.zero = true;
            i += 1;
        }
        s.width = number(&chars, &mut i)?.unwrap_or(0);
        if let Some(&c) = chars.get(i).filter(|c| ",_".contains(**c)) {
            s.grouping = Some(c);
            i += 1;
        }
        if chars.get(i) == Some(&'.') {
            i += 1;
            s.precision =
                Some(number(&chars, &mut i)?.ok_or_else(|| value_error("Format specifier missing precision"))?);
        }
        if let Some(&c) = chars.get(i) {
            if !"bcdeEfFgGnosxX%".contains(c) {
                return Err(value_error(&format!("Invalid format specifier '{spec}'")));
            }
            s.kind = Some(c);
            i += 1;
        }
        if i != chars.len() {
            return Err(value_error(&format!("Invalid format specifier '{spec}'")));
        }
        Ok(s)
    }
}

/// A width or precision, `None` when no digit is there.
fn number(chars: &[char], i: &mut usize) -> Result<Option<usize>> {
    let start = *i;
    let n = percent::decimal(chars, i).ok_or_else(|| value_error("Too many decimal digits in format string"))?;
    Ok((*i > start).then_some(n))
}

/// `format(value, spec)` after the field's conversion, appended to `out`.
pub fn format_field(value: &Value, conversion: Option<char>, spec: &str, out: &mut String) -> Result<()> {
    let converted;
    let value = match conversion {
        Some(c) => {
            let mut s = String::new();
            match c {
                's' => py_str(value, &mut s),
                'r' => py_repr(value, &mut s),
                _ => {
                    py_repr(value, &mut s);
                    s = percent::ascii_escape(&s);
                }
            }
            converted = Value::Str(s);
            &converted
        }
        None => value,
    };
    let spec_text = spec;
    let spec = Spec::parse(spec)?;
    match value {
        Value::Str(s) => format_text(s, &spec, out),
        Value::Int(n) => format_int(i128::from(*n), &spec, out),
        // bool is an int: an empty spec prints True, any other formats 1.
        Value::Bool(b) if spec_text.is_empty() => {
            out.push_str(if *b { "True" } else { "False" });
            Ok(())
        }
        Value::Bool(b) => format_int(i128::from(*b), &spec, out),
        Value::Float(f) => format_float(*f, &spec, out),
        other if spec_text.is_empty() => {
            py_str(other, out);
            Ok(())
        }
        other => Err(Error::BadRecord(format!(
            "TypeError: unsupported format string passed to {}.__format__",
            match other {
                Value::None => "NoneType",
                _ => "bytes",
            }
        ))),
    }
}

fn format_text(s: &str, spec: &Spec, out: &mut String) -> Result<()> {
    if spec.sign.is_some() {
        return Err(bad_record("Sign not allowed in string format specifier"));
    }
    if spec.alternate {
        return Err(bad_record("Alternate form (#) not allowed in string format specifier"));
    }
    if let Some(g) = spec.grouping {
        return Err(bad_record(&format!("Cannot specify '{g}' with 's'.")));
    }
    if spec.align == Some('=') {
        return Err(bad_record("'=' alignment not allowed in string format specifier"));
    }
    if let Some(k) = spec.kind.filter(|k| *k != 's') {
        return Err(bad_record(&format!("Unknown format code '{k}' for object of type 'str'")));
    }
    let body: String = match spec.precision {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_string(),
    };
    let fill = spec.fill.unwrap_or(if spec.zero { '0' } else { ' ' });
    pad(out, "", &body, spec.width, fill, spec.align.unwrap_or('<'));
    Ok(())
}

fn bad_record(msg: &str) -> Error {
    Error::BadRecord(format!("ValueError: {msg}"))
}

/// Groups the digits of `digits` by `every` with `sep`.
fn group(digits: &str, sep: char, every: usize) -> String {
    let n = digits.len();
    let mut out = String::with_capacity(n + n / every);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(every) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

fn sign_of(negative: bool, spec: &Spec) -> &'static str {
    match (negative, spec.sign) {
        (true, _) => "-",
        (false, Some('+')) => "+",
        (false, Some(' ')) => " ",
        _ => "",
    }
}

fn format_int(n: i128, spec: &Spec, out: &mut String) -> Result<()> {
    let kind = spec.kind.unwrap_or('d');
    if "eEfFgG%".contains(kind) {
        return format_float(n as f64, spec, out);
    }
    if spec.precision.is_some() {
        return Err(bad_record("Precision not allowed in integer format specifier"));
    }
    if kind == 'c' {
        let c = u32::try_from(n)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| Error::BadRecord("OverflowError: %c arg not in range(0x110000)".into()))?;
        pad(out, "", &c.to_string(), spec.width, spec.fill.unwrap_or(' '), spec.align.unwrap_or('>'));
        return Ok(());
    }
    let magnitude = n.unsigned_abs();
    let (digits, prefix, every) = match kind {
        'b' => (format!("{magnitude:b}"), "0b", 4),
        'o' => (format!("{magnitude:o}"), "0o", 4),
        'x' => (format!("{magnitude:x}"), "0x", 4),
        'X' => (format!("{magnitude:X}"), "0X", 4),
        'd' | 'n' => (magnitude.to_string(), "", 3),
        other => return Err(bad_record(&format!("Unknown format code '{other}' for object of type 'int'"))),
    };
    let digits = match spec.grouping {
        Some(',') if kind != 'd' => return Err(bad_record(&format!("Cannot specify ',' with '{kind}'."))),
        Some(sep) => group(&digits, sep, every),
        None => digits,
    };
    let mut lead = sign_of(n < 0, spec).to_string();
    if spec.alternate {
        lead.push_str(prefix);
    }
    finish_number(out, &lead, &digits, spec);
    Ok(())
}

/// Pads a number: `0` means fill with zeros after the sign (`=`) unless an
/// alignment is given; numbers align right by default.
fn finish_number(out: &mut String, lead: &str, body: &str, spec: &Spec) {
    let (fill, align) = match (spec.fill, spec.align, spec.zero) {
        (fill, Some(align), _) => (fill.unwrap_or(' '), align),
        (None, None, true) => ('0', '='),
        (fill, None, _) => (fill.unwrap_or(' '), '>'),
    };
    pad(out, lead, body, spec.width, fill, align);
}

fn format_float(f: f64, spec: &Spec, out: &mut String) -> Result<()> {
    let kind = spec.kind.unwrap_or('\0');
    if let Some(k) = spec.kind.filter(|k| "bcdoxX".contains(*k)) {
        return Err(bad_record(&format!("Unknown format code '{k}' for object of type 'float'")));
    }
    let negative = f.is_sign_negative() && !f.is_nan();
    let a = f.abs();
    let upper = kind.is_ascii_uppercase();
    let body = if !a.is_finite() {
        let word = if a.is_nan() { "nan" } else { "inf" };
        let word = if upper { word.to_uppercase() } else { word.to_string() };
        if kind == '%' {
            word + "%"
        } else {
            word
        }
    } else {
        let p = spec.precision.unwrap_or(6);
        let mut body = match kind {
            'f' | 'F' => format!("{a:.p$}"),
            'e' | 'E' => percent::exp_form(a, p),
            'g' | 'G' | 'n' => percent::general_form(a, p, spec.alternate),
            '%' => format!("{:.p$}%", a * 100.0),
            // No type: repr, or with a precision 'g' that keeps a ".0" and
            // turns exponential one digit sooner (CPython's ADD_DOT_0).
            _ => match spec.precision {
                None => {
                    let mut s = String::new();
                    float_repr(a, &mut s);
                    s
                }
                Some(p) => repr_with_precision(a, p.max(1)),
            },
        };
        if upper {
            body = body.to_uppercase();
        }
        if spec.alternate && !body.contains('.') && kind != '%' {
            match body.find(['e', 'E']) {
                Some(pos) => body.insert(pos, '.'),
                None => body.push('.'),
            }
        }
        match spec.grouping {
            Some(sep) => {
                let end = body.find(|c: char| !c.is_ascii_digit()).unwrap_or(body.len());
                group(&body[..end], sep, 3) + &body[end..]
            }
            None => body,
        }
    };
    finish_number(out, sign_of(negative, spec), &body, spec);
    Ok(())
}

/// `format(f, '.P')`: CPython's 'g' with `Py_DTSF_ADD_DOT_0`, which goes
/// exponential one digit sooner and keeps a ".0" on an integral result.
fn repr_with_precision(a: f64, p: usize) -> String {
    let rounded = format!("{:.*e}", p - 1, a);
    let exp: i64 = rounded.split_once('e').map_or(0, |(_, e)| e.parse().unwrap_or(0));
    if exp < -4 || exp >= p as i64 - 1 {
        let s = percent::exp_form(a, p - 1);
        let (mantissa, e) = s.split_once('e').unwrap_or((s.as_str(), "+00"));
        let mantissa =
            if mantissa.contains('.') { mantissa.trim_end_matches('0').trim_end_matches('.') } else { mantissa };
        return format!("{mantissa}e{e}");
    }
    let decimals = (p as i64 - 1 - exp).max(0) as usize;
    let s = format!("{a:.decimals$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    if s.contains('.') {
        s
    } else {
        s + ".0"
    }
}

fn pad(out: &mut String, lead: &str, body: &str, width: usize, fill: char, align: char) {
    let len = lead.chars().count() + body.chars().count();
    let gap = width.saturating_sub(len);
    let fills = |n: usize, out: &mut String| out.extend(std::iter::repeat_n(fill, n));
    match align {
        '<' => {
            out.push_str(lead);
            out.push_str(body);
            fills(gap, out);
        }
        '^' => {
            fills(gap / 2, out);
            out.push_str(lead);
            out.push_str(body);
            fills(gap - gap / 2, out);
        }
        '=' => {
            out.push_str(lead);
            fills(gap, out);
            out.push_str(body);
        }
        _ => {
            fills(gap, out);
            out.push_str(lead);
            out.push_str(body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: Value, spec: &str) -> String {
        let mut out = String::new();
        format_field(&v, None, spec, &mut out).unwrap();
        out
    }

    #[test]
    fn common_log_format_fields() {
        assert_eq!(f(Value::Str("INFO".into()), "<8"), "INFO    ");
        assert_eq!(f(Value::Str("INFO".into()), "8"), "INFO    ");
        assert_eq!(f(Value::Str("INFO".into()), "^9"), "  INFO   ");
        assert_eq!(f(Value::Int(42), "d"), "42");
        assert_eq!(f(Value::Int(42), "05d"), "00042");
        assert_eq!(f(Value::Int(-1234567), ","), "-1,234,567");
        assert_eq!(f(Value::Float(5.0), "03.0f"), "005");
        assert_eq!(f(Value::Float(0.5), ""), "0.5");
        assert_eq!(f(Value::Bool(true), ""), "True");
        assert!(parse("{args[0]}").is_err() && parse("{}").is_err() && parse("{x!z}").is_err());
    }
}
