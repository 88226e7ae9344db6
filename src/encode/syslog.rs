//! The bytes `SysLogHandler` sends, and the RFC 5424 and RFC 6587 variants.
//!
//! CPython mode is `'<%d>' % pri + ident + format(record) + '\0'`, UTF-8,
//! with no framing on TCP: a receiver splits on newline or NUL, so a message
//! containing a newline arrives as two. Octet counting (`LEN SP MSG`) is the
//! cure for receivers that support it (rsyslog, syslog-ng).

use std::io::Write as _;

use crate::encode::priority::{encode_level_priority, encode_priority, NameOrNumber};
use crate::error::{Error, Result};
use crate::python::civil_time::local_time;
use crate::python::formatter::Formatter;
use crate::python::record::{LogRecord, Value};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SyslogFormat {
    Cpython,
    Rfc5424,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Framing {
    Unframed,
    OctetCounting,
    /// Each message is one RELP command (`deliver::relp` frames it).
    Relp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SyslogOptions {
    pub facility: NameOrNumber,
    pub ident: String,
    pub append_nul: bool,
    pub format: SyslogFormat,
    pub framing: Framing,
    pub hostname: String,
    pub app_name: String,
    pub procid: String,
    /// The user's choice: never escape, even on an unframed stream.
    pub cpython_exact_bytes: bool,
    /// Escape CR, LF and NUL; the handler sets it for unframed streams
    /// unless `cpython_exact_bytes`.
    pub escape_controls: bool,
    /// End each RFC 5424 message with LF (RFC 6587 non-transparent
    /// framing); the handler sets it on an unframed stream, where a
    /// receiver could not otherwise tell where one message ends.
    pub lf_trailer: bool,
    /// 0 for no limit.
    pub max_message_bytes: u32,
}

/// rsyslog's default `maxMessageSize`: the size a receiver is most likely
/// to accept whole.
pub const DEFAULT_MAX_MESSAGE_BYTES: u32 = 8192;
pub const TRUNCATION_MARKER: &str = " [truncated]";

/// The control characters a stream receiver splits on, as rsyslog prints
/// them: nothing can be mistaken for a record boundary.
fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['\r', '\n', '\0']) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(s.replace('\r', "#015").replace('\n', "#012").replace('\0', "#000"))
}

/// Cuts `msg` to at most `max` bytes including the marker, at a character
/// boundary. Returns whether it cut.
fn truncate(msg: &mut String, max: u32) -> bool {
    let max = max as usize;
    if max == 0 || msg.len() <= max {
        return false;
    }
    let mut cut = max.saturating_sub(TRUNCATION_MARKER.len());
    while !msg.is_char_boundary(cut) {
        cut -= 1;
    }
    msg.truncate(cut);
    msg.push_str(TRUNCATION_MARKER);
    true
}

/// The private enterprise number reserved for documentation (RFC 5612), so
/// our structured-data ID cannot collide with a registered one.
pub const SD_ID: &str = "pylog@32473";

const NIL: &str = "-";

impl SyslogOptions {
    /// `SysLogHandler()`'s defaults, as pylog's configuration gives them:
    /// facility user, no ident, the NUL appended, CPython's format unframed.
    pub fn cpython_defaults() -> SyslogOptions {
        SyslogOptions {
            facility: NameOrNumber::Name("user".into()),
            ident: String::new(),
            append_nul: true,
            format: SyslogFormat::Cpython,
            framing: Framing::Unframed,
            hostname: String::new(),
            app_name: String::new(),
            procid: String::new(),
            cpython_exact_bytes: false,
            escape_controls: false,
            lf_trailer: false,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }

    /// Checks what can be checked before the first record: the facility
    /// name and the RFC 5424 header fields.
    pub fn validate(&self) -> Result<()> {
        encode_priority(&self.facility, &NameOrNumber::Number(0))?;
        if self.format == SyslogFormat::Rfc5424 {
            header_field("hostname", &self.hostname, 255)?;
            header_field("app_name", &self.app_name, 48)?;
            header_field("procid", &self.procid, 128)?;
        }
        Ok(())
    }
}

/// RFC 5424 header fields are 1..N printable US-ASCII characters without
/// spaces; empty means the NILVALUE `-`.
fn header_field(name: &str, value: &str, max: usize) -> Result<()> {
    if value.len() > max || !value.bytes().all(|b| (33..=126).contains(&b)) {
        return Err(Error::BadConfig(format!(
            "RFC 5424 {name} {value:?} must be at most {max} printable ASCII characters without spaces"
        )));
    }
    Ok(())
}

fn nil_if_empty(s: &str) -> &str {
    if s.is_empty() {
        NIL
    } else {
        s
    }
}

/// Appends one message, framed for the transport, to `out`. Returns
/// whether the message was truncated.
pub fn write_message(
    out: &mut Vec<u8>,
    record: &LogRecord,
    formatter: &Formatter,
    opts: &SyslogOptions,
) -> Result<bool> {
    let mut msg = formatter.format(record)?;
    let truncated = truncate(&mut msg, opts.max_message_bytes);
    let (ident, msg) = if opts.escape_controls {
        (escape_controls(&opts.ident), escape_controls(&msg).into_owned())
    } else {
        (std::borrow::Cow::Borrowed(opts.ident.as_str()), msg)
    };
    let pri = encode_level_priority(&opts.facility, &record.levelname)?;
    let start = out.len();
    match opts.format {
        SyslogFormat::Cpython => {
            // Writing into a Vec cannot fail.
            let _ = write!(out, "<{pri}>");
            out.extend_from_slice(ident.as_bytes());
            out.extend_from_slice(msg.as_bytes());
            if opts.append_nul {
                out.push(0);
            }
        }
        SyslogFormat::Rfc5424 => {
            write_rfc5424(out, pri, record, formatter, opts, &msg)?;
            if opts.lf_trailer {
                out.push(b'\n');
            }
        }
    }
    if opts.framing == Framing::OctetCounting {
        let len = (out.len() - start).to_string();
        let mut prefix = len.into_bytes();
        prefix.push(b' ');
        out.splice(start..start, prefix);
    }
    Ok(truncated)
}

fn write_rfc5424(
    out: &mut Vec<u8>,
    pri: u32,
    record: &LogRecord,
    formatter: &Formatter,
    opts: &SyslogOptions,
    msg: &str,
) -> Result<()> {
    use std::io::Write;
    crate::python::formatter::check_time_range(record.created)?;
    let offset = formatter.utc_offset_seconds;
    let t = local_time(record.created, offset);
    let micros = ((record.created - record.created.floor()) * 1e6).round().min(999_999.0) as u32;
    let zone = if offset == 0 {
        "Z".to_string()
    } else {
        let abs = offset.unsigned_abs();
        format!("{}{:02}:{:02}", if offset < 0 { '-' } else { '+' }, abs / 3600, abs % 3600 / 60)
    };
    let procid = match (opts.procid.as_str(), record.process) {
        ("", Some(pid)) => pid.to_string(),
        (p, _) => nil_if_empty(p).to_string(),
    };
    let msgid = msgid_of(&record.name);
    let io = |e: std::io::Error| Error::Io(e.to_string());
    write!(
        out,
        "<{pri}>1 {:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}{} {} {} {} {} ",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        micros,
        zone,
        nil_if_empty(&opts.hostname),
        nil_if_empty(if opts.app_name.is_empty() { opts.ident.trim() } else { &opts.app_name }),
        procid,
        msgid,
    )
    .map_err(io)?;
    write_structured_data(out, &record.extra)?;
    out.push(b' ');
    // RFC 5424 section 6.4: a UTF-8 MSG starts with a BOM. Pure ASCII is
    // sent without one, which every receiver reads the same way.
    if !msg.is_ascii() {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    out.extend_from_slice(msg.as_bytes());
    Ok(())
}

/// MSGID is the logger name when it fits RFC 5424's 32 printable
/// characters, else the NILVALUE.
fn msgid_of(name: &str) -> &str {
    if !name.is_empty() && name.len() <= 32 && name.bytes().all(|b| (33..=126).contains(&b)) {
        name
    } else {
        NIL
    }
}

/// Extras become one SD-ELEMENT; names that RFC 5424 cannot carry are a
/// typed error rather than a silently renamed parameter.
fn write_structured_data(out: &mut Vec<u8>, extra: &[(String, Value)]) -> Result<()> {
    if extra.is_empty() {
        out.extend_from_slice(NIL.as_bytes());
        return Ok(());
    }
    out.push(b'[');
    out.extend_from_slice(SD_ID.as_bytes());
    for (key, value) in extra {
        let valid = !key.is_empty()
            && key.len() <= 32
            && key.bytes().all(|b| (33..=126).contains(&b) && !matches!(b, b'=' | b']' | b'"'));
        if !valid {
            return Err(Error::BadRecord(format!(
                "extra key {key:?} cannot be an RFC 5424 SD-PARAM name (1-32 printable ASCII, no '=', ']', '\"' or space); rename it"
            )));
        }
        out.push(b' ');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"=\"");
        let mut text = String::new();
        crate::python::repr::py_str(value, &mut text);
        for c in text.chars() {
            if matches!(c, '"' | '\\' | ']') {
                out.push(b'\\');
            }
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        out.push(b'"');
    }
    out.push(b']');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> SyslogOptions {
        SyslogOptions {
            facility: NameOrNumber::Name("local3".into()),
            ident: "app: ".into(),
            ..SyslogOptions::cpython_defaults()
        }
    }

    #[test]
    fn controls_are_escaped_and_long_messages_marked() {
        let o = SyslogOptions { escape_controls: true, max_message_bytes: 20, ..opts() };
        let mut out = Vec::new();
        let truncated =
            write_message(&mut out, &LogRecord::new("x", 20, "a\nb\r\0c", 0.0), &Formatter::default(), &o).unwrap();
        assert!(!truncated);
        assert_eq!(out, b"<158>app: a#012b#015#000c\0");
        let mut out = Vec::new();
        let truncated =
            write_message(&mut out, &LogRecord::new("x", 20, "ééééééééééééé", 0.0), &Formatter::default(), &o).unwrap();
        assert!(truncated);
        assert_eq!(String::from_utf8(out).unwrap(), "<158>app: éééé [truncated]\0");
    }

    #[test]
    fn cpython_mode() {
        let mut out = Vec::new();
        write_message(&mut out, &LogRecord::new("x", 40, "disk full", 0.0), &Formatter::default(), &opts()).unwrap();
        assert_eq!(out, b"<155>app: disk full\0");
    }

    #[test]
    fn octet_counting_prefixes_the_length() {
        let mut out = b"keep".to_vec();
        let o = SyslogOptions { framing: Framing::OctetCounting, append_nul: false, ..opts() };
        write_message(&mut out, &LogRecord::new("x", 20, "a\nb", 0.0), &Formatter::default(), &o).unwrap();
        assert_eq!(out, b"keep13 <158>app: a\nb");
    }

    #[test]
    fn rfc5424_header_and_structured_data() {
        let mut r = LogRecord::new("web", 20, "h\u{e9}", 1_700_000_000.25);
        r.process = Some(42);
        r.extra.push(("user".into(), Value::Str("a\"]b".into())));
        let o = SyslogOptions { format: SyslogFormat::Rfc5424, hostname: "h1".into(), ident: String::new(), ..opts() };
        let mut out = Vec::new();
        write_message(&mut out, &r, &Formatter::default(), &o).unwrap();
        let want = "<158>1 2023-11-14T22:13:20.250000Z h1 - 42 web [pylog@32473 user=\"a\\\"\\]b\"] \u{feff}h\u{e9}";
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn rfc5424_on_an_unframed_stream_ends_with_lf_and_never_carries_one_inside() {
        let rec = LogRecord::new("x", 20, "two\nlines", 1.7e9);
        let o = SyslogOptions {
            format: SyslogFormat::Rfc5424,
            hostname: "h1".into(),
            escape_controls: true,
            lf_trailer: true,
            ..opts()
        };
        let mut out = Vec::new();
        write_message(&mut out, &rec, &Formatter::default(), &o).unwrap();
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1, "{}", String::from_utf8_lossy(&out));
    }
}
