//! A handler's configuration as the core sees it: which family (`Kind`,
//! with its CPython constructor arguments), where it sends, its level,
//! formatter, spool and an optional MemoryHandler in front.

use crate::deliver::spool::SpoolLimits;
use crate::deliver::transport::Destination;
use crate::handlers::memory::BufferOptions;
use crate::handlers::registry::Kind;
use crate::python::formatter::Formatter;

#[derive(Debug, Clone, PartialEq)]
pub struct HandlerConfig {
    pub name: String,
    pub kind: Kind,
    pub destination: Destination,
    pub level: i64,
    pub formatter: Formatter,
    /// For stream destinations (TCP, unix stream); 0 records turns it off.
    pub spool: SpoolLimits,
    /// A MemoryHandler in front of this handler.
    pub buffer: Option<BufferOptions>,
}
