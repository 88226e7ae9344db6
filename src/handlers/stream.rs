//! `StreamHandler` to the host's stderr or stdout: the formatted record and
//! its terminator, in UTF-8.

use crate::deliver::transport::Console;
use crate::error::Result;
use crate::handlers::family::{Family, FamilyOptions, Opened, Setup};
use crate::python::formatter::Formatter;
use crate::python::record::LogRecord;
use crate::python::text_encoding::{Encoding, Errors, TextEncoding};

struct Lines {
    formatter: Formatter,
}

/// `logging.StreamHandler` on the host's stderr or stdout.
#[derive(Debug)]
pub struct StreamHandler(pub Console);

impl FamilyOptions for StreamHandler {
    fn open(&self, setup: &mut Setup) -> Result<Opened> {
        let console = self.0;
        let transport = setup.or_memory(|| Ok(Box::new(console)))?;
        let family = Lines { formatter: setup.formatter.clone() };
        Ok(Opened { family: Box::new(family), transport, outbox: setup.outbox() })
    }
}

impl Family for Lines {
    fn encode(&mut self, record: &LogRecord, out: &mut Vec<u8>) -> Result<()> {
        let mut line = self.formatter.format(record)?;
        line.push('\n');
        TextEncoding { encoding: Encoding::Utf8, errors: Errors::Strict }.encode(&line, out)
    }
}
