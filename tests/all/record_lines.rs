//! `pylog emit`'s record lines through the direct path (`from_json_line`,
//! an ordered member list) and the general one (`from_json_line_general`,
//! a `serde_json::Value`): the same record or the same error, word for
//! word, for a generated corpus of varied, wrong and hostile lines.
//! `PYLOG_RECORD_LINES=100000` runs the large corpus.

use pylog_host::records::{self, from_json_line, from_json_line_general, Defaults};

/// A small deterministic generator (xorshift), so a failure names its seed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Every LogRecord attribute, `message`, extras, an escaped name and an
/// empty one.
pub(crate) fn keys() -> Vec<&'static str> {
    records::ATTRIBUTES.iter().copied().chain(["message", "user", "request_id", "n\\u00e9", ""]).collect()
}

const VALUES: &[&str] = &[
    "null",
    "true",
    "false",
    "0",
    "-1",
    "20",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "99999999999999999999",
    "1.5",
    "1e300",
    "-0.0",
    "1700000000.25",
    "\"\"",
    "\"INFO\"",
    "\"WARNING\"",
    "\"LOUD\"",
    "\"Level 5\"",
    "\"x %s %d\"",
    "\"caf\\u00e9 \\n \\\"q\\\"\"",
    "[]",
    "[1, \"a\", null, 2.5]",
    "[[1]]",
    "{}",
    "{\"k\": 1}",
    "{\"$bytes\": \"00ff\"}",
    "{\"$bytes\": \"zz\"}",
    "{\"$float\": \"nan\"}",
    "{\"$float\": \"huge\"}",
    "\"/srv/app/x.py\"",
    // Numbers at the edges of the plain-line scanner (records/scan.rs).
    "-0",
    "-0.0e0",
    "0.1e-5",
    "1E+2",
    "2e-3",
    "01",
    "1.",
    ".5",
    "-",
    "1e",
    "+1",
    "123456789012345678",
    "-123456789012345678",
    "1234567890123456789",
    "-9223372036854775809",
    "0.30000000000000004",
    "2.2250738585072011e-308",
    "1e400",
    "1.5.5",
    "nul",
    "truex",
    // Strings: raw control characters (invalid), non-ASCII, spacing.
    "\"tab\there\"",
    "\"h\\u00e9llo\"",
    "\"héllo 世界\"",
    "[ 1 ,\t\"b\" ]",
    "[1,]",
    "[{\"k\": 1}]",
    "\r\n 7",
];

pub(crate) fn line(rng: &mut Rng, keys: &[&str]) -> String {
    match rng.next() % 20 {
        0 => return rng.pick(&["[1]", "nope", "{", "{\"msg\": 1} x", "\"msg\"", "", "{\"a\":1,}"]).to_string(),
        1 => return "{\"msg\": \"dup\", \"msg\": \"last\", \"levelno\": 20, \"levelno\": 40}".to_string(),
        _ => {}
    }
    let n = rng.next() % 9;
    // JSON's whitespace, or none, around the punctuation.
    let (comma, colon) = (rng.pick(&[", ", ",", " ,\t", "\r\n,"]), rng.pick(&[": ", ":", " :\n"]));
    let mut members = Vec::new();
    if !rng.next().is_multiple_of(4) {
        members.push(format!("\"created\"{colon}1700000000.5"));
    }
    for _ in 0..n {
        members.push(format!("\"{}\"{colon}{}", rng.pick(keys), rng.pick(VALUES)));
    }
    format!("{{{}}}", members.join(comma))
}

/// The record without the times `now()` fills when `created` is absent.
fn comparable(r: &pylog_host::LogRecord, fixed_time: bool) -> String {
    let mut r = r.clone();
    if !fixed_time {
        r.created = 0.0;
        r.msecs = 0.0;
        r.relative_created = 0.0;
    }
    format!("{r:?}")
}

#[test]
fn the_direct_path_reads_every_line_as_the_general_path_does() {
    let n: usize = std::env::var("PYLOG_RECORD_LINES").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let defaults = Defaults::default();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let keys = keys();
    let (mut ok, mut refused) = (0, 0);
    for i in 0..n {
        let l = line(&mut rng, &keys);
        // Without a numeric `created`, each call stamps its own `now()`.
        let fixed_time = serde_json::from_str::<serde_json::Value>(&l)
            .ok()
            .is_some_and(|v| v.get("created").is_some_and(serde_json::Value::is_number));
        match (from_json_line(&l, &defaults), from_json_line_general(&l, &defaults)) {
            (Ok(a), Ok(b)) => {
                ok += 1;
                assert_eq!(comparable(&a, fixed_time), comparable(&b, fixed_time), "line {i}: {l}");
            }
            (Err(a), Err(b)) => {
                refused += 1;
                assert_eq!(format!("{a:#}"), format!("{b:#}"), "line {i}: {l}");
            }
            (a, b) => panic!("line {i}: {l}\ndirect: {a:?}\ngeneral: {b:?}"),
        }
    }
    // The corpus must exercise both outcomes in earnest.
    assert!(ok > n / 10 && refused > n / 10, "{ok} read, {refused} refused of {n}");
}
