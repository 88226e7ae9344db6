//! Verifying signed frames (layout in the guest's `signing.rs` and in
//! SECURITY.md): constant-time HMAC check, then replay defence by a
//! timestamp window and, within it, a per-session sequence window.
//!
//! Replays are caught by both: a frame older than the window is refused
//! outright (so a receiver restart cannot be used to replay old traffic
//! once the window has passed), and inside the window each (session,
//! sequence) is accepted once.

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const VERSION: u8 = 0xA1;
const HEADER_LEN: usize = 1 + 16 + 8 + 8;
const MAC_LEN: usize = 32;
/// How far a frame's timestamp may be from the receiver's clock.
pub const DEFAULT_WINDOW_US: u64 = 300_000_000;
/// Sequences this far behind a session's newest are refused as too old;
/// the rest are remembered, so UDP reordering within it is accepted.
const SEQUENCE_WINDOW: u64 = 1024;

pub fn is_signed(body: &[u8]) -> bool {
    body.first() == Some(&VERSION)
}

struct Session {
    highest: u64,
    seen: std::collections::BTreeSet<u64>,
    last_time_us: u64,
}

pub struct Verifier {
    mac: Hmac<Sha256>,
    window_us: u64,
    sessions: HashMap<[u8; 16], Session>,
}

impl Verifier {
    pub fn new(key: &[u8]) -> Verifier {
        // HMAC accepts keys of any length; the length policy lives where the
        // key is read.
        let mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable_hmac());
        Verifier { mac, window_us: DEFAULT_WINDOW_US, sessions: HashMap::new() }
    }

    /// Checks one frame body (after the 4-byte length) and returns its pickle.
    pub fn verify<'a>(&mut self, body: &'a [u8], now_us: u64) -> Result<&'a [u8], String> {
        if !is_signed(body) {
            return Err("unsigned frame refused: this receiver has an HMAC key, so every frame must be signed".into());
        }
        if body.len() < HEADER_LEN + MAC_LEN {
            return Err(format!("signed frame of {} bytes is too short to hold its header and MAC", body.len()));
        }
        let (signed, tag) = body.split_at(body.len() - MAC_LEN);
        let mut mac = self.mac.clone();
        mac.update(signed);
        mac.verify_slice(tag)
            .map_err(|_| "bad signature: the frame was altered, truncated, or signed with another key".to_string())?;
        let session: [u8; 16] = signed[1..17].try_into().map_err(|_| "short header".to_string())?;
        let sequence = u64::from_be_bytes(signed[17..25].try_into().map_err(|_| "short header".to_string())?);
        let time_us = u64::from_be_bytes(signed[25..33].try_into().map_err(|_| "short header".to_string())?);
        let skew = now_us.abs_diff(time_us);
        if skew > self.window_us {
            return Err(format!(
                "frame signed {:.0} s away from this receiver's clock (window ±{} s): a replay, or clocks out of sync",
                skew as f64 / 1e6,
                self.window_us / 1_000_000
            ));
        }
        self.forget_old(now_us);
        let s =
            self.sessions.entry(session).or_insert(Session { highest: 0, seen: Default::default(), last_time_us: 0 });
        if sequence + SEQUENCE_WINDOW <= s.highest || !s.seen.insert(sequence) {
            return Err(format!(
                "replayed frame (sequence {sequence} of its session was already accepted or is too old)"
            ));
        }
        s.highest = s.highest.max(sequence);
        s.last_time_us = s.last_time_us.max(time_us);
        while s.seen.len() as u64 > SEQUENCE_WINDOW {
            s.seen.pop_first();
        }
        Ok(&signed[HEADER_LEN..])
    }

    /// Sessions silent for longer than the window cannot send an acceptable
    /// frame from their past any more, so they need not be remembered.
    fn forget_old(&mut self, now_us: u64) {
        if self.sessions.len() > 1024 {
            let window = self.window_us;
            self.sessions.retain(|_, s| now_us.saturating_sub(s.last_time_us) <= window);
        }
    }
}

fn unreachable_hmac() -> Hmac<Sha256> {
    // new_from_slice only fails for fixed-size-key MACs; HMAC has none.
    Hmac::<Sha256>::new_from_slice(&[0]).unwrap_or_else(|_| std::process::abort())
}
