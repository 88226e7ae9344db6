//! `MemoryHandler` / `BufferingHandler`: records wait here until the buffer
//! is full or one is important enough, then go to the target together.

use crate::python::record::LogRecord;

#[derive(Debug, Clone, PartialEq)]
pub struct BufferOptions {
    pub capacity: u32,
    pub flush_level: i64,
    pub flush_on_close: bool,
    /// The MemoryHandler's own level (the target keeps its own).
    pub level: i64,
}

pub struct Buffer {
    pub options: BufferOptions,
    records: Vec<LogRecord>,
}

impl Buffer {
    pub fn new(options: BufferOptions) -> Buffer {
        Buffer { records: Vec::with_capacity(options.capacity.min(1024) as usize), options }
    }

    /// Adds a record; true when CPython's `MemoryHandler.shouldFlush` would
    /// now flush: the buffer is full or this record is at `flushLevel`.
    pub fn push(&mut self, record: LogRecord) -> bool {
        let flush_now = record.levelno >= self.options.flush_level;
        self.records.push(record);
        flush_now || self.records.len() >= self.options.capacity as usize
    }

    pub fn take(&mut self) -> Vec<LogRecord> {
        std::mem::take(&mut self.records)
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}
