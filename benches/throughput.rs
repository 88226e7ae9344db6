//! `make bench`: records/s for SocketHandler over TCP, measured side by side
//! in one run: CPython's own handler, our component through the host, the
//! same Rust core compiled natively, and the wire limit (a native loop
//! writing pre-built frames). Also makePickle alone, warm instantiation,
//! idle instance memory and component size. Rewrites BENCHMARKS.md.
//!
//! Numbers from one run on a shared machine: compare ratios, not absolutes.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use pylog_handlers::handler::{Handler as NativeHandler, HandlerConfig as NativeConfig, Kind, SocketOptions};
use pylog_handlers::record::{Args, LogRecord, Value};
use pylog_handlers::transport::Destination as NativeDestination;
use pylog_host::bindings::{Destination, Endpoint, Formatter, HandlerConfig, HandlerKind, Overflow, SpoolOptions};
use pylog_host::records;
use pylog_host::Plugin;

const N: usize = 200_000;

/// A listener that reads and discards, so senders measure themselves.
fn drain() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 16];
                while c.read(&mut buf).map(|n| n > 0).unwrap_or(false) {}
            });
        }
    });
    port
}

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
        ("padding".into(), Value::Str("x".repeat(180))),
    ];
    r
}

fn wit_record(i: usize) -> pylog_host::LogRecord {
    let json = serde_json::json!({"name": "bench", "msg": "request %d handled in %s ms", "args": [i, "12.5"],
        "levelname": "INFO", "pathname": "/srv/app/bench.py", "funcName": "handle", "lineno": 42, "process": 1234,
        "thread": 140000000, "threadName": "MainThread", "created": 1795300000.25, "user": "u123",
        "route": "/api/v1/orders", "status": 200, "ok": true, "padding": "x".repeat(180)});
    records::from_json_line(&json.to_string(), &Default::default()).expect("record")
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    let target = std::env::current_exe().expect("exe").ancestors().nth(3).expect("target").to_path_buf();
    let component = target.join("wasm32-wasip2/component/pylog_handlers.wasm");
    let bytes = std::fs::read(&component).expect("component: run `make build` first");
    let port = drain();

    // (e) the wire: pre-built frames, one write each.
    let frame = pylog_handlers::pickle::make_pickle(&native_record(1), 3).expect("frame");
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let t = Instant::now();
    for _ in 0..N {
        s.write_all(&frame).expect("write");
    }
    let wire = rate(N, t.elapsed());
    drop(s);

    // (d) the same core, native.
    let native_config = NativeConfig {
        name: "native".into(),
        kind: Kind::Socket(SocketOptions::default()),
        destination: NativeDestination::Tcp { host: "127.0.0.1".into(), port },
        level: 0,
        formatter: Default::default(),
        spool: Default::default(),
        buffer: None,
    };
    let mut native = NativeHandler::open(native_config).expect("native handler");
    let records: Vec<LogRecord> = (0..N).map(native_record).collect();
    let t = Instant::now();
    for r in &records {
        native.emit(r).expect("emit");
    }
    let native_rate = rate(N, t.elapsed());
    let t = Instant::now();
    for r in &records {
        std::hint::black_box(pylog_handlers::pickle::make_pickle(r, 3).expect("pickle"));
    }
    let native_pickle = rate(N, t.elapsed());
    drop(records);

    // (b) the component through the host, one emit per record.
    let plugin = Plugin::from_bytes(&bytes, Some(&target.join("pylog-cache"))).expect("plugin");
    let config = HandlerConfig {
        name: "bench".into(),
        kind: HandlerKind::Socket(pylog_host::bindings::SocketOptions {
            pickle_protocol: 3,
            retry_start: 1.0,
            retry_factor: 2.0,
            retry_max: 30.0,
            close_on_error: false,
            hmac_key: None,
            ack_window: 0,
        }),
        destination: Destination::Tcp(Endpoint { host: "127.0.0.1".into(), port }),
        level: 0,
        formatter: Formatter { fmt: None, datefmt: None, style: '%', utc_offset_seconds: 0, tz_name: "UTC".into() },
        spool: SpoolOptions {
            max_records: 10_000,
            max_bytes: 16 << 20,
            overflow: Overflow::DropOldest,
            block_timeout: 1.0,
            flush_timeout: 5.0,
            directory: None,
        },
        buffer: None,
    };
    let mut h = plugin.open(&config).expect("open");
    let wit_records: Vec<_> = (0..N).map(wit_record).collect();
    let t = Instant::now();
    for r in &wit_records {
        h.emit(r).expect("emit");
    }
    let component_rate = rate(N, t.elapsed());
    let idle_memory = h.peak_memory();
    // (c) the component with the batch export, 64 records per call.
    let mut hb = plugin.open(&config).expect("open");
    let t = Instant::now();
    for chunk in wit_records.chunks(64) {
        std::hint::black_box(hb.emit_batch(chunk).expect("batch"));
    }
    let batch_rate = rate(N, t.elapsed());
    drop(hb);
    let mut pure = plugin.pure().expect("pure");
    let t = Instant::now();
    for r in wit_records.iter().take(N / 4) {
        std::hint::black_box(pure.make_pickle(r, 3).expect("pickle"));
    }
    let component_pickle = rate(N / 4, t.elapsed());

    // Warm instantiation: a new sandboxed handler instance from InstancePre.
    let opens = 500;
    let t = Instant::now();
    for _ in 0..opens {
        std::hint::black_box(plugin.open(&config).expect("open"));
    }
    let open_us = t.elapsed().as_secs_f64() * 1e6 / opens as f64;

    // (a) CPython's own SocketHandler, same shape, same drain.
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/python/cpython_bench.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .args([port.to_string(), (N / 4).to_string()])
        .output()
        .expect("python3");
    let cpy: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("cpython_bench.py: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    let cpy_rate = cpy["records_per_s"].as_f64().unwrap_or(f64::NAN);
    let cpy_pickle = cpy["make_pickle_per_s"].as_f64().unwrap_or(f64::NAN);

    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let date = std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let k = |x: f64| format!("{:.0}k", x / 1000.0);
    let table = format!(
        "| what | records/s | ratio |\n|---|---|---|\n\
         | (a) CPython {py} SocketHandler via logging.Logger | {a} | 1.0x |\n\
         | (b) component through the host, one emit per record | {b} | {ba:.1}x CPython |\n\
         | (c) component, emit-batch of 64 | {c} | {ca:.1}x CPython, batch/native {cd:.2} |\n\
         | (d) the same Rust core, native | {d} | wasm/native {bd:.2} |\n\
         | (e) wire limit: pre-built {fb}-byte frames, one write each | {e} | native/wire {de:.2} |\n\
         | makePickle: CPython | {pa} | 1.0x |\n\
         | make-pickle through the component boundary | {pb} | {pba:.1}x CPython |\n\
         | make_pickle, native core | {pd} | |\n\n\
         | what | value |\n|---|---|\n\
         | warm instantiation of a handler instance (InstancePre + open) | {open_us:.0} µs |\n\
         | instance memory after {n} emits (peak linear memory) | {mem} KiB |\n\
         | component size (release, stripped) | {size} KiB |\n",
        py = String::from_utf8_lossy(
            &std::process::Command::new("python3").arg("--version").output().map(|o| o.stdout).unwrap_or_default()
        )
        .trim()
        .trim_start_matches("Python "),
        a = k(cpy_rate),
        b = k(component_rate),
        ba = component_rate / cpy_rate,
        c = k(batch_rate),
        ca = batch_rate / cpy_rate,
        cd = batch_rate / native_rate,
        d = k(native_rate),
        bd = component_rate / native_rate,
        fb = frame.len(),
        e = k(wire),
        de = native_rate / wire,
        pa = k(cpy_pickle),
        pb = k(component_pickle),
        pba = component_pickle / cpy_pickle,
        pd = k(native_pickle),
        n = N,
        mem = idle_memory / 1024,
        size = bytes.len() / 1024,
    );
    print!("{table}");
    let doc = format!(
        "# Benchmarks\n\nThe latest `make bench` (`cargo bench --bench throughput`), {date}, on {cpu} ({cores} cores, shared and noisy: \
         compare the ratios within this run, not absolute numbers across runs). SocketHandler over TCP into a \
         draining listener on loopback; {N} records of a realistic shape (`\"request %d handled in %s ms\"` with two \
         args and five extras; CPython sends {cn}). The other handlers and MemoryHandler are not measured yet \
         (issue 7).\n\n{table}",
        cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        cn = N / 4,
    );
    std::fs::write(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md"), doc).expect("write BENCHMARKS.md");
}
