//! Micro-benchmarks of the core's hot functions, native: the per-record
//! work that (b), (c) and (d) of `make bench` repeat. `cargo bench --bench core`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

use pylog_handlers::encode::http_body::urlencoded_record;
use pylog_handlers::encode::pickle;
use pylog_handlers::encode::priority::{encode_priority, NameOrNumber};
use pylog_handlers::encode::syslog::{self, SyslogOptions};
use pylog_handlers::python::formatter::Formatter;
use pylog_handlers::python::record::{Args, LogRecord, Value};

fn record() -> LogRecord {
    let mut r = LogRecord::new("bench", 20, "request %d handled in %s ms", 1_795_300_000.25);
    r.args = Some(Args::Tuple(vec![Value::Int(42), Value::Str("12.5".into())]));
    r.pathname = "/srv/app/bench.py".into();
    r.func_name = Some("handle".into());
    r.process = Some(1234);
    r.extra = vec![
        ("user".into(), Value::Str("u123".into())),
        ("route".into(), Value::Str("/api/v1/orders".into())),
        ("status".into(), Value::Int(200)),
        ("padding".into(), Value::Str("x".repeat(180))),
    ];
    r
}

fn hot_functions(c: &mut Criterion) {
    let r = record();
    let mut buf = Vec::with_capacity(1024);
    c.bench_function("pickle::write_frame", |b| {
        b.iter(|| {
            buf.clear();
            pickle::write_frame(&mut buf, black_box(&r), 3).expect("pickle");
        })
    });
    c.bench_function("LogRecord::get_message", |b| b.iter(|| black_box(&r).get_message().expect("message")));
    let f = Formatter::new(Some("%(asctime)s %(name)s %(levelname)s [%(route)s] %(message)s"), None, '%', 0, "UTC")
        .expect("formatter");
    c.bench_function("Formatter::format with asctime", |b| b.iter(|| f.format(black_box(&r)).expect("format")));
    let opts = SyslogOptions {
        facility: NameOrNumber::Name("local3".into()),
        ident: "app: ".into(),
        escape_controls: true,
        ..SyslogOptions::cpython_defaults()
    };
    c.bench_function("syslog::write_message", |b| {
        b.iter(|| {
            buf.clear();
            syslog::write_message(&mut buf, black_box(&r), &f, &opts).expect("syslog");
        })
    });
    let (facility, priority) = (NameOrNumber::Name("local3".into()), NameOrNumber::Name("warning".into()));
    c.bench_function("encode_priority", |b| b.iter(|| encode_priority(black_box(&facility), black_box(&priority))));
    c.bench_function("http_body::urlencoded_record", |b| b.iter(|| urlencoded_record(black_box(&r))));
}

criterion_group!(benches, hot_functions);
criterion_main!(benches);
