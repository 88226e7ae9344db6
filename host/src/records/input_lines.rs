//! The records `pylog emit` reads, one line at a time, from a thread of
//! their own, so that a signal can stop the reading even while the input
//! (a pipe from `tail -f`, a terminal) has nothing to say.

use std::io::BufRead;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

/// Lines read ahead at most; the reader waits beyond it.
const READ_AHEAD: usize = 4096;

pub struct InputLines {
    lines: Receiver<std::io::Result<Vec<u8>>>,
    stop: Arc<AtomicBool>,
}

impl InputLines {
    /// Reads `input` on its own thread; `stop` ends the iteration as soon
    /// as it is set (the lines not yet taken are left unread).
    pub fn spawn(input: Box<dyn BufRead + Send>, stop: Arc<AtomicBool>) -> InputLines {
        let (tx, lines) = sync_channel(READ_AHEAD);
        std::thread::spawn(move || {
            for line in input.split(b'\n') {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        InputLines { lines, stop }
    }
}

/// What waiting a while for the next line found.
pub enum Waited {
    Line(std::io::Result<Vec<u8>>),
    /// Nothing arrived in time; the input is still open.
    Idle,
    /// The input ended (or a signal stopped the reading).
    End,
}

impl InputLines {
    /// The next line, waiting at most `limit` for it.
    pub fn next_within(&mut self, limit: Duration) -> Waited {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Waited::End;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Waited::Idle;
            }
            match self.lines.recv_timeout(left.min(Duration::from_millis(50))) {
                Ok(line) => return Waited::Line(line),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Waited::End,
            }
        }
    }

    /// The next line if one was read already; never waits.
    pub fn next_ready(&mut self) -> Option<std::io::Result<Vec<u8>>> {
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        self.lines.try_recv().ok()
    }
}

impl Iterator for InputLines {
    type Item = std::io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return None;
            }
            match self.lines.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => return Some(line),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}
