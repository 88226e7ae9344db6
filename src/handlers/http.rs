//! `HTTPHandler`: each record url-encoded (`mapLogRecord`), sent as a GET
//! query or a POST form over wasi:http.

use crate::deliver::http::{HttpOptions, HttpTarget};
use crate::encode::http_body::urlencoded_record;
use crate::error::Result;
use crate::handlers::family::{Family, FamilyOptions, Opened, Setup};
use crate::python::record::LogRecord;

struct Forms;

/// `logging.handlers.HTTPHandler`.
#[derive(Debug)]
pub struct HttpHandler(pub HttpOptions);

impl FamilyOptions for HttpHandler {
    fn open(&self, setup: &mut Setup) -> Result<Opened> {
        let target = HttpTarget::new(self.0.clone(), setup.http_client()?)?;
        let transport = setup.or_memory(|| Ok(Box::new(target)))?;
        Ok(Opened { family: Box::new(Forms), transport, outbox: setup.outbox() })
    }
}

impl Family for Forms {
    fn encode(&mut self, record: &LogRecord, out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(urlencoded_record(record).as_bytes());
        Ok(())
    }
}
