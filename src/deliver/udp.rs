//! UDP datagrams, as `DatagramHandler` and a UDP `SysLogHandler` send them:
//! one record per datagram, from a socket opened on first use.

use std::net::UdpSocket;

use crate::deliver::tcp::resolve;
use crate::deliver::transport::{Transport, MAX_DATAGRAM};
use crate::error::{Error, Result};

pub struct UdpTransport {
    host: String,
    port: u16,
    socket: Option<(UdpSocket, std::net::SocketAddr)>,
}

impl UdpTransport {
    pub fn new(host: &str, port: u16) -> UdpTransport {
        UdpTransport { host: host.to_string(), port, socket: None }
    }
}

impl Transport for UdpTransport {
    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.len() > MAX_DATAGRAM {
            return Err(Error::Dropped(format!(
                "message is {} bytes, over the {MAX_DATAGRAM}-byte UDP limit; use a TCP handler for large records",
                bytes.len()
            )));
        }
        if self.socket.is_none() {
            let addr = resolve(&self.host, self.port)?[0];
            let bind = if addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
            let socket = UdpSocket::bind(bind).map_err(|e| Error::from_io("bind udp socket", &e))?;
            self.socket = Some((socket, addr));
        }
        let Some((socket, addr)) = self.socket.as_ref() else {
            return Err(Error::Io("no socket".into()));
        };
        socket.send_to(bytes, addr).map_err(|e| Error::from_io(&format!("send to {addr}"), &e))?;
        Ok(())
    }

    fn close(&mut self) {
        self.socket = None;
    }
}
