//! `SysLogHandler`: one syslog message per record (CPython's format or RFC
//! 5424), over UDP, TCP or TLS (unframed, octet-counted or RELP) or a unix
//! socket.

use crate::deliver::backoff::RetryPolicy;
use crate::deliver::outbox::OutboxOptions;
use crate::deliver::relp::{self, RelpTransport};
use crate::deliver::transport::Destination;
use crate::encode::syslog::{self, Framing, SyslogFormat, SyslogOptions};
use crate::error::{Error, Result};
use crate::handlers::family::{Family, FamilyOptions, Opened, Setup};
use crate::python::formatter::Formatter;
use crate::python::record::LogRecord;

struct Messages {
    options: SyslogOptions,
    formatter: Formatter,
    truncated: u64,
}

/// `logging.handlers.SysLogHandler`.
#[derive(Debug)]
pub struct SysLogHandler(pub SyslogOptions);

impl FamilyOptions for SysLogHandler {
    fn open(&self, setup: &mut Setup) -> Result<Opened> {
        let mut options = self.0.clone();
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
        let family = Box::new(Messages { options: options.clone(), formatter: setup.formatter.clone(), truncated: 0 });
        if options.framing == Framing::Relp && !setup.dry_run() {
            if setup.spool.max_records == 0 {
                return Err(Error::BadConfig(format!(
                    "handler {:?}: RELP needs the spool (spool_records above 0): unconfirmed messages wait there to be \
                     sent again",
                    setup.name
                )));
            }
            let tcp = setup.stream(RetryPolicy::default())?;
            let transport = Box::new(RelpTransport::new(tcp, setup.write_timeout()));
            let outbox = OutboxOptions { ack_window: relp::DEFAULT_WINDOW, ..setup.outbox() };
            return Ok(Opened { family, transport, outbox });
        }
        let transport = setup.network(RetryPolicy::default())?;
        Ok(Opened { family, transport, outbox: setup.outbox() })
    }
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
