//! Which (session, sequence) pairs a receiver has already accepted, in
//! bounded memory: an anti-replay bitmap per session (as in IPsec, RFC 4303
//! §3.4.3) and a bounded number of sessions.
//!
//! Acknowledged-mode senders resend what was not acknowledged, and signed
//! frames must not be replayed; both need "seen before?" without keeping
//! every sequence forever (that once cost ~305 bytes a frame).

use std::collections::HashMap;

/// Sequences this far behind a session's newest count as seen. A sender's
/// acknowledgement window must not exceed it (`ack_window` is capped to it),
/// so that anything it resends is inside the window.
pub const WINDOW: u64 = pylog_wire::frame::MAX_ACK_WINDOW;
const WORDS: usize = (WINDOW / 64) as usize;
/// Sessions remembered at once; beyond it the least recently active quarter
/// is forgotten. 128 bytes of bitmap each: about 1 MiB at the cap.
pub const MAX_SESSIONS: usize = 8192;

#[derive(Clone)]
struct Session {
    highest: u64,
    /// Bit i set: sequence `highest - i` was accepted.
    bits: [u64; WORDS],
    last_used: u64,
}

impl Session {
    fn new() -> Session {
        Session { highest: 0, bits: [0; WORDS], last_used: 0 }
    }

    /// Marks `seq` accepted; false if it was already, or is too old to tell.
    fn accept(&mut self, seq: u64) -> bool {
        if seq > self.highest {
            self.shift(seq - self.highest);
            self.highest = seq;
            self.bits[0] |= 1;
            return true;
        }
        let back = self.highest - seq;
        if back >= WINDOW {
            return false;
        }
        let (word, bit) = ((back / 64) as usize, back % 64);
        let fresh = self.bits[word] & (1 << bit) == 0;
        self.bits[word] |= 1 << bit;
        fresh
    }

    /// Moves the window forward by `by` sequences.
    fn shift(&mut self, by: u64) {
        if by >= WINDOW {
            self.bits = [0; WORDS];
            return;
        }
        let (words, bits) = ((by / 64) as usize, by % 64);
        for i in (0..WORDS).rev() {
            let from = i.checked_sub(words);
            let hi = from.map_or(0, |f| self.bits[f] << bits);
            let lo = match (from.and_then(|f| f.checked_sub(1)), bits) {
                (Some(f), 1..) => self.bits[f] >> (64 - bits),
                _ => 0,
            };
            self.bits[i] = hi | lo;
        }
    }
}

/// Accepted sequences of many sessions, bounded.
#[derive(Default)]
pub struct SessionWindows {
    sessions: HashMap<[u8; 16], Session>,
    clock: u64,
}

impl SessionWindows {
    /// Marks (session, seq) accepted; false if it was seen before (or is
    /// more than `WINDOW` behind the session's newest).
    pub fn accept(&mut self, session: [u8; 16], seq: u64) -> bool {
        self.clock += 1;
        if self.sessions.len() >= MAX_SESSIONS && !self.sessions.contains_key(&session) {
            self.forget_least_recent();
        }
        let s = self.sessions.entry(session).or_insert_with(Session::new);
        s.last_used = self.clock;
        s.accept(seq)
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    fn forget_least_recent(&mut self) {
        let mut ages: Vec<u64> = self.sessions.values().map(|s| s.last_used).collect();
        let cut = ages.len() / 4;
        let (_, &mut threshold, _) = ages.select_nth_unstable(cut);
        self.sessions.retain(|_, s| s.last_used > threshold);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sequence_once_in_any_order_within_the_window() {
        let mut w = SessionWindows::default();
        let a = [1; 16];
        for seq in [5, 3, 4, 1, 2, 200, 70, 64, 65, 63, 1000] {
            assert!(w.accept(a, seq), "{seq} is new");
        }
        for seq in [5, 3, 4, 1, 2, 200, 70, 64, 65, 63, 1000] {
            assert!(!w.accept(a, seq), "{seq} is a repeat");
        }
        assert!(w.accept(a, 6));
        assert!(w.accept(a, 5000));
        assert!(!w.accept(a, 5000 - WINDOW), "too old to tell counts as seen");
        assert!(w.accept(a, 5001 - WINDOW));
        assert!(w.accept([2; 16], 1), "sessions are apart");
    }

    #[test]
    fn the_bitmap_matches_a_set_over_a_random_walk() {
        let mut s = Session::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut x: u64 = 12345;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let seq = s.highest.saturating_sub(WINDOW - 1) + x % (WINDOW + 130);
            let expected = seq + WINDOW > s.highest && seen.insert(seq);
            assert_eq!(s.accept(seq), expected, "seq {seq} highest {}", s.highest);
        }
    }

    #[test]
    fn memory_stays_bounded_under_many_sessions() {
        let mut w = SessionWindows::default();
        for i in 0..(MAX_SESSIONS as u64 * 3) {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&i.to_be_bytes());
            w.accept(id, 1);
            assert!(w.len() <= MAX_SESSIONS);
        }
    }
}
