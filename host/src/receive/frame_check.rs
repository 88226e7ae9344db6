//! The one decision about every SocketHandler/DatagramHandler frame body a
//! receiver reads: which kinds it accepts, what is verified, what is
//! acknowledged, and what is a repeat.
//!
//! | receiver  | plain | acknowledged (0xA2) | signed (0xA1)       | signed, acknowledged (0xA4) |
//! |-----------|-------|---------------------|---------------------|-----------------------------|
//! | no key    | yes   | yes, acknowledged   | refused (no key)    | refused (no key)            |
//! | with key  | refused | refused           | verified            | verified, acknowledged      |
//!
//! With a key nothing unverified is printed or acknowledged, whatever its kind.

use std::sync::{Arc, Mutex};

use pylog_wire::frame::{self, Kind, ACKED_HEADER_LEN};

use crate::receive::sequence_window::SessionWindows;
use crate::receive::signing::Verifier;

/// A frame body the receiver accepts.
#[derive(Debug, PartialEq)]
pub struct Accepted<'a> {
    pub pickle: &'a [u8],
    /// The sequence to acknowledge once the record is handled.
    pub ack: Option<u64>,
    /// An acknowledged-mode frame accepted before (a resend after a lost
    /// acknowledgement): acknowledge it again, print it not.
    pub repeated: bool,
}

/// Why a frame body was refused.
#[derive(Debug, PartialEq)]
pub enum Refused {
    /// It failed authentication or is malformed: nothing else on this
    /// connection can be trusted, so the connection should end.
    Unauthentic(String),
    /// A replay of a signed frame that asks for no acknowledgement.
    Replayed(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Unauthentic(why) | Refused::Replayed(why) => f.write_str(why),
        }
    }
}

/// Shared by every connection and datagram socket of one receiver.
#[derive(Clone, Default)]
pub struct FrameCheck {
    /// With a key, only signed frames that verify are accepted.
    verifier: Option<Arc<Mutex<Verifier>>>,
    /// Acknowledged-mode sequences already accepted (unsigned frames).
    acked: Arc<Mutex<SessionWindows>>,
}

impl FrameCheck {
    pub fn with_key(key: &[u8]) -> FrameCheck {
        FrameCheck { verifier: Some(Arc::new(Mutex::new(Verifier::new(key)))), ..FrameCheck::default() }
    }

    /// Decides about one frame body (after the 4-byte length); `now_us` is
    /// the receiver's clock in microseconds since the epoch.
    pub fn accept<'a>(&self, body: &'a [u8], now_us: u64) -> Result<Accepted<'a>, Refused> {
        let kind = Kind::of(body);
        match (&self.verifier, kind) {
            (Some(_), Kind::Plain | Kind::Acked) => Err(Refused::Unauthentic(format!(
                "unsigned frame refused ({}): this receiver has an HMAC key, so every frame must be signed \
                 (give the sender the key: \".\": {{\"hmac_key_file\": ...}})",
                if kind == Kind::Acked { "acknowledged mode" } else { "a plain pickle" }
            ))),
            (None, Kind::Signed | Kind::SignedAcked) => Err(Refused::Unauthentic(
                "signed frame, but this receiver has no key: start it with --hmac-key-file".into(),
            )),
            (Some(verifier), _) => {
                let mut verifier = verifier.lock().map_err(|_| Refused::Unauthentic("verifier unavailable".into()))?;
                let v = verifier.verify(body, now_us).map_err(Refused::Unauthentic)?;
                let acknowledged = kind.is_acknowledged();
                if v.repeated && !acknowledged {
                    return Err(Refused::Replayed(format!(
                        "replayed frame (sequence {} of its session was already accepted or is too old)",
                        v.sequence
                    )));
                }
                Ok(Accepted { pickle: v.pickle, ack: acknowledged.then_some(v.sequence), repeated: v.repeated })
            }
            (None, Kind::Acked) => {
                let (Some(session), Some(sequence), Some(pickle)) =
                    (frame::session_of(body), frame::sequence_of(body), body.get(ACKED_HEADER_LEN..))
                else {
                    return Err(Refused::Unauthentic(format!(
                        "acknowledged-mode frame of {} bytes is shorter than its {ACKED_HEADER_LEN}-byte header",
                        body.len()
                    )));
                };
                let fresh = self.acked.lock().map(|mut w| w.accept(session, sequence)).unwrap_or(true);
                Ok(Accepted { pickle, ack: Some(sequence), repeated: !fresh })
            }
            (None, Kind::Plain) => Ok(Accepted { pickle: body, ack: None, repeated: false }),
        }
    }
}

#[cfg(test)]
mod tests {
    use hmac::{Hmac, Mac};
    use pylog_wire::frame::{ACKED, SIGNED, SIGNED_ACKED};
    use sha2::Sha256;

    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: u64 = 1_700_000_000_000_000;

    fn header(kind: u8, seq: u64) -> Vec<u8> {
        let mut b = vec![kind];
        b.extend_from_slice(&[9; 16]);
        b.extend_from_slice(&seq.to_be_bytes());
        b
    }

    fn signed(kind: u8, seq: u64, key: &[u8]) -> Vec<u8> {
        let mut b = header(kind, seq);
        b.extend_from_slice(&NOW.to_be_bytes());
        b.extend_from_slice(b"PICKLE");
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(&b);
        b.extend_from_slice(&mac.finalize().into_bytes());
        b
    }

    fn acked(seq: u64) -> Vec<u8> {
        let mut b = header(ACKED, seq);
        b.extend_from_slice(b"PICKLE");
        b
    }

    #[test]
    fn with_a_key_every_unsigned_kind_is_refused() {
        let check = FrameCheck::with_key(KEY);
        for body in [acked(1), b"\x80\x02PICKLE".to_vec(), header(ACKED, 1), vec![]] {
            assert!(matches!(check.accept(&body, NOW), Err(Refused::Unauthentic(_))), "{body:?}");
        }
        for kind in [SIGNED, SIGNED_ACKED] {
            assert!(check.accept(&signed(kind, 1, b"another key, just as long......"), NOW).is_err());
        }
        // The kind byte is under the MAC: a signed frame cannot be relabelled.
        let mut relabelled = signed(SIGNED, 5, KEY);
        relabelled[0] = SIGNED_ACKED;
        assert!(matches!(check.accept(&relabelled, NOW), Err(Refused::Unauthentic(_))));
    }

    #[test]
    fn signed_and_acknowledged_frames_verify_and_repeat_as_duplicates() {
        let check = FrameCheck::with_key(KEY);
        let body = signed(SIGNED_ACKED, 7, KEY);
        let first = check.accept(&body, NOW).unwrap();
        assert_eq!((first.pickle, first.ack, first.repeated), (&b"PICKLE"[..], Some(7), false));
        let again = check.accept(&body, NOW).unwrap();
        assert!(again.repeated && again.ack == Some(7));
        let plain = signed(SIGNED, 8, KEY);
        assert_eq!(check.accept(&plain, NOW).unwrap().ack, None);
        assert!(matches!(check.accept(&plain, NOW), Err(Refused::Replayed(_))));
    }

    #[test]
    fn without_a_key_acknowledged_frames_are_deduplicated_and_signed_ones_refused() {
        let check = FrameCheck::default();
        let a = acked(3);
        assert!(!check.accept(&a, NOW).unwrap().repeated);
        assert!(check.accept(&a, NOW).unwrap().repeated);
        assert!(check.accept(&header(ACKED, 1)[..10], NOW).is_err());
        assert!(matches!(check.accept(&signed(SIGNED_ACKED, 1, KEY), NOW), Err(Refused::Unauthentic(_))));
        assert_eq!(check.accept(b"\x80\x02X", NOW).unwrap().pickle, b"\x80\x02X");
    }
}
