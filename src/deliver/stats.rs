//! What happened to every record a handler was given, counted so that
//! nothing is lost silently: the handler counts records (emitted, skipped,
//! buffered, refused by the encoder), its `Outbox` counts frames (sent,
//! spooled, replayed, dropped), and `Handler::stats` adds the two.

use std::ops::AddAssign;

/// Every emitted record is in exactly one of sent, spooled (now), buffered
/// (now), dropped or skipped:
/// `emitted == sent + spooled + buffered + dropped() + skipped_by_level`
/// after every call.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    pub emitted: u64,
    pub sent: u64,
    pub skipped_by_level: u64,
    pub bytes: u64,
    pub reconnects: u64,
    pub truncated: u64,
    /// Waiting in the spool now.
    pub spooled: u64,
    /// Sent from the spool after an outage (also counted in `sent`).
    pub replayed: u64,
    /// Dropped because the spool was full (by its overflow policy).
    pub dropped_spool_full: u64,
    /// Dropped because the record could not be encoded (bad-record).
    pub dropped_invalid: u64,
    /// Dropped because sending failed with no spool to keep it (datagrams),
    /// or because it was still spooled when the handler closed.
    pub dropped_unsent: u64,
    /// Acknowledged mode: written to the receiver but never acknowledged
    /// when the spool let go of them (overflow with nothing unwritten left
    /// to drop, or close): they may have arrived.
    pub dropped_unconfirmed: u64,
    /// Records an earlier run left in the durable spool, reloaded at open
    /// (also counted in `emitted`).
    pub recovered: u64,
    /// Durable spool entries that failed their checksum at open and were cut off.
    pub corrupt: u64,
    /// Waiting in a MemoryHandler buffer now.
    pub buffered: u64,
}

impl Stats {
    /// Every drop has exactly one reason, so the total is their sum.
    pub fn dropped(&self) -> u64 {
        self.dropped_spool_full + self.dropped_invalid + self.dropped_unsent + self.dropped_unconfirmed
    }
}

impl AddAssign for Stats {
    fn add_assign(&mut self, o: Stats) {
        self.emitted += o.emitted;
        self.sent += o.sent;
        self.skipped_by_level += o.skipped_by_level;
        self.bytes += o.bytes;
        self.reconnects += o.reconnects;
        self.truncated += o.truncated;
        self.spooled += o.spooled;
        self.replayed += o.replayed;
        self.dropped_spool_full += o.dropped_spool_full;
        self.dropped_invalid += o.dropped_invalid;
        self.dropped_unsent += o.dropped_unsent;
        self.dropped_unconfirmed += o.dropped_unconfirmed;
        self.recovered += o.recovered;
        self.corrupt += o.corrupt;
        self.buffered += o.buffered;
    }
}
