//! `repr(float)` as CPython prints it (it appears in `%s` of a float, in
//! formatted extras and in HTTPHandler's data): checked against CPython on
//! random doubles, dyadic fractions (exact ties between two shortest
//! candidates) and timestamp differences like `relativeCreated`.

use std::time::Duration;

use crate::common::{python, run};
use pylog_handlers::python::repr::float_repr;

fn samples() -> Vec<f64> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut v = Vec::new();
    for _ in 0..5_000 {
        let f = f64::from_bits(next());
        if f.is_finite() {
            v.push(f);
        }
    }
    for _ in 0..5_000 {
        // m / 2^k: exact decimal expansions that end in 5.
        let m = (next() % (1 << 53)) as f64;
        v.push(m / 2f64.powi((next() % 80) as i32));
    }
    for _ in 0..5_000 {
        let t = 1.7e9 + (next() % 100_000_000) as f64 / 1e3;
        v.push((t - 1.7e9) * 1000.0);
        v.push(t);
    }
    v
}

#[test]
fn float_repr_matches_cpython() {
    let values = samples();
    let input: String = values.iter().map(|f| format!("{:016x}\n", f.to_bits())).collect();
    let mut cmd = python();
    cmd.args([
        "-c",
        "import struct, sys\nfor line in sys.stdin:\n    print(repr(struct.unpack('>d', bytes.fromhex(line.strip()))[0]))",
    ]);
    let out = run(cmd, input.as_bytes(), Duration::from_secs(60));
    assert!(out.status.success(), "{}", out.stderr);
    let theirs = String::from_utf8(out.stdout).expect("utf-8");
    let mut mismatches = Vec::new();
    for (f, expected) in values.iter().zip(theirs.lines()) {
        let mut ours = String::new();
        float_repr(*f, &mut ours);
        if ours != expected {
            mismatches.push(format!("{:016x}: ours {ours}, CPython {expected}", f.to_bits()));
        }
    }
    assert_eq!(theirs.lines().count(), values.len());
    assert!(
        mismatches.is_empty(),
        "{} of {} differ, e.g. {:?}",
        mismatches.len(),
        values.len(),
        &mismatches[..mismatches.len().min(5)]
    );
}
