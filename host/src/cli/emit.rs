//! `pylog emit`: JSON-lines records through the handlers of a dictConfig
//! document, each handler in its own sandboxed plugin instance.
//!
//! The path of a batch: the reading thread parses each line as it reads it
//! (beside the plugin calls of the main thread), `read_batch` takes the
//! lines already read (never waiting for more), `take_records` counts and
//! reports the bad ones, `route` decides which handlers each reaches as
//! CPython's `callHandlers` would, and `deliver` hands each handler's
//! thread its records (`emit_ship.rs`), to be packed and sent in one call,
//! then reports the previous batch's results. `finish` closes everything
//! and prints the summary.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Sender};

use anyhow::{Context, Result};
use pylog_host::bindings::describe;
use pylog_host::config::routing::LAST_RESORT_LEVEL;
use pylog_host::config::{self, Document};
use pylog_host::embed::queue::QueueHandler;
use pylog_host::records::Defaults;
use pylog_host::runtime::Limits;
use pylog_host::sandbox::Grants;
use pylog_host::{Handler, HandlerConfig, LogRecord, Plugin};

use crate::cli::dry_run::{attach_for_dry_run, DryRun};
use crate::cli::emit_console::{open_last_resort, writes_to_console, Console};
use crate::cli::emit_input::{open_input, parsed_input, read_batch, stop_on_signals, InputRecord, Parsed, Read};
use crate::cli::emit_ship::{report_results, InFlight, SharedBatch, Shipper};
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
    /// Each on its own delivery thread.
    direct: Vec<Shipper>,
    /// Two or more handlers writing to the console, called in CPython's order.
    console: Console,
    /// The one handler writing to the console, when there is one: on its
    /// own thread until lastResort (stderr) joins it.
    lone_console: Option<String>,
    queues: Vec<QueueHandler>,
    /// Where `logging.lastResort` sits in `direct`, once a record needed it.
    last_resort: Option<usize>,
    /// In a dry run, each queue target is attached directly (to show its
    /// bytes) but still reached as its queue is: target name -> queue name.
    behind_queue: HashMap<String, String>,
    /// Batches handed to the direct handlers whose results are not yet
    /// reported, oldest first.
    in_flight: VecDeque<InFlight>,
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
    let (freed_by_reader, to_free) = channel();
    let mut input = parsed_input(open_input(o.records.as_deref())?, stop.clone(), defaults, to_free);
    // Not locked for the run: a StreamHandler on stdout writes from its
    // delivery thread.
    let mut stdout = std::io::stdout();
    loop {
        let lines = match read_batch(&mut input) {
            Read::Lines(lines) => lines,
            Read::Idle => {
                report_in_flight(&mut handlers, 0, &mut summary, &mut o.dry, &mut stdout)?;
                deliver_spooled(&handlers);
                continue;
            }
            Read::End => break,
        };
        let batch = take_records(lines, &mut summary)?;
        let routes = route(&doc, &batch, &mut summary);
        if !routes.to_last_resort.is_empty() && handlers.last_resort.is_none() && handlers.console.last_resort.is_none()
        {
            // lastResort writes to stderr: beside the other console
            // handlers, if any, so their lines interleave as in CPython.
            let last_resort = open_last_resort(&plugin)?;
            if let Some(name) = handlers.lone_console.take() {
                // Its thread's batches are reported before it leaves it.
                report_in_flight(&mut handlers, 0, &mut summary, &mut o.dry, &mut stdout)?;
                let at = handlers.direct.iter().position(|s| s.name() == name).context("the console handler")?;
                let handler = handlers.direct.remove(at).into_handler().with_context(|| {
                    format!("handler {name:?}: its delivery thread panicked (a bug in pylog; please report it)")
                })?;
                handlers.console.handlers.push(handler);
            }
            if handlers.console.handlers.is_empty() {
                handlers.direct.push(Shipper::start(last_resort)?);
                handlers.last_resort = Some(handlers.direct.len() - 1);
            } else {
                handlers.console.handlers.push(last_resort);
                handlers.console.last_resort = Some(handlers.console.handlers.len() - 1);
            }
        }
        deliver(&mut handlers, batch, &routes, &mut summary, o.dry.on(), &freed_by_reader);
        // The batch before this one is reported once this one is handed
        // out, so handlers never wait for the main thread.
        report_in_flight(&mut handlers, 1, &mut summary, &mut o.dry, &mut stdout)?;
        stdout.flush()?;
    }
    report_in_flight(&mut handlers, 0, &mut summary, &mut o.dry, &mut stdout)?;
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
    let on_console: Vec<&str> = doc.handlers.iter().filter(|h| writes_to_console(h)).map(|h| h.name.as_str()).collect();
    let shared_console = on_console.len() > 1;
    let lone_console = match on_console[..] {
        [name] => Some(name.to_string()),
        _ => None,
    };
    let (mut direct, mut console) = (Vec::new(), Console::default());
    for h in &doc.handlers {
        let mut opened = plugin.open_with(h, grants_for(h)?).with_context(|| format!("open handler {:?}", h.name))?;
        if let Some(said) = opened.plugin_said() {
            eprintln!("pylog emit: handler {:?}: {said}", h.name);
        }
        match shared_console && writes_to_console(h) {
            true => console.handlers.push(opened),
            false => direct.push(Shipper::start(opened)?),
        }
    }
    let mut queues = Vec::new();
    for q in &doc.queues {
        let queue =
            QueueHandler::open_with(plugin, q, grants_for).with_context(|| format!("open queue {:?}", q.name))?;
        queues.push(queue);
    }
    Ok(Handlers { direct, console, lone_console, queues, last_resort: None, behind_queue, in_flight: VecDeque::new() })
}

/// While the input is idle, each handler with spooled records tries to
/// deliver them (for up to its flush_timeout), side by side. Every batch
/// handed out has been reported before.
fn deliver_spooled(handlers: &Handlers) {
    let started: Vec<&Shipper> = handlers.direct.iter().filter(|s| s.start_flush_spooled()).collect();
    for shipper in started {
        shipper.flushed();
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

/// Each handler gets its records of the batch in one call, on its own
/// thread; queues take theirs here.
fn deliver(
    handlers: &mut Handlers,
    batch: Batch,
    routes: &Routes,
    summary: &mut Summary,
    dry_run: bool,
    freed_by_reader: &Sender<Vec<LogRecord>>,
) {
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
    let to_last_resort = |i: usize| routes.to_last_resort.binary_search(&i).is_ok() as usize;
    handlers.console.deliver(
        &batch.records,
        &batch.line_numbers,
        |h, is_last_resort, i| match is_last_resort {
            Some(_) => to_last_resort(i),
            None => routes.reach[i].iter().filter(|n| **n == h.name()).count(),
        },
        summary,
    );
    // The direct handlers this batch reaches, each with its records.
    let mut jobs: Vec<(usize, Vec<usize>)> = Vec::new();
    for (index, shipper) in handlers.direct.iter().enumerate() {
        let mine = match Some(index) == handlers.last_resort {
            true => routes.to_last_resort.clone(),
            false => records_for(shipper.name()),
        };
        if !mine.is_empty() {
            jobs.push((index, mine));
        }
    }
    let total = batch.records.len();
    let takes_all = |mine: &[usize]| mine.len() == total && mine.iter().enumerate().all(|(k, i)| k == *i);
    let shared = SharedBatch::new(batch.records, jobs.iter().any(|(_, mine)| takes_all(mine)), freed_by_reader.clone());
    for (index, mine) in &jobs {
        let subset = (!takes_all(mine)).then(|| mine.clone());
        handlers.direct[*index].ship(shared.clone(), subset, dry_run);
    }
    handlers.in_flight.push_back(InFlight { line_numbers: batch.line_numbers, jobs });
}

/// Reports the results of the batches handed out, oldest first, until at
/// most `keep` are still in flight.
fn report_in_flight(
    handlers: &mut Handlers,
    keep: usize,
    summary: &mut Summary,
    dry: &mut DryRun,
    stdout: &mut impl Write,
) -> Result<()> {
    report_results(&handlers.direct, &mut handlers.in_flight, keep, summary, dry, stdout)
}

/// Delivers what is spooled (within each flush_timeout), closes every
/// handler, and prints each one's account and the totals.
fn finish(handlers: Handlers, mut summary: Summary, dry: &mut DryRun, stdout: &mut impl Write) -> Result<ExitCode> {
    let Handlers { direct, console, mut queues, .. } = handlers;
    let mut direct: Vec<Handler> = direct
        .into_iter()
        .map(|shipper| {
            let name = shipper.name().to_string();
            shipper.into_handler().with_context(|| {
                format!("handler {name:?}: its delivery thread panicked (a bug in pylog; please report it)")
            })
        })
        .collect::<Result<_>>()?;
    direct.extend(console.handlers);
    let mut waiting = 0;
    for h in &mut direct {
        waiting += h.stats()?.spooled;
    }
    if waiting > 0 {
        eprintln!("pylog emit: input ended; delivering {waiting} spooled records (up to each handler's flush_timeout)");
    }
    for q in &mut queues {
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
    for h in &mut direct {
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
