//! `pylog emit`'s delivery: each handler is its own instance, served by its
//! own long-lived thread that takes batches from a channel. Handlers run
//! side by side and none waits for the others within a batch: the main
//! thread hands out batch k, and only then waits for batch k-1's results,
//! which it reports in order. While a handler works, the main thread routes
//! and packs the next batch.
//!
//! One batch in flight per handler bounds memory, and keeps back-pressure:
//! a handler stuck on its peer stops the reading after one more batch, as
//! calling it directly would.

use std::collections::VecDeque;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{sync_channel, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use pylog_host::bindings::PackedRecords;
use pylog_host::records::packed;
use pylog_host::runtime::PluginError;
use pylog_host::{Handler, LogRecord};

use crate::cli::dry_run::DryRun;
use crate::cli::summary::Summary;

/// A batch as every handler it reaches sees it.
pub(crate) struct SharedBatch {
    pub records: Vec<LogRecord>,
    /// The whole batch packed once, when some handler takes all of it.
    pub whole: Option<PackedRecords>,
    /// Where the records go when the last handler is done with them.
    freed_by_reader: Sender<Vec<LogRecord>>,
}

impl SharedBatch {
    pub fn new(
        records: Vec<LogRecord>,
        some_take_all: bool,
        freed_by_reader: Sender<Vec<LogRecord>>,
    ) -> Arc<SharedBatch> {
        let whole = some_take_all.then(|| packed::pack(&records));
        Arc::new(SharedBatch { records, whole, freed_by_reader })
    }
}

/// The records go back to the reading thread, which allocated their
/// strings, to be freed there: the allocator frees a thread's own memory
/// at a fraction of the cost of another thread's, and the last holder is a
/// handler's thread, the busiest of the pipeline (SocketHandler, whole
/// process: 1.10x less wall and CPU time, 9 alternating rounds). They wait
/// there until the reader takes its next line: a few batches at most,
/// since it has sent no more. If the reading thread has ended, they are
/// freed here.
impl Drop for SharedBatch {
    fn drop(&mut self) {
        let _ = self.freed_by_reader.send(std::mem::take(&mut self.records));
    }
}

/// What a handler's call gave: a result per record (or the call's error),
/// and in a dry run the bytes it wrote.
pub(crate) struct Shipped {
    pub sent: Result<Vec<Result<(), PluginError>>, PluginError>,
    pub output: Option<Result<Vec<u8>, PluginError>>,
}

impl Shipped {
    /// The delivery thread panicked or is gone (a host bug): the batch's
    /// records count as failed.
    fn lost() -> Shipped {
        let bug = anyhow::anyhow!("the delivery thread panicked (a bug in pylog; please report it)");
        Shipped { sent: Err(PluginError::Trap(bug)), output: None }
    }
}

enum Work {
    /// Emit the batch's records at these indexes (all of them: `None`).
    Ship { batch: Arc<SharedBatch>, subset: Option<Vec<usize>>, dry_run: bool },
    /// The input is idle: deliver what is spooled, if anything.
    FlushSpooled,
}

enum Reply {
    Shipped(Shipped),
    Flushed,
}

/// One handler on its delivery thread.
pub(crate) struct Shipper {
    name: String,
    work: Option<SyncSender<Work>>,
    replies: Receiver<Reply>,
    thread: Option<JoinHandle<Handler>>,
}

impl Shipper {
    pub fn start(handler: Handler) -> std::io::Result<Shipper> {
        let name = handler.name().to_string();
        // One batch queued behind the one in progress is all the pipeline
        // needs; more would only hold memory.
        let (work, jobs) = sync_channel(1);
        let (reply, replies) = sync_channel(2);
        let thread =
            std::thread::Builder::new().name(format!("pylog {name}")).spawn(move || serve(handler, jobs, reply))?;
        Ok(Shipper { name, work: Some(work), replies, thread: Some(thread) })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Hands `batch` (or its `subset`) to the handler; its result comes
    /// from `shipped`, in the order batches were handed out.
    pub fn ship(&self, batch: Arc<SharedBatch>, subset: Option<Vec<usize>>, dry_run: bool) {
        // A send fails only when the thread is gone; `shipped` says so.
        let _ = self.send(Work::Ship { batch, subset, dry_run });
    }

    /// The result of the oldest batch handed out and not yet taken.
    pub fn shipped(&self) -> Shipped {
        match self.replies.recv() {
            Ok(Reply::Shipped(s)) => s,
            _ => Shipped::lost(),
        }
    }

    /// Delivers what the handler has spooled; every batch handed out must
    /// have been taken with `shipped` first.
    pub fn start_flush_spooled(&self) -> bool {
        self.send(Work::FlushSpooled)
    }

    pub fn flushed(&self) {
        let _ = self.replies.recv();
    }

    fn send(&self, work: Work) -> bool {
        self.work.as_ref().is_some_and(|w| w.send(work).is_ok())
    }

    /// Ends the thread and gives the handler back (None: it panicked
    /// outside a call, which is a bug).
    pub fn into_handler(mut self) -> Option<Handler> {
        self.work = None;
        self.thread.take()?.join().ok()
    }
}

fn serve(mut handler: Handler, jobs: Receiver<Work>, replies: SyncSender<Reply>) -> Handler {
    for work in jobs {
        let reply = match work {
            Work::Ship { batch, subset, dry_run } => Reply::Shipped(
                catch_unwind(AssertUnwindSafe(|| ship(&mut handler, &batch, subset.as_deref(), dry_run)))
                    .unwrap_or_else(|_| Shipped::lost()),
            ),
            Work::FlushSpooled => {
                // What is still spooled afterwards stays spooled: not a
                // failure yet, so nothing is said.
                let _ = catch_unwind(AssertUnwindSafe(|| {
                    if handler.stats().is_ok_and(|s| s.spooled > 0) {
                        let _ = handler.flush();
                    }
                }));
                Reply::Flushed
            }
        };
        if replies.send(reply).is_err() {
            break;
        }
    }
    handler
}

fn ship(handler: &mut Handler, batch: &SharedBatch, subset: Option<&[usize]>, dry_run: bool) -> Shipped {
    let sent = match (subset, &batch.whole) {
        (None, Some(whole)) => handler.emit_packed(&batch.records, whole),
        (None, None) => handler.emit_packed(&batch.records, &packed::pack(&batch.records)),
        (Some(indexes), _) => {
            let records: Vec<LogRecord> = indexes.iter().map(|&i| batch.records[i].clone()).collect();
            handler.emit_packed(&records, &packed::pack(&records))
        }
    };
    let output = dry_run.then(|| handler.take_output());
    Shipped { sent, output }
}

/// A batch handed out, waiting for its results: the input line of each
/// record, and which records each shipper took.
pub(crate) struct InFlight {
    pub line_numbers: Vec<usize>,
    pub jobs: Vec<(usize, Vec<usize>)>,
}

/// Reports the results of the batches in flight, oldest first, until at
/// most `keep` are left: each failed record with its input line.
pub(crate) fn report_results(
    shippers: &[Shipper],
    in_flight: &mut VecDeque<InFlight>,
    keep: usize,
    summary: &mut Summary,
    dry: &mut DryRun,
    stdout: &mut impl Write,
) -> anyhow::Result<()> {
    while in_flight.len() > keep {
        let Some(done) = in_flight.pop_front() else { break };
        for (index, mine) in &done.jobs {
            let shipper = &shippers[*index];
            let shipped = shipper.shipped();
            match shipped.sent {
                Ok(results) => {
                    for (i, result) in mine.iter().zip(results) {
                        if let Err(e) = result {
                            eprintln!("pylog: line {}: handler {:?}: {}", done.line_numbers[*i], shipper.name(), e);
                            summary.failed += 1;
                        }
                    }
                }
                Err(e) => {
                    let (from, to) = (done.line_numbers[mine[0]], done.line_numbers[mine[mine.len() - 1]]);
                    eprintln!("pylog: lines {from}-{to}: handler {:?}: {e}", shipper.name());
                    summary.failed += mine.len() as u64;
                }
            }
            if let Some(output) = shipped.output {
                dry.write(stdout, shipper.name(), &output?)?;
            }
        }
    }
    Ok(())
}
