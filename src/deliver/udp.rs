//! UDP datagrams, as `DatagramHandler` and a UDP `SysLogHandler` send them:
//! one record per datagram, from a socket opened on first use; a batch of
//! records goes out in one call (`send_each`).

use std::net::SocketAddr;

use crate::deliver::datagram_socket::DatagramSocket;
use crate::deliver::tcp::resolve;
use crate::deliver::transport::{Transport, MAX_DATAGRAM};
use crate::error::{Error, Result};

pub struct UdpTransport {
    host: String,
    port: u16,
    socket: Option<(DatagramSocket, SocketAddr)>,
}

impl UdpTransport {
    pub fn new(host: &str, port: u16) -> UdpTransport {
        UdpTransport { host: host.to_string(), port, socket: None }
    }

    fn socket(&mut self) -> Result<&mut (DatagramSocket, SocketAddr)> {
        if self.socket.is_none() {
            let addr = resolve(&self.host, self.port)?[0];
            let socket =
                DatagramSocket::open(addr).map_err(|e| Error::from_io(&format!("udp socket to {addr}"), &e))?;
            self.socket = Some((socket, addr));
        }
        self.socket.as_mut().ok_or_else(|| Error::Io("no socket".into()))
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
        let sent = match self.socket() {
            Ok((socket, addr)) => {
                let addr = *addr;
                socket
                    .send_all(&fitting)
                    .into_iter()
                    .map(|r| r.map_err(|e| Error::from_io(&format!("send to {addr}"), &e)))
                    .collect::<Vec<_>>()
            }
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
        let mut udp = UdpTransport::new("127.0.0.1", port);
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
