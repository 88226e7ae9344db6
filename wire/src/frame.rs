//! Frame kinds and the byte offsets inside a frame body.

/// A signed frame (HMAC-SHA256 over everything before the tag).
pub const SIGNED: u8 = 0xA1;
/// An acknowledged-mode frame, unsigned.
pub const ACKED: u8 = 0xA2;
/// The receiver's acknowledgement.
pub const ACK: u8 = 0xA3;
/// A signed frame the receiver also acknowledges: the signed layout with
/// this kind byte, so acknowledged mode works with signing.
pub const SIGNED_ACKED: u8 = 0xA4;

/// The most frames a sender may have unacknowledged (`ack_window`). A
/// receiver remembers this many sequences per session, so anything a sender
/// resends is recognised as a repeat.
pub const MAX_ACK_WINDOW: u64 = 1024;

/// Bytes of an acknowledgement: kind and sequence.
pub const ACK_LEN: usize = 1 + 8;
/// Where the session id starts in a body.
pub const SESSION_AT: usize = 1;
/// Where the sequence number starts in a body (both layouts).
pub const SEQUENCE_AT: usize = SESSION_AT + 16;
/// Bytes before the pickle in an acknowledged (unsigned) body.
pub const ACKED_HEADER_LEN: usize = SEQUENCE_AT + 8;
/// Where the signing time starts in a signed body.
pub const TIME_AT: usize = SEQUENCE_AT + 8;
/// Bytes before the pickle in a signed body.
pub const SIGNED_HEADER_LEN: usize = TIME_AT + 8;
/// The HMAC-SHA256 tag closing a signed body.
pub const MAC_LEN: usize = 32;

/// What a body's first byte says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A bare pickle, as CPython's SocketHandler sends it.
    Plain,
    Signed,
    Acked,
    SignedAcked,
}

impl Kind {
    pub fn of(body: &[u8]) -> Kind {
        match body.first() {
            Some(&SIGNED) => Kind::Signed,
            Some(&ACKED) => Kind::Acked,
            Some(&SIGNED_ACKED) => Kind::SignedAcked,
            _ => Kind::Plain,
        }
    }

    pub fn is_signed(self) -> bool {
        matches!(self, Kind::Signed | Kind::SignedAcked)
    }

    pub fn is_acknowledged(self) -> bool {
        matches!(self, Kind::Acked | Kind::SignedAcked)
    }
}

/// The session id of an acknowledged or signed body, if it is long enough.
pub fn session_of(body: &[u8]) -> Option<[u8; 16]> {
    body.get(SESSION_AT..SEQUENCE_AT)?.try_into().ok()
}

/// The sequence number of an acknowledged or signed body, if it is long enough.
pub fn sequence_of(body: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(body.get(SEQUENCE_AT..SEQUENCE_AT + 8)?.try_into().ok()?))
}

/// The signing time of a signed body, if it is long enough.
pub fn time_of(body: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(body.get(TIME_AT..TIME_AT + 8)?.try_into().ok()?))
}

/// An acknowledgement of every frame up to `sequence`.
pub fn ack(sequence: u64) -> [u8; ACK_LEN] {
    let mut a = [0u8; ACK_LEN];
    a[0] = ACK;
    a[1..].copy_from_slice(&sequence.to_be_bytes());
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_offsets() {
        let mut body = vec![SIGNED_ACKED];
        body.extend_from_slice(&[7; 16]);
        body.extend_from_slice(&42u64.to_be_bytes());
        body.extend_from_slice(&99u64.to_be_bytes());
        assert_eq!(Kind::of(&body), Kind::SignedAcked);
        assert!(Kind::of(&body).is_signed() && Kind::of(&body).is_acknowledged());
        assert_eq!(session_of(&body), Some([7; 16]));
        assert_eq!(sequence_of(&body), Some(42));
        assert_eq!(time_of(&body), Some(99));
        assert_eq!(sequence_of(&body[..20]), None);
        assert_eq!(Kind::of(&[0x80, 2]), Kind::Plain);
        assert_eq!(Kind::of(&[]), Kind::Plain);
        assert_eq!(ack(258), [ACK, 0, 0, 0, 0, 0, 0, 1, 2]);
    }
}
