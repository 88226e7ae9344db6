//! RELP, rsyslog's Reliable Event Logging Protocol, on the wire: every
//! frame is `TXNR SP COMMAND SP DATALEN [SP DATA] LF`, the client's
//! commands are `open`, `syslog` and `close`, and the server answers each
//! with `rsp` (status code first) under the same transaction number, or
//! says `serverclose`. (librelp's `doc/relp.html`.)

use crate::error::{Error, Result};

/// Transaction numbers run from 1 to this, then start over at 1.
pub const MAX_TXNR: u32 = 999_999_999;

/// What the client offers in `open`: protocol version 0 and the `syslog`
/// command, as librelp's client does.
pub const OPEN_OFFERS: &str = "relp_version=0\nrelp_software=pylog-handlers\ncommands=syslog";

/// Appends one command frame.
pub fn write_command(out: &mut Vec<u8>, txnr: u32, command: &str, data: &[u8]) {
    out.extend_from_slice(format!("{txnr} {command} {}", data.len()).as_bytes());
    if !data.is_empty() {
        out.push(b' ');
        out.extend_from_slice(data);
    }
    out.push(b'\n');
}

/// The transaction number after `txnr`.
pub fn next_txnr(txnr: u32) -> u32 {
    if txnr >= MAX_TXNR {
        1
    } else {
        txnr + 1
    }
}

/// One frame from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `rsp`: the status code (200 is OK) and the text after it.
    Response { txnr: u32, code: u16, text: String },
    /// The server is closing the session.
    ServerClose,
}

/// The largest reply frame a server may send (rsyslog's are a few dozen
/// bytes; `open`'s lists its offers): anything longer is not RELP.
const MAX_REPLY: usize = 64 << 10;

/// Reads the server's frames from the bytes as they arrive.
#[derive(Default)]
pub struct Replies {
    pending: Vec<u8>,
}

impl Replies {
    /// The complete frames in what has arrived so far (with what was left
    /// over from the last call). Anything that is not a RELP frame is an
    /// error: the peer is not a RELP server.
    pub fn read(&mut self, bytes: &[u8]) -> Result<Vec<Reply>> {
        self.pending.extend_from_slice(bytes);
        let mut replies = Vec::new();
        let mut at = 0;
        while let Some((reply, used)) = parse_frame(&self.pending[at..])? {
            replies.extend(reply);
            at += used;
        }
        self.pending.drain(..at);
        if self.pending.len() > MAX_REPLY {
            return Err(not_relp("a reply frame longer than 64 KiB"));
        }
        Ok(replies)
    }

    /// Forgets a partial frame (a new session starts clean).
    pub fn reset(&mut self) {
        self.pending.clear();
    }
}

fn not_relp(what: &str) -> Error {
    Error::Io(format!("the receiver does not speak RELP ({what}); is this an imrelp port?"))
}

/// One frame at the front of `b`: the reply (None for a frame a client
/// may ignore) and the bytes it took; None when it is not all here yet.
fn parse_frame(b: &[u8]) -> Result<Option<(Option<Reply>, usize)>> {
    let Some(sp1) = b.iter().position(|&c| c == b' ') else {
        if !b.iter().all(u8::is_ascii_digit) {
            return Err(not_relp("a frame that does not start with a transaction number"));
        }
        return field_pending(b, 10);
    };
    let txnr = number(&b[..sp1]).ok_or_else(|| not_relp("a frame that does not start with a transaction number"))?;
    let rest = &b[sp1 + 1..];
    let Some(sp2) = rest.iter().position(|&c| c == b' ') else {
        return field_pending(rest, 32);
    };
    let command = std::str::from_utf8(&rest[..sp2]).map_err(|_| not_relp("a command that is not text"))?;
    let rest = &rest[sp2 + 1..];
    // DATALEN ends at SP (data follows) or at LF (no data).
    let Some(end) = rest.iter().position(|&c| c == b' ' || c == b'\n') else {
        return field_pending(rest, 9);
    };
    let len = number(&rest[..end]).ok_or_else(|| not_relp("a data length that is not a number"))? as usize;
    if len > MAX_REPLY {
        return Err(not_relp("a reply frame longer than 64 KiB"));
    }
    let header = sp1 + 1 + sp2 + 1 + end;
    let (data, used) = if len == 0 {
        if rest[end] != b'\n' {
            // "0 rsp 0 " would be odd but harmless: wait for the LF.
            match rest.get(end + 1) {
                None => return Ok(None),
                Some(b'\n') => (&rest[..0], header + 2),
                Some(_) => return Err(not_relp("a frame without its LF trailer")),
            }
        } else {
            (&rest[..0], header + 1)
        }
    } else {
        if rest[end] != b' ' {
            return Err(not_relp("data without the space before it"));
        }
        let start = end + 1;
        let Some(trailer) = rest.get(start + len) else { return Ok(None) };
        if *trailer != b'\n' {
            return Err(not_relp("a frame without its LF trailer"));
        }
        (&rest[start..start + len], header + 1 + len + 1)
    };
    let reply = match command {
        "rsp" => {
            let text = String::from_utf8_lossy(data);
            let code = text
                .get(..3)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| not_relp("a response without a status code"))?;
            let first_line = text.lines().next().unwrap_or("");
            Some(Reply::Response { txnr, code, text: first_line.get(3..).unwrap_or("").trim().to_string() })
        }
        "serverclose" => Some(Reply::ServerClose),
        _ => None,
    };
    Ok(Some((reply, used)))
}

/// A field not finished yet: fine while short, not RELP once too long.
fn field_pending<T>(b: &[u8], max: usize) -> Result<Option<T>> {
    if b.len() > max || b.contains(&b'\n') {
        Err(not_relp("a malformed frame header"))
    } else {
        Ok(None)
    }
}

fn number(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_framed_as_librelp_frames_them() {
        let mut out = Vec::new();
        write_command(&mut out, 1, "open", OPEN_OFFERS.as_bytes());
        write_command(&mut out, 2, "syslog", b"<14>hello");
        write_command(&mut out, 3, "close", b"");
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, format!("1 open {} {OPEN_OFFERS}\n2 syslog 9 <14>hello\n3 close 0\n", OPEN_OFFERS.len()));
        assert_eq!((next_txnr(1), next_txnr(MAX_TXNR)), (2, 1));
    }

    #[test]
    fn replies_parse_across_reads() {
        let mut r = Replies::default();
        let wire = b"1 rsp 93 200 OK\nrelp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n2 rsp 6 200 OK\n0 serverclose 0\n";
        let mut got = Vec::new();
        for chunk in wire.chunks(7) {
            got.extend(r.read(chunk).unwrap());
        }
        assert_eq!(
            got,
            vec![
                Reply::Response { txnr: 1, code: 200, text: "OK".into() },
                Reply::Response { txnr: 2, code: 200, text: "OK".into() },
                Reply::ServerClose,
            ]
        );
        assert_eq!(
            r.read(b"7 rsp 21 500 not a valid frame\n").unwrap()[0],
            Reply::Response { txnr: 7, code: 500, text: "not a valid frame".into() }
        );
    }

    #[test]
    fn what_is_not_relp_is_refused() {
        for junk in [&b"<14>hello world\n"[..], b"\x15\x03\x03\x00\x02\x02\x28", b"1 rsp x 200 OK\n", b"1 rsp 2 200\n"]
        {
            assert!(Replies::default().read(junk).is_err(), "{junk:?}");
        }
        assert!(Replies::default().read(b"12").unwrap().is_empty(), "a partial number waits for more");
    }
}
