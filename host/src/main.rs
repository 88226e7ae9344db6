//! `pylog`: ship records through the sandboxed plugin, or receive them.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use pylog_host::bindings::describe;
use pylog_host::bindings::Destination;
use pylog_host::input_lines::InputLines;
use pylog_host::listen::{self, Event, Input};
use pylog_host::queue::QueueHandler;
use pylog_host::records::{self, Defaults};
use pylog_host::routing::LAST_RESORT_LEVEL;
use pylog_host::sandbox::Grants;
use pylog_host::{dictconfig, LogRecord, Plugin};

#[derive(Parser)]
#[command(name = "pylog", version, about = "CPython's logging.handlers as a sandboxed WebAssembly plugin")]
struct Cli {
    /// The plugin component (default: $PYLOG_PLUGIN, else the one built beside this binary).
    #[arg(long, global = true)]
    plugin: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ship JSON-lines records through the handlers of a dictConfig document.
    Emit {
        /// A logging.config.dictConfig document, JSON or TOML (.toml).
        #[arg(long)]
        config: PathBuf,
        /// Write the bytes the handler would send to stdout instead of
        /// sending them (one handler; with several, use --dry-run-dir).
        #[arg(long)]
        dry_run: bool,
        /// As --dry-run, writing each handler's bytes to DIR/NAME.bin.
        #[arg(long, value_name = "DIR", conflicts_with = "dry_run")]
        dry_run_dir: Option<PathBuf>,
        /// Also let every handler reach this address (TCP and UDP), beyond
        /// what its configuration names. Repeatable.
        #[arg(long, value_name = "IP:PORT")]
        allow: Vec<SocketAddr>,
        /// Refuse records whose text and bytes exceed this many bytes, before
        /// they enter the plugin (each is reported and counted as dropped).
        #[arg(long, default_value_t = pylog_host::plugin::DEFAULT_MAX_RECORD_BYTES)]
        max_record_bytes: usize,
        /// The sockets one handler's plugin instance may hold at once; one
        /// more is refused and counted as a sandbox refusal.
        #[arg(long, default_value_t = pylog_host::socket_gate::DEFAULT_MAX_SOCKETS)]
        max_sockets: usize,
        /// Records as JSON lines; `-` or absent for stdin.
        records: Option<PathBuf>,
    },
    /// Check a dictConfig document and print what pylog resolved from it.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Receive records from SocketHandler, DatagramHandler and SysLogHandler senders.
    ///
    /// With no address given, listens on CPython's defaults: TCP 127.0.0.1:9020 and UDP 127.0.0.1:9021.
    Listen {
        /// SocketHandler streams (length-prefixed pickles).
        #[arg(long)]
        tcp: Vec<SocketAddr>,
        /// DatagramHandler datagrams.
        #[arg(long)]
        udp: Vec<SocketAddr>,
        /// Syslog datagrams.
        #[arg(long)]
        syslog_udp: Vec<SocketAddr>,
        /// Syslog over TCP: octet-counted, or LF/NUL delimited.
        #[arg(long)]
        syslog_tcp: Vec<SocketAddr>,
        /// One JSON object per record, or a human line.
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Exit after this many records.
        #[arg(long)]
        count: Option<u64>,
        /// Refuse frames and messages larger than this, before reading them.
        #[arg(long, default_value_t = listen::DEFAULT_MAX_FRAME)]
        max_frame: usize,
        /// Connections open at once; more are closed as they arrive.
        #[arg(long, default_value_t = listen::ListenLimits::default().max_connections)]
        max_connections: usize,
        /// Seconds a connection may send nothing before it is closed.
        #[arg(long, default_value_t = listen::ListenLimits::default().idle_timeout.as_secs_f64())]
        idle_timeout: f64,
        /// Seconds a frame or message, once begun, may take to arrive whole.
        #[arg(long, default_value_t = listen::ListenLimits::default().frame_timeout.as_secs_f64())]
        frame_timeout: f64,
        /// Accept only frames signed with this key (HMAC-SHA256; SECURITY.md).
        #[arg(long)]
        hmac_key_file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Validate FILE (JSON or TOML) and print its handlers, loggers and filters.
    Check { file: PathBuf },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Json,
    Text,
}

fn plugin_path(explicit: Option<PathBuf>) -> PathBuf {
    if let Some(p) = explicit.or_else(|| std::env::var_os("PYLOG_PLUGIN").map(PathBuf::from)) {
        return p;
    }
    // target/release/pylog -> target/wasm32-wasip2/component/pylog_handlers.wasm
    let exe = std::env::current_exe().unwrap_or_default();
    let target = exe.parent().and_then(|p| p.parent()).map(PathBuf::from).unwrap_or_default();
    target.join("wasm32-wasip2").join("component").join("pylog_handlers.wasm")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Emit { config, dry_run, dry_run_dir, allow, max_record_bytes, max_sockets, records } => {
            let dry = match (dry_run, dry_run_dir) {
                (_, Some(dir)) => DryRun::Files(dir, Default::default()),
                (true, None) => DryRun::Stdout,
                (false, None) => DryRun::Off,
            };
            emit(plugin_path(cli.plugin), &config, dry, &allow, (max_record_bytes, max_sockets), records)
        }
        Command::Config { action: ConfigAction::Check { file } } => config_check(&file, plugin_path(cli.plugin)),
        Command::Listen {
            tcp,
            udp,
            syslog_udp,
            syslog_tcp,
            format,
            count,
            max_frame,
            max_connections,
            idle_timeout,
            frame_timeout,
            hmac_key_file,
        } => {
            let mut requests: Vec<(Input, SocketAddr)> = Vec::new();
            requests.extend(tcp.into_iter().map(|a| (Input::Tcp, a)));
            requests.extend(udp.into_iter().map(|a| (Input::Udp, a)));
            requests.extend(syslog_udp.into_iter().map(|a| (Input::SyslogUdp, a)));
            requests.extend(syslog_tcp.into_iter().map(|a| (Input::SyslogTcp, a)));
            if requests.is_empty() {
                requests.push((Input::Tcp, SocketAddr::from(([127, 0, 0, 1], listen::DEFAULT_TCP_PORT))));
                requests.push((Input::Udp, SocketAddr::from(([127, 0, 0, 1], listen::DEFAULT_UDP_PORT))));
            }
            let check = match hmac_key_file {
                None => Ok(listen::FrameCheck::default()),
                Some(path) => dictconfig::read_key_file(&path).map(|k| listen::FrameCheck::with_key(&k)),
            };
            let limits = seconds(idle_timeout, "--idle-timeout").and_then(|idle| {
                Ok(listen::ListenLimits {
                    max_frame,
                    max_connections: max_connections.max(1),
                    idle_timeout: idle,
                    frame_timeout: seconds(frame_timeout, "--frame-timeout")?,
                    ..Default::default()
                })
            });
            check.and_then(|check| serve(&requests, format, count, limits?, check))
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pylog: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn seconds(s: f64, option: &str) -> Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| format!("{option} {s} must be a number of seconds above 0"))
}

/// `pylog config check`: what the document resolves to, one line each.
fn config_check(file: &std::path::Path, plugin: PathBuf) -> Result<ExitCode> {
    let doc = dictconfig::parse_file(file)?;
    say_ignored(&doc);
    // What only the plugin checks (a formatter's fields, a syslog header,
    // a rotation schedule) is checked too, by opening each handler with its
    // output kept in memory: check never accepts what emit would refuse.
    let plugin = Plugin::load(&plugin)?;
    let mut refused = Vec::new();
    for h in doc.handlers.iter().chain(doc.queues.iter().flat_map(|q| q.targets.iter())) {
        let mut config = h.clone();
        config.destination = Destination::Memory;
        // A durable spool's folder is the host's to check (and to lock),
        // not something to create from a check.
        config.spool.directory = None;
        if let Err(e) = plugin.open_with(&config, Grants::default()).and_then(|mut opened| opened.close()) {
            refused.push(format!("handlers.{}: {e}", h.name));
        }
    }
    if !refused.is_empty() {
        anyhow::bail!(
            "{} problem{}:\n  {}",
            refused.len(),
            if refused.len() == 1 { "" } else { "s" },
            refused.join("\n  ")
        );
    }
    let level = |l: Option<i64>| l.map_or("NOTSET (inherited)".to_string(), records::level_name);
    println!("{}: valid", file.display());
    println!("handlers:");
    for h in &doc.handlers {
        let buffer = h.buffer.as_ref().map_or(String::new(), |b| {
            format!(
                ", behind a MemoryHandler (capacity {}, flushLevel {})",
                b.capacity,
                records::level_name(b.flush_level)
            )
        });
        println!(
            "  {}: {} to {}, level {}, format {:?}{buffer}",
            h.name,
            kind_name(&h.kind),
            destination_name(h),
            records::level_name(h.level),
            h.formatter.fmt.as_deref().unwrap_or("%(message)s")
        );
    }
    for q in &doc.queues {
        let targets: Vec<String> = q.targets.iter().map(|t| format!("{} ({})", t.name, kind_name(&t.kind))).collect();
        println!("  {}: QueueHandler (queue of {}) feeding {}", q.name, q.capacity, targets.join(", "));
    }
    let r = &doc.routing;
    println!("loggers:");
    println!("  root: level {}, handlers {:?}", level(r.root.level), r.root.handlers);
    for (name, l) in &r.loggers {
        println!(
            "  {name}: level {}, handlers {:?}, propagate {}{}",
            level(l.level),
            l.handlers,
            l.propagate,
            if l.filters.is_empty() { String::new() } else { format!(", only records of loggers {:?}", l.filters) }
        );
    }
    for (handler, prefixes) in &r.handler_filters {
        println!("filter: handler {handler} takes only records of loggers {prefixes:?}");
    }
    Ok(ExitCode::SUCCESS)
}

fn kind_name(kind: &pylog_host::bindings::HandlerKind) -> &'static str {
    use pylog_host::bindings::{HandlerKind as K, Rotation};
    match kind {
        K::Socket(_) => "SocketHandler",
        K::Datagram(_) => "DatagramHandler",
        K::Syslog(_) => "SysLogHandler",
        K::Null => "NullHandler",
        K::Stream(_) => "StreamHandler",
        K::File(o) => match o.rotation {
            Rotation::None => "FileHandler",
            Rotation::Watched => "WatchedFileHandler",
            Rotation::Size(_) => "RotatingFileHandler",
            Rotation::Timed(_) => "TimedRotatingFileHandler",
        },
        K::Http(_) => "HTTPHandler",
        K::Smtp(_) => "SMTPHandler",
    }
}

/// Where a handler writes, as a user would name it, with the framing of a
/// syslog stream (receivers need to know it).
fn destination_name(h: &pylog_host::HandlerConfig) -> String {
    use pylog_host::bindings::{HandlerKind as K, StreamTarget, SyslogFormat, SyslogFraming};
    let framing = match &h.kind {
        K::Syslog(o) if matches!(h.destination, Destination::Tcp(_) | Destination::UnixStream(_)) => {
            match (o.framing, o.format) {
                (SyslogFraming::OctetCounting, _) => ", octet-counted (RFC 6587)",
                (SyslogFraming::Unframed, SyslogFormat::Rfc5424) => ", each message ending in LF (RFC 6587)",
                (SyslogFraming::Unframed, SyslogFormat::Cpython) if o.append_nul => {
                    ", unframed, each message ending in NUL (CPython's)"
                }
                (SyslogFraming::Unframed, SyslogFormat::Cpython) => ", unframed, no delimiter",
            }
        }
        _ => "",
    };
    let place = match (&h.destination, &h.kind) {
        (Destination::Configured, K::File(o)) => format!("file {}", o.path),
        (Destination::Configured, K::Http(o)) => {
            format!("{} {}://{}{}", o.method, if o.secure { "https" } else { "http" }, o.host, o.url)
        }
        (Destination::Configured, K::Stream(StreamTarget::Stderr)) => "stderr".into(),
        (Destination::Configured, K::Stream(StreamTarget::Stdout)) => "stdout".into(),
        (d, _) => endpoint_name(d),
    };
    place + framing
}

fn endpoint_name(d: &Destination) -> String {
    match d {
        Destination::Memory => "memory".into(),
        Destination::Tcp(e) => format!("tcp {}:{}", e.host, e.port),
        Destination::Udp(e) => format!("udp {}:{}", e.host, e.port),
        Destination::UnixStream(p) => format!("unix stream {p}"),
        Destination::UnixDatagram(p) => format!("unix datagram {p}"),
        Destination::Configured => "its own target (file, URL or console)".into(),
    }
}

/// `logging.lastResort`: a StreamHandler on stderr at WARNING with the
/// default formatter (`%(message)s`), for records no handler was found for.
fn open_last_resort(plugin: &Plugin) -> Result<pylog_host::Handler> {
    let doc = r#"{"version": 1, "handlers": {"lastResort": {"class": "logging.StreamHandler",
        "stream": "ext://sys.stderr", "level": "WARNING"}}}"#;
    let parsed = dictconfig::parse_str(doc, false, &dictconfig::LocalTime::of_host())?;
    let config = parsed.handlers.into_iter().next().context("the lastResort handler")?;
    let grants = Grants::for_handler(&config).map_err(|e| anyhow::anyhow!("lastResort: {}", describe(&e)))?;
    plugin.open_with(&config, grants).map_err(|e| anyhow::anyhow!("open lastResort: {e}"))
}

/// The most input lines handed to a handler in one call, and about the
/// most bytes of them: the batch is lowered into the plugin's memory beside
/// a full spool, so it stays a small part of the instance's 64 MiB.
const EMIT_BATCH_LINES: usize = 512;
const EMIT_BATCH_BYTES: usize = 256 << 10;

/// Keys CPython would ignore are ignored; each is said once, as a likely typo.
fn say_ignored(doc: &dictconfig::Document) {
    for what in &doc.ignored {
        eprintln!("pylog: ignored, as CPython ignores it: {what}");
    }
}

/// Where a dry run's bytes go.
enum DryRun {
    Off,
    Stdout,
    /// One file per handler, `DIR/NAME.bin`, opened on first use.
    Files(PathBuf, std::collections::HashMap<String, std::fs::File>),
}

impl DryRun {
    fn on(&self) -> bool {
        !matches!(self, DryRun::Off)
    }

    fn write(&mut self, stdout: &mut impl Write, handler: &str, bytes: &[u8]) -> Result<()> {
        match self {
            DryRun::Off => {}
            DryRun::Stdout => stdout.write_all(bytes)?,
            DryRun::Files(dir, files) => {
                if !files.contains_key(handler) {
                    std::fs::create_dir_all(&*dir).with_context(|| format!("create {}", dir.display()))?;
                    let path = dir.join(format!("{}.bin", handler.replace(['/', '\\'], "_")));
                    let file = std::fs::File::create(&path).with_context(|| format!("create {}", path.display()))?;
                    files.insert(handler.to_string(), file);
                }
                if let Some(file) = files.get_mut(handler) {
                    file.write_all(bytes)?;
                }
            }
        }
        Ok(())
    }
}

fn emit(
    plugin: PathBuf,
    config: &std::path::Path,
    mut dry: DryRun,
    allow: &[SocketAddr],
    (max_record_bytes, max_sockets): (usize, usize),
    records: Option<PathBuf>,
) -> Result<ExitCode> {
    let mut doc = dictconfig::parse_file(config)?;
    say_ignored(&doc);
    // A dry run shows each queue target's bytes as if it were attached
    // directly; records still go where the queue's routing sends them.
    let dry_run = dry.on();
    let mut behind_queue = std::collections::HashMap::new();
    if dry_run {
        for q in doc.queues.drain(..) {
            for t in &q.targets {
                behind_queue.insert(t.name.clone(), q.name.clone());
            }
            doc.handlers.extend(q.targets);
        }
        for h in &mut doc.handlers {
            h.destination = Destination::Memory;
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
    }
    let plugin = Plugin::load(&plugin)?;
    let limits = pylog_host::plugin::Limits { max_record_bytes, max_sockets, ..plugin.limits().clone() };
    let plugin = plugin.with_limits(limits);
    let grants_for = |h: &pylog_host::HandlerConfig| -> Result<Grants> {
        let mut grants =
            Grants::for_handler(h).map_err(|e| anyhow::anyhow!("handler {:?}: {}", h.name, describe(&e)))?;
        for addr in allow {
            grants.allow(*addr, true, true);
        }
        Ok(grants)
    };
    let mut handlers = Vec::new();
    for h in &doc.handlers {
        let mut opened = plugin.open_with(h, grants_for(h)?).with_context(|| format!("open handler {:?}", h.name))?;
        if let Some(said) = opened.plugin_said() {
            eprintln!("pylog emit: handler {:?}: {said}", h.name);
        }
        handlers.push(opened);
    }
    let mut queues = Vec::new();
    for q in &doc.queues {
        queues
            .push(QueueHandler::open_with(&plugin, q, grants_for).with_context(|| format!("open queue {:?}", q.name))?);
    }
    let input: Box<dyn BufRead + Send> = match records.as_deref() {
        None => Box::new(std::io::BufReader::new(std::io::stdin())),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::BufReader::new(std::io::stdin())),
        Some(p) => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("open records {}", p.display()))?,
        )),
    };
    // The first SIGTERM or SIGINT stops reading; what was read is then
    // delivered (within each flush_timeout) and summed up as usual. A
    // second one exits at once, with status 130.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, stop.clone())
            .context("install the signal handler")?;
        signal_hook::flag::register(signal, stop.clone()).context("install the signal handler")?;
    }
    let mut input = InputLines::spawn(input, stop.clone());
    let defaults = Defaults::default();
    let mut stdout = std::io::stdout().lock();
    let (mut read, mut bad_lines, mut failed, mut unrouted) = (0u64, 0u64, 0u64, 0u64);
    // Records go out in batches of the lines already read: one call into
    // each handler's plugin and one write per batch instead of per record.
    // A batch never waits for more input, so a pipe from `tail -f` flows
    // line by line.
    let mut next_index = 0usize;
    let (mut batch, mut line_numbers) = (Vec::<LogRecord>::new(), Vec::<usize>::new());
    // Where `logging.lastResort` sits in `handlers`, once a record needed it.
    let mut last_resort: Option<usize> = None;
    while let Some(first) = input.next() {
        let mut bytes = first.as_ref().map_or(0, Vec::len);
        let mut lines = vec![first];
        while lines.len() < EMIT_BATCH_LINES && bytes < EMIT_BATCH_BYTES {
            match input.next_ready() {
                Some(line) => {
                    bytes += line.as_ref().map_or(0, Vec::len);
                    lines.push(line);
                }
                None => break,
            }
        }
        batch.clear();
        line_numbers.clear();
        for line in lines {
            let index = next_index;
            next_index += 1;
            let line = line.context("read records")?;
            // A line that is not UTF-8 is one bad record, not the end of the stream.
            let Ok(line) = String::from_utf8(line) else {
                read += 1;
                eprintln!("pylog: line {}: not UTF-8; records are JSON text", index + 1);
                bad_lines += 1;
                continue;
            };
            // A UTF-8 byte order mark (Windows editors write one) is not part of the first record.
            let line =
                if index == 0 { line.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(line) } else { line };
            if line.trim().is_empty() {
                continue;
            }
            read += 1;
            match records::from_json_line(&line, &defaults) {
                Ok(record) => {
                    batch.push(record);
                    line_numbers.push(index + 1);
                }
                Err(e) => {
                    eprintln!("pylog: line {}: {e:#}", index + 1);
                    bad_lines += 1;
                }
            }
        }
        // Which handlers each record reaches, once per time CPython's
        // `callHandlers` would call them; with none found, a WARNING or
        // above goes to `logging.lastResort` (stderr).
        let mut reach: Vec<Vec<&str>> = Vec::with_capacity(batch.len());
        let mut to_last_resort = Vec::new();
        for (i, record) in batch.iter().enumerate() {
            let names = match doc.routing.targets(&record.name, record.levelno) {
                None => Vec::new(),
                Some(found) if found.is_empty() && record.levelno >= LAST_RESORT_LEVEL => {
                    to_last_resort.push(i);
                    Vec::new()
                }
                Some(found) => {
                    found.into_iter().filter(|name| doc.routing.handler_accepts(name, &record.name)).collect()
                }
            };
            if names.is_empty() && to_last_resort.last() != Some(&i) {
                unrouted += 1;
            }
            reach.push(names);
        }
        // The records (by index, repeated when reached twice) for a handler.
        let records_for = |name: &str| -> Vec<usize> {
            let routed = behind_queue.get(name).map_or(name, String::as_str);
            (0..batch.len())
                .flat_map(|i| std::iter::repeat_n(i, reach[i].iter().filter(|n| **n == routed).count()))
                .collect()
        };
        for q in &queues {
            for i in records_for(q.name()) {
                if let Err(e) = q.emit(&batch[i]) {
                    eprintln!("pylog: line {}: handler {:?}: {}", line_numbers[i], q.name(), describe(&e));
                    failed += 1;
                }
            }
        }
        if !to_last_resort.is_empty() && last_resort.is_none() {
            let h = open_last_resort(&plugin)?;
            handlers.push(h);
            last_resort = Some(handlers.len() - 1);
        }
        for (index, h) in handlers.iter_mut().enumerate() {
            let mine = if Some(index) == last_resort { to_last_resort.clone() } else { records_for(h.name()) };
            if mine.is_empty() {
                continue;
            }
            let subset: Vec<LogRecord>;
            let whole = mine.len() == batch.len() && mine.iter().enumerate().all(|(k, i)| k == *i);
            let records = if whole {
                &batch[..]
            } else {
                subset = mine.iter().map(|&i| batch[i].clone()).collect();
                &subset[..]
            };
            match h.emit_batch(records) {
                Ok(results) => {
                    for (i, result) in mine.iter().zip(results) {
                        if let Err(e) = result {
                            eprintln!("pylog: line {}: handler {:?}: {}", line_numbers[*i], h.name(), describe(&e));
                            failed += 1;
                        }
                    }
                }
                Err(e) => {
                    let (from, to) = (line_numbers[mine[0]], line_numbers[mine[mine.len() - 1]]);
                    eprintln!("pylog: lines {from}-{to}: handler {:?}: {e}", h.name());
                    failed += mine.len() as u64;
                }
            }
            if dry_run {
                let output = h.take_output()?;
                dry.write(&mut stdout, h.name(), &output)?;
            }
        }
        stdout.flush()?;
    }
    if stop.load(Ordering::Relaxed) {
        eprintln!(
            "pylog emit: stopping on a signal: input no longer read; delivering what was read (a second signal \
             exits at once)"
        );
    }
    let mut waiting = 0;
    for h in &mut handlers {
        waiting += h.stats()?.spooled;
    }
    if waiting > 0 {
        eprintln!("pylog emit: input ended; delivering {waiting} spooled records (up to each handler's flush_timeout)");
    }
    let (mut sent, mut dropped, mut skipped, mut denied, mut replayed) = (0, 0, 0, 0, 0);
    let (mut reconnects, mut bytes, mut recovered) = (0, 0, 0);
    for q in &mut queues {
        let reports = q.close();
        let s = q.stats();
        let full = s.dropped_full.load(std::sync::atomic::Ordering::Relaxed);
        let invalid = s.dropped_invalid.load(std::sync::atomic::Ordering::Relaxed);
        dropped += full + invalid;
        skipped += s.skipped_by_level.load(std::sync::atomic::Ordering::Relaxed);
        if full + invalid > 0 {
            eprintln!(
                "pylog emit: queue {:?} dropped {} records: {full} queue full, {invalid} unformattable",
                q.name(),
                full + invalid
            );
        }
        for r in reports {
            if let Some(e) = &r.close_error {
                eprintln!("pylog: handler {:?} (behind queue {:?}): close: {e}", r.name, q.name());
                failed += 1;
            }
            sent += r.stats.sent;
            dropped += r.stats.dropped;
            bytes += r.stats.bytes;
            reconnects += r.stats.reconnects;
            replayed += r.stats.replayed;
            denied += r.denied_count;
            if r.stats.dropped > 0 {
                eprintln!(
                    "pylog emit: handler {:?} (behind queue {:?}) dropped {} records",
                    r.name,
                    q.name(),
                    r.stats.dropped
                );
            }
            if r.denied_count > 0 {
                eprintln!(
                    "pylog emit: handler {:?}: the sandbox refused {} attempts: {}",
                    r.name,
                    r.denied_count,
                    r.denied.join(", ")
                );
            }
        }
    }
    for h in &mut handlers {
        if let Err(e) = h.close() {
            eprintln!("pylog: handler {:?}: close: {e}", h.name());
            failed += 1;
        }
        if dry_run {
            let output = h.take_output()?;
            dry.write(&mut stdout, h.name(), &output)?;
        }
        let s = h.stats()?;
        sent += s.sent;
        dropped += s.dropped;
        replayed += s.replayed;
        reconnects += s.reconnects;
        bytes += s.bytes;
        recovered += s.recovered;
        if s.corrupt > 0 {
            eprintln!("pylog emit: handler {:?}: {} corrupt durable spool entries were cut off", h.name(), s.corrupt);
        }
        if s.dropped > 0 {
            eprintln!(
                "pylog emit: handler {:?} dropped {} records: {} spool full, {} unencodable, {} undeliverable{}",
                h.name(),
                s.dropped,
                s.dropped_spool_full,
                s.dropped_invalid,
                s.dropped_unsent,
                if s.dropped_unconfirmed > 0 {
                    format!(", {} written but never acknowledged (they may have arrived)", s.dropped_unconfirmed)
                } else {
                    String::new()
                }
            );
        }
        skipped += s.skipped_by_level;
        denied += h.denials().count();
        if h.denials().count() > 0 {
            eprintln!(
                "pylog emit: handler {:?}: the sandbox refused {} attempts: {}",
                h.name(),
                h.denials().count(),
                h.denials().recent().join(", ")
            );
        }
        if h.traps() > 0 {
            eprintln!(
                "pylog emit: handler {:?}: its plugin instance trapped {} times and was replaced; {} records it held \
                 were lost (counted as dropped)",
                h.name(),
                h.traps(),
                h.lost_in_traps()
            );
        }
    }
    stdout.flush()?;
    eprintln!(
        "pylog emit: {read} records read ({recovered} more recovered from durable spools); across {} handlers: \
         {sent} sent ({replayed} after waiting in the spool), {dropped} dropped, {skipped} below level, {bytes} bytes, \
         {reconnects} reconnects; {bad_lines} bad lines, {denied} denied by sandbox, {unrouted} below every \
         logger's level or filtered out{}",
        handlers.len() + queues.len(),
        match &dry {
            DryRun::Off => String::new(),
            DryRun::Stdout => " (dry run: bytes written to stdout)".to_string(),
            DryRun::Files(dir, _) => format!(" (dry run: each handler's bytes in {}/NAME.bin)", dir.display()),
        }
    );
    Ok(if bad_lines + failed + dropped > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn serve(
    requests: &[(Input, SocketAddr)],
    format: Format,
    count: Option<u64>,
    limits: listen::ListenLimits,
    check: listen::FrameCheck,
) -> Result<ExitCode> {
    let output = match format {
        Format::Json => listen::Output::Json,
        Format::Text => listen::Output::Text,
    };
    let mut listener = listen::start(requests, limits, check, output)?;
    let ready: Vec<String> = listener.bound.iter().map(|(i, a)| format!("{}={a}", i.label())).collect();
    eprintln!("pylog listen: ready {}", ready.join(" "));
    let mut stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let (mut received, mut rejected, mut duplicates) = (0u64, 0u64, 0u64);
    let mut acks = Vec::new();
    'serving: while count.is_none_or(|c| received < c) {
        let Some(batch) = listener.events.blocking_recv() else {
            break;
        };
        // The records' lines, up to the last one to print (with --count).
        let mut printed = 0;
        for event in batch.events {
            match event {
                Event::Duplicate => duplicates += 1,
                Event::Record { end, ack, .. } => {
                    received += 1;
                    printed = end;
                    acks.extend(ack);
                    if count.is_some_and(|c| received >= c) {
                        break;
                    }
                }
                Event::Rejected { input, peer, reason } => {
                    rejected += 1;
                    eprintln!("pylog listen: rejected from {} {peer}: {reason}", input.label());
                }
            }
        }
        // One write and one flush per batch; only then are its records
        // handled, and acknowledged.
        stdout.write_all(&batch.lines[..printed])?;
        stdout.flush()?;
        for ticket in acks.drain(..) {
            ticket.acknowledge();
        }
        if count.is_some_and(|c| received >= c) {
            break 'serving;
        }
    }
    eprintln!("pylog listen: {received} records, {rejected} rejected, {duplicates} duplicates dropped");
    Ok(ExitCode::SUCCESS)
}
