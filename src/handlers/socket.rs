//! `SocketHandler` and `DatagramHandler`: `makePickle` frames over TCP,
//! UDP or a unix socket, optionally signed (HMAC) or acknowledged.

use crate::deliver::backoff::RetryPolicy;
use crate::deliver::outbox::OutboxOptions;
use crate::deliver::transport::Destination;
use crate::encode::ack::AckSequencer;
use crate::encode::pickle;
use crate::encode::signing::Signer;
use crate::error::{Error, Result};
use crate::handlers::family::{Family, FamilyOptions, Opened, Setup};
use crate::python::record::LogRecord;

/// `SocketHandler` / `DatagramHandler`, with our signing and
/// acknowledgement options.
#[derive(Debug, Clone, PartialEq)]
pub struct SocketOptions {
    pub pickle_protocol: u8,
    pub retry: RetryPolicy,
    pub close_on_error: bool,
    pub hmac_key: Option<Secret>,
    /// Acknowledged mode when above 0: at most this many frames in flight.
    pub ack_window: u32,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            pickle_protocol: pickle::DEFAULT_PROTOCOL,
            retry: RetryPolicy::default(),
            close_on_error: false,
            hmac_key: None,
            ack_window: 0,
        }
    }
}

/// Key bytes that never print.
#[derive(Clone, PartialEq)]
pub struct Secret(pub Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

/// What wraps the pickle on the wire.
enum Framing {
    /// CPython's frame: a 4-byte length and the pickle.
    Plain,
    /// Acknowledged mode: numbered frames (0xA2).
    Acked(AckSequencer),
    /// Signed (0xA1), or signed and acknowledged (0xA4).
    Signed(Signer),
}

struct Pickles {
    protocol: u8,
    framing: Framing,
    /// The bare frame, before signing or numbering wraps it.
    scratch: Vec<u8>,
}

/// `logging.handlers.SocketHandler`: frames over a stream.
#[derive(Debug)]
pub struct SocketHandler(pub SocketOptions);

/// `logging.handlers.DatagramHandler`: one frame per datagram.
#[derive(Debug)]
pub struct DatagramHandler(pub SocketOptions);

impl FamilyOptions for SocketHandler {
    fn open(&self, setup: &mut Setup) -> Result<Opened> {
        open(&self.0, false, setup)
    }
}

impl FamilyOptions for DatagramHandler {
    fn open(&self, setup: &mut Setup) -> Result<Opened> {
        open(&self.0, true, setup)
    }
}

fn open(options: &SocketOptions, datagram: bool, setup: &mut Setup) -> Result<Opened> {
    pickle::check_protocol(options.pickle_protocol)?;
    check_retry(&options.retry)?;
    let acknowledged = options.ack_window > 0;
    if acknowledged && datagram {
        return Err(Error::BadConfig(
            "acknowledged mode needs a stream: use SocketHandler, not DatagramHandler".into(),
        ));
    }
    let framing = match &options.hmac_key {
        // Acknowledged and signed: the receiver acknowledges the signed
        // sequence, so nothing it acknowledges went unverified.
        Some(key) if acknowledged => Framing::Signed(Signer::acknowledged(&key.0)?),
        Some(key) => Framing::Signed(Signer::new(&key.0)?),
        None if acknowledged => Framing::Acked(AckSequencer::new()?),
        None => Framing::Plain,
    };
    if acknowledged && !matches!(setup.destination, Destination::Tcp { .. } | Destination::Tls { .. }) {
        return Err(Error::BadConfig(
            "acknowledged mode needs a TCP destination and a spool (spool_records above 0)".into(),
        ));
    }
    let transport = setup.network(options.retry.clone())?;
    let outbox =
        OutboxOptions { ack_window: options.ack_window, close_on_error: options.close_on_error, ..setup.outbox() };
    let family = Pickles { protocol: options.pickle_protocol, framing, scratch: Vec::new() };
    Ok(Opened { family: Box::new(family), transport, outbox })
}

impl Family for Pickles {
    fn encode(&mut self, record: &LogRecord, out: &mut Vec<u8>) -> Result<()> {
        let bare = match &self.framing {
            Framing::Plain => return pickle::write_frame(out, record, self.protocol),
            _ => &mut self.scratch,
        };
        bare.clear();
        pickle::write_frame(bare, record, self.protocol)?;
        match &mut self.framing {
            Framing::Plain => Ok(()),
            Framing::Acked(sequencer) => sequencer.write_frame(out, &self.scratch[4..]),
            Framing::Signed(signer) => signer.write_frame(out, &self.scratch[4..], now_us()),
        }
    }
}

fn now_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

fn check_retry(r: &RetryPolicy) -> Result<()> {
    let ok = r.start.is_finite()
        && r.start >= 0.0
        && r.factor.is_finite()
        && r.factor >= 1.0
        && r.max.is_finite()
        && r.max >= r.start;
    if ok {
        Ok(())
    } else {
        Err(Error::BadConfig(format!(
            "retry schedule start={}, factor={}, max={} is invalid: need 0 <= start <= max and factor >= 1",
            r.start, r.factor, r.max
        )))
    }
}
