//! `make bench`: records/s and CPU per record for SocketHandler (TCP),
//! DatagramHandler (UDP), SysLogHandler (UDP and TCP) and MemoryHandler in
//! front of a SocketHandler, each measured five ways in one run: (a)
//! CPython's own handler driven by `logging.Logger`, (b) our component
//! through the host with one `emit` per record, (c) the component's
//! `emit-batch`, (d) the same Rust core compiled natively, (e) the wire: a
//! native loop sending the same pre-built bytes. Then make-pickle alone,
//! cold start, warm instantiation, idle instance memory and component size.
//! Rewrites BENCHMARKS.md.
//!
//! The draining listeners run in a child process (this binary with
//! `PYLOG_BENCH_DRAIN` set) so that the CPU time measured here is the
//! senders' alone. Numbers from one run on a shared machine: compare the
//! ratios, not absolutes across runs.

use std::io::{BufRead, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use pylog_handlers::deliver::transport::Destination as NativeDestination;
use pylog_handlers::encode::priority::NameOrNumber as NativeFacility;
use pylog_handlers::encode::syslog::{self, SyslogOptions as NativeSyslog};
use pylog_handlers::handlers::memory::BufferOptions as NativeBuffer;
use pylog_handlers::handlers::{
    DatagramHandler, FamilyOptions, Handler as NativeHandler, HandlerConfig as NativeConfig, SocketHandler,
    SocketOptions, SysLogHandler,
};
use pylog_handlers::python::formatter::Formatter as NativeFormatter;
use pylog_handlers::python::record::{Args, LogRecord, Value};
use pylog_host::bindings::{
    BufferOptions, DatagramAddress, Endpoint, FormatStyle, Formatter, HandlerConfig, HandlerKind, NameOrNumber,
    Overflow, SpoolOptions, StreamAddress, SyslogAddress, SyslogFormat as WitSyslogFormat, SyslogFraming,
    SyslogOptions,
};
use pylog_host::records;
use pylog_host::Plugin;

const N: usize = 200_000;

/// What `perf` showed; kept with the table because it explains the ratios.
/// Reproduce: `PYLOG_PERF_MAP=1 PYLOG_BENCH_PROFILE=400000
/// [PYLOG_BENCH_PROFILE_KIND=syslog_udp] PYLOG_PLUGIN=<unstripped build>
/// perf record -g target/release/deps/throughput-* --bench`.
const PROFILE: &str = "## Where the time goes (perf, 2026-11-22, 2026-11-23 and 2026-12-03)\n\
\n\
- **`pylog emit`, step by step (issue 14, 2026-11-23).** SocketHandler, 100,000 records, whole process, each step measured side by side with the one before (`ab_bench.py`, alternating rounds; the machine is shared, so medians moved by up to 30% between runs and minimums are quoted too):\n\
\u{20}\u{20}- packed records (`emit-packed`: two buffers instead of ~25 `cabi_realloc` calls per record): 1.2 s -> 0.87 s;\n\
\u{20}\u{20}- mimalloc as the `pylog` binary's allocator (glibc's malloc/free were a fifth of its CPU): 1.28x faster;\n\
\u{20}\u{20}- record lines moved into the record instead of copied, keys borrowed, the wide-integer guard looking at one byte in 19: 1.12x;\n\
\u{20}\u{20}- the plugin unpacking into records kept from batch to batch (dlmalloc/dlfree were two fifths of the guest's time): minimum 0.686 -> 0.601 s;\n\
\u{20}\u{20}- parsing on the reading thread, beside the plugin calls: minimum wall 0.507 -> 0.394 s (1.26x on the median); CPU time rose 1.28x (the hand-off and frees across threads), which users do not wait for on two cores;\n\
\u{20}\u{20}- DatagramHandler through the host's `udp-datagrams` (a plain socket instead of wasmtime-wasi's reactor, which woke a thread per datagram): 2.13 s -> 0.62 s, system time 0.97 -> 0.20 s;\n\
\u{20}\u{20}- the `%` formatter scanning bytes, and a batch delivered to its handlers side by side (one thread per handler instance): the three-logger config 3.66x -> 4.62x CPython in the same-day runs.\n\
\u{20}\u{20}- each handler keeps one delivery thread for the run, fed through a channel, instead of a thread per batch with a barrier after it: the main thread routes and packs batch k+1 while the handlers send batch k (9 alternating rounds, HEAD before vs after: 1.11-1.14x on the median for the single-handler configs, 1.04x median and 1.15x minimum for the three-logger one).\n\
\u{20}\u{20}- a batch's records freed by the reading thread that allocated their strings, instead of by the last handler thread to let go of the batch (mimalloc frees a thread's own memory far more cheaply than another thread's, and a handler's thread is the pipeline's busiest; 2026-12-03): SocketHandler 1.10x less wall and CPU time (9 alternating rounds), three loggers 1.07x wall (7 rounds). Tried beside it, with no gain measured, and not kept: freeing on the main thread instead (still another thread's memory), reusing the reader's line buffer, sizing the packed buffers before packing, and building the guest without `bulk-memory` (its std copies through `memory.copy` whatever the flags).\n\
\u{20}\u{20}- Tried and not kept: `sendmmsg` for the host's datagrams, 1.03-1.06x (7 rounds each for DatagramHandler and SysLogHandler UDP), not worth the unsafe code. A JSON scanner specialised to plain record lines (no escapes, no nesting; serde_json for the rest), which matched serde_json on the record-lines corpus: it read the members of a line 15% faster than serde_json (0.85 against 1.0 µs) but the whole line into a record only 10% faster, since building the record's strings costs as much as reading them, and the whole process not measurably (9 rounds, minimums within 2%). Not kept.\n\
- **What is left (SocketHandler profile after these steps).** Host 54% (serde_json into the record, mimalloc, the packing copy), guest 39% (`%` formatting 4%, serde-pickle 5%, unpacking 5%, what allocation remains), kernel 6%. With three threads busy (reading, the handler, the main thread routing and packing) and the receiver on the same two cores, the machine is saturated: pylog's CPU time is about 1.5x its wall time and the receiver takes the rest, so moving work between threads no longer helps; only less CPU does. SysLogHandler UDP's handler thread is about half wasm (formatting, unpacking) and half the kernel's `sendto`, one per datagram as CPython's.\n\
- **Parsing in the guest instead (issue 14's point 1), measured apart.** serde_json reading the bench's record line into an ordered map, 100,000 lines, best of 5 passes, three runs (a scratch crate built natively and for wasm32-wasip2, run by the stock wasmtime 50 CLI): 1.65 µs a line natively, 2.8-3.0 µs in wasm, 3.6-3.7 µs in wasm with an epoch deadline (`-W timeout=600s`), 2.2x native; epoch checks cost a quarter in this byte-scanning loop. Parsed in the guest, every handler instance would parse each line it takes, on its own delivery thread (three times per record in the three-logger config); parsed by the host, a line is read once, natively, on the reading thread, and each instance only unpacks the packed batch (about 5% of the guest's time). The two cores are already saturated, so total CPU decides: the host-parse design stays.\n\
- **UDP receivers.** Over UDP a quarter of the samples are the kernel waking the receiver for each datagram (`_raw_spin_unlock_irqrestore` in the sender's context): CPython pays it too, but it weighs more against our shorter time. SysLogHandler UDP (small datagrams) moved between 3.3x and 4.6x CPython from run to run before the delivery threads; 4.9x in one run with them, then 5.7x and 6.5x in two runs with the guest's syslog changes as well (2026-11-23).\n\
- **The CPU deadline** stays as it was: wasmtime's epoch interruption (a check at every loop header and function entry, ticking every 10 ms) as the alarm, and the thread's CPU time measured only when it rings. Measured 2026-11-23 against a scratch build with epoch interruption off (9 alternating rounds, every config): medians 0.80-1.37x, minimums 1.02-1.30x (SocketHandler 1.09x, DatagramHandler 1.02x, SysLogHandler TCP 1.05x, three loggers 1.07x), so about 5-10%, the size of this machine's noise. It cannot be made cheaper without weakening it: the check is a load and a compare, the cheapest interruption wasmtime offers (fuel counts every instruction and costs more); a longer tick changes only how often the callback runs (100 times a second), not the checks; and checking once per batch would leave the check to the plugin, which an untrusted plugin need not make. Off, a plugin could spin forever: it stays on.\n\
\n\
- **wasmtime 48 -> 50.** The host on wasmtime 48.0.8 / Rust 1.95 against wasmtime 50.0.1 / Rust 1.97, the same component, `benches/python/ab_bench.py`, 100,000 records, alternating (2026-11-23): 50 takes 1.06x the wall time of 48 for SocketHandler (7 rounds; CPU 1.04x), 1.02x for DatagramHandler (5 rounds), 1.07x for the three-logger config (5 rounds; CPU 1.05x). A small cost, paid to track the current release.\n\
- **No hot spot in our code.** In a profile of one-by-one SocketHandler emits through the component, the largest user-space entries are the host's and the guest's allocators (malloc/free, dlmalloc/dlfree: about 10% together), wasmtime's lowering of the record (`options_memory_mut`, `realloc`, `lower_string`, `linear_lower_to_memory`: about 5%), then memmove. Our `%` formatter is 1-2%. The kernel's loopback TCP path is a third of all samples, for the wire loop as much as for us.\n\
- **The boundary.** A `log-record` carries about 25 strings and lists; lowering each one is a call into the guest's `cabi_realloc`, and the guest frees them again after the call. `emit` and `emit-batch` still pay that (columns b and c above); `pylog emit` and the host library's `make_pickle` send packed records instead (`emit-packed`, `make-pickles`), which took make-pickle through the boundary from 0.7x to about 1.0x CPython's `makePickle`.\n\
- **make-pickle through the boundary (2026-12-03).** One call per record, as a host library user makes it (`Pure::make_pickle`), against CPython's `makePickle`, each over 50,000 distinct records, 5 rounds alternating (`PYLOG_BENCH_PROFILE_PICKLE=N` runs this alone; until this run CPython re-pickled one record, which stayed in its cache while ours walked 75 MB of records). With the steps timed apart: a bare call into the plugin (`map-priority`) cost 0.9-1.1 µs, about half of it wasmtime's component-model-async bookkeeping (a task pushed and popped in hashed tables for every sync call); `Config::concurrency_support(false)` takes it to 0.46-0.66 µs, and nothing here calls concurrently. Reading the thread CPU clock at each call's start was a 0.3 µs system call; it is now read at most once per 10 ms epoch tick, so a call's starting point may be up to a tick early, never late: the deadline can only trip sooner. Packing one record into fresh buffers took 1.1-1.3 µs of regrowing them; `Pure` keeps its buffers (0.3-0.45 µs). In the guest, `%s` and plain `%d` are written straight into the message and a frame is sized before it is written. Together: from 0.7-0.9x to 1.06-1.37x CPython over seven side-by-side runs, 1.4x in the table above. What is left: the guest copies each string of the packed record into its slot before pickling it (about a third of the guest's time); pickling straight from the packed view would save about that, for a second record type in the core.\n\
- **wasmtime-wasi's sockets.** Each send is a hand-off to wasmtime's tokio runtime and back. For UDP the profile's top entry was the kernel's `finish_task_switch` (13%): a thread switch per datagram, the reactor woken by each datagram's write readiness. The host's `udp-datagrams` capability (a plain socket, checked against the same grants) replaced it where the host offers it. Connecting the UDP socket (through wasi-libc or wasi:sockets directly) was tried and made each datagram about 150 µs of CPU: reverted.\n\
- **Batches** coalesce frames into one write, so SocketHandler and SysLogHandler over TCP reach 0.4-0.8 of the native core; 50x CPython would need about 2.7M records/s, above what pickling alone does natively (about 1M/s).\n\
- **Size.** The handlers of issue 6 (files, HTTP, SMTP, MemoryHandler, queues) and the wasi:logging route took the component from 393 KiB to about 540 KiB: wasi-libc's filesystem layer, the wasi:http bindings, the mail and rotation code. `opt-level = \"z\"` saves only 28 KiB.\n\
- **Instantiation.** `PYLOG_BENCH_PROFILE_OPEN=N` times each step. A bare instance takes 40-50 µs; a handler instance with its `open` call about 80 µs. When the host started keeping its `Linker` for compositions, every `open` cloned it (each handler holds a clone of its `Plugin`), and that cost 130 µs. The linker is now shared behind an `Arc`. Keeping 2 MiB of linear memory resident in the pool was also tried: no change.\n\
";
/// CPython is about ten times slower; a quarter as many records keeps its
/// runs as long as ours.
const N_CPYTHON: usize = N / 4;
const BATCH: usize = 64;
/// The syslog formatter: a line of about 300 bytes, like a web server's.
const SYSLOG_FORMAT: &str =
    "%(asctime)s %(name)s %(levelname)s [%(route)s user=%(user)s status=%(status)s] %(message)s %(padding)s";

#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    SocketTcp,
    DatagramUdp,
    SyslogUdp,
    SyslogTcp,
    MemoryToSocket,
}

impl Scenario {
    const ALL: [Scenario; 5] = [
        Scenario::SocketTcp,
        Scenario::DatagramUdp,
        Scenario::SyslogUdp,
        Scenario::SyslogTcp,
        Scenario::MemoryToSocket,
    ];

    fn label(self) -> &'static str {
        match self {
            Scenario::SocketTcp => "SocketHandler (TCP)",
            Scenario::DatagramUdp => "DatagramHandler (UDP)",
            Scenario::SyslogUdp => "SysLogHandler (UDP)",
            Scenario::SyslogTcp => "SysLogHandler (TCP)",
            Scenario::MemoryToSocket => "MemoryHandler(100) → SocketHandler",
        }
    }

    fn cpython_kind(self) -> &'static str {
        match self {
            Scenario::SocketTcp => "socket",
            Scenario::DatagramUdp => "datagram",
            Scenario::SyslogUdp => "syslog_udp",
            Scenario::SyslogTcp => "syslog_tcp",
            Scenario::MemoryToSocket => "memory",
        }
    }

    fn udp(self) -> bool {
        matches!(self, Scenario::DatagramUdp | Scenario::SyslogUdp)
    }
}

/// Child-process mode: drain one TCP and one UDP port, print them, run
/// until killed.
fn drain_forever() -> ! {
    let tcp = TcpListener::bind("127.0.0.1:0").expect("bind tcp");
    let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    println!("{} {}", tcp.local_addr().expect("addr").port(), udp.local_addr().expect("addr").port());
    std::io::stdout().flush().expect("flush");
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        while udp.recv(&mut buf).is_ok() {}
    });
    for conn in tcp.incoming() {
        let Ok(mut c) = conn else { continue };
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 16];
            while c.read(&mut buf).map(|n| n > 0).unwrap_or(false) {}
        });
    }
    std::process::exit(0)
}

struct Drain {
    child: Child,
    tcp: u16,
    udp: u16,
}

impl Drop for Drain {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_drain() -> Drain {
    let mut child = Command::new(std::env::current_exe().expect("exe"))
        .env("PYLOG_BENCH_DRAIN", "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn drain");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("drain ports");
    let mut ports = line.split_whitespace().map(|p| p.parse::<u16>().expect("port"));
    Drain { tcp: ports.next().expect("tcp"), udp: ports.next().expect("udp"), child }
}

/// Seconds of CPU this process has used (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the ')'.
    (ticks(11) + ticks(12)) / 100.0
}

/// records/s and CPU µs per record of `f`, which sends `n` records.
fn measure(n: usize, f: impl FnOnce()) -> (f64, f64) {
    let (t, cpu) = (Instant::now(), cpu_seconds());
    f();
    let (elapsed, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    (n as f64 / elapsed, cpu * 1e6 / n as f64)
}

const PADDING: usize = 180;

fn native_record(i: usize) -> LogRecord {
    let mut r = LogRecord::new("bench", 20, "request %d handled in %s ms", 1_795_300_000.25);
    r.args = Some(Args::Tuple(vec![Value::Int(i as i64), Value::Str("12.5".into())]));
    r.pathname = "/srv/app/bench.py".into();
    r.filename = "bench.py".into();
    r.module = "bench".into();
    r.func_name = Some("handle".into());
    r.lineno = 42;
    r.process = Some(1234);
    r.thread = Some(140_000_000);
    r.thread_name = Some("MainThread".into());
    r.process_name = Some("MainProcess".into());
    r.extra = vec![
        ("user".into(), Value::Str("u123".into())),
        ("route".into(), Value::Str("/api/v1/orders".into())),
        ("status".into(), Value::Int(200)),
        ("ok".into(), Value::Bool(true)),
        ("padding".into(), Value::Str("x".repeat(PADDING))),
    ];
    r
}

fn wit_record(i: usize) -> pylog_host::LogRecord {
    let json = serde_json::json!({"name": "bench", "msg": "request %d handled in %s ms", "args": [i, "12.5"],
        "levelname": "INFO", "pathname": "/srv/app/bench.py", "funcName": "handle", "lineno": 42, "process": 1234,
        "thread": 140000000, "threadName": "MainThread", "created": 1795300000.25, "user": "u123",
        "route": "/api/v1/orders", "status": 200, "ok": true, "padding": "x".repeat(PADDING)});
    records::from_json_line(&json.to_string(), &Default::default()).expect("record")
}

fn native_syslog_options() -> NativeSyslog {
    NativeSyslog {
        facility: NativeFacility::Name("local3".into()),
        ident: "bench: ".into(),
        ..NativeSyslog::cpython_defaults()
    }
}

fn native_config(s: Scenario, d: &Drain) -> NativeConfig {
    let tcp = NativeDestination::Tcp { host: "127.0.0.1".into(), port: d.tcp };
    let udp = NativeDestination::Udp { host: "127.0.0.1".into(), port: d.udp };
    let syslog_formatter = NativeFormatter::new(Some(SYSLOG_FORMAT), None, '%', 0, "UTC").expect("formatter");
    let (family, destination, formatter): (Box<dyn FamilyOptions>, _, _) = match s {
        Scenario::SocketTcp | Scenario::MemoryToSocket => {
            (Box::new(SocketHandler(SocketOptions::default())), tcp, NativeFormatter::default())
        }
        Scenario::DatagramUdp => (Box::new(DatagramHandler(SocketOptions::default())), udp, NativeFormatter::default()),
        Scenario::SyslogUdp => (Box::new(SysLogHandler(native_syslog_options())), udp, syslog_formatter),
        Scenario::SyslogTcp => (Box::new(SysLogHandler(native_syslog_options())), tcp, syslog_formatter),
    };
    NativeConfig {
        name: "native".into(),
        family,
        destination,
        level: 0,
        formatter,
        spool: Default::default(),
        buffer: (s == Scenario::MemoryToSocket).then_some(NativeBuffer {
            capacity: 100,
            flush_level: 40,
            flush_on_close: true,
            level: 0,
        }),
    }
}

fn host_config(s: Scenario, d: &Drain) -> HandlerConfig {
    let tcp = Endpoint { host: "127.0.0.1".into(), port: d.tcp };
    let udp = Endpoint { host: "127.0.0.1".into(), port: d.udp };
    let socket = pylog_host::bindings::SocketOptions {
        pickle_protocol: 3,
        retry_start: 1.0,
        retry_factor: 2.0,
        retry_max: 30.0,
        close_on_error: false,
        hmac_key: None,
        ack_window: 0,
    };
    let syslog = SyslogOptions {
        facility: NameOrNumber::Name("local3".into()),
        ident: "bench: ".into(),
        append_nul: true,
        format: WitSyslogFormat::Cpython,
        framing: SyslogFraming::Unframed,
        hostname: String::new(),
        app_name: String::new(),
        procid: String::new(),
        cpython_exact_bytes: false,
        max_message_bytes: syslog::DEFAULT_MAX_MESSAGE_BYTES,
    };
    let plain = Formatter {
        fmt: None,
        datefmt: None,
        style: FormatStyle::Percent,
        utc_offset_seconds: 0,
        tz_name: "UTC".into(),
    };
    let for_syslog = Formatter { fmt: Some(SYSLOG_FORMAT.into()), ..plain.clone() };
    let (kind, formatter) = match s {
        Scenario::SocketTcp | Scenario::MemoryToSocket => {
            (HandlerKind::Socket((StreamAddress::Tcp(tcp), socket)), plain)
        }
        Scenario::DatagramUdp => (HandlerKind::Datagram((DatagramAddress::Udp(udp), socket)), plain),
        Scenario::SyslogUdp => (HandlerKind::Syslog((SyslogAddress::Udp(udp), syslog)), for_syslog),
        Scenario::SyslogTcp => (HandlerKind::Syslog((SyslogAddress::Tcp(tcp), syslog)), for_syslog),
    };
    HandlerConfig {
        name: "bench".into(),
        kind,
        dry_run: false,
        level: 0,
        formatter,
        spool: SpoolOptions {
            max_records: 10_000,
            max_bytes: 16 << 20,
            overflow: Overflow::DropOldest,
            block_timeout: 1.0,
            flush_timeout: 5.0,
            write_timeout: 1.0,
            directory: None,
        },
        buffer: (s == Scenario::MemoryToSocket).then_some(BufferOptions {
            capacity: 100,
            flush_level: 40,
            flush_on_close: true,
            level: 0,
        }),
    }
}

/// One scenario's five measurements: (records/s, CPU µs per record).
struct Row {
    scenario: Scenario,
    cpython: (f64, f64),
    single: (f64, f64),
    batch: (f64, f64),
    native: (f64, f64),
    wire: (f64, f64),
    wire_bytes: usize,
}

/// Rounds of make-pickle, ours and CPython's alternating.
const PICKLE_ROUNDS: usize = 5;

/// make-pickle of each of `records` through the component boundary, one
/// call per record as a host library user makes it, and CPython's
/// `makePickle` as many times: records/s of each, the median of
/// `PICKLE_ROUNDS` rounds taken in turn (the machine is shared).
fn make_pickle_side_by_side(plugin: &Plugin, records: &[pylog_host::LogRecord], drain: &Drain) -> (f64, f64) {
    let mut pure = plugin.pure().expect("pure");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..PICKLE_ROUNDS {
        let (rate, _) = measure(records.len(), || {
            for r in records {
                std::hint::black_box(pure.make_pickle(r, 3).expect("pickle"));
            }
        });
        ours.push(rate);
        theirs.push(cpython("pickle", drain, records.len())["make_pickle_per_s"].as_f64().unwrap_or(f64::NAN));
    }
    (median(ours), median(theirs))
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn cpython(kind: &str, d: &Drain, n: usize) -> serde_json::Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/python/cpython_bench.py");
    let out = Command::new("python3")
        .arg(&script)
        .args([kind, &d.tcp.to_string(), &d.udp.to_string(), &n.to_string(), SYSLOG_FORMAT])
        .output()
        .expect("python3");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("cpython_bench.py {kind}: {e}: {}", String::from_utf8_lossy(&out.stderr)))
}

fn run_scenario(s: Scenario, plugin: &Plugin, d: &Drain, wit_records: &[pylog_host::LogRecord]) -> Row {
    // (e) the wire: the bytes (d) would send, pre-built, one send each; for
    // MemoryHandler the 100-record flushes are one write each.
    let natives: Vec<LogRecord> = (0..N).map(native_record).collect();
    let config = native_config(s, d);
    let mut one = Vec::new();
    match s {
        Scenario::SyslogUdp | Scenario::SyslogTcp => {
            syslog::write_message(&mut one, &natives[1], &config.formatter, &native_syslog_options()).expect("syslog");
        }
        _ => one = pylog_handlers::encode::pickle::make_pickle(&natives[1], 3).expect("frame"),
    }
    let wire_bytes = one.len();
    let wire = if s.udp() {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        measure(N, || {
            for _ in 0..N {
                let _ = sock.send_to(&one, ("127.0.0.1", d.udp));
            }
        })
    } else {
        let mut stream = TcpStream::connect(("127.0.0.1", d.tcp)).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let per_write = if s == Scenario::MemoryToSocket { 100 } else { 1 };
        let chunk = one.repeat(per_write);
        measure(N, || {
            for _ in 0..N / per_write {
                stream.write_all(&chunk).expect("write");
            }
        })
    };

    // (d) the same core, native.
    let mut native = NativeHandler::open(config).expect("native handler");
    let native_rate = measure(N, || {
        for r in &natives {
            let _ = native.emit(r);
        }
        let _ = native.close();
    });

    // (b) the component, one emit per record.
    let config = host_config(s, d);
    let mut h = plugin.open(&config).expect("open");
    let single = measure(N, || {
        for r in wit_records {
            let _ = h.emit(r);
        }
        let _ = h.close();
    });
    // (c) emit-batch. MemoryHandler is itself the batching, so its
    // records go in batches of 64 into the buffer.
    let mut hb = plugin.open(&config).expect("open");
    let batch = measure(N, || {
        for chunk in wit_records.chunks(BATCH) {
            std::hint::black_box(hb.emit_batch(chunk).expect("batch"));
        }
        let _ = hb.close();
    });

    // (a) CPython's own handler.
    let c = cpython(s.cpython_kind(), d, N_CPYTHON);
    let cpython = (
        c["records_per_s"].as_f64().unwrap_or(f64::NAN),
        c["cpu_s"].as_f64().unwrap_or(f64::NAN) * 1e6 / N_CPYTHON as f64,
    );
    Row { scenario: s, cpython, single, batch, native: native_rate, wire, wire_bytes }
}

/// Wall time of `pylog emit` shipping one record, from process start to
/// exit (the record is delivered before it exits), with the precompiled
/// cache empty (cold) and filled (warm).
fn cold_start(target: &Path, d: &Drain) -> (f64, f64) {
    let dir = std::env::temp_dir().join(format!("pylog-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("c.json");
    std::fs::write(
        &config,
        serde_json::json!({"version": 1, "handlers": {"h": {"class": "logging.handlers.SocketHandler",
            "host": "127.0.0.1", "port": d.tcp}}})
        .to_string(),
    )
    .expect("config");
    let run = || {
        let t = Instant::now();
        let mut child = Command::new(target.join("release/pylog"))
            .args(["emit", "--config"])
            .arg(&config)
            .env("PYLOG_CACHE_DIR", dir.join("cache"))
            .env("PYLOG_PLUGIN", target.join("wasm32-wasip2/component/pylog_handlers.wasm"))
            .stdin(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("pylog");
        child.stdin.take().expect("stdin").write_all(b"{\"msg\": \"hello\"}\n").expect("record");
        assert!(child.wait().expect("wait").success(), "pylog emit failed");
        t.elapsed().as_secs_f64() * 1000.0
    };
    let cold = run();
    let warm = run();
    (cold, warm)
}

fn main() {
    if std::env::var_os("PYLOG_BENCH_DRAIN").is_some() {
        drain_forever();
    }
    let target = std::env::current_exe().expect("exe").ancestors().nth(3).expect("target").to_path_buf();
    // PYLOG_PLUGIN: another build of the component (an unstripped one names
    // its functions in a profile).
    let component = std::env::var_os("PYLOG_PLUGIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("wasm32-wasip2/component/pylog_handlers.wasm"));
    let bytes = std::fs::read(&component).expect("component: run `make build` first");
    let drain = start_drain();
    let plugin = Plugin::from_bytes(&bytes, Some(&target.join("pylog-cache"))).expect("plugin");
    let wit_records: Vec<_> = (0..N).map(wit_record).collect();

    // `PYLOG_BENCH_PROFILE=N`: only emit N records one by one through the
    // component (SocketHandler, or PYLOG_BENCH_PROFILE_KIND as cpython_bench.py
    // names them), for `perf record` (with PYLOG_PERF_MAP=1).
    if let Some(n) = std::env::var("PYLOG_BENCH_PROFILE").ok().and_then(|n| n.parse::<usize>().ok()) {
        let kind = std::env::var("PYLOG_BENCH_PROFILE_KIND").unwrap_or_default();
        let s = Scenario::ALL.into_iter().find(|s| s.cpython_kind() == kind).unwrap_or(Scenario::SocketTcp);
        let mut h = plugin.open(&host_config(s, &drain)).expect("open");
        for r in wit_records.iter().cycle().take(n) {
            let _ = h.emit(r);
        }
        return;
    }
    // `PYLOG_BENCH_PROFILE_PICKLE=N`: only make-pickle through the boundary
    // against CPython's makePickle, N records a round, alternating, for
    // `perf record`.
    if let Some(n) = std::env::var("PYLOG_BENCH_PROFILE_PICKLE").ok().and_then(|n| n.parse::<usize>().ok()) {
        let (ours, cpython) = make_pickle_side_by_side(&plugin, &wit_records[..n.min(N)], &drain);
        eprintln!(
            "make-pickle through the boundary: {ours:.0}/s, CPython makePickle {cpython:.0}/s ({:.2}x)",
            ours / cpython
        );
        return;
    }
    // `PYLOG_BENCH_PROFILE_OPEN=N`: only open N handler instances, for `perf record`.
    if let Some(n) = std::env::var("PYLOG_BENCH_PROFILE_OPEN").ok().and_then(|n| n.parse::<usize>().ok()) {
        let config = host_config(Scenario::SocketTcp, &drain);
        let time = |what: &str, f: &mut dyn FnMut()| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            eprintln!("{what}: {:.0} µs", t.elapsed().as_secs_f64() * 1e6 / n as f64);
        };
        time("bare instance", &mut || drop(std::hint::black_box(plugin.pure().expect("pure"))));
        time("bare instance + one call", &mut || {
            let mut p = plugin.pure().expect("pure");
            std::hint::black_box(p.map_priority("INFO").expect("call"));
        });
        let null = HandlerConfig { kind: HandlerKind::Null, ..config.clone() };
        time("NullHandler open", &mut || drop(std::hint::black_box(plugin.open(&null).expect("open"))));
        time("SocketHandler open", &mut || drop(std::hint::black_box(plugin.open(&config).expect("open"))));
        let t = Instant::now();
        let kept: Vec<_> = (0..100).map(|_| plugin.open(&null).expect("open")).collect();
        eprintln!("NullHandler open, kept: {:.0} µs", t.elapsed().as_secs_f64() * 1e6 / 100.0);
        let t = Instant::now();
        drop(kept);
        eprintln!("NullHandler drop: {:.0} µs", t.elapsed().as_secs_f64() * 1e6 / 100.0);
        return;
    }
    let rows: Vec<Row> = Scenario::ALL.iter().map(|&s| run_scenario(s, &plugin, &drain, &wit_records)).collect();

    // make-pickle alone.
    let natives: Vec<LogRecord> = (0..N).map(native_record).collect();
    let (native_pickle, _) = measure(N, || {
        for r in &natives {
            std::hint::black_box(pylog_handlers::encode::pickle::make_pickle(r, 3).expect("pickle"));
        }
    });
    let (component_pickle, cpython_pickle) = make_pickle_side_by_side(&plugin, &wit_records[..N_CPYTHON], &drain);

    // Warm instantiation of a handler instance, and its idle memory.
    let config = host_config(Scenario::SocketTcp, &drain);
    let idle = plugin.open(&config).expect("open");
    let idle_memory = idle.peak_memory();
    drop(idle);
    let opens = 1_000;
    let t = Instant::now();
    for _ in 0..opens {
        std::hint::black_box(plugin.open(&config).expect("open"));
    }
    let open_us = t.elapsed().as_secs_f64() * 1e6 / opens as f64;
    let t = Instant::now();
    for _ in 0..opens {
        std::hint::black_box(plugin.pure().expect("pure"));
    }
    let pure_us = t.elapsed().as_secs_f64() * 1e6 / opens as f64;
    let (cold_ms, warm_ms) = cold_start(&target, &drain);

    let k = |x: f64| format!("{:.0}k", x / 1000.0);
    let mut table = String::from(
        "| handler | (a) CPython | (b) component, emit | (c) component, emit-batch(64) | (d) native core | (e) wire | b/a | c/a | b/d | c/d | d/e |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in &rows {
        let cell = |(rate, cpu): (f64, f64)| format!("{} rec/s, {:.1} µs CPU", k(rate), cpu);
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} ({} B each) | {:.1}x | {:.1}x | {:.2} | {:.2} | {:.2} |\n",
            r.scenario.label(),
            cell(r.cpython),
            cell(r.single),
            cell(r.batch),
            cell(r.native),
            cell(r.wire),
            r.wire_bytes,
            r.single.0 / r.cpython.0,
            r.batch.0 / r.cpython.0,
            r.single.0 / r.native.0,
            r.batch.0 / r.native.0,
            r.native.0 / r.wire.0,
        ));
    }
    let py = String::from_utf8_lossy(
        &Command::new("python3").arg("--version").output().map(|o| o.stdout).unwrap_or_default(),
    )
    .trim()
    .trim_start_matches("Python ")
    .to_string();
    let others = format!(
        "| what | value |\n|---|---|\n\
         | makePickle, CPython {py} | {} /s |\n\
         | make-pickle through the component boundary | {} /s ({:.1}x CPython) |\n\
         | make_pickle, native core | {} /s |\n\
         | cold start: `pylog emit` of one record, process start to exit, empty compile cache | {cold_ms:.0} ms |\n\
         | the same with the precompiled component cached | {warm_ms:.0} ms |\n\
         | warm instantiation of a handler instance (InstancePre, pooling allocator, `open`) | {open_us:.0} µs |\n\
         | warm instantiation of a bare instance (InstancePre, pooling allocator) | {pure_us:.0} µs |\n\
         | linear memory of an idle handler instance | {} KiB |\n\
         | component size (release, stripped) | {} KiB |\n",
        k(cpython_pickle),
        k(component_pickle),
        component_pickle / cpython_pickle,
        k(native_pickle),
        idle_memory / 1024,
        bytes.len() / 1024,
    );
    print!("{table}\n{others}");
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let doc = format!(
        "# Benchmarks\n\nThe latest `make bench` (`cargo bench --bench throughput`), {date}, on {cpu} ({cores} cores, \
         shared and noisy: compare the ratios within this run, not absolute numbers across runs).\n\n\
         Each handler sends {N} records ({N_CPYTHON} for CPython) of one realistic shape (`\"request %d handled in %s \
         ms\"` with two args and five extras, about 730 bytes pickled) into draining listeners on loopback that run in \
         a child process. CPU is this process's user + system time per record (CPython's for CPython), so it includes \
         wasmtime's I/O threads. SysLogHandler uses a ~300-byte format (`{SYSLOG_FORMAT}`). MemoryHandler has capacity \
         100 and flushLevel ERROR; its wire column is 100 frames per write.\n\n{table}\n{others}\n\
         Micro-benchmarks of the hot functions: `cargo bench --bench core` (criterion).\n\n{PROFILE}",
        cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
    );
    std::fs::write(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md"), doc).expect("write BENCHMARKS.md");
}
