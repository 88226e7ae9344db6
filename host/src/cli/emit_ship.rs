//! `pylog emit`'s delivery of one batch to the handlers it reaches: each
//! handler is its own instance, so they run side by side, one thread each
//! (the first on the calling thread), and the caller reports in order.

use std::sync::OnceLock;

use pylog_host::bindings::PackedRecords;
use pylog_host::records::packed;
use pylog_host::runtime::PluginError;
use pylog_host::{Handler, LogRecord};

/// One handler's part of a batch.
pub(crate) struct Job<'h> {
    pub handler: &'h mut Handler,
    /// Indexes into the batch, in order.
    pub mine: Vec<usize>,
    pub records: Records,
}

pub(crate) enum Records {
    Whole,
    Subset(Vec<LogRecord>),
}

/// What a handler's call gave: a result per record (or the call's error),
/// and in a dry run the bytes it wrote.
pub(crate) struct Shipped {
    pub sent: Result<Vec<Result<(), PluginError>>, PluginError>,
    pub output: Option<Result<Vec<u8>, PluginError>>,
}

impl Shipped {
    /// A delivery thread panicked (a host bug): its records count as failed.
    fn panicked() -> Shipped {
        let bug = anyhow::anyhow!("the delivery thread panicked (a bug in pylog; please report it)");
        Shipped { sent: Err(PluginError::Trap(bug)), output: None }
    }
}

/// Ships each job's records (packed; the whole batch is packed once for
/// every handler it reaches), with each handler's dry-run bytes when
/// `dry_run`; one `Shipped` per job, in order.
pub(crate) fn ship_side_by_side(jobs: &mut [Job], batch: &[LogRecord], dry_run: bool) -> Vec<Shipped> {
    let whole: OnceLock<PackedRecords> = OnceLock::new();
    let run = |job: &mut Job| -> Shipped {
        let sent = match &job.records {
            Records::Whole => job.handler.emit_packed(batch, whole.get_or_init(|| packed::pack(batch))),
            Records::Subset(subset) => job.handler.emit_packed(subset, &packed::pack(subset)),
        };
        let output = dry_run.then(|| job.handler.take_output());
        Shipped { sent, output }
    };
    match jobs.split_first_mut() {
        None => Vec::new(),
        Some((first, rest)) => std::thread::scope(|scope| {
            let others: Vec<_> = rest.iter_mut().map(|job| scope.spawn(|| run(job))).collect();
            let mut all = vec![run(first)];
            for other in others {
                all.push(other.join().unwrap_or_else(|_| Shipped::panicked()));
            }
            all
        }),
    }
}
