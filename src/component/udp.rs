//! The host's `udp-datagrams` import as the core's `HostDatagrams`.

use std::net::SocketAddr;

use crate::deliver::udp::HostDatagrams;
use crate::error::{Error, Result};

use super::wit::pylog::handlers::udp_datagrams as udp;

/// Datagrams through the host's `udp-datagrams` import.
pub struct ImportedDatagrams;

impl HostDatagrams for ImportedDatagrams {
    fn send_all(&mut self, to: SocketAddr, messages: &[&[u8]]) -> Vec<Result<()>> {
        let datagrams: Vec<Vec<u8>> = messages.iter().map(|m| m.to_vec()).collect();
        let results = udp::send_datagrams(&to.ip().to_string(), to.port(), &datagrams);
        results
            .into_iter()
            .map(|r| {
                r.map_err(|e| match e {
                    udp::UdpError::Unsupported(m) => Error::Unsupported(m),
                    udp::UdpError::Denied(m) => Error::Denied(m),
                    udp::UdpError::Io(m) => Error::Io(format!("send to {to}: {m}")),
                })
            })
            .collect()
    }
}
