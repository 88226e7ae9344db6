//! The transport for a network handler's destination (TCP, TLS, UDP, a
//! unix stream or datagram socket, or memory in a dry run).

use std::time::Duration;

use crate::deliver::backoff::RetryPolicy;
use crate::deliver::tcp::TcpTransport;
use crate::deliver::tls::TlsStreams;
use crate::deliver::transport::{Destination, Memory, Transport};
use crate::deliver::udp::{HostDatagrams, UdpTransport};
use crate::deliver::unix::{UnixDatagram, UnixSockets, UnixStream};
use crate::error::{Error, Result};

/// The TCP (or TLS) transport of a stream destination, for a session
/// protocol to run over (RELP).
pub fn open_stream(
    destination: &Destination,
    retry: RetryPolicy,
    timeout: Duration,
    tls: Box<dyn TlsStreams>,
) -> Result<TcpTransport> {
    match destination {
        Destination::Tcp { host, port } => Ok(TcpTransport::new(host, *port, retry, timeout)),
        Destination::Tls { host, port } => Ok(TcpTransport::new(host, *port, retry, timeout).with_tls(tls)),
        _ => Err(Error::BadConfig(
            "this needs a TCP destination (host and port, SOCK_STREAM), with or without TLS".into(),
        )),
    }
}

/// Opens the transport for a network destination. `timeout` bounds each
/// connect and each write to a stream receiver.
pub fn open_network(
    destination: &Destination,
    retry: RetryPolicy,
    timeout: Duration,
    unix: Box<dyn UnixSockets>,
    tls: Box<dyn TlsStreams>,
    datagrams: Box<dyn HostDatagrams>,
) -> Result<Box<dyn Transport>> {
    Ok(match destination {
        Destination::Memory => Box::new(Memory::default()),
        Destination::Tcp { host, port } => Box::new(TcpTransport::new(host, *port, retry, timeout)),
        Destination::Tls { host, port } => Box::new(TcpTransport::new(host, *port, retry, timeout).with_tls(tls)),
        Destination::Udp { host, port } => Box::new(UdpTransport::new(host, *port, datagrams)),
        Destination::UnixStream(path) => Box::new(UnixStream::new(path, unix)),
        Destination::UnixDatagram(path) => Box::new(UnixDatagram::new(path, unix)),
        Destination::Configured => {
            return Err(Error::BadConfig(
                "this handler kind needs a network destination (tcp, udp or a unix socket)".into(),
            ))
        }
    })
}
