//! An untrusted plugin: it implements the `plugin` world, and its `emit`
//! tries what the record's `msg` names: connect somewhere, resolve a name,
//! read a file, spin forever, eat memory. The sandbox tests check that each
//! attempt is refused or cut off and that the host carries on.
//!
//! It is a wasm-only crate; natively it compiles to nothing.

#![cfg(target_arch = "wasm32")]

use std::io::Write;

mod wit {
    wit_bindgen::generate!({ path: "../../wit", world: "plugin" });
}

use wit::exports::pylog::handlers::handlers as wh;
use wit::pylog::handlers::config as wc;
use wit::pylog::handlers::types as wt;

struct Hostile;

fn io(e: impl std::fmt::Display) -> wt::HandlerError {
    wt::HandlerError::Io(e.to_string())
}

impl wh::Guest for Hostile {
    type Handler = HostileHandler;

    fn make_pickle(_: wt::LogRecord, _: u8) -> Result<Vec<u8>, wt::HandlerError> {
        Err(wt::HandlerError::Unsupported("hostile".into()))
    }
    fn encode_priority(_: wc::NameOrNumber, _: wc::NameOrNumber) -> Result<u32, wt::HandlerError> {
        Err(wt::HandlerError::Unsupported("hostile".into()))
    }
    fn map_priority(_: String) -> String {
        String::new()
    }
    fn format_record(_: wt::LogRecord, _: wc::Formatter) -> Result<String, wt::HandlerError> {
        Err(wt::HandlerError::Unsupported("hostile".into()))
    }
    fn make_pickles(batch: wt::PackedRecords, _: u8) -> Vec<Result<Vec<u8>, wt::HandlerError>> {
        (0..batch.count).map(|_| Err(wt::HandlerError::Unsupported("hostile".into()))).collect()
    }
    fn prepare_record(_: wt::LogRecord, _: wc::Formatter) -> Result<wt::LogRecord, wt::HandlerError> {
        Err(wt::HandlerError::Unsupported("hostile".into()))
    }
    fn http_body(_: wt::LogRecord) -> String {
        String::new()
    }
}

struct HostileHandler;

impl HostileHandler {
    /// `msg` is a command: "connect ADDR", "udp ADDR", "udp-host ADDR", "tls HOST:PORT",
    /// "hoard N", "resolve NAME", "read PATH", "env", "spin", "eat".
    fn act(&self, msg: &str) -> Result<(), wt::HandlerError> {
        let (cmd, arg) = msg.split_once(' ').unwrap_or((msg, ""));
        match cmd {
            "connect" => {
                let mut s = std::net::TcpStream::connect(arg).map_err(io)?;
                s.write_all(b"exfiltrated").map_err(io)
            }
            "tls" => {
                // The host's TLS capability, asked for a destination the
                // configuration does not name.
                use wit::pylog::handlers::tls_streams::TlsStream;
                let (host, port) = arg.rsplit_once(':').ok_or_else(|| io("tls HOST:PORT"))?;
                let port: u16 = port.parse().map_err(io)?;
                let stream = TlsStream::connect(host, port, 1000).map_err(|e| io(format!("{e:?}")))?;
                stream.write(b"exfiltrated", 1000).map_err(|e| io(format!("{e:?}")))
            }
            "udp-host" => {
                // The host's udp-datagrams capability, asked for a
                // destination the configuration does not name.
                use wit::pylog::handlers::udp_datagrams::send_datagrams;
                let (host, port) = arg.rsplit_once(':').ok_or_else(|| io("udp-host IP:PORT"))?;
                let port: u16 = port.parse().map_err(io)?;
                match send_datagrams(host, port, &[b"exfiltrated".to_vec()]).pop() {
                    Some(Ok(())) => Ok(()),
                    Some(Err(e)) => Err(io(format!("{e:?}"))),
                    None => Err(io("no result")),
                }
            }
            "udp" => {
                let s = std::net::UdpSocket::bind("0.0.0.0:0").map_err(io)?;
                s.send_to(b"exfiltrated", arg).map(|_| ()).map_err(io)
            }
            "hoard" => {
                // Opens N UDP sockets and keeps them: the host's socket cap
                // must stop it. Says how many it got before the refusal.
                let wanted: usize = arg.parse().map_err(io)?;
                let mut held = Vec::new();
                while held.len() < wanted {
                    match std::net::UdpSocket::bind("0.0.0.0:0") {
                        Ok(s) => held.push(s),
                        Err(e) => return Err(io(format!("held {} sockets, then: {e}", held.len()))),
                    }
                }
                std::mem::forget(held);
                Ok(())
            }
            "resolve" => {
                use std::net::ToSocketAddrs;
                let addrs: Vec<_> = (arg, 80).to_socket_addrs().map_err(io)?.collect();
                Err(io(format!("resolved {addrs:?}")))
            }
            "read" => std::fs::read(arg).map(|_| ()).map_err(io),
            "env" => match std::env::vars().next() {
                Some((k, _)) => Err(io(format!("saw environment variable {k}"))),
                None => Ok(()),
            },
            "spin" => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "eat" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            _ => Ok(()),
        }
    }
}

impl wh::GuestHandler for HostileHandler {
    fn open(_: wc::HandlerConfig) -> Result<wh::Handler, wt::HandlerError> {
        Ok(wh::Handler::new(HostileHandler))
    }

    fn emit(&self, rec: wt::LogRecord) -> Result<(), wt::HandlerError> {
        self.act(&rec.msg)
    }

    fn emit_batch(&self, recs: Vec<wt::LogRecord>) -> Vec<Result<(), wt::HandlerError>> {
        recs.into_iter().map(|r| self.emit(r)).collect()
    }

    fn emit_packed(&self, batch: wt::PackedRecords) -> Vec<Result<(), wt::HandlerError>> {
        // Misbehaves as `emit` does, reading each record's msg.
        match pylog_wire::packed::PackedReader::records(&batch.text, &batch.layout, batch.count) {
            Ok(records) => records.iter().map(|r| self.act(r.msg)).collect(),
            Err(e) => (0..batch.count).map(|_| Err(wt::HandlerError::BadRecord(e.to_string()))).collect(),
        }
    }

    fn flush(&self) -> Result<(), wt::HandlerError> {
        Ok(())
    }
    fn close(&self) -> Result<(), wt::HandlerError> {
        Ok(())
    }
    fn stats(&self) -> wh::HandlerStats {
        wh::HandlerStats {
            emitted: 0,
            sent: 0,
            dropped: 0,
            skipped_by_level: 0,
            bytes: 0,
            reconnects: 0,
            truncated: 0,
            spooled: 0,
            replayed: 0,
            dropped_spool_full: 0,
            dropped_invalid: 0,
            dropped_unsent: 0,
            dropped_unconfirmed: 0,
            recovered: 0,
            corrupt: 0,
            buffered: 0,
        }
    }
    fn take_output(&self) -> Vec<u8> {
        Vec::new()
    }
}

/// The host's unix-sockets import must be satisfied; this plugin never calls it.
#[allow(dead_code, reason = "keeps the import referenced")]
fn _unix() -> Result<(), wit::pylog::handlers::unix_sockets::UnixError> {
    wit::pylog::handlers::unix_sockets::send_datagram("/dev/log", b"x")
}

impl wit::exports::pylog::handlers::log_routing::Guest for Hostile {
    fn configure(_: Vec<wc::HandlerConfig>) -> Result<(), wt::HandlerError> {
        Err(wt::HandlerError::Unsupported("hostile".into()))
    }
    fn stats() -> Vec<wh::HandlerStats> {
        Vec::new()
    }
    fn close() -> Result<(), wt::HandlerError> {
        Ok(())
    }
}

impl wit::exports::wasi::logging::logging::Guest for Hostile {
    fn log(_: wit::exports::wasi::logging::logging::Level, _: String, _: String) {}
}

wit::export!(Hostile with_types_in wit);
