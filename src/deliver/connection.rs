//! One TCP connection to a stream receiver, with a timeout on connecting
//! and on each write, and a non-blocking look at what the peer sent back.
//!
//! In the component this drives `wasi:sockets/tcp` and `wasi:io` directly:
//! wasi-libc's `connect_timeout`, `set_write_timeout`, non-blocking mode
//! and `poll` did not bound anything here (a write to a receiver that
//! stopped reading blocked forever, burning no CPU, so no deadline saw it).
//! With the raw streams a wait is a `wasi:io/poll` on the socket and a
//! timer together. Natively (tests, the performance baseline) std's own
//! timeouts do the same job.

use std::net::SocketAddr;
use std::time::Duration;

/// What the peer's side of the connection looks like without waiting.
#[derive(Debug, PartialEq)]
pub enum Peer {
    Open,
    /// It closed the connection.
    Closed,
    /// It reset the connection: it closed without reading everything it
    /// was sent.
    Reset,
}

/// How a connection ended once we ended our side (`finish_within`).
#[derive(Debug, PartialEq)]
pub enum Ending {
    /// The peer closed its side too: it read to our end.
    Closed,
    /// The peer reset the connection: it had closed without reading
    /// everything (a TLS port does this to plaintext).
    Reset(String),
    /// The peer said nothing within the wait.
    Silent,
}

#[cfg(target_arch = "wasm32")]
pub use wasi::Connection;
#[cfg(target_arch = "wasm32")]
pub(crate) use wasi::{io_error, wasi_address};

#[cfg(not(target_arch = "wasm32"))]
pub use native::Connection;

#[cfg(target_arch = "wasm32")]
mod wasi {
    use std::io::{Error, ErrorKind};
    use std::mem::ManuallyDrop;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use wasip2::clocks::monotonic_clock::subscribe_duration;
    use wasip2::io::poll::poll;
    use wasip2::io::streams::{InputStream, OutputStream, StreamError};
    use wasip2::sockets::instance_network::instance_network;
    use wasip2::sockets::network::{ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress};
    use wasip2::sockets::tcp::{ShutdownType, TcpSocket};
    use wasip2::sockets::tcp_create_socket::create_tcp_socket;

    use super::{Ending, Peer, SocketAddr};

    /// The streams are children of the socket and are dropped first.
    pub struct Connection {
        input: ManuallyDrop<InputStream>,
        output: ManuallyDrop<OutputStream>,
        socket: ManuallyDrop<TcpSocket>,
    }

    /// Connections left open because a write was stuck in them.
    static STUCK: AtomicUsize = AtomicUsize::new(0);

    impl Drop for Connection {
        /// wasmtime-wasi (48) waits, when an output stream is dropped, for its
        /// pending write to finish, and defers a shutdown until then too: with
        /// a receiver that stopped reading, that is forever. Such a
        /// connection is left open instead (counted in `STUCK`); the host
        /// reclaims it when the instance ends, without waiting. Past
        /// `MAX_STUCK` no new connection is opened.
        fn drop(&mut self) {
            if matches!(self.output.check_write(), Ok(0)) {
                STUCK.fetch_add(1, Ordering::Relaxed);
                return;
            }
            // SAFETY: each field is dropped once, here, children first.
            unsafe {
                ManuallyDrop::drop(&mut self.input);
                ManuallyDrop::drop(&mut self.output);
                ManuallyDrop::drop(&mut self.socket);
            }
        }
    }

    /// A socket address as wasi:sockets spells it, with its family.
    pub(crate) fn wasi_address(addr: SocketAddr) -> (IpAddressFamily, IpSocketAddress) {
        match addr {
            SocketAddr::V4(a) => {
                let [x, y, z, w] = a.ip().octets();
                (
                    IpAddressFamily::Ipv4,
                    IpSocketAddress::Ipv4(Ipv4SocketAddress { port: a.port(), address: (x, y, z, w) }),
                )
            }
            SocketAddr::V6(a) => {
                let s = a.ip().segments();
                (
                    IpAddressFamily::Ipv6,
                    IpSocketAddress::Ipv6(Ipv6SocketAddress {
                        port: a.port(),
                        flow_info: a.flowinfo(),
                        address: (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
                        scope_id: a.scope_id(),
                    }),
                )
            }
        }
    }

    pub(crate) fn io_error(what: &str, code: ErrorCode) -> Error {
        let kind = match code {
            ErrorCode::ConnectionRefused => ErrorKind::ConnectionRefused,
            ErrorCode::ConnectionReset => ErrorKind::ConnectionReset,
            ErrorCode::AccessDenied => ErrorKind::PermissionDenied,
            ErrorCode::Timeout => ErrorKind::TimedOut,
            _ => ErrorKind::Other,
        };
        // The WASI error's own name and text ("connection-refused: The TCP
        // connection was forcefully rejected"), not its Debug dump.
        Error::new(kind, format!("{what}: {}: {}", code.name(), code.message()))
    }

    fn stream_error(e: StreamError) -> Error {
        match e {
            StreamError::Closed => Error::new(ErrorKind::BrokenPipe, "the receiver closed the connection"),
            StreamError::LastOperationFailed(e) => Error::new(ErrorKind::ConnectionReset, e.to_debug_string()),
        }
    }

    fn nanos(d: Duration) -> u64 {
        u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
    }

    impl Connection {
        pub fn connect(addr: SocketAddr, timeout: Duration) -> std::io::Result<Connection> {
            let (family, remote) = wasi_address(addr);
            let stuck = STUCK.load(Ordering::Relaxed);
            if stuck >= super::MAX_STUCK {
                return Err(Error::other(format!(
                    "{stuck} earlier connections are stuck in writes their receiver never read; no more are opened \
                     by this plugin instance (it frees them when it ends)"
                )));
            }
            let socket = create_tcp_socket(family).map_err(|e| io_error("create a socket", e))?;
            let network = instance_network();
            socket.start_connect(&network, remote).map_err(|e| io_error("connect", e))?;
            let ready = socket.subscribe();
            let timer = subscribe_duration(nanos(timeout));
            loop {
                match socket.finish_connect() {
                    Ok((input, output)) => {
                        drop(ready);
                        return Ok(Connection {
                            input: ManuallyDrop::new(input),
                            output: ManuallyDrop::new(output),
                            socket: ManuallyDrop::new(socket),
                        });
                    }
                    Err(ErrorCode::WouldBlock) => {
                        if timer.ready() {
                            return Err(Error::new(
                                ErrorKind::TimedOut,
                                format!("connect timed out after {:.1} s (timeout)", timeout.as_secs_f64()),
                            ));
                        }
                        poll(&[&ready, &timer]);
                    }
                    Err(e) => return Err(io_error("connect", e)),
                }
            }
        }

        /// Writes all of `bytes`, or fails with `TimedOut` once the receiver
        /// has taken nothing for `timeout` (progress restarts it, as
        /// CPython's per-send socket timeout does).
        pub fn write_all_within(&mut self, mut bytes: &[u8], timeout: Duration) -> std::io::Result<()> {
            while !bytes.is_empty() {
                let room = self.room_within(Instant::now() + timeout)?;
                let n = usize::try_from(room).unwrap_or(usize::MAX).min(bytes.len());
                self.output.write(&bytes[..n]).map_err(stream_error)?;
                bytes = &bytes[n..];
            }
            Ok(())
        }

        /// Waits until what was written has left for the kernel, at most
        /// `timeout`.
        pub fn flush_within(&mut self, timeout: Duration) -> std::io::Result<()> {
            self.output.flush().map_err(stream_error)?;
            self.room_within(Instant::now() + timeout).map(|_| ())
        }

        /// How many bytes the stream takes now, waiting (on the stream and a
        /// timer together) until it takes some, or `TimedOut` at `deadline`.
        fn room_within(&self, deadline: Instant) -> std::io::Result<u64> {
            loop {
                let room = self.output.check_write().map_err(stream_error)?;
                if room > 0 {
                    return Ok(room);
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(ErrorKind::TimedOut.into());
                }
                let ready = self.output.subscribe();
                let timer = subscribe_duration(nanos(left));
                poll(&[&ready, &timer]);
            }
        }

        /// Appends what the peer has sent, without waiting (at most `limit`
        /// bytes in all); `Closed` once it has closed its side.
        pub fn read_available(&mut self, inbox: &mut Vec<u8>, limit: usize) -> Peer {
            while inbox.len() < limit {
                match self.input.read(64 * 1024) {
                    Ok(bytes) if bytes.is_empty() => return Peer::Open,
                    Ok(bytes) => inbox.extend_from_slice(&bytes),
                    Err(StreamError::Closed) => return Peer::Closed,
                    Err(StreamError::LastOperationFailed(_)) => return Peer::Reset,
                }
            }
            // A receiver that floods us is not acknowledging.
            Peer::Closed
        }

        /// Ends our side (FIN) and waits up to `timeout` for the peer to
        /// end its, keeping what it sends in `inbox` (at most `limit`).
        pub fn finish_within(&mut self, inbox: &mut Vec<u8>, limit: usize, timeout: Duration) -> Ending {
            if self.socket.shutdown(ShutdownType::Send).is_err() {
                return Ending::Silent;
            }
            let timer = subscribe_duration(nanos(timeout));
            loop {
                match self.input.read(64 * 1024) {
                    Ok(bytes) if bytes.is_empty() => {
                        if timer.ready() {
                            return Ending::Silent;
                        }
                        let ready = self.input.subscribe();
                        poll(&[&ready, &timer]);
                    }
                    Ok(bytes) if inbox.len() < limit => inbox.extend_from_slice(&bytes),
                    Ok(_) => return Ending::Silent,
                    Err(StreamError::Closed) => return Ending::Closed,
                    Err(StreamError::LastOperationFailed(e)) => return Ending::Reset(e.to_debug_string()),
                }
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::io::{ErrorKind, Read, Write};
    use std::net::{Shutdown, TcpStream};
    use std::time::{Duration, Instant};

    use super::{Ending, Peer, SocketAddr};

    pub struct Connection {
        stream: TcpStream,
        timeout: Duration,
    }

    impl Connection {
        pub fn connect(addr: SocketAddr, timeout: Duration) -> std::io::Result<Connection> {
            let stream = TcpStream::connect_timeout(&addr, timeout)?;
            stream.set_nodelay(true)?;
            stream.set_write_timeout(Some(timeout))?;
            Ok(Connection { stream, timeout })
        }

        pub fn write_all_within(&mut self, bytes: &[u8], timeout: Duration) -> std::io::Result<()> {
            if timeout != self.timeout {
                self.stream.set_write_timeout(Some(timeout))?;
                self.timeout = timeout;
            }
            self.stream.write_all(bytes).map_err(|e| match e.kind() {
                ErrorKind::WouldBlock => ErrorKind::TimedOut.into(),
                _ => e,
            })
        }

        pub fn flush_within(&mut self, _timeout: Duration) -> std::io::Result<()> {
            self.stream.flush()
        }

        pub fn read_available(&mut self, inbox: &mut Vec<u8>, limit: usize) -> Peer {
            if self.stream.set_nonblocking(true).is_err() {
                return Peer::Open;
            }
            let mut chunk = [0u8; 4096];
            let peer = loop {
                if inbox.len() >= limit {
                    break Peer::Closed;
                }
                match self.stream.read(&mut chunk) {
                    Ok(0) => break Peer::Closed,
                    Ok(n) => inbox.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break Peer::Open,
                    Err(e) if e.kind() == ErrorKind::ConnectionReset => break Peer::Reset,
                    Err(_) => break Peer::Closed,
                }
            };
            let _ = self.stream.set_nonblocking(false);
            peer
        }

        pub fn finish_within(&mut self, inbox: &mut Vec<u8>, limit: usize, timeout: Duration) -> Ending {
            if self.stream.shutdown(Shutdown::Write).is_err() {
                return Ending::Silent;
            }
            let deadline = Instant::now() + timeout;
            let mut chunk = [0u8; 4096];
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || inbox.len() >= limit || self.stream.set_read_timeout(Some(left)).is_err() {
                    return Ending::Silent;
                }
                match self.stream.read(&mut chunk) {
                    Ok(0) => return Ending::Closed,
                    Ok(n) => inbox.extend_from_slice(&chunk[..n]),
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return Ending::Silent,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Ending::Reset(e.to_string()),
                }
            }
        }
    }
}

/// Connections whose write a receiver left stuck, kept open rather than
/// closed (see the component's `Connection::drop`), before no more are opened.
pub const MAX_STUCK: usize = 16;

/// The default for `timeout`: CPython's `SocketHandler.timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
