//! Received syslog messages: TCP framing (octet counting, or LF/NUL
//! delimited as CPython and RFC 3164 senders write) and the message to a
//! JSON record.

use serde_json::{json, Map, Value as Json};

const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];
const SEVERITIES: [&str; 8] = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

/// Splits complete messages off the front of a TCP buffer. Returns the
/// messages and how many bytes they used; a partial message stays.
pub fn split_stream(buf: &[u8], max_message: usize) -> Result<(Vec<Vec<u8>>, usize), String> {
    let mut messages = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let rest = &buf[pos..];
        if rest[0].is_ascii_digit() {
            // RFC 6587 octet counting: LEN SP MSG.
            let Some(space) = rest.iter().position(|b| *b == b' ') else {
                if rest.len() > 10 {
                    return Err("octet count longer than 10 digits".into());
                }
                break;
            };
            let len: usize = std::str::from_utf8(&rest[..space])
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| "octet count is not a number".to_string())?;
            if len > max_message {
                return Err(format!("message of {len} bytes is over the {max_message}-byte limit"));
            }
            if rest.len() < space + 1 + len {
                break;
            }
            messages.push(rest[space + 1..space + 1 + len].to_vec());
            pos += space + 1 + len;
        } else if let Some(end) = delimiter(rest) {
            if end > 0 {
                messages.push(rest[..end].to_vec());
            }
            pos += end + 1;
        } else {
            if rest.len() > max_message {
                return Err(format!("unterminated message over the {max_message}-byte limit"));
            }
            break;
        }
    }
    Ok((messages, pos))
}

/// `split_stream` over a connection's bytes as they arrive, rescanning only
/// when the new bytes can complete a message: a sender trickling a long
/// message a few bytes at a time costs linear time, not quadratic.
#[derive(Default)]
pub struct StreamSplitter {
    buf: Vec<u8>,
    /// Until the buffer holds this many bytes, no octet-counted message
    /// can be complete.
    wait_for_len: usize,
}

impl StreamSplitter {
    /// Adds `bytes`; returns the messages they complete.
    pub fn push(&mut self, bytes: &[u8], max_message: usize) -> Result<Vec<Vec<u8>>, String> {
        let before = self.buf.len();
        self.buf.extend_from_slice(bytes);
        let counted = self.buf.first().is_some_and(u8::is_ascii_digit);
        let may_complete = if counted {
            self.buf.len() >= self.wait_for_len
        } else {
            // A delimiter in the new bytes, or an LF just before them that
            // waited to see what follows it.
            let from = before.saturating_sub(1);
            self.buf[from..].iter().any(|b| *b == 0 || *b == b'\n')
        };
        if !may_complete {
            if self.buf.len() > max_message + 12 {
                return Err(format!("unterminated message over the {max_message}-byte limit"));
            }
            return Ok(Vec::new());
        }
        let (messages, used) = split_stream(&self.buf, max_message)?;
        self.buf.drain(..used);
        self.wait_for_len = octet_counted_end(&self.buf).unwrap_or(0);
        if self.buf.capacity() > 1 << 20 && self.buf.len() < 1 << 16 {
            self.buf.shrink_to(1 << 16);
        }
        Ok(messages)
    }

    /// What is left at end of stream: a last message without a delimiter.
    pub fn rest(self) -> Vec<u8> {
        self.buf
    }
}

/// Where an octet-counted message at the start of `buf` ends, once its
/// count has arrived.
fn octet_counted_end(buf: &[u8]) -> Option<usize> {
    let space = buf.iter().take(11).position(|b| *b == b' ')?;
    let len: usize = std::str::from_utf8(&buf[..space]).ok()?.parse().ok()?;
    Some(space + 1 + len)
}

/// Where a delimited message ends. CPython ends each message with NUL and
/// lets a traceback's newlines through, so NUL always ends one; an LF ends
/// one (RFC 3164 style) only where the next message (`<PRI>` or an octet
/// count) starts right after it
/// or where the data received so far ends. A traceback line starts with
/// spaces, never with `<`, so it stays inside its message.
fn delimiter(rest: &[u8]) -> Option<usize> {
    let nul = rest.iter().position(|b| *b == 0);
    let lf = rest
        .iter()
        .enumerate()
        .position(|(i, b)| *b == b'\n' && matches!(rest.get(i + 1), None | Some(b'<' | b'0'..=b'9')));
    match (nul, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Python's level for a syslog severity (the inverse of `mapPriority`).
fn level_of(severity: u32) -> (i64, &'static str) {
    match severity {
        0..=2 => (50, "CRITICAL"),
        3 => (40, "ERROR"),
        4 => (30, "WARNING"),
        5 | 6 => (20, "INFO"),
        _ => (10, "DEBUG"),
    }
}

/// One message to a record: `<PRI>` decoded, RFC 5424 header fields parsed
/// when present, the rest as `msg` (a trailing NUL removed).
pub fn record_from_message(raw: &[u8], received_at: f64, peer: &str) -> Result<Map<String, Json>, String> {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim_end_matches(['\0', '\n']);
    let rest = text.strip_prefix('<').ok_or("no <PRI> at the start")?;
    let close = rest.find('>').filter(|i| *i <= 3).ok_or("no <PRI> at the start")?;
    let pri: u32 = rest[..close].parse().map_err(|_| "PRI is not a number")?;
    if pri > 191 {
        return Err("PRI above 191 (facility 23, severity 7) is not syslog".into());
    }
    let (facility, severity) = (pri >> 3, pri & 7);
    let body = &rest[close + 1..];
    let (levelno, levelname) = level_of(severity);
    let mut o = Map::new();
    let mut msg = body.to_string();
    let mut name = "syslog".to_string();
    let mut header_fields = None;
    if let Some(header) = body.strip_prefix("1 ") {
        let mut parts = header.splitn(6, ' ');
        let mut next = || parts.next().unwrap_or("-").to_string();
        let (timestamp, hostname, app, procid, msgid, rest) = (next(), next(), next(), next(), next(), next());
        let (sd, message) = split_structured_data(&rest);
        msg = message.strip_prefix('\u{feff}').unwrap_or(message).to_string();
        if app != "-" {
            name = app.clone();
        }
        header_fields = Some(json!({"timestamp": timestamp, "hostname": hostname, "app_name": app,
            "procid": procid, "msgid": msgid, "structured_data": sd}));
    }
    o.insert("name".into(), Json::String(name));
    o.insert("msg".into(), Json::String(msg));
    o.insert("levelname".into(), Json::String(levelname.into()));
    o.insert("levelno".into(), Json::from(levelno));
    o.insert("created".into(), Json::from(received_at));
    o.insert(
        "facility".into(),
        Json::String(FACILITIES.get(facility as usize).map_or(facility.to_string(), |f| f.to_string())),
    );
    o.insert("priority".into(), Json::String(SEVERITIES[severity as usize].into()));
    o.insert("pri".into(), Json::from(pri));
    o.insert("peer".into(), Json::String(peer.into()));
    if let Some(h) = header_fields {
        o.insert("rfc5424".into(), h);
    }
    Ok(o)
}

/// RFC 5424 STRUCTURED-DATA is "-" or one or more `[...]` elements, where
/// `\]` inside a value does not close the element.
fn split_structured_data(rest: &str) -> (String, &str) {
    if let Some(after) = rest.strip_prefix("- ") {
        return ("-".into(), after);
    }
    if rest == "-" {
        return ("-".into(), "");
    }
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() && bytes[i] == b'[' {
        let mut escaped = false;
        i += 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if !escaped => escaped = true,
                b']' if !escaped => break,
                _ => escaped = false,
            }
            i += 1;
        }
        i += 1;
    }
    let i = i.min(rest.len());
    (rest[..i].to_string(), rest[i..].strip_prefix(' ').unwrap_or(&rest[i..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_splits_counted_and_delimited_messages() {
        let (msgs, used) = split_stream(b"<14>a\0<14>b\n9 <14>c\nd.x<1", 1024).unwrap();
        assert_eq!(msgs, vec![b"<14>a".to_vec(), b"<14>b".to_vec(), b"<14>c\nd.x".to_vec()]);
        assert_eq!(used, 23, "the partial \"<1\" stays buffered");
        let (msgs, _) = split_stream(b"<11>failed\nTraceback\n  File x\0<11>next\n", 1024).unwrap();
        assert_eq!(msgs, vec![b"<11>failed\nTraceback\n  File x".to_vec(), b"<11>next".to_vec()]);
        assert!(split_stream(b"99999999 x", 1024).is_err());
    }

    #[test]
    fn the_splitter_gives_what_split_stream_gives_whatever_the_chunking() {
        // (An LF where the data received so far ends does end a message, as
        // in rsyslog, so a continuation line split right there is not kept
        // whole: that case is left out of the comparison.)
        let stream = b"<14>a\0<14>b\n9 <14>c\nd.x<11>failed\0<11>next\n12 <14>counted!\n<1>z\0";
        let (whole, used) = split_stream(stream, 1024).unwrap();
        for chunk in 1..stream.len() {
            let mut s = StreamSplitter::default();
            let mut got = Vec::new();
            for piece in stream.chunks(chunk) {
                got.extend(s.push(piece, 1024).unwrap());
            }
            assert_eq!(got, whole, "chunks of {chunk}");
            assert_eq!(s.rest().len(), stream.len() - used);
        }
        let mut s = StreamSplitter::default();
        let trickle: Vec<u8> = std::iter::once(b'<').chain(std::iter::repeat_n(b'x', 2000)).collect();
        let refused = trickle.chunks(3).map(|c| s.push(c, 1024)).find(Result::is_err);
        assert!(refused.is_some(), "an unterminated message over the limit is refused");
    }

    #[test]
    fn rfc5424_fields_are_parsed() {
        let r = record_from_message(
            "<155>1 2023-11-14T22:13:20.250000Z h1 web 42 - [pylog@32473 a=\"x\\]y\"] \u{feff}disk full".as_bytes(),
            0.0,
            "p",
        )
        .unwrap();
        assert_eq!(r["msg"], "disk full");
        assert_eq!(r["facility"], "local3");
        assert_eq!(r["levelname"], "ERROR");
        assert_eq!(r["rfc5424"]["structured_data"], "[pylog@32473 a=\"x\\]y\"]");
    }
}
