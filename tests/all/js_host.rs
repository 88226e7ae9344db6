//! The component in Node.js: `examples/js` transpiles it with jco and
//! ships two records to `pylog listen`: one pickled by `make-pickle` and
//! sent by Node, one sent by a SocketHandler inside the component through
//! preview2-shim's wasi:sockets.

use crate::common;

use std::process::Command;
use std::time::Duration;

use crate::common::{pylog_listen, read_records, run};
use serde_json::{json, Value};

#[test]
fn node_runs_the_component_through_jco() {
    let dir = common::package_root().join("examples/js");
    // `npm run transpile` with the component wherever this build put it
    // (CARGO_TARGET_DIR may be outside the clone).
    let mut transpile = Command::new("npx");
    transpile
        .args(["--no-install", "jco", "transpile"])
        .arg(common::component_path())
        .args(["-o", "out", "--map", "pylog:handlers/unix-sockets=../unix-sockets.js"])
        .args(["--map", "pylog:handlers/tls-streams=../tls-streams.js"])
        .args(["--map", "pylog:handlers/udp-datagrams=../udp-datagrams.js"])
        .args(["--map", "pylog:handlers/route-config=../route-config.js"])
        .current_dir(&dir);
    let t = run(transpile, b"", Duration::from_secs(120));
    assert!(t.status.success(), "jco transpile (run `make deps` for examples/js/node_modules): {}", t.stderr);

    let (_listen, addrs, out) = pylog_listen(&["--tcp", "127.0.0.1:0"]);
    let port = addrs[0].1.port();
    let mut node = Command::new("node");
    node.arg("ship.mjs").args(["127.0.0.1", &port.to_string()]).current_dir(dir);
    let ran = run(node, b"", Duration::from_secs(60));
    assert!(ran.status.success(), "ship.mjs: {}", ran.stderr);
    let summary: Value = serde_json::from_slice(&ran.stdout).expect("summary");
    assert_eq!((summary["priority"].clone(), summary["sentByComponent"].clone()), (json!(156), json!(1)));
    let got = read_records(out, 2, Duration::from_secs(30));
    let msgs: Vec<&Value> = got.iter().map(|r| &r["msg"]).collect();
    assert_eq!(msgs, [&json!("disk /var is 91% full"), &json!("sent from inside the component: wasi:sockets")]);
    assert!(got.iter().all(|r| r["name"] == json!("js.host") && r["levelno"] == json!(30)));
}

/// `wasm-tools component wit` (jco bundles wasm-tools as `jco wit`) shows
/// both our interface and wasi:logging among the component's exports.
#[test]
fn wasm_tools_component_wit_lists_both_exports() {
    let dir = common::package_root().join("examples/js");
    let mut wit = Command::new("npx");
    wit.args(["--no-install", "jco", "wit"]).arg(common::component_path()).current_dir(dir);
    let out = run(wit, b"", Duration::from_secs(120));
    assert!(out.status.success(), "jco wit: {}", out.stderr);
    let text = String::from_utf8_lossy(&out.stdout);
    for export in ["export pylog:handlers/handlers@0.2.0;", "export wasi:logging/logging@0.1.0-draft;"] {
        assert!(text.lines().any(|l| l.trim() == export), "{export} missing from:\n{text}");
    }
}
