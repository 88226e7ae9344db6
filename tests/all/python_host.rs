//! The component from another host: `examples/python/ship_record.py` loads
//! it with wasmtime-py, pickles a real CPython LogRecord with `make-pickle`,
//! asks `encode-priority`, and ships the frame to `pylog listen`.

use crate::common;

use std::time::Duration;

use crate::common::{component_path, pylog_listen, python, read_records, run};
use serde_json::{json, Value};

#[test]
fn wasmtime_py_runs_the_pure_exports_and_ships_a_record() {
    let (_listen, addrs, out) = pylog_listen(&["--tcp", "127.0.0.1:0"]);
    let port = addrs[0].1.port();
    let mut cmd = python();
    cmd.arg(common::package_root().join("examples/python/ship_record.py"))
        .arg(component_path())
        .args(["127.0.0.1", &port.to_string()]);
    let ran = run(cmd, b"", Duration::from_secs(120));
    assert!(ran.status.success(), "ship_record.py: {}", ran.stderr);
    let summary: Value = serde_json::from_slice(&ran.stdout).expect("summary");
    assert_eq!(summary["priority"], summary["cpython_priority"]);
    assert_eq!(summary["priority"], json!(156));
    let got = read_records(out, 1, Duration::from_secs(30));
    assert_eq!(got.len(), 1, "pylog listen received the frame");
    let r = &got[0];
    assert_eq!(r["msg"], json!("disk /var is 91% full"));
    assert_eq!(
        (r["name"].clone(), r["levelname"].clone(), r["lineno"].clone()),
        (json!("py.host"), json!("WARNING"), json!(42))
    );
    assert_eq!((r["host"].clone(), r["ratio"].clone()), (json!("db1"), json!(0.91)));
}
