//! UDP datagrams, as `DatagramHandler` and a UDP `SysLogHandler` send them:
//! one record per datagram; a batch of records goes out in one call
//! (`send_each`). The host sends them when it offers to (`HostDatagrams`,
//! the component's `udp-datagrams` import: a plain socket, no reactor
//! wake-up per datagram); otherwise a socket of our own, opened on first
//! use.

use std::net::SocketAddr;

use crate::deliver::datagram_socket::DatagramSocket;
use crate::deliver::tcp::resolve;
use crate::deliver::transport::{Transport, MAX_DATAGRAM};
use crate::error::{Error, Result};

/// Datagrams the host sends for the plugin, to addresses it checks.
pub trait HostDatagrams {
    /// Each message to `to`, in order; one result per message. Every
    /// result is `Error::Unsupported` when the host does not offer this.
    fn send_all(&mut self, to: SocketAddr, messages: &[&[u8]]) -> Vec<Result<()>>;
}

/// A host that sends no datagrams: our own socket is used.
pub struct NoHostDatagrams;

impl HostDatagrams for NoHostDatagrams {
    fn send_all(&mut self, _to: SocketAddr, messages: &[&[u8]]) -> Vec<Result<()>> {
        messages.iter().map(|_| Err(Error::Unsupported("no host datagrams".into()))).collect()
    }
}

pub struct UdpTransport {
    host: String,
    port: u16,
    /// None once the host said it does not send datagrams.
    host_datagrams: Option<Box<dyn HostDatagrams>>,
    /// Resolved on first use.
    addr: Option<SocketAddr>,
    socket: Option<DatagramSocket>,
}

impl UdpTransport {
    pub fn new(host: &str, port: u16, host_datagrams: Box<dyn HostDatagrams>) -> UdpTransport {
        UdpTransport { host: host.to_string(), port, host_datagrams: Some(host_datagrams), addr: None, socket: None }
    }

    fn addr(&mut self) -> Result<SocketAddr> {
        if let Some(addr) = self.addr {
            return Ok(addr);
        }
        let addr = resolve(&self.host, self.port)?[0];
        self.addr = Some(addr);
        Ok(addr)
    }

    /// Through the host if it sends datagrams (it says so on the first
    /// call), else through our own socket.
    fn send_fitting(&mut self, addr: SocketAddr, messages: &[&[u8]]) -> Vec<Result<()>> {
        if let Some(host) = self.host_datagrams.as_mut() {
            let sent = host.send_all(addr, messages);
            if !matches!(sent.first(), Some(Err(Error::Unsupported(_)))) {
                return sent;
            }
            self.host_datagrams = None;
        }
        if self.socket.is_none() {
            match DatagramSocket::open(addr) {
                Ok(socket) => self.socket = Some(socket),
                Err(e) => {
                    let e = Error::from_io(&format!("udp socket to {addr}"), &e);
                    return messages.iter().map(|_| Err(e.clone())).collect();
                }
            }
        }
        let Some(socket) = self.socket.as_mut() else { return Vec::new() };
        socket
            .send_all(messages)
            .into_iter()
            .map(|r| r.map_err(|e| Error::from_io(&format!("send to {addr}"), &e)))
            .collect()
    }
}

fn oversized(len: usize) -> Error {
    Error::Dropped(format!(
        "message is {len} bytes, over the {MAX_DATAGRAM}-byte UDP limit; use a TCP handler for large records"
    ))
}

impl Transport for UdpTransport {
    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.send_each(&[bytes]).pop().unwrap_or(Ok(()))
    }

    /// Each message as one datagram; those that fit go out together.
    fn send_each(&mut self, messages: &[&[u8]]) -> Vec<Result<()>> {
        let mut results: Vec<Result<()>> =
            messages.iter().map(|m| if m.len() > MAX_DATAGRAM { Err(oversized(m.len())) } else { Ok(()) }).collect();
        let fitting: Vec<&[u8]> = messages.iter().copied().filter(|m| m.len() <= MAX_DATAGRAM).collect();
        if fitting.is_empty() {
            return results;
        }
        let sent = match self.addr() {
            Ok(addr) => self.send_fitting(addr, &fitting),
            Err(e) => fitting.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut sent = sent.into_iter();
        for result in results.iter_mut().filter(|r| r.is_ok()) {
            *result =
                sent.next().unwrap_or_else(|| Err(Error::Io("the socket gave no result for this datagram".into())));
        }
        results
    }

    fn sends_in_bulk(&self) -> bool {
        true
    }

    fn close(&mut self) {
        self.socket = None;
        self.addr = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_sends_each_datagram_in_order_and_refuses_only_the_oversized_one() {
        let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        let port = receiver.local_addr().unwrap().port();
        let mut udp = UdpTransport::new("127.0.0.1", port, Box::new(NoHostDatagrams));
        let huge = vec![b'x'; MAX_DATAGRAM + 1];
        let results = udp.send_each(&[b"one", &huge, b"two"]);
        assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
        assert!(matches!(&results[1], Err(Error::Dropped(m)) if m.contains("UDP limit")), "{results:?}");
        let mut buf = [0u8; 16];
        for want in [&b"one"[..], b"two"] {
            let n = receiver.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], want);
        }
    }
}
