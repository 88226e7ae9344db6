//! Records into bytes, exactly as CPython's handlers put them on the wire:
//! pickle frames (signed or sequenced), syslog messages and priorities,
//! HTTPHandler's form body, SMTPHandler's mail. Uses `python`; knows
//! nothing of where the bytes go.

pub mod ack;
pub mod email_message;
pub mod http_body;
pub mod pickle;
pub mod priority;
pub mod relp;
pub mod signing;
pub mod syslog;
