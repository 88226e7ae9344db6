//! Acknowledged mode: frames a receiver acknowledges by sequence number, so
//! that records in flight when a receiver dies are sent again rather than
//! lost (at-least-once, in the spirit of rsyslog's RELP).
//!
//! The layouts are in `pylog_wire` (0xA2 frames, 0xA3 acknowledgements;
//! with a key, 0xA4 frames written by `signing`). A receiver recognises a
//! repeated (session, sequence) and drops it.

use pylog_wire::frame::{ACK, ACKED, ACK_LEN};

use crate::error::{Error, Result};

pub struct AckState {
    session: [u8; 16],
    next_seq: u64,
    pub window: usize,
    /// A partial acknowledgement carried over between reads.
    pending: Vec<u8>,
}

impl AckState {
    pub fn new(window: usize) -> Result<AckState> {
        let mut session = [0u8; 16];
        getrandom::fill(&mut session)
            .map_err(|e| Error::Unsupported(format!("no randomness for the session id: {e}")))?;
        Ok(AckState { session, next_seq: 1, window: window.max(1), pending: Vec::new() })
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

    /// The highest sequence acknowledged in `bytes` (with what was left
    /// over from the last call), if any. Anything but acknowledgements is
    /// a protocol error.
    pub fn read_acks(&mut self, bytes: &[u8]) -> Result<Option<u64>> {
        self.pending.extend_from_slice(bytes);
        let mut highest = None;
        let whole = self.pending.len() / ACK_LEN * ACK_LEN;
        for ack in self.pending[..whole].chunks_exact(ACK_LEN) {
            if ack[0] != ACK {
                self.pending.clear();
                return Err(Error::Io("the receiver sent something that is not an acknowledgement".into()));
            }
            let mut seq = [0u8; 8];
            seq.copy_from_slice(&ack[1..]);
            highest = highest.max(Some(u64::from_be_bytes(seq)));
        }
        self.pending.drain(..whole);
        Ok(highest)
    }
}

/// The sequence number of a spooled frame (length prefix included), signed
/// or not.
pub fn seq_of(frame: &[u8]) -> u64 {
    frame.get(4..).and_then(pylog_wire::frame::sequence_of).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_increasing_sequences_and_acks_parse_across_reads() {
        let mut a = AckState::new(8).unwrap();
        let mut out = Vec::new();
        a.write_frame(&mut out, b"P").unwrap();
        let first = out.clone();
        a.write_frame(&mut out, b"Q").unwrap();
        assert_eq!(seq_of(&first), 1);
        assert_eq!(seq_of(&out[first.len()..]), 2);
        assert_eq!(a.read_acks(&[ACK, 0, 0, 0, 0]).unwrap(), None);
        assert_eq!(a.read_acks(&[0, 0, 0, 2, ACK, 0, 0, 0, 0, 0, 0, 0, 1]).unwrap(), Some(2));
        assert!(a.read_acks(&[0; 9]).is_err());
    }
}
