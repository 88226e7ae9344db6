//! Bytes to a receiver, and nothing lost on the way: transports (TCP, UDP,
//! unix sockets, files, HTTP, SMTP, the console), the reconnect schedule,
//! the spool (in memory or durable on disk), acknowledgements, and the
//! `Outbox` that owns them and counts every record. Knows bytes, not records.

pub mod acks;
pub mod backoff;
pub mod connection;
pub mod datagram_socket;
pub mod durable;
pub mod file;
pub mod http;
pub mod network;
pub mod outbox;
pub mod relp;
pub mod smtp;
pub mod spool;
pub mod stats;
pub mod tcp;
pub mod timed_rollover;
pub mod tls;
pub mod transport;
pub mod udp;
pub mod unix;
