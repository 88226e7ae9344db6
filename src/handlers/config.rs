//! A handler's configuration as the core sees it: which family (its
//! CPython class, with its constructor arguments), where it sends, its
//! level, formatter, spool and an optional MemoryHandler in front.

use crate::deliver::spool::SpoolLimits;
use crate::deliver::transport::Destination;
use crate::handlers::family::FamilyOptions;
use crate::handlers::memory::BufferOptions;
use crate::python::formatter::Formatter;

pub struct HandlerConfig {
    pub name: String,
    /// The family, e.g. `Box::new(SocketHandler(SocketOptions::default()))`.
    pub family: Box<dyn FamilyOptions>,
    pub destination: Destination,
    pub level: i64,
    pub formatter: Formatter,
    /// For stream destinations (TCP, unix stream); 0 records turns it off.
    pub spool: SpoolLimits,
    /// A MemoryHandler in front of this handler.
    pub buffer: Option<BufferOptions>,
}
