//! The configuration component of `pylog compose`: it answers the plugin's
//! `route-config` import from the document baked into the composition, and
//! refuses unix sockets and TLS, which a host that is not ours cannot give
//! (WASI 0.2 has neither). `pylog compose` refuses configurations that need
//! them, so these refusals are only a second line.
//!
//! A wasm-only crate; natively it compiles to nothing.

#![cfg(target_arch = "wasm32")]

mod wit {
    wit_bindgen::generate!({
        path: "wit",
        world: "config-component",
        additional_derives: [serde::Deserialize],
        generate_all,
    });
}

use wit::exports::pylog::handlers::route_config::{Guest as RouteConfig, HandlerConfig};
use wit::exports::pylog::handlers::tls_streams::{self as tls, TlsError};
use wit::exports::pylog::handlers::udp_datagrams::{self as udp, UdpError};
use wit::exports::pylog::handlers::unix_sockets::{self as unix, UnixError};

const NO_UNIX: &str = "this host has no unix sockets (WASI 0.2 has none); use a TCP or UDP address";
const NO_TLS: &str = "this host offers the plugin no TLS (WASI 0.2 has none); ship to a local relay over TCP";

struct Config;

impl RouteConfig for Config {
    fn handlers() -> Vec<HandlerConfig> {
        let text = wit::pylog::route_config::document::handlers_json();
        match serde_json::from_str(&text) {
            Ok(handlers) => handlers,
            // `handlers` cannot fail; the plugin then has no handler, and
            // the extension's stderr says why. Only a plugin and a document
            // from different pylog versions get here.
            Err(e) => {
                eprintln!("pylog: the composed configuration cannot be read ({e}); compose it again with this pylog");
                Vec::new()
            }
        }
    }
}

impl unix::Guest for Config {
    type UnixStream = Refused;

    fn send_datagram(_path: String, _bytes: Vec<u8>) -> Result<(), UnixError> {
        Err(UnixError::Unsupported(NO_UNIX.into()))
    }
}

/// The plugin then sends its datagrams through wasi:sockets, which stock
/// hosts have.
impl udp::Guest for Config {
    fn send_datagrams(_address: String, _port: u16, datagrams: Vec<Vec<u8>>) -> Vec<Result<(), UdpError>> {
        let no = "this host sends no datagrams for the plugin; it uses wasi:sockets";
        datagrams.iter().map(|_| Err(UdpError::Unsupported(no.into()))).collect()
    }
}

impl tls::Guest for Config {
    type TlsStream = Refused;
}

/// A connection that is never made: every constructor refuses.
struct Refused;

impl unix::GuestUnixStream for Refused {
    fn connect(_path: String) -> Result<unix::UnixStream, UnixError> {
        Err(UnixError::Unsupported(NO_UNIX.into()))
    }

    fn send(&self, _bytes: Vec<u8>) -> Result<(), UnixError> {
        Err(UnixError::Unsupported(NO_UNIX.into()))
    }
}

impl tls::GuestTlsStream for Refused {
    fn connect(_host: String, _port: u16, _timeout_ms: u32) -> Result<tls::TlsStream, TlsError> {
        Err(TlsError::Unsupported(NO_TLS.into()))
    }

    fn connect_plain(_host: String, _port: u16, _timeout_ms: u32) -> Result<tls::TlsStream, TlsError> {
        Err(TlsError::Unsupported(NO_TLS.into()))
    }

    fn start_tls(&self, _timeout_ms: u32) -> Result<(), TlsError> {
        Err(TlsError::Unsupported(NO_TLS.into()))
    }

    fn write(&self, _bytes: Vec<u8>, _timeout_ms: u32) -> Result<(), TlsError> {
        Err(TlsError::Unsupported(NO_TLS.into()))
    }

    fn read_available(&self, _max: u32) -> Result<tls::Received, TlsError> {
        Err(TlsError::Unsupported(NO_TLS.into()))
    }

    fn read(&self, _max: u32, _timeout_ms: u32) -> Result<tls::Received, TlsError> {
        Err(TlsError::Unsupported(NO_TLS.into()))
    }
}

wit::export!(Config with_types_in wit);
