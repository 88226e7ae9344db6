//! The failures a caller can expect, mirroring WIT's `handler-error`.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    BadConfig(String),
    BadRecord(String),
    UnknownFacility(String),
    UnknownPriority(String),
    Io(String),
    Denied(String),
    Unsupported(String),
    Closed,
    Dropped(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadConfig(m) => write!(f, "bad config: {m}"),
            Error::BadRecord(m) => write!(f, "bad record: {m}"),
            Error::UnknownFacility(m) => write!(f, "unknown facility: {m}"),
            Error::UnknownPriority(m) => write!(f, "unknown priority: {m}"),
            Error::Io(m) => write!(f, "i/o: {m}"),
            Error::Denied(m) => write!(f, "denied: {m}"),
            Error::Unsupported(m) => write!(f, "unsupported: {m}"),
            Error::Closed => write!(f, "handler is closed; open a new one"),
            Error::Dropped(m) => write!(f, "record dropped: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// Socket errors keep their kind visible: a refused permission is the
    /// sandbox speaking, not the network.
    pub fn from_io(context: &str, err: &std::io::Error) -> Error {
        if err.kind() == std::io::ErrorKind::PermissionDenied {
            Error::Denied(format!(
                "{context}: {err} (the host did not grant this destination; add it to the plugin's configuration)"
            ))
        } else {
            Error::Io(format!("{context}: {err}"))
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
