//! `QueueHandler` and `QueueListener`: `emit` puts the record on a bounded
//! queue and returns; a host thread that owns the target handlers' plugin
//! instances sends it on.
//!
//! A component cannot start threads (WASI 0.2 has none), so the queue and
//! its listener live in the host. One listener thread per queue keeps each
//! target's records in emit order. What the queue cannot take is dropped
//! and counted, never waited for: `emit` must not block on the network.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::{anyhow, Context, Result};

use crate::bindings::{HandlerError, HandlerStats, LogRecord};
use crate::config::QueueConfig;
use crate::runtime::{Handler, Plugin, PluginError};
use crate::sandbox::Grants;

enum Job {
    /// Boxed: records are large and flushes rare, and the channel's slots
    /// are sized by the largest variant.
    Record(Box<LogRecord>),
    /// Answered once every record before it has reached the targets.
    Flush(mpsc::Sender<()>),
}

/// The queue's own counters; each target keeps its handler stats.
#[derive(Debug, Default)]
pub struct QueueStats {
    pub emitted: AtomicU64,
    pub skipped_by_level: AtomicU64,
    /// The queue was full.
    pub dropped_full: AtomicU64,
    /// `prepare` failed (the record cannot be formatted).
    pub dropped_invalid: AtomicU64,
    pub forwarded: AtomicU64,
}

/// What a target handler did, reported when the queue closes.
pub struct TargetReport {
    pub name: String,
    pub stats: HandlerStats,
    /// Every refused attempt is counted; `denied` keeps the recent ones.
    pub denied_count: u64,
    pub denied: Vec<String>,
    pub traps: u64,
    pub close_error: Option<PluginError>,
}

pub struct QueueHandler {
    name: String,
    level: i64,
    sender: Option<SyncSender<Job>>,
    listener: Option<JoinHandle<Vec<TargetReport>>>,
    stats: Arc<QueueStats>,
}

impl QueueHandler {
    /// Opens every target in its own sandboxed instance, granted exactly
    /// its destination, and starts the listener.
    pub fn open(plugin: &Plugin, config: &QueueConfig) -> Result<QueueHandler> {
        QueueHandler::open_with(plugin, config, |t| {
            Grants::for_handler(t).map_err(|e| anyhow!("handler {:?}: {}", t.name, crate::bindings::describe(&e)))
        })
    }

    /// As `open`, with the grants for each target chosen by the caller.
    pub fn open_with(
        plugin: &Plugin,
        config: &QueueConfig,
        grants: impl Fn(&crate::bindings::HandlerConfig) -> Result<Grants>,
    ) -> Result<QueueHandler> {
        let mut targets = Vec::new();
        for t in &config.targets {
            let mut t = t.clone();
            if !config.respect_handler_level {
                // QueueListener calls handler.handle(), which has no level
                // check; only respect_handler_level consults it.
                t.level = 0;
            }
            let g = grants(&t)?;
            targets.push(plugin.open_with(&t, g).with_context(|| format!("open listener handler {:?}", t.name))?);
        }
        let mut pure = plugin.pure()?;
        let formatter = config.formatter.clone();
        let (sender, receiver) = mpsc::sync_channel(config.capacity);
        let stats = Arc::new(QueueStats::default());
        let listener_stats = stats.clone();
        let listener = std::thread::Builder::new()
            .name(format!("pylog-queue-{}", config.name))
            .spawn(move || listen(receiver, targets, &mut |r| pure.prepare_record(r, &formatter), &listener_stats))
            .context("start the queue listener thread")?;
        Ok(QueueHandler {
            name: config.name.clone(),
            level: config.level,
            sender: Some(sender),
            listener: Some(listener),
            stats,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Queues the record, or drops and counts it when the queue is full.
    pub fn emit(&self, record: &LogRecord) -> Result<(), HandlerError> {
        self.stats.emitted.fetch_add(1, Ordering::Relaxed);
        if record.levelno < self.level {
            self.stats.skipped_by_level.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let Some(sender) = &self.sender else { return Err(HandlerError::Closed) };
        match sender.try_send(Job::Record(Box::new(record.clone()))) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                self.stats.dropped_full.fetch_add(1, Ordering::Relaxed);
                Err(HandlerError::Dropped(format!(
                    "queue {:?} is full: its targets are slower than the records arriving (\".\" queue_size)",
                    self.name
                )))
            }
            Err(TrySendError::Disconnected(_)) => Err(HandlerError::Closed),
        }
    }

    /// Waits until every record queued so far has reached the targets and
    /// they have flushed.
    pub fn flush(&self) -> Result<()> {
        let sender = self.sender.as_ref().ok_or_else(|| anyhow!("queue {:?} is closed", self.name))?;
        let (done, wait) = mpsc::channel();
        sender.send(Job::Flush(done)).map_err(|_| anyhow!("queue {:?} listener has stopped", self.name))?;
        wait.recv().map_err(|_| anyhow!("queue {:?} listener has stopped", self.name))
    }

    pub fn stats(&self) -> &QueueStats {
        &self.stats
    }

    /// `QueueListener.stop`: the listener sends what is queued, closes the
    /// targets and reports on each.
    pub fn close(&mut self) -> Vec<TargetReport> {
        self.sender = None;
        match self.listener.take().map(JoinHandle::join) {
            Some(Ok(reports)) => reports,
            _ => Vec::new(),
        }
    }
}

impl Drop for QueueHandler {
    fn drop(&mut self) {
        self.close();
    }
}

/// The listener loop: takes what is queued (as many records as are
/// waiting, so that targets get batches), prepares each, hands them on.
fn listen(
    receiver: Receiver<Job>,
    mut targets: Vec<Handler>,
    prepare: &mut dyn FnMut(&LogRecord) -> Result<LogRecord, PluginError>,
    stats: &QueueStats,
) -> Vec<TargetReport> {
    let mut batch = Vec::new();
    while let Ok(first) = receiver.recv() {
        let mut jobs = vec![first];
        // Bounded: at most what was queued when the drain started.
        jobs.extend(receiver.try_iter().take(1024));
        for job in jobs {
            match job {
                Job::Record(r) => match prepare(&r) {
                    Ok(prepared) => batch.push(prepared),
                    Err(_) => {
                        stats.dropped_invalid.fetch_add(1, Ordering::Relaxed);
                    }
                },
                Job::Flush(done) => {
                    deliver(&mut targets, &mut batch, stats);
                    for t in &mut targets {
                        let _ = t.flush();
                    }
                    let _ = done.send(());
                }
            }
        }
        deliver(&mut targets, &mut batch, stats);
    }
    deliver(&mut targets, &mut batch, stats);
    targets
        .into_iter()
        .map(|mut t| {
            let close_error = t.close().err();
            TargetReport {
                name: t.name().to_string(),
                stats: t.stats().unwrap_or_else(|_| crate::bindings::HandlerStats::default()),
                denied_count: t.denials().count(),
                denied: t.denials().recent(),
                traps: t.traps(),
                close_error,
            }
        })
        .collect()
}

fn deliver(targets: &mut [Handler], batch: &mut Vec<LogRecord>, stats: &QueueStats) {
    if batch.is_empty() {
        return;
    }
    for t in targets.iter_mut() {
        // Failures are in the target's own stats (sent, spooled, dropped).
        let _ = t.emit_batch(batch);
    }
    stats.forwarded.fetch_add(batch.len() as u64, Ordering::Relaxed);
    batch.clear();
}
