//! encode-priority and map-priority against CPython's `SysLogHandler`,
//! whose own tables and answers are read from a python3 subprocess.

use std::time::Duration;

use crate::common::{plugin, python, run, script};
use pylog_host::bindings::NameOrNumber;
use pylog_host::{HandlerError, PluginError};

fn arg(v: &serde_json::Value) -> NameOrNumber {
    match v {
        serde_json::Value::String(s) => NameOrNumber::Name(s.clone()),
        n => NameOrNumber::Number(n.as_u64().expect("number") as u32),
    }
}

#[test]
fn every_facility_and_priority_encodes_as_cpython() {
    let mut cmd = python();
    cmd.arg(script("priority_tables.py"));
    let out = run(cmd, b"", Duration::from_secs(30));
    assert!(out.status.success(), "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut pure = plugin().pure().expect("instantiate");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() > 1000, "CPython gave only {} cases", cases.len());
    for case in cases {
        let (f, p, want) = (&case[0], &case[1], case[2].as_u64().expect("int"));
        let got = pure.encode_priority(&arg(f), &arg(p)).unwrap_or_else(|e| panic!("{f} {p}: {e}"));
        assert_eq!(got as u64, want, "encodePriority({f}, {p})");
    }
    for (level, want) in doc["map_priority"].as_object().expect("map") {
        assert_eq!(pure.map_priority(level).expect("call"), want.as_str().expect("str"), "mapPriority({level:?})");
    }
}

#[test]
fn unknown_names_are_typed_errors_naming_the_valid_ones() {
    let mut pure = plugin().pure().expect("instantiate");
    let name = |s: &str| NameOrNumber::Name(s.into());
    match pure.encode_priority(&name("LOCAL3"), &name("err")) {
        Err(PluginError::Handler(HandlerError::UnknownFacility(m))) => {
            assert!(m.contains("\"LOCAL3\"") && m.contains("local3"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    match pure.encode_priority(&name("user"), &name("loud")) {
        Err(PluginError::Handler(HandlerError::UnknownPriority(m))) => {
            assert!(m.contains("warning"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    match pure.encode_priority(&NameOrNumber::Number(u32::MAX), &NameOrNumber::Number(0)) {
        Err(PluginError::Handler(HandlerError::UnknownFacility(m))) => {
            assert!(m.contains("too large"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(pure.encode_priority(&name("user"), &name("info")).expect("still usable"), 14);
}
