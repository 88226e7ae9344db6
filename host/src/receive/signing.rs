//! Verifying signed frames (layout in `pylog_wire`): constant-time HMAC
//! check, then replay defence by a timestamp window and, within it, a
//! per-session sequence window.
//!
//! Replays are caught by both: a frame older than the window is refused
//! outright (so a receiver restart cannot be used to replay old traffic
//! once the window has passed), and inside the window each (session,
//! sequence) is accepted once. Sessions are remembered only once a frame
//! of theirs verified, so without the key nobody can fill that memory.

use hmac::{Hmac, Mac};
use pylog_wire::frame::{self, Kind, MAC_LEN, SIGNED_HEADER_LEN};
use sha2::Sha256;

use crate::receive::sequence_window::SessionWindows;

/// How far a frame's timestamp may be from the receiver's clock.
pub const DEFAULT_WINDOW_US: u64 = 300_000_000;

pub fn is_signed(body: &[u8]) -> bool {
    Kind::of(body).is_signed()
}

/// A frame that verified.
#[derive(Debug, PartialEq)]
pub struct Verified<'a> {
    pub pickle: &'a [u8],
    pub session: [u8; 16],
    pub sequence: u64,
    /// Accepted before: an acknowledged-mode resend, or a replay.
    pub repeated: bool,
}

pub struct Verifier {
    mac: Hmac<Sha256>,
    window_us: u64,
    sessions: SessionWindows,
}

impl Verifier {
    pub fn new(key: &[u8]) -> Verifier {
        // HMAC accepts keys of any length; the length policy lives where the
        // key is read.
        let mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable_hmac());
        Verifier { mac, window_us: DEFAULT_WINDOW_US, sessions: SessionWindows::default() }
    }

    /// Checks one signed frame body (after the 4-byte length), of either
    /// signed kind. Whether a repeat is acceptable (an acknowledged resend)
    /// or a replay is the caller's decision.
    pub fn verify<'a>(&mut self, body: &'a [u8], now_us: u64) -> Result<Verified<'a>, String> {
        if !is_signed(body) {
            return Err("unsigned frame refused: this receiver has an HMAC key, so every frame must be signed".into());
        }
        if body.len() < SIGNED_HEADER_LEN + MAC_LEN {
            return Err(format!("signed frame of {} bytes is too short to hold its header and MAC", body.len()));
        }
        let (signed, tag) = body.split_at(body.len() - MAC_LEN);
        let mut mac = self.mac.clone();
        mac.update(signed);
        mac.verify_slice(tag)
            .map_err(|_| "bad signature: the frame was altered, truncated, or signed with another key".to_string())?;
        let short = || "short header".to_string();
        let session = frame::session_of(signed).ok_or_else(short)?;
        let sequence = frame::sequence_of(signed).ok_or_else(short)?;
        let time_us = frame::time_of(signed).ok_or_else(short)?;
        let skew = now_us.abs_diff(time_us);
        if skew > self.window_us {
            return Err(format!(
                "frame signed {:.0} s away from this receiver's clock (window ±{} s): a replay, or clocks out of sync",
                skew as f64 / 1e6,
                self.window_us / 1_000_000
            ));
        }
        let repeated = !self.sessions.accept(session, sequence);
        Ok(Verified { pickle: &signed[SIGNED_HEADER_LEN..], session, sequence, repeated })
    }
}

fn unreachable_hmac() -> Hmac<Sha256> {
    // new_from_slice only fails for fixed-size-key MACs; HMAC has none.
    Hmac::<Sha256>::new_from_slice(&[0]).unwrap_or_else(|_| std::process::abort())
}
