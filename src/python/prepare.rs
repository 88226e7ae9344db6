//! `QueueHandler.prepare`: what a record looks like after a queue.
//!
//! The formatted message replaces `msg` so that the listener's handlers need
//! neither the arguments nor the traceback, both of which may not survive a
//! thread or process hop. CPython 3.12 also clears `stack_info` (it is
//! already in the message); we follow 3.12 so that a listener formatting
//! again does not print the stack twice.

use crate::error::Result;
use crate::python::formatter::Formatter;
use crate::python::record::LogRecord;

pub fn prepare(record: &LogRecord, formatter: &Formatter) -> Result<LogRecord> {
    let message = formatter.format(record)?;
    Ok(LogRecord { msg: message, args: None, exc_text: None, stack_info: None, ..record.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::value::{Args, Value};

    #[test]
    fn merges_and_clears() {
        let mut r = LogRecord::new("app", 40, "n=%d", 0.0);
        r.args = Some(Args::Tuple(vec![Value::Int(3)]));
        r.exc_text = Some("Traceback".into());
        let f = Formatter::new(Some("%(levelname)s %(message)s"), None, '%', 0, "UTC").unwrap();
        let p = prepare(&r, &f).unwrap();
        assert_eq!(p.msg, "ERROR n=3\nTraceback");
        assert_eq!((p.args, p.exc_text), (None, None));
    }
}
