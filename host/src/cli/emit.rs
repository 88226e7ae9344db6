//! `pylog emit`: JSON-lines records through the handlers of a dictConfig
//! document, each handler in its own sandboxed plugin instance.
//!
//! The path of a batch: the reading thread parses each line as it reads it
//! (beside the plugin calls of the main thread), `read_batch` takes the
//! lines already read (never waiting for more), `take_records` counts and
//! reports the bad ones, `route` decides which handlers each reaches as
//! CPython's `callHandlers` would, and `deliver` hands each handler its
//! records, packed, in one call. `finish` closes everything and prints the
//! summary.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result};
use pylog_host::bindings::describe;
use pylog_host::config::routing::LAST_RESORT_LEVEL;
use pylog_host::config::{self, Document};
use pylog_host::embed::queue::QueueHandler;
use pylog_host::records::Defaults;
use pylog_host::runtime::Limits;
use pylog_host::sandbox::Grants;
use pylog_host::{Handler, HandlerConfig, LogRecord, Plugin};

use crate::cli::dry_run::DryRun;
use crate::cli::emit_input::{open_input, parsed_input, read_batch, stop_on_signals, InputRecord, Parsed, Read};
use crate::cli::emit_ship::{ship_side_by_side, Job, Records};
use crate::cli::summary::{HandlerAccount, Summary};

pub struct EmitOptions {
    pub plugin: PathBuf,
    pub config: PathBuf,
    pub dry: DryRun,
    /// Addresses every handler may also reach (`--allow`).
    pub allow: Vec<SocketAddr>,
    pub max_record_bytes: usize,
    pub max_sockets: usize,
    /// None or `-` for stdin.
    pub records: Option<PathBuf>,
}

/// The handlers of the document, opened.
struct Handlers {
    direct: Vec<Handler>,
    queues: Vec<QueueHandler>,
    /// Where `logging.lastResort` sits in `direct`, once a record needed it.
    last_resort: Option<usize>,
    /// In a dry run, each queue target is attached directly (to show its
    /// bytes) but still reached as its queue is: target name -> queue name.
    behind_queue: HashMap<String, String>,
}

/// One batch of parsed records, with the input line each came from.
#[derive(Default)]
struct Batch {
    records: Vec<LogRecord>,
    line_numbers: Vec<usize>,
}

/// Which handlers each record of a batch reaches.
struct Routes<'d> {
    /// Per record, the handler names it reaches (a name twice when CPython
    /// would call that handler twice).
    reach: Vec<Vec<&'d str>>,
    /// Records no handler was found for, at WARNING or above.
    to_last_resort: Vec<usize>,
}

pub fn run(mut o: EmitOptions) -> Result<ExitCode> {
    let mut doc = config::parse_file(&o.config)?;
    say_ignored(&doc);
    let behind_queue = if o.dry.on() { attach_for_dry_run(&mut doc, &o.dry)? } else { HashMap::new() };
    let plugin = Plugin::load(&o.plugin)?;
    let limits = Limits { max_record_bytes: o.max_record_bytes, max_sockets: o.max_sockets, ..plugin.limits().clone() };
    let plugin = plugin.with_limits(limits);
    let mut handlers = open_handlers(&plugin, &doc, &o.allow, behind_queue)?;
    let mut summary = Summary::default();
    summary.unverified_tls = doc.tls.iter().filter(|(_, c)| !c.verifies).map(|(n, _)| format!("{n:?}")).collect();
    summary.unverified_tls.sort();
    let stop = stop_on_signals()?;
    // `logging._startTime`: relativeCreated counts from the start of the
    // run. Made here: the thread and thread name are the main thread's.
    let defaults = Defaults::default();
    let mut input = parsed_input(open_input(o.records.as_deref())?, stop.clone(), defaults);
    let mut stdout = std::io::stdout().lock();
    loop {
        let lines = match read_batch(&mut input) {
            Read::Lines(lines) => lines,
            Read::Idle => {
                deliver_spooled(&mut handlers);
                continue;
            }
            Read::End => break,
        };
        let batch = take_records(lines, &mut summary)?;
        let routes = route(&doc, &batch, &mut summary);
        if !routes.to_last_resort.is_empty() && handlers.last_resort.is_none() {
            handlers.direct.push(open_last_resort(&plugin)?);
            handlers.last_resort = Some(handlers.direct.len() - 1);
        }
        deliver(&mut handlers, &batch, &routes, &mut summary, &mut o.dry, &mut stdout)?;
        stdout.flush()?;
    }
    if stop.load(Ordering::Relaxed) {
        eprintln!(
            "pylog emit: stopping on a signal: input no longer read; delivering what was read (a second signal \
             exits at once)"
        );
    }
    finish(handlers, summary, &mut o.dry, &mut stdout)
}

/// Keys CPython would ignore are ignored; each is said once, as a likely typo.
pub fn say_ignored(doc: &Document) {
    for what in &doc.ignored {
        eprintln!("pylog: ignored, as CPython ignores it: {what}");
    }
}

/// A dry run shows each queue target's bytes as if it were attached
/// directly; records still go where the queue's routing sends them. Every
/// handler encodes without sending (its dry-run flag).
fn attach_for_dry_run(doc: &mut Document, dry: &DryRun) -> Result<HashMap<String, String>> {
    let mut behind_queue = HashMap::new();
    for q in doc.queues.drain(..) {
        for t in &q.targets {
            behind_queue.insert(t.name.clone(), q.name.clone());
        }
        doc.handlers.extend(q.targets);
    }
    for h in &mut doc.handlers {
        h.dry_run = true;
    }
    if matches!(dry, DryRun::Stdout) && doc.handlers.len() > 1 {
        let names: Vec<&str> = doc.handlers.iter().map(|h| h.name.as_str()).collect();
        anyhow::bail!(
            "--dry-run writes one handler's bytes to stdout, and this document has {} ({}): use --dry-run-dir DIR \
             for one file per handler",
            names.len(),
            names.join(", ")
        );
    }
    Ok(behind_queue)
}

fn open_handlers(
    plugin: &Plugin,
    doc: &Document,
    allow: &[SocketAddr],
    behind_queue: HashMap<String, String>,
) -> Result<Handlers> {
    let grants_for = |h: &HandlerConfig| -> Result<Grants> {
        let mut grants =
            Grants::for_configured(h, doc).map_err(|e| anyhow::anyhow!("handler {:?}: {}", h.name, describe(&e)))?;
        if grants.tls.as_ref().and_then(|t| t.client.as_ref()).is_some_and(|c| !c.verifies) {
            eprintln!(
                "pylog emit: WARNING: handler {:?}: TLS verification is off (\".\" tls.verify false): records are \
                 encrypted to whoever answers, who may not be your receiver",
                h.name
            );
        }
        for addr in allow {
            grants.allow(*addr, true, true);
        }
        Ok(grants)
    };
    let mut direct = Vec::new();
    for h in &doc.handlers {
        let mut opened = plugin.open_with(h, grants_for(h)?).with_context(|| format!("open handler {:?}", h.name))?;
        if let Some(said) = opened.plugin_said() {
            eprintln!("pylog emit: handler {:?}: {said}", h.name);
        }
        direct.push(opened);
    }
    let mut queues = Vec::new();
    for q in &doc.queues {
        let queue =
            QueueHandler::open_with(plugin, q, grants_for).with_context(|| format!("open queue {:?}", q.name))?;
        queues.push(queue);
    }
    Ok(Handlers { direct, queues, last_resort: None, behind_queue })
}

/// While the input is idle, each handler with spooled records tries to
/// deliver them (for up to its flush_timeout). What is still spooled
/// afterwards stays spooled: not a failure yet, so nothing is said.
fn deliver_spooled(handlers: &mut Handlers) {
    for h in &mut handlers.direct {
        if h.stats().is_ok_and(|s| s.spooled > 0) {
            let _ = h.flush();
        }
    }
}

/// The records of a batch (parsed on the reading thread); a bad line is
/// reported with its number and counted, and the rest go on.
fn take_records(lines: Vec<InputRecord>, summary: &mut Summary) -> Result<Batch> {
    let mut batch = Batch::default();
    for line in lines {
        match line.parsed {
            Parsed::Record(record) => {
                summary.read += 1;
                batch.records.push(record);
                batch.line_numbers.push(line.line_number);
            }
            Parsed::Bad(why) => {
                summary.read += 1;
                eprintln!("pylog: line {}: {why}", line.line_number);
                summary.bad_lines += 1;
            }
            Parsed::Blank => {}
            Parsed::ReadFailed(e) => return Err(anyhow::Error::new(e).context("read records")),
        }
    }
    Ok(batch)
}

/// Which handlers each record reaches, once per time CPython's
/// `callHandlers` would call them; with none found, a WARNING or above goes
/// to `logging.lastResort` (stderr).
fn route<'d>(doc: &'d Document, batch: &Batch, summary: &mut Summary) -> Routes<'d> {
    let mut routes = Routes { reach: Vec::with_capacity(batch.records.len()), to_last_resort: Vec::new() };
    for (i, record) in batch.records.iter().enumerate() {
        let names = match doc.routing.targets(&record.name, record.levelno) {
            None => Vec::new(),
            Some(found) if found.is_empty() && record.levelno >= LAST_RESORT_LEVEL => {
                routes.to_last_resort.push(i);
                Vec::new()
            }
            Some(found) => found.into_iter().filter(|name| doc.routing.handler_accepts(name, &record.name)).collect(),
        };
        if names.is_empty() && routes.to_last_resort.last() != Some(&i) {
            summary.unrouted += 1;
        }
        routes.reach.push(names);
    }
    routes
}

/// Each handler gets its records of the batch in one call.
fn deliver(
    handlers: &mut Handlers,
    batch: &Batch,
    routes: &Routes,
    summary: &mut Summary,
    dry: &mut DryRun,
    stdout: &mut impl Write,
) -> Result<()> {
    // The records (by index, repeated when reached twice) for a handler.
    let records_for = |name: &str| -> Vec<usize> {
        let routed = handlers.behind_queue.get(name).map_or(name, String::as_str);
        (0..batch.records.len())
            .flat_map(|i| std::iter::repeat_n(i, routes.reach[i].iter().filter(|n| **n == routed).count()))
            .collect()
    };
    for q in &handlers.queues {
        for i in records_for(q.name()) {
            if let Err(e) = q.emit(&batch.records[i]) {
                eprintln!("pylog: line {}: handler {:?}: {}", batch.line_numbers[i], q.name(), describe(&e));
                summary.failed += 1;
            }
        }
    }
    // The direct handlers this batch reaches, each with its records.
    let last_resort = handlers.last_resort;
    let mut jobs: Vec<Job> = Vec::new();
    for (index, h) in handlers.direct.iter_mut().enumerate() {
        let mine = if Some(index) == last_resort { routes.to_last_resort.clone() } else { records_for(h.name()) };
        if mine.is_empty() {
            continue;
        }
        let whole = mine.len() == batch.records.len() && mine.iter().enumerate().all(|(k, i)| k == *i);
        let records = match whole {
            true => Records::Whole,
            false => Records::Subset(mine.iter().map(|&i| batch.records[i].clone()).collect()),
        };
        jobs.push(Job { handler: h, mine, records });
    }
    let shipped = ship_side_by_side(&mut jobs, &batch.records, dry.on());
    for (job, shipped) in jobs.iter().zip(shipped) {
        let (h, mine) = (&job.handler, &job.mine);
        match shipped.sent {
            Ok(results) => {
                for (i, result) in mine.iter().zip(results) {
                    if let Err(e) = result {
                        eprintln!("pylog: line {}: handler {:?}: {}", batch.line_numbers[*i], h.name(), e);
                        summary.failed += 1;
                    }
                }
            }
            Err(e) => {
                let (from, to) = (batch.line_numbers[mine[0]], batch.line_numbers[mine[mine.len() - 1]]);
                eprintln!("pylog: lines {from}-{to}: handler {:?}: {e}", h.name());
                summary.failed += mine.len() as u64;
            }
        }
        if let Some(output) = shipped.output {
            dry.write(stdout, h.name(), &output?)?;
        }
    }
    Ok(())
}

/// Delivers what is spooled (within each flush_timeout), closes every
/// handler, and prints each one's account and the totals.
fn finish(mut handlers: Handlers, mut summary: Summary, dry: &mut DryRun, stdout: &mut impl Write) -> Result<ExitCode> {
    let mut waiting = 0;
    for h in &mut handlers.direct {
        waiting += h.stats()?.spooled;
    }
    if waiting > 0 {
        eprintln!("pylog emit: input ended; delivering {waiting} spooled records (up to each handler's flush_timeout)");
    }
    for q in &mut handlers.queues {
        let reports = q.close();
        summary.queue(q.name(), q.stats());
        for r in reports {
            if let Some(e) = &r.close_error {
                eprintln!("pylog: handler {:?} (behind queue {:?}): close: {e}", r.name, q.name());
                summary.failed += 1;
            }
            summary.handler(HandlerAccount {
                name: &r.name,
                queue: Some(q.name()),
                stats: r.stats,
                denied_count: r.denied_count,
                denied: r.denied,
                traps: r.traps,
                lost_in_traps: 0,
            });
        }
    }
    for h in &mut handlers.direct {
        if let Err(e) = h.close() {
            eprintln!("pylog: handler {:?}: close: {e}", h.name());
            summary.failed += 1;
        }
        if dry.on() {
            let output = h.take_output()?;
            dry.write(stdout, h.name(), &output)?;
        }
        let stats = h.stats()?;
        summary.handler(HandlerAccount {
            name: h.name(),
            queue: None,
            stats,
            denied_count: h.denials().count(),
            denied: h.denials().recent(),
            traps: h.traps(),
            lost_in_traps: h.lost_in_traps(),
        });
    }
    stdout.flush()?;
    summary.print(dry);
    Ok(summary.exit_code())
}

/// `logging.lastResort`: a StreamHandler on stderr at WARNING with the
/// default formatter (`%(message)s`), for records no handler was found for.
fn open_last_resort(plugin: &Plugin) -> Result<Handler> {
    let doc = r#"{"version": 1, "handlers": {"lastResort": {"class": "logging.StreamHandler",
        "stream": "ext://sys.stderr", "level": "WARNING"}}}"#;
    let parsed = config::parse_str(doc, false, &config::LocalTime::of_host())?;
    let config = parsed.handlers.into_iter().next().context("the lastResort handler")?;
    let grants = Grants::for_handler(&config).map_err(|e| anyhow::anyhow!("lastResort: {}", describe(&e)))?;
    plugin.open_with(&config, grants).map_err(|e| anyhow::anyhow!("open lastResort: {e}"))
}
