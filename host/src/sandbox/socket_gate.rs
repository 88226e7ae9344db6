//! A cap on the sockets one plugin instance holds, and a count of the
//! destinations wasmtime-wasi refuses before `socket_addr_check` sees them.
//!
//! wasmtime-wasi has no hook for either: socket creation is not checked at
//! all (a plugin granted one UDP address opened every descriptor the process
//! had), and an unspecified, IPv4-mapped or multicast destination is refused
//! as `invalid-argument` before the address check, so the sandbox never
//! counted it. This module shadows the five functions concerned in the
//! linker; each does its check and then calls wasmtime-wasi's own
//! implementation, so the socket semantics stay wasmtime's.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddressFamily, IpSocketAddress, Network};
use wasmtime_wasi::p2::bindings::sockets::tcp_create_socket;
use wasmtime_wasi::p2::bindings::sync::sockets::tcp::HostTcpSocket;
use wasmtime_wasi::p2::bindings::sync::sockets::udp::{
    HostOutgoingDatagramStream, HostUdpSocket, OutgoingDatagram, OutgoingDatagramStream,
};
use wasmtime_wasi::p2::bindings::sync::sockets::udp_create_socket;
use wasmtime_wasi::p2::{SocketError, TcpSocket, UdpSocket};

use crate::sandbox::SandboxView;

/// The default of `Limits::max_sockets`: a network handler holds one socket
/// at a time, plus the few connections it abandoned to a receiver that
/// stopped reading (the guest's `connection::MAX_STUCK`).
pub const DEFAULT_MAX_SOCKETS: usize = 32;

/// The sockets one instance created and may still hold, by resource handle.
#[derive(Default)]
pub struct SocketCount {
    tcp: Vec<u32>,
    udp: Vec<u32>,
}

impl SocketCount {
    /// How many of the sockets this instance created are still open: a
    /// handle whose table slot no longer holds a socket of that kind was
    /// dropped by the plugin.
    fn live(&mut self, table: &ResourceTable) -> usize {
        self.tcp.retain(|&rep| table.get(&Resource::<TcpSocket>::new_own(rep)).is_ok());
        self.udp.retain(|&rep| table.get(&Resource::<UdpSocket>::new_own(rep)).is_ok());
        self.tcp.len() + self.udp.len()
    }
}

/// WIT package version of wasmtime-wasi's sockets interfaces; the linker
/// serves the guest's 0.2.x imports from these names.
const SOCKETS: &str = "0.2.12";

/// Installs the five checked functions over wasmtime-wasi's.
pub fn add_to_linker<T: SandboxView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let added = shadow(linker);
    linker.allow_shadowing(false);
    added
}

fn shadow<T: SandboxView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.instance(&format!("wasi:sockets/tcp-create-socket@{SOCKETS}"))?.func_wrap(
        "create-tcp-socket",
        |mut store, (family,): (IpAddressFamily,)| {
            let state = store.data_mut();
            if let Err(refused) = admit_socket(state) {
                return Ok((Err(refused),));
            }
            let created = tcp_create_socket::Host::create_tcp_socket(&mut state.sockets(), family);
            let created = typed(state, created)?;
            if let Ok(socket) = &created {
                state.sandbox().socket_count.tcp.push(socket.rep());
            }
            Ok((created,))
        },
    )?;
    linker.instance(&format!("wasi:sockets/udp-create-socket@{SOCKETS}"))?.func_wrap(
        "create-udp-socket",
        |mut store, (family,): (IpAddressFamily,)| {
            let state = store.data_mut();
            if let Err(refused) = admit_socket(state) {
                return Ok((Err(refused),));
            }
            let created = udp_create_socket::Host::create_udp_socket(&mut state.sockets(), family);
            let created = typed(state, created)?;
            if let Ok(socket) = &created {
                state.sandbox().socket_count.udp.push(socket.rep());
            }
            Ok((created,))
        },
    )?;
    let mut tcp = linker.instance(&format!("wasi:sockets/tcp@{SOCKETS}"))?;
    tcp.func_wrap(
        "[method]tcp-socket.start-connect",
        |mut store, (socket, network, remote): (Resource<TcpSocket>, Resource<Network>, IpSocketAddress)| {
            let state = store.data_mut();
            let addr = SocketAddr::from(remote);
            if let Some(why) = invalid_destination(addr, true) {
                state.sandbox().denials.record_invalid("TcpConnect", addr, why);
                return Ok((Err(ErrorCode::InvalidArgument),));
            }
            let started = HostTcpSocket::start_connect(&mut state.sockets(), socket, network, remote);
            Ok((typed(state, started)?,))
        },
    )?;
    let mut udp = linker.instance(&format!("wasi:sockets/udp@{SOCKETS}"))?;
    udp.func_wrap(
        "[method]udp-socket.stream",
        |mut store, (socket, remote): (Resource<UdpSocket>, Option<IpSocketAddress>)| {
            let state = store.data_mut();
            if let Some(addr) = remote.map(SocketAddr::from) {
                if let Some(why) = invalid_destination(addr, false) {
                    state.sandbox().denials.record_invalid("UdpConnect", addr, why);
                    return Ok((Err(ErrorCode::InvalidArgument),));
                }
            }
            let streams = HostUdpSocket::stream(&mut state.sockets(), socket, remote);
            Ok((typed(state, streams)?,))
        },
    )?;
    udp.func_wrap(
        "[method]outgoing-datagram-stream.send",
        |mut store, (stream, datagrams): (Resource<OutgoingDatagramStream>, Vec<OutgoingDatagram>)| {
            let state = store.data_mut();
            for addr in datagrams.iter().filter_map(|d| d.remote_address).map(SocketAddr::from) {
                if let Some(why) = invalid_destination(addr, false) {
                    state.sandbox().denials.record_invalid("UdpSend", addr, why);
                    return Ok((Err(ErrorCode::InvalidArgument),));
                }
            }
            let sent = HostOutgoingDatagramStream::send(&mut state.sockets(), stream, datagrams);
            Ok((typed(state, sent)?,))
        },
    )?;
    Ok(())
}

/// Refuses a new socket when the instance already holds its cap.
fn admit_socket(state: &mut impl SandboxView) -> Result<(), ErrorCode> {
    // The count and the table are both in the embedder's state: take the
    // count out while the table is borrowed.
    let mut count = std::mem::take(&mut state.sandbox().socket_count);
    let live = count.live(state.sockets().table);
    let sandbox = state.sandbox();
    sandbox.socket_count = count;
    if live >= sandbox.max_sockets {
        sandbox.denials.record_socket_cap(sandbox.max_sockets);
        return Err(ErrorCode::NewSocketLimit);
    }
    Ok(())
}

/// wasmtime-wasi's error as the guest sees it, or the trap it stands for.
fn typed<T>(state: &mut impl SandboxView, result: Result<T, SocketError>) -> wasmtime::Result<Result<T, ErrorCode>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(error) => {
            let code =
                wasmtime_wasi::p2::bindings::sockets::network::Host::convert_error_code(&mut state.sockets(), error)?;
            Ok(Err(code))
        }
    }
}

/// Why wasmtime-wasi would refuse `addr` as a destination before checking
/// it (`sockets/mod.rs`: valid remote, unicast, address family), if it would.
fn invalid_destination(addr: SocketAddr, must_be_unicast: bool) -> Option<&'static str> {
    let ip = addr.ip();
    if ip.to_canonical().is_unspecified() {
        return Some("unspecified address");
    }
    if addr.port() == 0 {
        return Some("port 0");
    }
    if let IpAddr::V6(v6) = ip {
        if v6.to_ipv4_mapped().is_some() || is_deprecated_ipv4_compatible(v6) {
            return Some("IPv4 address inside IPv6");
        }
    }
    let multicast_or_broadcast = match ip.to_canonical() {
        IpAddr::V4(v4) => v4.is_multicast() || v4.is_broadcast(),
        IpAddr::V6(v6) => v6.is_multicast(),
    };
    (must_be_unicast && multicast_or_broadcast).then_some("not a unicast address")
}

fn is_deprecated_ipv4_compatible(addr: Ipv6Addr) -> bool {
    matches!(addr.segments(), [0, 0, 0, 0, 0, 0, _, _]) && addr != Ipv6Addr::UNSPECIFIED && addr != Ipv6Addr::LOCALHOST
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_wasmtime_refuses_before_the_check_are_named() {
        let refused = ["0.0.0.0:514", "[::]:514", "[::ffff:127.0.0.1]:514", "[::7f00:1]:514", "127.0.0.1:0"];
        for addr in refused {
            assert!(invalid_destination(addr.parse().unwrap(), true).is_some(), "{addr}");
        }
        assert!(invalid_destination("224.0.0.1:514".parse().unwrap(), true).is_some());
        assert_eq!(invalid_destination("224.0.0.1:514".parse().unwrap(), false), None);
        for addr in ["127.0.0.1:514", "[::1]:514", "10.1.2.3:9020"] {
            assert_eq!(invalid_destination(addr.parse().unwrap(), true), None, "{addr}");
        }
    }
}
