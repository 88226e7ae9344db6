//! `SysLogHandler`: one syslog message per record (CPython's format or RFC
//! 5424), over UDP, TCP (unframed or octet-counted) or a unix socket.

use crate::deliver::backoff::RetryPolicy;
use crate::deliver::transport::Destination;
use crate::encode::syslog::{self, Framing, SyslogFormat, SyslogOptions};
use crate::error::{Error, Result};
use crate::handlers::family::{Family, Opened, Setup};
use crate::python::formatter::Formatter;
use crate::python::record::LogRecord;

struct Messages {
    options: SyslogOptions,
    formatter: Formatter,
    truncated: u64,
}

pub fn open(options: &SyslogOptions, setup: &mut Setup) -> Result<Opened> {
    let mut options = options.clone();
    // The handler, not the user, knows whether its transport is an
    // unframed stream, where CR/LF/NUL would split one record into two.
    let stream =
        matches!(setup.destination, Destination::Tcp { .. } | Destination::Tls { .. } | Destination::UnixStream(_));
    let unframed_stream = stream && options.framing == Framing::Unframed;
    options.escape_controls = unframed_stream && !options.cpython_exact_bytes;
    options.lf_trailer = unframed_stream && options.format == SyslogFormat::Rfc5424;
    options.validate()?;
    if options.framing == Framing::OctetCounting && matches!(setup.destination, Destination::Udp { .. }) {
        return Err(Error::BadConfig(format!(
            "handler {:?}: octet-counting framing is for TCP; a UDP datagram is already one message",
            setup.name
        )));
    }
    let transport = setup.network(RetryPolicy::default())?;
    let family = Messages { options, formatter: setup.formatter.clone(), truncated: 0 };
    Ok(Opened { family: Box::new(family), transport, outbox: setup.outbox() })
}

impl Family for Messages {
    fn encode(&mut self, record: &LogRecord, out: &mut Vec<u8>) -> Result<()> {
        let cut = syslog::write_message(out, record, &self.formatter, &self.options)?;
        self.truncated += u64::from(cut);
        Ok(())
    }

    fn truncated(&self) -> u64 {
        self.truncated
    }
}
