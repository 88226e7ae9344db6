//! `NullHandler`: discards every record, by design (its records count as
//! skipped, never as dropped).

use crate::deliver::transport::Memory;
use crate::error::Result;
use crate::handlers::family::{Family, FamilyOptions, Opened, Setup};
use crate::python::record::LogRecord;

struct Discard;

/// `logging.NullHandler`.
#[derive(Debug)]
pub struct NullHandler;

impl FamilyOptions for NullHandler {
    fn open(&self, setup: &mut Setup) -> Result<Opened> {
        Ok(Opened { family: Box::new(Discard), transport: Box::new(Memory::default()), outbox: setup.outbox() })
    }
}

impl Family for Discard {
    fn encode(&mut self, _record: &LogRecord, _out: &mut Vec<u8>) -> Result<()> {
        Ok(())
    }

    fn discards(&self) -> bool {
        true
    }
}
