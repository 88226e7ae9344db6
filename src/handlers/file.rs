//! `FileHandler`, `WatchedFileHandler`, `RotatingFileHandler` and
//! `TimedRotatingFileHandler`: formatted lines in the file's encoding. The
//! rotating ones roll the file over before the record that calls for it,
//! as their `shouldRollover` does, from the line's length in characters.

use std::cell::RefCell;
use std::rc::Rc;

use crate::deliver::file::{FileOptions, FileSink, SharedFile};
use crate::deliver::transport::{Memory, Transport};
use crate::error::Result;
use crate::handlers::family::{Family, FamilyOptions, Opened, Setup};
use crate::python::formatter::Formatter;
use crate::python::record::LogRecord;
use crate::python::text_encoding::TextEncoding;

struct Lines {
    formatter: Formatter,
    encoding: TextEncoding,
    /// Shared with the transport; none in a dry run.
    file: Option<Rc<RefCell<FileSink>>>,
}

/// `logging.FileHandler` and its rotating and watched kin (`options.rotation`).
#[derive(Debug)]
pub struct FileHandler {
    pub options: FileOptions,
    pub encoding: TextEncoding,
}

impl FamilyOptions for FileHandler {
    fn open(&self, setup: &mut Setup) -> Result<Opened> {
        let file = match setup.dry_run() {
            true => None,
            false => Some(Rc::new(RefCell::new(FileSink::open(self.options.clone())?))),
        };
        let transport: Box<dyn Transport> = match &file {
            Some(file) => Box::new(SharedFile(Rc::clone(file))),
            None => Box::new(Memory::default()),
        };
        let family = Lines { formatter: setup.formatter.clone(), encoding: self.encoding, file };
        Ok(Opened { family: Box::new(family), transport, outbox: setup.outbox() })
    }
}

impl Family for Lines {
    fn encode(&mut self, record: &LogRecord, out: &mut Vec<u8>) -> Result<()> {
        let mut line = self.formatter.format(record)?;
        line.push('\n');
        if let Some(file) = &self.file {
            file.borrow_mut().roll_over_if_due(line.chars().count() as u64, record.created)?;
        }
        self.encoding.encode(&line, out)
    }
}
