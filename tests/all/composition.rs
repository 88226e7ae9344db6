//! `make compose`: the example extension, which logs through wasi:logging
//! and knows nothing of handlers, composed with our component by `wac
//! plug`. The host runs the composition, gives its log route a
//! SocketHandler (route-config import), and grants nothing else; the
//! extension's messages arrive at `pylog listen` as LogRecords.

use crate::common;

use std::time::Duration;

use crate::common::Destination;
use crate::common::{pylog_listen, read_records, socket_config, socket_options};
use pylog_host::bindings::Endpoint;
use pylog_host::embed::composed::Composed;
use serde_json::json;

#[test]
fn an_extension_composed_with_the_plugin_ships_its_logs() {
    let composed = common::target_dir().join("wasm32-wasip2/component/extension_with_pylog.wasm");
    let bytes = std::fs::read(&composed).unwrap_or_else(|e| panic!("{} ({e}): run `make compose`", composed.display()));
    let (_listen, addrs, out) = pylog_listen(&["--tcp", "127.0.0.1:0"]);
    let port = addrs[0].1.port();
    let route = socket_config(Destination::Tcp(Endpoint { host: "127.0.0.1".into(), port }), socket_options(), false);
    let plugin = common::plugin();
    let mut app = Composed::open(&plugin, &bytes, &[route]).expect("instantiate the composition");
    assert_eq!(app.call_u32("example:extension/work@0.1.0", "process", 12).expect("process"), 12);
    let got = read_records(out, 4, Duration::from_secs(30));
    let msgs: Vec<_> = got.iter().map(|r| r["msg"].clone()).collect();
    assert_eq!(
        msgs,
        [json!("processing 12 items"), json!("item 4 was slow"), json!("item 9 was slow"), json!("done: 12 of 12")]
    );
    assert!(got.iter().all(|r| r["name"] == json!("extension.work")));
    assert_eq!((got[1]["levelno"].clone(), got[1]["levelname"].clone()), (json!(30), json!("WARNING")));
    assert_eq!(app.denials().count(), 0);
}
