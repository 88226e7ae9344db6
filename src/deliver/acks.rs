//! Acknowledged mode, the delivering side: how many frames may be in
//! flight, and how the receiver confirms them: pylog's acknowledgements
//! (0xA3 and a sequence number, from `pylog_wire`) for frames written by
//! `encode::ack` (or `encode::signing` with a key), or a transport that
//! confirms messages itself (RELP's `rsp`, `deliver::relp`).

use pylog_wire::frame::{ACK, ACK_LEN};

use crate::deliver::spool::Spool;
use crate::deliver::transport::Transport;
use crate::error::{Error, Result};

/// How a receiver confirms frames.
pub enum Acks {
    /// Acknowledgements by sequence number, read from the transport's inbox.
    Sequenced(AckWindow),
    /// The transport confirms messages itself, in the order they were sent.
    ByTransport { window: usize },
}

/// What one look at the receiver's confirmations found.
pub struct Confirmed {
    /// Frames confirmed (removed from the spool) and their bytes.
    pub frames: usize,
    pub bytes: usize,
    /// The connection is down: every unconfirmed frame goes again.
    pub down: bool,
}

impl Acks {
    /// At most this many frames written and not yet confirmed.
    pub fn window(&self) -> usize {
        match self {
            Acks::Sequenced(w) => w.window,
            Acks::ByTransport { window } => *window,
        }
    }

    /// Reads what the receiver confirmed since the last call and removes
    /// those frames from the front of the spool.
    pub fn take_confirmed(&mut self, transport: &mut dyn Transport, spool: &mut Spool) -> Confirmed {
        match self {
            Acks::Sequenced(window) => {
                let (inbox, mut down) = transport.take_inbox();
                let (mut frames, mut bytes) = (0, 0);
                match window.read_acks(&inbox) {
                    Ok(Some(through)) => (frames, bytes) = spool.acknowledge(through, seq_of),
                    Ok(None) => {}
                    Err(_) => {
                        transport.close();
                        down = true;
                    }
                }
                Confirmed { frames, bytes, down }
            }
            Acks::ByTransport { .. } => {
                let (n, down) = transport.take_confirmed();
                let (frames, bytes) = spool.acknowledge_first(n);
                Confirmed { frames, bytes, down }
            }
        }
    }
}

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
