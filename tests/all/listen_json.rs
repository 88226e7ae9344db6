//! `pylog listen`'s JSON lines for pickles CPython wrote: the direct
//! pickle-to-JSON path (`pickle_json`) against the general one
//! (`unpickle`), and both against what CPython's `pickle.loads` reads from
//! the same bytes. Random records, every protocol, every value kind.

use crate::common;

use std::io::BufRead;

use pylog_host::receive::{pickle_json, unpickle};
use pylog_host::records;

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

#[test]
fn direct_and_general_paths_write_what_cpython_reads_from_its_own_pickles() {
    let out = common::python()
        .arg(common::script("received_pickles.py"))
        .args(["3000", "20261122"])
        .output()
        .expect("run received_pickles.py");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (mut direct_taken, mut cases) = (0, 0);
    for line in out.stdout.lines() {
        let case: serde_json::Value = serde_json::from_str(&line.expect("line")).expect("json");
        let pickle = hex_decode(case["pickle"].as_str().expect("pickle"));
        let general = unpickle::record_from_pickle(&pickle);
        let mut direct = Vec::new();
        let took = pickle_json::write_record(&pickle, &mut direct).is_some();
        cases += 1;
        match (&case["expected"], general) {
            (serde_json::Value::Null, general) => {
                // Text CPython wrote with surrogates: not UTF-8, refused by
                // both paths, never written out altered.
                assert!(general.is_err() && !took, "{case}");
            }
            (expected, Ok(record)) => {
                let written = serde_json::to_string(&record).expect("serialize");
                if took {
                    direct_taken += 1;
                    assert_eq!(String::from_utf8(direct).expect("utf-8"), written, "{case}");
                }
                let read: serde_json::Value = serde_json::from_str(&written).expect("our line is JSON");
                assert_eq!(&read, expected, "{case}");
                let ranks: Vec<usize> = record.keys().map(|k| records::attribute_rank(k)).collect();
                assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "attributes first, in CPython's order: {written}");
            }
            (expected, Err(refusal)) if refusal.to_string().contains("bytes") => {
                // An empty bytes value in protocols 1 and 2 is a call to
                // `bytes()`, which serde-pickle refuses; the direct path
                // takes it when the record has the common shape.
                if took {
                    direct_taken += 1;
                    let read: serde_json::Value = serde_json::from_slice(&direct).expect("our line is JSON");
                    assert_eq!(&read, expected, "{case}");
                }
            }
            (_, Err(refusal)) => panic!("a record CPython reads was refused: {refusal}: {case}"),
        }
    }
    assert_eq!(cases, 3000);
    // Most records have the common shape; the direct path must take them.
    assert!(direct_taken > cases / 2, "the direct path took only {direct_taken} of {cases}");
}
