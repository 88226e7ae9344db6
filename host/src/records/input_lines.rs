//! The records `pylog emit` reads, one line at a time, from a thread of
//! their own, so that a signal can stop the reading even while the input
//! (a pipe from `tail -f`, a terminal) has nothing to say. The thread can
//! also turn each line into what the reader wants (`spawn_with`): parsing
//! there runs beside the plugin calls of the main thread, on another core.

use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

/// Batches read ahead at most; the reader waits beyond them.
const READ_AHEAD_BATCHES: usize = 8;

pub struct InputLines<T> {
    lines: Receiver<T>,
    stop: Arc<AtomicBool>,
}

/// How large a batch may grow.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub lines: usize,
    pub bytes: usize,
}

impl<T: Send + 'static> InputLines<Vec<T>> {
    /// Reads `input` on its own thread, each line (without its newline)
    /// turned into a `T` by `each` there, in batches. A batch is sent when
    /// it reaches `limits`, or as soon as no further complete line is
    /// buffered: the next may not be written yet (a pipe from `tail -f`),
    /// and what was read must not wait for it. `stop` ends the iteration as
    /// soon as it is set (what was not taken is left unread). A read error
    /// ends the input, after the batch it ends.
    pub fn spawn_batched(
        mut input: BufReader<Box<dyn Read + Send>>,
        stop: Arc<AtomicBool>,
        limits: BatchLimits,
        mut each: impl FnMut(std::io::Result<Vec<u8>>) -> T + Send + 'static,
    ) -> InputLines<Vec<T>> {
        let (tx, lines) = sync_channel(READ_AHEAD_BATCHES);
        std::thread::spawn(move || {
            let mut batch = Vec::new();
            let mut bytes = 0;
            loop {
                let mut line = Vec::new();
                let (ended, item) = match input.read_until(b'\n', &mut line) {
                    Ok(0) => (true, None),
                    Ok(n) => {
                        bytes += n;
                        if line.last() == Some(&b'\n') {
                            line.pop();
                        }
                        (false, Some(each(Ok(line))))
                    }
                    Err(e) => (true, Some(each(Err(e)))),
                };
                batch.extend(item);
                let full = batch.len() >= limits.lines || bytes >= limits.bytes;
                let more_ready = input.buffer().contains(&b'\n');
                if !batch.is_empty() && (ended || full || !more_ready) {
                    if tx.send(std::mem::take(&mut batch)).is_err() {
                        return;
                    }
                    bytes = 0;
                }
                if ended {
                    return;
                }
            }
        });
        InputLines { lines, stop }
    }
}

/// What waiting a while for the next line found.
pub enum Waited<T> {
    /// What the reading thread sent.
    Ready(T),
    /// Nothing arrived in time; the input is still open.
    Idle,
    /// The input ended (or a signal stopped the reading).
    End,
}

impl<T> InputLines<T> {
    /// The next batch, waiting at most `limit` for it.
    pub fn next_within(&mut self, limit: Duration) -> Waited<T> {
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
                Ok(line) => return Waited::Ready(line),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Waited::End,
            }
        }
    }
}

impl<T> Iterator for InputLines<T> {
    type Item = T;

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
