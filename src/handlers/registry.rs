//! The registry of handler families: each `Kind` (with its constructor
//! arguments) and the file that opens it. Adding a family is a variant here,
//! its arm in `open_family`, and its own file.

use crate::deliver::file::FileOptions;
use crate::deliver::http::HttpOptions;
use crate::deliver::smtp::SmtpOptions;
use crate::deliver::transport::Console;
use crate::encode::syslog::SyslogOptions;
use crate::error::Result;
use crate::handlers::family::{Opened, Setup};
use crate::handlers::socket::SocketOptions;
use crate::handlers::{file, http, null, smtp, socket, stream, syslog};
use crate::python::text_encoding::TextEncoding;

/// The handler families, each implemented by one file in `handlers/`.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Socket(SocketOptions),
    Datagram(SocketOptions),
    Syslog(SyslogOptions),
    Null,
    Stream(Console),
    File { options: FileOptions, encoding: TextEncoding },
    Http(HttpOptions),
    Smtp(SmtpOptions),
}

/// Opens `kind`'s family: its encoder, transport and outbox options.
pub(crate) fn open_family(kind: &Kind, setup: &mut Setup) -> Result<Opened> {
    match kind {
        Kind::Socket(o) => socket::open(o, false, setup),
        Kind::Datagram(o) => socket::open(o, true, setup),
        Kind::Syslog(o) => syslog::open(o, setup),
        Kind::Null => null::open(setup),
        Kind::Stream(console) => stream::open(*console, setup),
        Kind::File { options, encoding } => file::open(options, *encoding, setup),
        Kind::Http(o) => http::open(o, setup),
        Kind::Smtp(o) => smtp::open(o, setup),
    }
}
