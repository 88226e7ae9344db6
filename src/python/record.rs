//! CPython's `LogRecord`, as plain Rust, and `getMessage()`.

use crate::error::Result;
use crate::python::percent;
pub use crate::python::value::{Args, Value};
pub use pylog_wire::record::level_name;

#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    pub name: String,
    pub msg: String,
    pub args: Option<Args>,
    pub levelname: String,
    pub levelno: i64,
    pub pathname: String,
    pub filename: String,
    pub module: String,
    pub exc_text: Option<String>,
    pub stack_info: Option<String>,
    pub lineno: i64,
    pub func_name: Option<String>,
    pub created: f64,
    pub msecs: f64,
    pub relative_created: f64,
    pub thread: Option<i64>,
    pub thread_name: Option<String>,
    pub process_name: Option<String>,
    pub process: Option<i64>,
    pub task_name: Option<String>,
    pub extra: Vec<(String, Value)>,
}

impl LogRecord {
    /// `LogRecord.getMessage()`: `str(msg) % args` when args are truthy.
    pub fn get_message(&self) -> Result<String> {
        match &self.args {
            Some(args) if args.is_truthy() => percent::format(&self.msg, args),
            _ => Ok(self.msg.clone()),
        }
    }

    /// A record as `logging.LogRecord(name, level, pathname, lineno, msg,
    /// args, None)` would build it at time `created`; used by tests and
    /// benchmarks as a starting point.
    pub fn new(name: &str, levelno: i64, msg: &str, created: f64) -> LogRecord {
        LogRecord {
            name: name.to_string(),
            msg: msg.to_string(),
            args: None,
            levelname: level_name(levelno),
            levelno,
            pathname: String::new(),
            filename: String::new(),
            module: String::new(),
            exc_text: None,
            stack_info: None,
            lineno: 0,
            func_name: None,
            created,
            msecs: msecs_of(created),
            relative_created: 0.0,
            thread: None,
            thread_name: None,
            process_name: None,
            process: None,
            task_name: None,
            extra: Vec::new(),
        }
    }
}

/// `LogRecord.msecs` as CPython 3.11 computes it from `created`.
pub fn msecs_of(created: f64) -> f64 {
    ((created - created.trunc()) * 1000.0).trunc()
}
