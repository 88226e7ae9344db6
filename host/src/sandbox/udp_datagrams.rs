//! The host's `udp-datagrams` capability: datagrams sent from a plain
//! socket the host holds for the instance, to the addresses the handler
//! was granted and nowhere else. wasi:sockets sends through wasmtime's
//! tokio reactor, whose write-readiness wake-up per datagram cost more than
//! the send itself (BENCHMARKS.md); this socket is never registered with a
//! reactor. At most two sockets per instance (one per address family),
//! opened on first use; they are not counted against `--max-sockets`.

use std::collections::HashSet;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use wasmtime_wasi::sockets::SocketAddrUse;

use crate::bindings::pylog::handlers::udp_datagrams::{Host, UdpError};
use crate::sandbox::Denials;

/// How long one datagram may wait for room in the socket's send buffer:
/// what the plugin's own wasi:sockets path waits (`SEND_WAIT`).
const SEND_WAIT: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct UdpCapability {
    granted: HashSet<SocketAddr>,
    v4: Option<UdpSocket>,
    v6: Option<UdpSocket>,
    denials: Arc<Denials>,
}

impl UdpCapability {
    pub fn new(granted: HashSet<SocketAddr>, denials: Arc<Denials>) -> UdpCapability {
        UdpCapability { granted, denials, ..Default::default() }
    }

    fn socket(&mut self, to: SocketAddr) -> std::io::Result<&UdpSocket> {
        let (slot, bind) = match to {
            SocketAddr::V4(_) => (&mut self.v4, "0.0.0.0:0"),
            SocketAddr::V6(_) => (&mut self.v6, "[::]:0"),
        };
        if slot.is_none() {
            let socket = UdpSocket::bind(bind)?;
            socket.set_write_timeout(Some(SEND_WAIT))?;
            *slot = Some(socket);
        }
        slot.as_ref().ok_or_else(|| std::io::Error::other("no socket"))
    }
}

impl Host for UdpCapability {
    fn send_datagrams(&mut self, address: String, port: u16, datagrams: Vec<Vec<u8>>) -> Vec<Result<(), UdpError>> {
        let each = |e: UdpError| datagrams.iter().map(|_| Err(e.clone())).collect();
        let Ok(ip) = address.parse::<IpAddr>() else {
            return each(UdpError::Io(format!("{address:?} is not an IP address")));
        };
        let to = SocketAddr::new(ip, port);
        if !self.granted.contains(&to) {
            self.denials.record_udp_send(to);
            return each(UdpError::Denied(format!(
                "udp {to} was not granted (the host did not grant this destination; add it to the plugin's \
                 configuration)"
            )));
        }
        let socket = match self.socket(to) {
            Ok(socket) => socket,
            Err(e) => return each(UdpError::Io(format!("udp socket: {e}"))),
        };
        send_each(&datagrams, |d| socket.send_to(d, to).map(|_| ()))
    }
}

/// One result per datagram. After a send that found no room for
/// SEND_WAIT, the rest fail alike without waiting: each would wait as long,
/// and the call would outlast its wall-clock bound (a trap). The plugin's
/// own wasi:sockets path fails them the same way.
fn send_each(datagrams: &[Vec<u8>], mut send: impl FnMut(&[u8]) -> std::io::Result<()>) -> Vec<Result<(), UdpError>> {
    let mut results = Vec::with_capacity(datagrams.len());
    for d in datagrams {
        match send(d) {
            Ok(()) => results.push(Ok(())),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                let e = UdpError::Io(format!("no room to send for {} s: {e}", SEND_WAIT.as_secs()));
                results.extend(datagrams[results.len()..].iter().map(|_| Err(e.clone())));
                break;
            }
            Err(e) => results.push(Err(UdpError::Io(e.to_string()))),
        }
    }
    results
}

/// The denial as wasi:sockets' check records it, so that both paths read
/// alike in a report.
impl Denials {
    pub(crate) fn record_udp_send(&self, addr: SocketAddr) {
        self.record(addr, SocketAddrUse::UdpSend);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_buffer_fails_the_rest_without_waiting_for_each() {
        let datagrams = vec![vec![1u8]; 4];
        let mut tries = 0;
        let results = send_each(&datagrams, |_| {
            tries += 1;
            match tries {
                1 => Err(std::io::Error::from(ErrorKind::ConnectionRefused)),
                2 => Ok(()),
                _ => Err(std::io::Error::from(ErrorKind::WouldBlock)),
            }
        });
        assert_eq!(tries, 3, "nothing is tried after the full buffer");
        assert_eq!(results.len(), 4);
        assert!(results[0].is_err() && results[1].is_ok() && results[2].is_err() && results[3].is_err());
    }
}
