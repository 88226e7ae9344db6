//! `emit-packed` against `emit-batch`: the same records, through both
//! paths into the same handler configurations, give the same result for
//! every record (the same error, word for word) and byte-identical output.
//! The records come from record_lines' generated corpus (varied, wrong and
//! hostile lines; the ones the host refuses never reach a handler).
//! `PYLOG_PACKED_RECORDS=100000` runs the large corpus.

use pylog_host::config::{self, LocalTime};
use pylog_host::records::{self, packed, Defaults};
use pylog_host::{Handler, LogRecord};
use serde_json::json;

use crate::common;
use crate::record_lines::{keys, line, Rng};

/// Every attribute through a formatter, and the encoders of pickles and
/// url-encoded bodies.
fn configs() -> Vec<serde_json::Value> {
    let every = "%(name)s|%(msg)s|%(args)s|%(levelname)s|%(levelno)s|%(pathname)s|%(filename)s|%(module)s|\
                 %(exc_text)s|%(stack_info)s|%(lineno)d|%(funcName)s|%(created)f|%(msecs)d|%(relativeCreated)d|\
                 %(thread)s|%(threadName)s|%(processName)s|%(process)s|%(message)s";
    vec![
        json!({"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": 9}),
        json!({"class": "logging.handlers.SysLogHandler", "formatter": "every"}),
        json!({"class": "logging.StreamHandler", "formatter": "brace"}),
        json!({"class": "logging.handlers.HTTPHandler", "host": "127.0.0.1:9", "url": "/log", "method": "POST"}),
    ]
    .into_iter()
    .map(|h| {
        json!({"version": 1, "formatters": {"every": {"format": every},
            "brace": {"format": "{levelname}:{name}:{lineno}:{message}", "style": "{"}}, "handlers": {"h": h}})
    })
    .collect()
}

fn open(doc: &serde_json::Value) -> Handler {
    let local = LocalTime { utc_offset_seconds: 0, tz_name: "UTC".into() };
    let mut config = config::parse_str(&doc.to_string(), false, &local).expect("config").handlers.remove(0);
    config.dry_run = true;
    common::plugin().open(&config).expect("open")
}

/// Each record's result, as text, and the bytes the handler wrote.
fn shipped(h: &mut Handler, batch: &[LogRecord], packed_path: bool) -> (Vec<String>, Vec<u8>) {
    let results = match packed_path {
        true => h.emit_packed(batch, &packed::pack(batch)),
        false => h.emit_batch(batch),
    };
    let results = results.expect("no trap");
    let words = results.iter().map(|r| format!("{r:?}")).collect();
    (words, h.take_output().expect("output"))
}

#[test]
fn packed_records_ship_exactly_as_listed_records_do() {
    let n: usize = std::env::var("PYLOG_PACKED_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let defaults = Defaults::default();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let keys = keys();
    // About one generated line in four is a record; the rest are refused
    // by the host and never reach a handler.
    let corpus: Vec<LogRecord> =
        (0..n * 20).filter_map(|_| records::from_json_line(&line(&mut rng, &keys), &defaults).ok()).take(n).collect();
    assert_eq!(corpus.len(), n);
    for doc in configs() {
        let (mut listed, mut packed) = (open(&doc), open(&doc));
        let (mut refused, mut bytes) = (0, 0);
        for (k, batch) in corpus.chunks(512).enumerate() {
            let (a, b) = (shipped(&mut listed, batch, false), shipped(&mut packed, batch, true));
            assert_eq!(a.0, b.0, "{doc}: batch {k}: results differ");
            assert!(a.1 == b.1, "{doc}: batch {k}: output differs");
            refused += a.0.iter().filter(|r| r.starts_with("Err")).count();
            bytes += a.1.len();
        }
        // The comparison must have had something to compare.
        assert!(bytes > corpus.len() * 10, "{doc}: only {bytes} bytes");
        assert!(refused < corpus.len(), "{doc}: every record refused");
        assert_eq!((listed.traps(), packed.traps()), (0, 0));
    }
}
