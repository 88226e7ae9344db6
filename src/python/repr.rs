//! Python's `str()` and `repr()` of the scalar values a record can carry.
//!
//! `%s`/`%r` in messages and `%(x)s` in formats print these, so they must be
//! what CPython prints, down to the quote character and the float digits.

use crate::python::value::Value;

/// `str(value)`.
pub fn py_str(value: &Value, out: &mut String) {
    match value {
        Value::Str(s) => out.push_str(s),
        other => py_repr(other, out),
    }
}

/// `repr(value)`.
pub fn py_repr(value: &Value, out: &mut String) {
    match value {
        Value::None => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Int(i) => {
            use std::fmt::Write;
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => float_repr(*f, out),
        Value::Str(s) => str_repr(s, out),
        Value::Bytes(b) => bytes_repr(b, out),
    }
}

/// `repr(dict)` of string keys, as `%s` of a mapping and `%(args)s` print it.
pub fn dict_repr(items: &[(String, Value)], out: &mut String) {
    out.push('{');
    for (i, (k, v)) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        str_repr(k, out);
        out.push_str(": ");
        py_repr(v, out);
    }
    out.push('}');
}

/// `repr(float)`: the shortest digits that round-trip (Rust's `{:e}` finds
/// the same ones), laid out by CPython's rule: positional when the decimal
/// exponent is in -4..16, otherwise `d.ddde+XX`.
pub fn float_repr(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("nan");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f < 0.0 { "-inf" } else { "inf" });
        return;
    }
    let sci = format!("{:e}", f);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let mut digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    round_half_even(f, &mut digits);
    if negative {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                for _ in digits.len()..int_len {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let abs = exp.unsigned_abs();
        if abs < 10 {
            out.push('0');
        }
        out.push_str(&abs.to_string());
    }
}

/// When the value lies exactly halfway between two shortest candidates,
/// CPython's dtoa picks the even last digit and Rust rounds up; keep the
/// even one. A tie needs the exact expansion to end in 5 right after the
/// shortest digits, which 120 digits show exactly (doubles need 767 at
/// most, but a tie at 17 digits ends by the 18th).
fn round_half_even(f: f64, digits: &mut String) {
    let exact = format!("{:.120e}", f.abs());
    let exact: Vec<u8> = exact.split('e').next().unwrap_or("").bytes().filter(|b| *b != b'.').collect();
    let n = digits.len();
    let Some((&next, rest)) = exact.get(n..).and_then(|t| t.split_first()) else { return };
    let truncated = &exact[..n];
    let tie = next == b'5' && rest.iter().all(|&b| b == b'0');
    if tie && truncated.last().is_some_and(|d| (d - b'0').is_multiple_of(2)) && digits.as_bytes() != truncated {
        *digits = String::from_utf8_lossy(truncated).into_owned();
    }
}

/// CPython picks single quotes unless the text has a single quote and no
/// double quote.
fn pick_quote(has_single: bool, has_double: bool) -> char {
    if has_single && !has_double {
        '"'
    } else {
        '\''
    }
}

pub fn str_repr(s: &str, out: &mut String) {
    let quote = pick_quote(s.contains('\''), s.contains('"'));
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c => {
                let n = c as u32;
                let esc = if n < 0x100 {
                    format!("\\x{n:02x}")
                } else if n < 0x10000 {
                    format!("\\u{n:04x}")
                } else {
                    format!("\\U{n:08x}")
                };
                out.push_str(&esc);
            }
        }
    }
    out.push(quote);
}

pub fn bytes_repr(b: &[u8], out: &mut String) {
    let quote = pick_quote(b.contains(&b'\''), b.contains(&b'"'));
    out.push('b');
    out.push(quote);
    for &byte in b {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c as char == quote => {
                out.push('\\');
                out.push(c as char);
            }
            0x20..=0x7e => out.push(byte as char),
            _ => out.push_str(&format!("\\x{byte:02x}")),
        }
    }
    out.push(quote);
}

/// `str.isprintable()` for one character. CPython consults the Unicode
/// database (categories Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs but space); without
/// shipping that table we cover the control, format, separator, private-use
/// and noncharacter ranges. A character left unassigned by Unicode is the
/// one case where our repr may print it raw where CPython escapes it.
pub fn is_printable(c: char) -> bool {
    let n = c as u32;
    !matches!(n,
        0x00..=0x1f | 0x7f..=0xa0 | 0xad
        | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x890..=0x891 | 0x8e2 | 0x180e
        | 0x1680 | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x2064 | 0x2066..=0x206f
        | 0x3000 | 0xd800..=0xdfff | 0xe000..=0xf8ff | 0xfdd0..=0xfdef | 0xfeff
        | 0xfff0..=0xfffb | 0x110bd | 0x110cd | 0x13430..=0x1343f | 0x1bca0..=0x1bca3
        | 0x1d173..=0x1d17a | 0xe0001 | 0xe0020..=0xe007f | 0xf0000..=0x10ffff)
        && (n & 0xfffe) != 0xfffe
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_ties_round_to_even_as_cpython() {
        // 6125 / 2**19 is exactly 0.0116825103759765625; CPython prints ...562.
        let mut s = String::new();
        float_repr(6125.0 / 524_288.0, &mut s);
        assert_eq!(s, "0.011682510375976562");
    }

    fn repr(v: Value) -> String {
        let mut s = String::new();
        py_repr(&v, &mut s);
        s
    }

    #[test]
    fn floats_print_like_python() {
        for (f, want) in [
            (0.1, "0.1"),
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (123456.789, "123456.789"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::NAN, "nan"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(repr(Value::Float(f)), want, "{f:e}");
        }
    }

    #[test]
    fn strings_pick_quotes_and_escape_like_python() {
        assert_eq!(repr(Value::Str("it's".into())), "\"it's\"");
        assert_eq!(repr(Value::Str("a'b\"c".into())), "'a\\'b\"c'");
        assert_eq!(repr(Value::Str("tab\there\x01é\u{200b}".into())), "'tab\\there\\x01é\\u200b'");
        assert_eq!(repr(Value::Bytes(b"\x00ab'".to_vec())), "b\"\\x00ab'\"");
    }
}
