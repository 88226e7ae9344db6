//! `SMTPHandler`: each record as a mail (`From`, `To`, `Subject`, `Date`
//! and the formatted record), one SMTP session per record.

use crate::deliver::smtp::{SmtpOptions, SmtpTarget};
use crate::deliver::transport::Destination;
use crate::encode::email_message::{self, Envelope};
use crate::error::{Error, Result};
use crate::handlers::family::{Family, FamilyOptions, Opened, Setup};
use crate::python::formatter::Formatter;
use crate::python::record::LogRecord;

struct Mails {
    options: SmtpOptions,
    formatter: Formatter,
}

/// `logging.handlers.SMTPHandler`.
#[derive(Debug)]
pub struct SmtpHandler(pub SmtpOptions);

impl FamilyOptions for SmtpHandler {
    fn open(&self, setup: &mut Setup) -> Result<Opened> {
        let options = &self.0;
        let tls = setup.tls_streams()?;
        let transport = setup.or_memory(|| match setup.destination {
            Destination::Tcp { host, port } => {
                Ok(Box::new(SmtpTarget::new(options.clone(), host.clone(), *port, tls)?))
            }
            _ => Err(Error::BadConfig("SMTPHandler's mailhost must be a TCP destination".into())),
        })?;
        let family = Mails { options: options.clone(), formatter: setup.formatter.clone() };
        Ok(Opened { family: Box::new(family), transport, outbox: setup.outbox() })
    }
}

impl Family for Mails {
    fn encode(&mut self, record: &LogRecord, out: &mut Vec<u8>) -> Result<()> {
        let body = self.formatter.format(record)?;
        let envelope = Envelope {
            fromaddr: &self.options.fromaddr,
            toaddrs: &self.options.toaddrs,
            subject: &self.options.subject,
            now: now_us() as f64 / 1e6,
            utc_offset_seconds: self.formatter.utc_offset_seconds,
        };
        out.extend_from_slice(&email_message::build(&envelope, &body));
        Ok(())
    }
}

fn now_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}
