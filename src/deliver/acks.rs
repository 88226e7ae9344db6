//! Acknowledged mode, the delivering side: how many frames may be in
//! flight, and the acknowledgements the receiver sends back (0xA3 and a
//! sequence number, from `pylog_wire`). The frames themselves are written
//! by `encode::ack` (or `encode::signing` with a key).

use pylog_wire::frame::{ACK, ACK_LEN};

use crate::error::{Error, Result};

pub struct AckWindow {
    /// At most this many frames written and not yet acknowledged.
    pub window: usize,
    /// A partial acknowledgement carried over between reads.
    pending: Vec<u8>,
}

impl AckWindow {
    pub fn new(window: usize) -> AckWindow {
        AckWindow { window: window.max(1), pending: Vec::new() }
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
    fn acks_parse_across_reads_and_anything_else_is_refused() {
        let mut a = AckWindow::new(8);
        assert_eq!(a.read_acks(&[ACK, 0, 0, 0, 0]).unwrap(), None);
        assert_eq!(a.read_acks(&[0, 0, 0, 2, ACK, 0, 0, 0, 0, 0, 0, 0, 1]).unwrap(), Some(2));
        assert!(a.read_acks(&[0; 9]).is_err());
    }
}
