//! Records a stream handler could not send yet, kept in order and bounded,
//! so that an outage of the receiver loses nothing up to the bound, and
//! what goes beyond it is dropped by an explicit policy and counted.

use std::collections::VecDeque;
use std::time::Duration;

use crate::deliver::durable::{DurableLog, ENTRY_HEADER};

/// What a durable spool's replay found at open.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Entries read back from disk.
    pub frames: u64,
    /// Of those, the oldest that did not fit the spool's bounds (dropped).
    pub over_limit: u64,
    /// Corrupt or torn entries skipped.
    pub corrupt: u64,
    /// Why the spool folder was moved aside, if it was.
    pub quarantined: Option<String>,
}

/// What to do with a new record when the spool is full.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Overflow {
    /// Keep the newest records: the oldest spooled one is dropped.
    DropOldest,
    /// Keep the start of the outage: the new record is dropped.
    DropNewest,
    /// Wait up to `block_timeout` for room (the handler keeps trying to
    /// deliver), then drop the new record.
    Block,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpoolLimits {
    pub max_records: usize,
    pub max_bytes: usize,
    pub overflow: Overflow,
    pub block_timeout: Duration,
    /// How long `flush` and `close` try to deliver what is spooled.
    pub flush_timeout: Duration,
    /// How long one connect or one write may block.
    pub write_timeout: Duration,
    /// The durable spool's directory (as the plugin sees it), if any.
    pub directory: Option<String>,
}

impl Default for SpoolLimits {
    /// 10,000 records or 16 MiB, oldest dropped first: an outage of a few
    /// seconds at a busy service loses nothing.
    fn default() -> Self {
        SpoolLimits {
            max_records: 10_000,
            max_bytes: 16 << 20,
            overflow: Overflow::DropOldest,
            block_timeout: Duration::from_secs(1),
            flush_timeout: Duration::from_secs(5),
            write_timeout: crate::deliver::connection::DEFAULT_TIMEOUT,
            directory: None,
        }
    }
}

/// A duration option in seconds, refused (with its name) when it is not one.
pub fn seconds(name: &str, s: f64) -> crate::error::Result<Duration> {
    Duration::try_from_secs_f64(s).map_err(|_| {
        crate::error::Error::BadConfig(format!("{name} must be a number of seconds from 0 to 3600, not {s}"))
    })
}

pub struct Spool {
    /// Also on disk, when the user asked for a durable spool.
    durable: Option<DurableLog>,
    frames: VecDeque<Vec<u8>>,
    bytes: usize,
    /// In acknowledged mode, the first `in_flight` frames were written and
    /// await their acknowledgement; the rest are not written yet.
    in_flight: usize,
    pub limits: SpoolLimits,
}

impl Spool {
    pub fn new(limits: SpoolLimits) -> Spool {
        Spool { durable: None, frames: VecDeque::new(), bytes: 0, in_flight: 0, limits }
    }

    /// A spool backed by handler `name`'s folder in `dir`, holding what an
    /// earlier run left there. Replay reads one entry at a time and keeps
    /// the spool's bounds as it goes: the oldest records beyond them are
    /// dropped and counted (`Recovered::over_limit`).
    pub fn open_durable(limits: SpoolLimits, dir: &str, name: &str) -> crate::error::Result<(Spool, Recovered)> {
        let (log, mut found) = DurableLog::open(dir, name, limits.max_bytes)?;
        let max_frame = limits.max_bytes;
        let mut spool = Spool { durable: Some(log), frames: VecDeque::new(), bytes: 0, in_flight: 0, limits };
        let mut recovered = Recovered::default();
        while let Some(frame) = spool.log_mut()?.next_recovered(max_frame, &mut found)? {
            recovered.frames += 1;
            spool.bytes += frame.len();
            spool.frames.push_back(frame);
            while spool.over_bounds() {
                spool.pop_front();
                recovered.over_limit += 1;
            }
        }
        if spool.frames.is_empty() && recovered.frames > 0 {
            // Everything recovered was over the bounds: nothing is left on disk.
            spool.log_mut()?.reset()?;
        }
        recovered.corrupt = found.corrupt;
        recovered.quarantined = found.quarantined;
        Ok((spool, recovered))
    }

    fn log_mut(&mut self) -> crate::error::Result<&mut DurableLog> {
        self.durable.as_mut().ok_or_else(|| crate::error::Error::Io("no durable spool".into()))
    }

    fn over_bounds(&self) -> bool {
        !self.frames.is_empty()
            && (self.frames.len() > self.limits.max_records
                || self.bytes > self.limits.max_bytes
                || self.disk_bytes() > self.limits.max_bytes as u64)
    }

    /// Bytes the durable spool takes on disk (0 without one).
    pub fn disk_bytes(&self) -> u64 {
        self.durable.as_ref().map_or(0, DurableLog::disk_bytes)
    }

    /// What a durable spool's entry adds to its frame on disk (0 without one).
    fn entry_overhead(&self) -> u64 {
        if self.durable.is_some() {
            ENTRY_HEADER as u64
        } else {
            0
        }
    }

    pub fn is_durable(&self) -> bool {
        self.durable.is_some()
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether a frame of `len` bytes fits now.
    pub fn has_room(&self, len: usize) -> bool {
        self.frames.len() < self.limits.max_records
            && self.bytes + len <= self.limits.max_bytes
            && (self.durable.is_none()
                || self.disk_bytes() + self.entry_overhead() + len as u64 <= self.limits.max_bytes as u64)
    }

    /// Whether a frame of `len` bytes could ever fit.
    pub fn could_hold(&self, len: usize) -> bool {
        self.limits.max_records > 0 && len as u64 + self.entry_overhead() <= self.limits.max_bytes as u64
    }

    /// Keeps `frame`; with a durable spool it is written to disk first. If
    /// that fails the frame is still kept in memory, and the error says so.
    pub fn push_back(&mut self, frame: Vec<u8>) -> crate::error::Result<()> {
        let written = match self.durable.as_mut() {
            Some(log) => log.append(&frame),
            None => Ok(()),
        };
        self.bytes += frame.len();
        self.frames.push_back(frame);
        written.map_err(|e| crate::error::Error::Io(format!("{e}; the record is kept in memory only")))
    }

    pub fn front(&self) -> Option<&[u8]> {
        self.frames.front().map(Vec::as_slice)
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let f = self.frames.pop_front()?;
        self.bytes -= f.len();
        self.in_flight = self.in_flight.saturating_sub(1);
        if let Some(log) = self.durable.as_mut() {
            // A failed checkpoint only means more duplicates after a crash.
            let _ = log.consumed(f.len(), self.frames.is_empty());
        }
        Some(f)
    }

    /// Makes room under the drop-oldest policy; true when the frame let go
    /// was in flight (written, unacknowledged: it may have arrived). In
    /// acknowledged mode the frames in flight have left, in all likelihood,
    /// so the oldest frame not yet written goes first; a durable spool
    /// consumes its file from the front only, so there the front goes.
    pub fn drop_oldest(&mut self) -> Option<bool> {
        if self.durable.is_none() && self.in_flight < self.frames.len() && self.in_flight > 0 {
            let f = self.frames.remove(self.in_flight)?;
            self.bytes -= f.len();
            return Some(false);
        }
        let was_in_flight = self.in_flight > 0;
        self.pop_front().map(|_| was_in_flight)
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The first frame not yet written, in acknowledged mode.
    pub fn next_unsent(&self) -> Option<&[u8]> {
        self.frames.get(self.in_flight).map(Vec::as_slice)
    }

    /// The frames not yet written, in order (acknowledged mode).
    pub fn unsent(&self) -> impl Iterator<Item = &[u8]> {
        self.frames.iter().skip(self.in_flight).map(Vec::as_slice)
    }

    pub fn mark_sent(&mut self) {
        self.in_flight = (self.in_flight + 1).min(self.frames.len());
    }

    /// The connection is gone: everything unacknowledged is written again.
    pub fn resend_all(&mut self) {
        self.in_flight = 0;
    }

    /// Removes the in-flight frames whose sequence (read by `seq_of`) is at
    /// most `through`; returns how many and their bytes.
    pub fn acknowledge(&mut self, through: u64, seq_of: impl Fn(&[u8]) -> u64) -> (usize, usize) {
        let (mut n, mut bytes) = (0, 0);
        while self.in_flight > 0 && self.frames.front().is_some_and(|f| seq_of(f) <= through) {
            if let Some(f) = self.pop_front() {
                n += 1;
                bytes += f.len();
            }
        }
        (n, bytes)
    }

    /// Removes the first `n` in-flight frames (confirmed in order by the
    /// transport); returns how many and their bytes.
    pub fn acknowledge_first(&mut self, n: usize) -> (usize, usize) {
        let (mut count, mut bytes) = (0, 0);
        while count < n && self.in_flight > 0 {
            match self.pop_front() {
                Some(f) => {
                    count += 1;
                    bytes += f.len();
                }
                None => break,
            }
        }
        (count, bytes)
    }

    /// Empties the memory spool, returning how many records it held. A
    /// durable spool's file keeps them for the next start.
    pub fn clear(&mut self) -> usize {
        let n = self.frames.len();
        self.frames.clear();
        self.bytes = 0;
        self.in_flight = 0;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_by_records_and_bytes() {
        let mut s = Spool::new(SpoolLimits { max_records: 2, max_bytes: 10, ..Default::default() });
        assert!(s.has_room(10) && !s.has_room(11));
        s.push_back(vec![0; 6]).unwrap();
        assert!(!s.has_room(5) && s.has_room(4));
        s.push_back(vec![1; 4]).unwrap();
        assert!(!s.has_room(0), "record bound");
        assert_eq!(s.pop_front(), Some(vec![0; 6]));
        assert_eq!((s.len(), s.bytes()), (1, 4));
        assert!(!s.could_hold(11));
    }

    #[test]
    fn drop_oldest_spares_frames_in_flight_while_unwritten_ones_remain() {
        let mut s = Spool::new(SpoolLimits { max_records: 4, max_bytes: 100, ..Default::default() });
        for b in 0..4u8 {
            s.push_back(vec![b; 2]).unwrap();
        }
        s.mark_sent();
        s.mark_sent();
        assert_eq!(s.drop_oldest(), Some(false), "the oldest unwritten frame goes");
        assert_eq!(s.drop_oldest(), Some(false));
        assert_eq!((s.len(), s.bytes(), s.in_flight()), (2, 4, 2));
        assert_eq!(s.front(), Some(&[0u8, 0][..]));
        assert_eq!(s.drop_oldest(), Some(true), "only frames in flight are left");
        assert_eq!((s.len(), s.in_flight()), (1, 1));
    }
}
