//! Acknowledged mode, the sending side: frames a receiver acknowledges by
//! sequence number, so that records in flight when a receiver dies are
//! sent again rather than lost (at-least-once, in the spirit of rsyslog's
//! RELP). Reading the acknowledgements is `deliver::acks`.
//!
//! The layouts are in `pylog_wire` (0xA2 frames, 0xA3 acknowledgements;
//! with a key, 0xA4 frames written by `signing`). A receiver recognises a
//! repeated (session, sequence) and drops it.

use pylog_wire::frame::ACKED;

use crate::error::{Error, Result};

/// Numbers the frames of one session.
pub struct AckSequencer {
    session: [u8; 16],
    next_seq: u64,
}

impl AckSequencer {
    pub fn new() -> Result<AckSequencer> {
        let mut session = [0u8; 16];
        getrandom::fill(&mut session)
            .map_err(|e| Error::Unsupported(format!("no randomness for the session id: {e}")))?;
        Ok(AckSequencer { session, next_seq: 1 })
    }

    /// Appends an acknowledged-mode frame around `pickle`.
    pub fn write_frame(&mut self, out: &mut Vec<u8>, pickle: &[u8]) -> Result<()> {
        let len = u32::try_from(1 + 16 + 8 + pickle.len())
            .map_err(|_| Error::BadRecord("frame does not fit a 4-byte length".into()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.push(ACKED);
        out.extend_from_slice(&self.session);
        out.extend_from_slice(&self.next_seq.to_be_bytes());
        out.extend_from_slice(pickle);
        self.next_seq += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_increasing_sequences() {
        let mut a = AckSequencer::new().unwrap();
        let mut out = Vec::new();
        a.write_frame(&mut out, b"P").unwrap();
        let first = out.clone();
        a.write_frame(&mut out, b"Q").unwrap();
        assert_eq!(pylog_wire::frame::sequence_of(&first[4..]), Some(1));
        assert_eq!(pylog_wire::frame::sequence_of(&out[first.len() + 4..]), Some(2));
    }
}
