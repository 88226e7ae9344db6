//! Where `pylog emit`'s lines come from: a file or stdin, read on a thread
//! of its own (`InputLines`), taken in batches, and stopped by a signal.

use std::io::BufRead;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use pylog_host::records::input_lines::{InputLines, Waited};

/// The most input lines handed to a handler in one call, and about the
/// most bytes of them: the batch is lowered into the plugin's memory beside
/// a full spool, so it stays a small part of the instance's 64 MiB.
const EMIT_BATCH_LINES: usize = 512;
const EMIT_BATCH_BYTES: usize = 256 << 10;

/// Input idle this long (a pipe from `tail -f` between records): handlers
/// holding spooled records try to deliver them now instead of waiting for
/// the next record to push them along.
const IDLE_DELIVERY: Duration = Duration::from_millis(200);

pub(crate) fn open_input(records: Option<&std::path::Path>) -> Result<Box<dyn BufRead + Send>> {
    Ok(match records {
        None => Box::new(std::io::BufReader::new(std::io::stdin())),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::BufReader::new(std::io::stdin())),
        Some(p) => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("open records {}", p.display()))?,
        )),
    })
}

/// The first SIGTERM or SIGINT stops reading; what was read is then
/// delivered (within each flush_timeout) and summed up as usual. A second
/// one exits at once, with status 130.
pub(crate) fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, stop.clone())
            .context("install the signal handler")?;
        signal_hook::flag::register(signal, stop.clone()).context("install the signal handler")?;
    }
    Ok(stop)
}

pub(crate) enum Read {
    Lines(Vec<std::io::Result<Vec<u8>>>),
    /// No input for `IDLE_DELIVERY`.
    Idle,
    End,
}

/// The next lines: the first waits for input, the rest are only those
/// already read, so a pipe from `tail -f` flows line by line.
pub(crate) fn read_batch(input: &mut InputLines) -> Read {
    let first = match input.next_within(IDLE_DELIVERY) {
        Waited::Line(line) => line,
        Waited::Idle => return Read::Idle,
        Waited::End => return Read::End,
    };
    let mut bytes = first.as_ref().map_or(0, Vec::len);
    let mut lines = vec![first];
    while lines.len() < EMIT_BATCH_LINES && bytes < EMIT_BATCH_BYTES {
        let Some(line) = input.next_ready() else { break };
        bytes += line.as_ref().map_or(0, Vec::len);
        lines.push(line);
    }
    Read::Lines(lines)
}
