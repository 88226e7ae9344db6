//! `examples/log_bridge.rs`: a Rust program's own `log` records and
//! `tracing` events reach the logging cookbook's CPython receiver as
//! LogRecords, shipped by the sandboxed plugin.

use crate::common;

use std::io::BufRead;
use std::process::Command;
use std::time::Duration;

use crate::common::{component_path, python_peer, run, write_config};
use serde_json::{json, Value};

#[test]
fn log_and_tracing_records_reach_a_cpython_receiver() {
    let (_receiver, port, mut out) = python_peer(&["cookbook_receiver.py"]);
    let config = write_config(
        "log-bridge",
        json!({"class": "logging.handlers.SocketHandler", "host": "127.0.0.1", "port": port}),
    );
    let example = common::profile_dir().join("examples/log_bridge");
    let mut cmd = Command::new(&example);
    cmd.arg(component_path()).arg(&config);
    let ran = run(cmd, b"", Duration::from_secs(60));
    assert!(ran.status.success(), "{}: {}", example.display(), ran.stderr);
    assert!(
        String::from_utf8_lossy(&ran.stdout).contains("3 sent, 0 dropped"),
        "{}",
        String::from_utf8_lossy(&ran.stdout)
    );
    let records: Vec<Value> = (0..3)
        .map(|_| {
            let mut line = String::new();
            out.read_line(&mut line).expect("record");
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
        })
        .collect();
    assert_eq!(records[0]["msg"], json!("disk /var is 91% full"));
    assert_eq!((records[0]["levelname"].clone(), records[0]["name"].clone()), (json!("WARNING"), json!("log_bridge")));
    assert_eq!(records[0]["filename"], json!("log_bridge.rs"));
    assert_eq!(records[1]["msg"], json!("order paid"));
    assert_eq!(
        (records[1]["order"].clone(), records[1]["amount"].clone(), records[1]["paid"].clone()),
        (json!("A-1042"), json!(99.5), json!(true))
    );
    assert_eq!((records[2]["name"].clone(), records[2]["levelno"].clone()), (json!("shop.checkout"), json!(40)));
}
