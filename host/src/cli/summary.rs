//! `pylog emit`'s closing account: a line for each handler with something
//! to report (drops with their reasons, sandbox refusals, traps, corrupt
//! spool entries), then one line of totals. Handlers behind a QueueHandler
//! are reported the same way as the others, with the queue named.

use std::process::ExitCode;

use pylog_host::bindings::HandlerStats;
use pylog_host::embed::queue::QueueStats;

use crate::cli::dry_run::DryRun;

#[derive(Default)]
pub struct Summary {
    pub read: u64,
    pub bad_lines: u64,
    /// Records a handler refused or failed, each reported on its line.
    pub failed: u64,
    /// Records below every logger's level or filtered out.
    pub unrouted: u64,
    handlers: usize,
    sent: u64,
    dropped: u64,
    skipped: u64,
    denied: u64,
    replayed: u64,
    reconnects: u64,
    bytes: u64,
    recovered: u64,
    /// Handlers whose TLS accepts any certificate (`"verify": false`).
    pub unverified_tls: Vec<String>,
}

/// One handler's account at close.
pub struct HandlerAccount<'a> {
    pub name: &'a str,
    /// The QueueHandler in front of it, if any.
    pub queue: Option<&'a str>,
    pub stats: HandlerStats,
    /// Every refused attempt is counted; `denied` holds the recent ones.
    pub denied_count: u64,
    pub denied: Vec<String>,
    pub traps: u64,
    pub lost_in_traps: u64,
}

impl Summary {
    pub fn handler(&mut self, a: HandlerAccount) {
        let s = &a.stats;
        let who = match a.queue {
            Some(q) => format!("handler {:?} (behind queue {q:?})", a.name),
            None => format!("handler {:?}", a.name),
        };
        // The total counts what the document attached: a queue's targets
        // are part of their queue.
        self.handlers += usize::from(a.queue.is_none());
        self.sent += s.sent;
        self.dropped += s.dropped;
        self.replayed += s.replayed;
        self.reconnects += s.reconnects;
        self.bytes += s.bytes;
        self.recovered += s.recovered;
        self.skipped += s.skipped_by_level;
        self.denied += a.denied_count;
        if s.corrupt > 0 {
            eprintln!("pylog emit: {who}: {} corrupt durable spool entries were cut off", s.corrupt);
        }
        if s.dropped > 0 {
            let unconfirmed = match s.dropped_unconfirmed {
                0 => String::new(),
                n => format!(", {n} written but never acknowledged (they may have arrived)"),
            };
            eprintln!(
                "pylog emit: {who} dropped {} records: {} spool full, {} unencodable, {} undeliverable{unconfirmed}",
                s.dropped, s.dropped_spool_full, s.dropped_invalid, s.dropped_unsent
            );
        }
        if a.denied_count > 0 {
            eprintln!("pylog emit: {who}: the sandbox refused {} attempts: {}", a.denied_count, a.denied.join(", "));
        }
        if a.traps > 0 {
            eprintln!(
                "pylog emit: {who}: its plugin instance trapped {} times and was replaced; {} records it held were \
                 lost (counted as dropped)",
                a.traps, a.lost_in_traps
            );
        }
    }

    /// A QueueHandler's own drops (its targets report as handlers).
    pub fn queue(&mut self, name: &str, stats: &QueueStats) {
        use std::sync::atomic::Ordering::Relaxed;
        let (full, invalid) = (stats.dropped_full.load(Relaxed), stats.dropped_invalid.load(Relaxed));
        self.handlers += 1;
        self.dropped += full + invalid;
        self.skipped += stats.skipped_by_level.load(Relaxed);
        if full + invalid > 0 {
            eprintln!(
                "pylog emit: queue {name:?} dropped {} records: {full} queue full, {invalid} unformattable",
                full + invalid
            );
        }
    }

    pub fn print(&self, dry: &DryRun) {
        let Summary {
            read,
            bad_lines,
            unrouted,
            handlers,
            sent,
            dropped,
            skipped,
            denied,
            replayed,
            reconnects,
            bytes,
            recovered,
            ..
        } = self;
        eprintln!(
            "pylog emit: {read} records read ({recovered} more recovered from durable spools); across {handlers} \
             handlers: {sent} sent ({replayed} after waiting in the spool), {dropped} dropped, {skipped} below level, \
             {bytes} bytes, {reconnects} reconnects; {bad_lines} bad lines, {denied} denied by sandbox, {unrouted} \
             below every logger's level or filtered out{}",
            dry.describe()
        );
        if !self.unverified_tls.is_empty() {
            eprintln!(
                "pylog emit: WARNING: TLS verification was off for {} (\".\" tls.verify false): their records went \
                 encrypted to whoever answered, which may not be your receiver",
                self.unverified_tls.join(", ")
            );
        }
    }

    /// 1 when anything was bad, refused, failed or dropped.
    pub fn exit_code(&self) -> ExitCode {
        match self.bad_lines + self.failed + self.dropped {
            0 => ExitCode::SUCCESS,
            _ => ExitCode::from(1),
        }
    }
}
