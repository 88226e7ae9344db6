//! Where `pylog emit`'s lines come from: a file or stdin, read on a thread
//! of its own (`InputLines`), taken in batches, and stopped by a signal.

use std::io::BufReader;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use pylog_host::records::input_lines::{BatchLimits, InputLines, Waited};
use pylog_host::records::{self, Defaults};
use pylog_host::LogRecord;

/// The most input lines handed to a handler in one call, and about the
/// most bytes of them: the batch is lowered into the plugin's memory beside
/// a full spool, so it stays a small part of the instance's 64 MiB.
const EMIT_BATCH_LINES: usize = 512;
const EMIT_BATCH_BYTES: usize = 256 << 10;

/// Input idle this long (a pipe from `tail -f` between records): handlers
/// holding spooled records try to deliver them now instead of waiting for
/// the next record to push them along.
const IDLE_DELIVERY: Duration = Duration::from_millis(200);

/// The records file or stdin. The buffer holds about one batch, so a file
/// is read a batch at a time.
pub(crate) fn open_input(records: Option<&std::path::Path>) -> Result<BufReader<Box<dyn std::io::Read + Send>>> {
    let input: Box<dyn std::io::Read + Send> = match records {
        None => Box::new(std::io::stdin()),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::stdin()),
        Some(p) => Box::new(std::fs::File::open(p).with_context(|| format!("open records {}", p.display()))?),
    };
    Ok(BufReader::with_capacity(EMIT_BATCH_BYTES, input))
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

/// One input line, as the reading thread made it.
pub(crate) struct InputRecord {
    /// 1-based, as people count lines.
    pub line_number: usize,
    pub parsed: Parsed,
}

// Nearly every line is a record: boxing it would cost an allocation per
// record to shrink the rare bad or blank line.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Parsed {
    Record(LogRecord),
    /// Not a record; the message says why. Counted as read and bad.
    Bad(String),
    /// A blank line: not counted.
    Blank,
    /// The input could not be read: the run ends.
    ReadFailed(std::io::Error),
}

/// Reads `input` on its own thread, where each line is also parsed: the
/// parsing of one batch runs beside the plugin calls of the last. Records
/// that come back through `to_free`, delivered, are freed there too (see
/// `SharedBatch`'s `Drop`).
pub(crate) fn parsed_input(
    input: BufReader<Box<dyn std::io::Read + Send>>,
    stop: Arc<AtomicBool>,
    defaults: Defaults,
    to_free: Receiver<Vec<LogRecord>>,
) -> InputLines<Vec<InputRecord>> {
    let mut index = 0usize;
    let limits = BatchLimits { lines: EMIT_BATCH_LINES, bytes: EMIT_BATCH_BYTES };
    InputLines::spawn_batched(input, stop, limits, move |line| {
        to_free.try_iter().for_each(drop);
        index += 1;
        InputRecord { line_number: index, parsed: parse_line(index == 1, line, &defaults) }
    })
}

fn parse_line(first: bool, line: std::io::Result<Vec<u8>>, defaults: &Defaults) -> Parsed {
    let line = match line {
        Ok(line) => line,
        Err(e) => return Parsed::ReadFailed(e),
    };
    // A line that is not UTF-8 is one bad record, not the end of the stream.
    let Ok(line) = std::str::from_utf8(&line) else {
        return Parsed::Bad("not UTF-8; records are JSON text".into());
    };
    // A UTF-8 byte order mark (Windows editors write one) is not part of the first record.
    let line = if first { line.strip_prefix('\u{feff}').unwrap_or(line) } else { line };
    if line.trim().is_empty() {
        return Parsed::Blank;
    }
    match records::from_json_line(line, defaults) {
        Ok(record) => Parsed::Record(record),
        Err(e) => Parsed::Bad(format!("{e:#}")),
    }
}

pub(crate) enum Read {
    Lines(Vec<InputRecord>),
    /// No input for `IDLE_DELIVERY`.
    Idle,
    End,
}

/// The next batch: the lines read so far (up to a batch), waiting only
/// for the first, so a pipe from `tail -f` flows line by line.
pub(crate) fn read_batch(input: &mut InputLines<Vec<InputRecord>>) -> Read {
    match input.next_within(IDLE_DELIVERY) {
        Waited::Ready(lines) => Read::Lines(lines),
        Waited::Idle => Read::Idle,
        Waited::End => Read::End,
    }
}
