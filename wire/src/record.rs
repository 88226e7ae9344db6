//! What a `LogRecord` is on both sides: CPython's attribute names in
//! `LogRecord.__init__` order (3.12, with taskName), and the level names
//! and numbers of `logging` (with TRACE at 5 for wasi:logging, `log` and
//! `tracing`, which have one).

/// The attributes `LogRecord.__init__` sets, in its order: the order of a
/// record's `__dict__`, so of `makePickle`'s dict and of `pylog listen`'s
/// JSON. An `extra` key may not reuse one, as `Logger.makeRecord` says.
pub const ATTRIBUTES: &[&str] = &[
    "name",
    "msg",
    "args",
    "levelname",
    "levelno",
    "pathname",
    "filename",
    "module",
    "exc_info",
    "exc_text",
    "stack_info",
    "lineno",
    "funcName",
    "created",
    "msecs",
    "relativeCreated",
    "thread",
    "threadName",
    "processName",
    "process",
    "taskName",
];

/// The place of `key` in `ATTRIBUTES`, or after them all: a match instead
/// of a search, because `pylog listen` ranks every key of every record.
pub fn attribute_rank(key: &str) -> usize {
    match key {
        "name" => 0,
        "msg" => 1,
        "args" => 2,
        "levelname" => 3,
        "levelno" => 4,
        "pathname" => 5,
        "filename" => 6,
        "module" => 7,
        "exc_info" => 8,
        "exc_text" => 9,
        "stack_info" => 10,
        "lineno" => 11,
        "funcName" => 12,
        "created" => 13,
        "msecs" => 14,
        "relativeCreated" => 15,
        "thread" => 16,
        "threadName" => 17,
        "processName" => 18,
        "process" => 19,
        "taskName" => 20,
        _ => ATTRIBUTES.len(),
    }
}

pub const CRITICAL: i64 = 50;
pub const ERROR: i64 = 40;
pub const WARNING: i64 = 30;
pub const INFO: i64 = 20;
pub const DEBUG: i64 = 10;
/// Python has no TRACE; 5 sits below DEBUG, where libraries that add one
/// put it. Its record's levelname is CPython's for an unnamed level.
pub const TRACE: i64 = 5;
pub const NOTSET: i64 = 0;

/// `logging.getLevelName(levelno)` for a level no one registered a name for.
pub fn level_name(levelno: i64) -> String {
    match levelno {
        CRITICAL => "CRITICAL".into(),
        ERROR => "ERROR".into(),
        WARNING => "WARNING".into(),
        INFO => "INFO".into(),
        DEBUG => "DEBUG".into(),
        NOTSET => "NOTSET".into(),
        n => format!("Level {n}"),
    }
}

/// `logging.getLevelName(name)` the other way: the number of a standard
/// name (with CPython's aliases FATAL and WARN) or of "Level N".
pub fn level_number(name: &str) -> Option<i64> {
    match name {
        "CRITICAL" | "FATAL" => Some(CRITICAL),
        "ERROR" => Some(ERROR),
        "WARNING" | "WARN" => Some(WARNING),
        "INFO" => Some(INFO),
        "DEBUG" => Some(DEBUG),
        "NOTSET" => Some(NOTSET),
        _ => name.strip_prefix("Level ").and_then(|n| n.parse().ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_follow_the_attribute_order_and_names_round_trip() {
        for (i, key) in ATTRIBUTES.iter().enumerate() {
            assert_eq!(attribute_rank(key), i);
        }
        assert_eq!(attribute_rank("user"), ATTRIBUTES.len());
        for n in [CRITICAL, ERROR, WARNING, INFO, DEBUG, TRACE, NOTSET, 35] {
            assert_eq!(level_number(&level_name(n)), Some(n));
        }
    }
}
