//! A UDP socket that sends many datagrams in one call: in the component,
//! wasi:sockets' `outgoing-datagram-stream.send` takes a list, so a batch of
//! records costs one host call instead of one (with its readiness check)
//! per datagram, which is what `std::net::UdpSocket::send_to` costs there.
//! Natively, std's socket sends them one by one.

use std::net::SocketAddr;

#[cfg(target_arch = "wasm32")]
pub use wasi::DatagramSocket;

#[cfg(not(target_arch = "wasm32"))]
pub use native::DatagramSocket;

#[cfg(target_arch = "wasm32")]
mod wasi {
    use std::io::{Error, ErrorKind};
    use std::mem::ManuallyDrop;
    use std::time::Duration;

    use wasip2::clocks::monotonic_clock::subscribe_duration;
    use wasip2::io::poll::poll;
    use wasip2::sockets::instance_network::instance_network;
    use wasip2::sockets::network::{IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress};
    use wasip2::sockets::udp::{IncomingDatagramStream, OutgoingDatagram, OutgoingDatagramStream, UdpSocket};
    use wasip2::sockets::udp_create_socket::create_udp_socket;

    use super::SocketAddr;
    use crate::deliver::connection::{io_error, wasi_address};

    /// How long a send waits for the host to take datagrams at all.
    const SEND_WAIT: Duration = Duration::from_secs(1);

    /// The streams are children of the socket and are dropped first.
    pub struct DatagramSocket {
        incoming: ManuallyDrop<IncomingDatagramStream>,
        outgoing: ManuallyDrop<OutgoingDatagramStream>,
        socket: ManuallyDrop<UdpSocket>,
        /// Every datagram's address: the stream is not connected (a
        /// connected stream would also ask to receive, which the sandbox
        /// never grants).
        remote: IpSocketAddress,
    }

    impl Drop for DatagramSocket {
        fn drop(&mut self) {
            // SAFETY: each field is dropped once, here, children first.
            unsafe {
                ManuallyDrop::drop(&mut self.incoming);
                ManuallyDrop::drop(&mut self.outgoing);
                ManuallyDrop::drop(&mut self.socket);
            }
        }
    }

    impl DatagramSocket {
        /// A socket bound to an ephemeral port, its datagrams addressed to `to`.
        pub fn open(to: SocketAddr) -> std::io::Result<DatagramSocket> {
            let (family, remote) = wasi_address(to);
            let local = match family {
                IpAddressFamily::Ipv4 => IpSocketAddress::Ipv4(Ipv4SocketAddress { port: 0, address: (0, 0, 0, 0) }),
                IpAddressFamily::Ipv6 => IpSocketAddress::Ipv6(Ipv6SocketAddress {
                    port: 0,
                    flow_info: 0,
                    address: (0, 0, 0, 0, 0, 0, 0, 0),
                    scope_id: 0,
                }),
            };
            let socket = create_udp_socket(family).map_err(|e| io_error("create a udp socket", e))?;
            let network = instance_network();
            socket.start_bind(&network, local).map_err(|e| io_error("bind udp socket", e))?;
            let ready = socket.subscribe();
            let bound = loop {
                match socket.finish_bind() {
                    Err(wasip2::sockets::network::ErrorCode::WouldBlock) => ready.block(),
                    other => break other,
                }
            };
            drop(ready);
            bound.map_err(|e| io_error("bind udp socket", e))?;
            let (incoming, outgoing) = socket.stream(None).map_err(|e| io_error("udp socket", e))?;
            Ok(DatagramSocket {
                incoming: ManuallyDrop::new(incoming),
                outgoing: ManuallyDrop::new(outgoing),
                socket: ManuallyDrop::new(socket),
                remote,
            })
        }

        /// Sends each message as one datagram, as many per host call as the
        /// host accepts; one result per message.
        pub fn send_all(&mut self, messages: &[&[u8]]) -> Vec<std::io::Result<()>> {
            let mut results: Vec<std::io::Result<()>> = Vec::with_capacity(messages.len());
            while results.len() < messages.len() {
                let rest = &messages[results.len()..];
                let permits = match self.permits() {
                    Ok(n) => n,
                    Err(e) => {
                        // Nothing more can go: each remaining message fails alike.
                        let text = e.to_string();
                        let kind = e.kind();
                        results.extend(rest.iter().map(|_| Err(Error::new(kind, text.clone()))));
                        break;
                    }
                };
                let chunk: Vec<OutgoingDatagram> = rest[..permits.min(rest.len())]
                    .iter()
                    .map(|m| OutgoingDatagram { data: m.to_vec(), remote_address: Some(self.remote) })
                    .collect();
                match self.outgoing.send(&chunk) {
                    Ok(0) => results.push(Err(Error::other("the host took no datagram"))),
                    Ok(n) => results.extend((0..n).map(|_| Ok(()))),
                    // The first datagram of the chunk failed; the rest are tried again.
                    Err(e) => results.push(Err(io_error("send", e))),
                }
            }
            results
        }

        /// How many datagrams the host takes now, waiting up to `SEND_WAIT`.
        fn permits(&self) -> std::io::Result<usize> {
            for _ in 0..2 {
                let n = self.outgoing.check_send().map_err(|e| io_error("send", e))?;
                if n > 0 {
                    return Ok(usize::try_from(n).unwrap_or(usize::MAX));
                }
                let ready = self.outgoing.subscribe();
                let timer = subscribe_duration(u64::try_from(SEND_WAIT.as_nanos()).unwrap_or(u64::MAX));
                poll(&[&ready, &timer]);
            }
            Err(Error::new(ErrorKind::TimedOut, "the host took no datagram for 1 s"))
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::net::UdpSocket;

    use super::SocketAddr;

    pub struct DatagramSocket {
        socket: UdpSocket,
        to: SocketAddr,
    }

    impl DatagramSocket {
        pub fn open(to: SocketAddr) -> std::io::Result<DatagramSocket> {
            let bind = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
            Ok(DatagramSocket { socket: UdpSocket::bind(bind)?, to })
        }

        pub fn send_all(&mut self, messages: &[&[u8]]) -> Vec<std::io::Result<()>> {
            messages.iter().map(|m| self.socket.send_to(m, self.to).map(|_| ())).collect()
        }
    }
}
