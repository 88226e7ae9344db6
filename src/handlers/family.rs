//! What a handler family provides: how a record becomes bytes. Where the
//! bytes go is its transport, chosen when the family is opened (its
//! `FamilyOptions::open`); what happens when they cannot go is the
//! `Outbox`'s business.

use std::time::Duration;

use crate::deliver::backoff::RetryPolicy;
use crate::deliver::http::{HttpClient, NoHttpClient};
use crate::deliver::network::{open_network, open_stream};
use crate::deliver::outbox::OutboxOptions;
use crate::deliver::spool::SpoolLimits;
use crate::deliver::tcp::TcpTransport;
use crate::deliver::tls::{NoTlsStreams, TlsStreams};
use crate::deliver::transport::{Destination, Memory, Transport};
use crate::deliver::udp::{HostDatagrams, NoHostDatagrams};
use crate::deliver::unix::{NoUnixSockets, UnixSockets};
use crate::error::{Error, Result};
use crate::python::formatter::Formatter;
use crate::python::record::LogRecord;

pub trait Family {
    /// Appends one record's bytes to `out` (on error, the handler cuts
    /// `out` back). An `Io` or `Denied` error means the destination failed
    /// while getting ready for the record (a file's rollover) and is
    /// counted as unsent; any other error means the record cannot be
    /// encoded and is counted as invalid.
    fn encode(&mut self, record: &LogRecord, out: &mut Vec<u8>) -> Result<()>;

    /// Messages cut to a size limit so far (syslog).
    fn truncated(&self) -> u64 {
        0
    }

    /// NullHandler: every record is discarded, by design.
    fn discards(&self) -> bool {
        false
    }
}

/// A family's constructor arguments, as the CPython class takes them, and
/// how they open it. Each family's file names a type after its class
/// (`SocketHandler(SocketOptions)`, `NullHandler`, ...) and implements this
/// for it, so a family is known by its type, not by a case of a central
/// enum: a new family is its file, and the places that build it (the WIT
/// conversion, a native caller) name its type.
pub trait FamilyOptions {
    /// Validates the options, picks the transport (`setup.network(...)`)
    /// and says how the outbox spools.
    fn open(&self, setup: &mut Setup) -> Result<Opened>;
}

/// A family, opened: its encoder, its transport and how its outbox holds
/// frames back.
pub struct Opened {
    pub family: Box<dyn Family>,
    pub transport: Box<dyn Transport>,
    pub outbox: OutboxOptions,
}

/// What every family's `open` may use, beyond its own options.
pub struct Setup<'a> {
    pub name: &'a str,
    pub destination: &'a Destination,
    pub formatter: &'a Formatter,
    pub spool: &'a SpoolLimits,
    /// Lent to the one family that uses it.
    pub capabilities: Capabilities,
}

/// What a host lends the plugin beyond WASI's own sockets: unix domain
/// sockets, datagrams sent from its own socket, TLS connections and an
/// HTTP client. The component's come from
/// its imports (`component::unix`, `component::tls`, `component::http`);
/// native builds have none.
pub struct Capabilities {
    pub unix: Option<Box<dyn UnixSockets>>,
    pub datagrams: Option<Box<dyn HostDatagrams>>,
    pub tls: Option<Box<dyn TlsStreams>>,
    pub http: Option<Box<dyn HttpClient>>,
}

impl Capabilities {
    pub fn none() -> Capabilities {
        Capabilities {
            unix: Some(Box::new(NoUnixSockets)),
            datagrams: Some(Box::new(NoHostDatagrams)),
            tls: Some(Box::new(NoTlsStreams)),
            http: Some(Box::new(NoHttpClient)),
        }
    }
}

impl Setup<'_> {
    /// A dry run (`Destination::Memory`): every family's bytes are kept in
    /// memory instead of sent, and nothing outside the plugin is touched.
    pub fn dry_run(&self) -> bool {
        matches!(self.destination, Destination::Memory)
    }

    /// The transport for the handler's network destination.
    pub fn network(&mut self, retry: RetryPolicy) -> Result<Box<dyn Transport>> {
        let one = || Error::BadConfig("a handler has one destination".into());
        let unix = self.capabilities.unix.take().ok_or_else(one)?;
        let tls = self.capabilities.tls.take().ok_or_else(one)?;
        let datagrams = self.capabilities.datagrams.take().ok_or_else(one)?;
        open_network(self.destination, retry, self.write_timeout(), unix, tls, datagrams)
    }

    /// The TCP (or TLS) transport of a stream destination, for a session
    /// protocol to run over.
    pub fn stream(&mut self, retry: RetryPolicy) -> Result<TcpTransport> {
        let tls =
            self.capabilities.tls.take().ok_or_else(|| Error::BadConfig("a handler has one destination".into()))?;
        open_stream(self.destination, retry, self.write_timeout(), tls)
    }

    /// The host's TLS capability, for the family that upgrades its own
    /// connections (SMTP's STARTTLS).
    pub fn tls_streams(&mut self) -> Result<Box<dyn TlsStreams>> {
        self.capabilities.tls.take().ok_or_else(|| Error::BadConfig("a handler has one destination".into()))
    }

    /// `transport`, or memory in a dry run.
    pub fn or_memory(&self, transport: impl FnOnce() -> Result<Box<dyn Transport>>) -> Result<Box<dyn Transport>> {
        if self.dry_run() {
            Ok(Box::new(Memory::default()))
        } else {
            transport()
        }
    }

    /// The HTTP client, for the family that sends requests.
    pub fn http_client(&mut self) -> Result<Box<dyn HttpClient>> {
        // Absent from a build without the `http` feature (what `pylog
        // compose` gives a stock host when nothing needs wasi:http).
        self.capabilities.http.take().ok_or_else(|| {
            Error::Unsupported(
                "HTTPHandler needs wasi:http, which this build of the plugin leaves out; \
                 use the default build (pylog compose picks it when an HTTPHandler is configured)"
                    .into(),
            )
        })
    }

    pub fn write_timeout(&self) -> Duration {
        self.spool.write_timeout
    }

    /// Options for an outbox that only sends (no acknowledgements).
    pub fn outbox(&self) -> OutboxOptions {
        OutboxOptions { spool: self.spool.clone(), ack_window: 0, close_on_error: false }
    }
}
