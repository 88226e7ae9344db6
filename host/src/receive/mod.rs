//! The receiving side (`pylog listen`): frames from SocketHandler and
//! DatagramHandler senders (plain, signed, acknowledged) and syslog
//! messages, checked and decoded without running any code, written out as
//! JSON lines.

pub mod frame_check;
pub mod listen;
pub mod pickle_json;
pub mod pickle_scan;
pub mod sequence_window;
pub mod signing;
pub mod syslog_parse;
pub mod tls;
pub mod unpickle;
