//! Signed frames: CPython's length-prefixed pickle, wrapped with a version
//! byte, a session id, a sequence number and a timestamp, and closed by an
//! HMAC-SHA256, so that a receiver can accept records without trusting the
//! network (CPython's docs: "sign them with HMAC").
//!
//! The layout is in `pylog_wire`: kind, session, sequence, time in µs, the
//! pickle makePickle puts after its length prefix, and HMAC-SHA256 over all
//! of it. In acknowledged mode the kind is 0xA4 and the receiver
//! acknowledges the signed sequence, so what is acknowledged is signed.

use hmac::{Hmac, Mac};
use pylog_wire::frame::{MAC_LEN, SIGNED, SIGNED_ACKED, SIGNED_HEADER_LEN as HEADER_LEN};
use sha2::Sha256;

use crate::error::{Error, Result};
/// Keys shorter than this are refused: HMAC is only as strong as its key.
pub const MIN_KEY_LEN: usize = 16;

/// What a signing handler keeps between frames.
pub struct Signer {
    mac: Hmac<Sha256>,
    session: [u8; 16],
    sequence: u64,
    /// 0xA1, or 0xA4 when the receiver acknowledges.
    kind: u8,
}

impl std::fmt::Debug for Signer {
    /// Never prints the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("sequence", &self.sequence).finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer whose frames the receiver acknowledges (0xA4).
    pub fn acknowledged(key: &[u8]) -> Result<Signer> {
        Ok(Signer { kind: SIGNED_ACKED, ..Signer::new(key)? })
    }

    pub fn new(key: &[u8]) -> Result<Signer> {
        if key.len() < MIN_KEY_LEN {
            return Err(Error::BadConfig(format!(
                "the HMAC key has {} bytes; use at least {MIN_KEY_LEN} random bytes (32 recommended)",
                key.len()
            )));
        }
        let mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| Error::BadConfig("unusable HMAC key".into()))?;
        let mut session = [0u8; 16];
        getrandom::fill(&mut session)
            .map_err(|e| Error::Unsupported(format!("no randomness for the session id: {e}")))?;
        Ok(Signer { mac, session, sequence: 0, kind: SIGNED })
    }

    /// Appends a signed frame around `pickle` (the bytes after makePickle's
    /// length prefix) to `out`.
    pub fn write_frame(&mut self, out: &mut Vec<u8>, pickle: &[u8], time_us: u64) -> Result<()> {
        self.sequence += 1;
        let body_len = HEADER_LEN + pickle.len() + MAC_LEN;
        let len = u32::try_from(body_len)
            .map_err(|_| Error::BadRecord(format!("signed frame of {body_len} bytes does not fit a 4-byte length")))?;
        out.extend_from_slice(&len.to_be_bytes());
        let start = out.len();
        out.push(self.kind);
        out.extend_from_slice(&self.session);
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&time_us.to_be_bytes());
        out.extend_from_slice(pickle);
        let mut mac = self.mac.clone();
        mac.update(&out[start..]);
        out.extend_from_slice(&mac.finalize().into_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_mac() {
        let key = [7u8; 32];
        let mut s = Signer::new(&key).unwrap();
        let mut out = Vec::new();
        s.write_frame(&mut out, b"PICKLE", 1_700_000_000_000_000).unwrap();
        s.write_frame(&mut out, b"P2", 1).unwrap();
        let len = u32::from_be_bytes(out[..4].try_into().unwrap()) as usize;
        let frame = &out[4..4 + len];
        assert_eq!(frame[0], SIGNED);
        assert_eq!(u64::from_be_bytes(frame[17..25].try_into().unwrap()), 1);
        assert_eq!(&frame[HEADER_LEN..len - MAC_LEN], b"PICKLE");
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(&frame[..len - MAC_LEN]);
        mac.verify_slice(&frame[len - MAC_LEN..]).unwrap();
        assert!(matches!(Signer::new(b"short"), Err(Error::BadConfig(_))));
        let mut acked = Signer::acknowledged(&key).unwrap();
        let mut out = Vec::new();
        acked.write_frame(&mut out, b"P", 1).unwrap();
        assert_eq!(out[4], SIGNED_ACKED);
        assert_eq!(pylog_wire::frame::sequence_of(&out[4..]).unwrap_or(0), 1);
        assert!(!format!("{s:?}").contains('7'));
    }
}
