//! The mail `SMTPHandler` sends: CPython's `EmailMessage` with From, To,
//! Subject and Date, and `set_content(self.format(record))`, flattened with
//! CRLF as `smtplib.send_message` does.
//!
//! The body's Content-Transfer-Encoding follows `email.contentmanager`'s
//! choice (7bit, 8bit, quoted-printable or base64) so that a receiver sees
//! the same headers; header values that are not ASCII or do not fit a line
//! become RFC 2047 encoded words, which decode to the same text.

use base64::Engine as _;

use crate::python::civil_time::{local_time, strftime};

/// `policy.max_line_length` of `email.policy.default`.
const MAX_LINE: usize = 78;

pub struct Envelope<'a> {
    pub fromaddr: &'a str,
    pub toaddrs: &'a [String],
    pub subject: &'a str,
    /// Seconds since the epoch, and the offset `email.utils.localtime()` uses.
    pub now: f64,
    pub utc_offset_seconds: i32,
}

/// The flattened message, CRLF line ends, ready for DATA (before dot-stuffing).
pub fn build(envelope: &Envelope, body: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 256);
    header(&mut out, "From", envelope.fromaddr);
    header(&mut out, "To", &envelope.toaddrs.join(","));
    header(&mut out, "Subject", envelope.subject);
    header(&mut out, "Date", &rfc2822_date(envelope.now, envelope.utc_offset_seconds));
    let (cte, payload) = encode_text(body);
    out.extend_from_slice(b"Content-Type: text/plain; charset=\"utf-8\"\r\n");
    out.extend_from_slice(format!("Content-Transfer-Encoding: {cte}\r\n").as_bytes());
    out.extend_from_slice(b"MIME-Version: 1.0\r\n\r\n");
    // The payload uses "\n"; the generator writes CRLF.
    for line in payload.split_inclusive(|&b| b == b'\n') {
        match line.strip_suffix(b"\n") {
            Some(text) => {
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
            None => out.extend_from_slice(line),
        }
    }
    out
}

/// `email.utils.format_datetime(email.utils.localtime())`.
pub fn rfc2822_date(now: f64, utc_offset_seconds: i32) -> String {
    let t = local_time(now, utc_offset_seconds);
    let mut s = String::with_capacity(31);
    strftime("%a, %d %b %Y %H:%M:%S ", &t, "", &mut s);
    let abs = utc_offset_seconds.unsigned_abs();
    s.push_str(&format!("{}{:02}{:02}", if utc_offset_seconds < 0 { '-' } else { '+' }, abs / 3600, abs % 3600 / 60));
    s
}

fn header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    let fits = value.is_ascii() && name.len() + 2 + value.len() <= MAX_LINE && !value.contains(['\r', '\n']);
    if fits {
        out.extend_from_slice(value.as_bytes());
    } else {
        encoded_words(out, value);
    }
    out.extend_from_slice(b"\r\n");
}

/// RFC 2047 base64 encoded words of at most 75 characters, split at
/// character boundaries, one per folded line.
fn encoded_words(out: &mut Vec<u8>, value: &str) {
    // "=?utf-8?b?" + "?=" is 12 characters; 63 base64 characters hold 45 bytes.
    const CHUNK: usize = 45;
    let mut rest = value;
    let mut first = true;
    while !rest.is_empty() || first {
        let mut end = rest.len().min(CHUNK);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        if !first {
            out.extend_from_slice(b"\r\n ");
        }
        out.extend_from_slice(b"=?utf-8?b?");
        out.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(&rest[..end]).as_bytes());
        out.extend_from_slice(b"?=");
        rest = &rest[end..];
        first = false;
    }
}

/// `email.contentmanager._encode_text(string, 'utf-8', None, policy.default)`:
/// the transfer encoding and the payload with "\n" line ends.
pub fn encode_text(body: &str) -> (&'static str, Vec<u8>) {
    let lines = split_lines(body.as_bytes());
    let normal = join(&lines, b"\n");
    if lines.iter().map(|l| l.len()).max().unwrap_or(0) <= MAX_LINE {
        return (if body.is_ascii() { "7bit" } else { "8bit" }, normal);
    }
    let sniff = join(&lines[..lines.len().min(10)], b"\n");
    let sniff_qp = quoted_printable(&sniff);
    let sniff_base64_len = sniff.len().div_ceil(3) * 4 + 1;
    if sniff_qp.len() > sniff_base64_len {
        let mut data = Vec::new();
        for chunk in normal.chunks(MAX_LINE / 4 * 3) {
            data.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(chunk).as_bytes());
            data.push(b'\n');
        }
        ("base64", data)
    } else if lines.len() <= 10 {
        ("quoted-printable", sniff_qp)
    } else {
        ("quoted-printable", quoted_printable(&normal))
    }
}

/// `bytes.splitlines()`: \n, \r\n and \r end a line.
fn split_lines(b: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\n' => {
                lines.push(&b[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&b[start..i]);
                if b.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < b.len() {
        lines.push(&b[start..]);
    }
    lines
}

fn join(lines: &[&[u8]], sep: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.extend_from_slice(sep);
    }
    out
}

/// `quoprimime.body_encode(body.decode('latin-1'), 78)` with "\n" line ends.
fn quoted_printable(body: &[u8]) -> Vec<u8> {
    if body.is_empty() {
        return Vec::new();
    }
    // Translate first: each byte becomes itself or "=XX".
    let mut translated = String::with_capacity(body.len() * 3);
    for &b in body {
        let safe = matches!(b, b' '..=b'~' | b'\t' | b'\r' | b'\n') && b != b'=';
        if safe {
            translated.push(b as char);
        } else {
            translated.push_str(&format!("={b:02X}"));
        }
    }
    let max = MAX_LINE;
    let mut encoded: Vec<String> = Vec::new();
    // After translation only \r and \n are left to break lines.
    for line in split_lines(translated.as_bytes()) {
        let mut start = 0usize;
        let last_start = line.len() as isize - 1 - max as isize;
        while start as isize <= last_start {
            let stop = start + max - 1;
            if line[stop - 2] == b'=' {
                encoded.push(ascii(&line[start..stop - 1]));
                start = stop - 2;
            } else if line[stop - 1] == b'=' {
                encoded.push(ascii(&line[start..stop]));
                start = stop - 1;
            } else {
                encoded.push(ascii(&line[start..stop]) + "=");
                start = stop;
            }
        }
        match line.last() {
            Some(&c) if c == b' ' || c == b'\t' => {
                let room = start as isize - last_start;
                let q = if room >= 3 {
                    format!("={c:02X}")
                } else if room == 2 {
                    format!("{}=\n", c as char)
                } else {
                    format!("=\n={c:02X}")
                };
                encoded.push(ascii(&line[start..line.len() - 1]) + &q);
            }
            _ => encoded.push(ascii(&line[start..])),
        }
    }
    if matches!(body.last(), Some(b'\r' | b'\n')) {
        encoded.push(String::new());
    }
    encoded.join("\n").into_bytes()
}

fn ascii(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ascii_is_7bit_and_long_lines_quoted_printable() {
        assert_eq!(encode_text("hello\nworld"), ("7bit", b"hello\nworld\n".to_vec()));
        assert_eq!(encode_text("wörld").0, "8bit");
        let (cte, data) = encode_text(&"a".repeat(100));
        assert_eq!(cte, "quoted-printable");
        // Asked of CPython's email package (see the module docs).
        assert_eq!(data, format!("{}=\n{}\n", "a".repeat(77), "a".repeat(23)).into_bytes());
    }

    #[test]
    fn date_is_rfc2822() {
        assert_eq!(rfc2822_date(1_795_312_338.5, 0), "Sun, 22 Nov 2026 01:52:18 +0000");
        assert_eq!(rfc2822_date(1_795_312_338.0, 19_800), "Sun, 22 Nov 2026 07:22:18 +0530");
    }
}
