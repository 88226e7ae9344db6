//! Byte movers: where a handler's encoded bytes go. A transport knows
//! nothing of records; handlers encode, transports deliver, and the
//! `Outbox` decides what to do when a transport fails.
//!
//! One transport per file (`tcp`, `udp`, `unix`, `file`, `http`, `smtp`);
//! the two with no state of their own (memory and console) live here, and
//! `network` opens the right one for a destination.

use std::io::Write;
use std::time::Duration;

use crate::error::{Error, Result};

/// Where a network handler sends: the address CPython's handler was given.
#[derive(Debug, Clone, PartialEq)]
pub enum Destination {
    /// A dry run: every kind's bytes are kept for `take_output`.
    Memory,
    Tcp {
        host: String,
        port: u16,
    },
    /// TCP inside TLS, through the host's `tls` capability.
    Tls {
        host: String,
        port: u16,
    },
    Udp {
        host: String,
        port: u16,
    },
    UnixStream(String),
    UnixDatagram(String),
    /// The handler kind names its own target: a file, a URL, a console stream.
    Configured,
}

/// The largest UDP payload IPv4 can carry (65535 - 8 UDP - 20 IP header).
pub const MAX_DATAGRAM: usize = 65_507;

pub trait Transport {
    /// Sends one message: a stream write for TCP, one datagram for UDP, one
    /// request for HTTP, one mail for SMTP. On a stream, several records'
    /// bytes may go in one call when `coalesces` says so.
    fn send(&mut self, bytes: &[u8]) -> Result<()>;

    /// Sends several messages, one result each. Datagram transports send
    /// them in one call (`sends_in_bulk`); the default sends one by one.
    fn send_each(&mut self, messages: &[&[u8]]) -> Vec<Result<()>> {
        messages.iter().map(|m| self.send(m)).collect()
    }

    /// Whether `send_each` does better than one `send` per message.
    fn sends_in_bulk(&self) -> bool {
        false
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }

    fn close(&mut self) {}

    /// Closes, and says whether the receiver took what was written on the
    /// last connection as a receiver should (reading to the end), where the
    /// transport can tell; an error names what it did instead.
    fn close_checked(&mut self) -> Result<()> {
        self.close();
        Ok(())
    }

    /// Once, after a connection that the receiver turned out to discard (it
    /// reset it, or answered plaintext with a TLS alert): why. What was
    /// counted sent on that connection may not have been read.
    fn take_discarded(&mut self) -> Option<String> {
        None
    }

    /// Changes whenever a new connection is made (0 where there are none).
    fn generation(&self) -> u64 {
        0
    }

    /// Whether several records' bytes may go out in one `send`.
    fn coalesces(&self) -> bool {
        self.is_stream()
    }

    /// Streams keep order and can hold records back for a spool; datagrams
    /// and requests cannot.
    fn is_stream(&self) -> bool {
        false
    }

    /// How long until a send may try to connect (zero when connected or
    /// when the reconnect schedule allows an attempt now).
    fn ready_in(&self) -> Duration {
        Duration::ZERO
    }

    /// Bytes the receiver sent back since the last call (acknowledgements),
    /// and whether the connection is (now) down.
    fn take_inbox(&mut self) -> (Vec<u8>, bool) {
        (Vec::new(), false)
    }

    /// Whether the receiver confirms each message through this transport
    /// (RELP): delivery then counts only what `take_confirmed` reports.
    fn confirms(&self) -> bool {
        false
    }

    /// How many of the messages sent (in order, since the last call) the
    /// receiver has confirmed, and whether the connection is down (every
    /// unconfirmed message must then be sent again).
    fn take_confirmed(&mut self) -> (usize, bool) {
        (0, false)
    }

    /// Why the receiver was last found unreachable: the destination and
    /// the OS error of the last failed connection attempt.
    fn last_failure(&self) -> Option<String> {
        None
    }

    fn reconnects(&self) -> u64 {
        0
    }

    /// What a memory destination holds (a dry run); nothing elsewhere.
    fn take_output(&mut self) -> Vec<u8> {
        Vec::new()
    }
}

/// A dry run's destination: the bytes every record would have sent.
#[derive(Default)]
pub struct Memory(Vec<u8>);

impl Transport for Memory {
    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
    fn coalesces(&self) -> bool {
        true
    }
    fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

/// `StreamHandler`'s stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Console {
    Stderr,
    Stdout,
}

impl Transport for Console {
    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        let written = match self {
            Console::Stderr => std::io::stderr().write_all(bytes),
            Console::Stdout => std::io::stdout().write_all(bytes),
        };
        written.map_err(|e| Error::from_io("write to the host's console", &e))
    }
    fn coalesces(&self) -> bool {
        true
    }
}
