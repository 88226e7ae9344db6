//! TLS failures in words a user can act on: which destination, what went
//! wrong (unknown CA, name mismatch, expired, refused client certificate,
//! not a TLS port), and what to set.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use rustls::{AlertDescription, CertificateError};

use crate::bindings::pylog::handlers::tls_streams::TlsError;

pub(crate) fn timed_out(what: &str, peer: &str, timeout: Duration) -> TlsError {
    TlsError::TimedOut(format!(
        "{what} {peer} timed out after {:.1} s (timeout): the receiver is not answering{}",
        timeout.as_secs_f64(),
        if what.contains("handshake") { "; is it a TLS port?" } else { "" }
    ))
}

/// A failed handshake in words a user can act on.
pub(crate) fn handshake_error(peer: &str, server_name: &str, e: &rustls::Error) -> TlsError {
    use rustls::Error as E;
    let reason = match e {
        E::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => format!(
                "the server's certificate is not signed by a CA this handler trusts (unknown CA); set \".\" \
                 tls.cafile to the CA that signed it ({e})"
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => format!(
                "the server's certificate is not valid for {server_name:?} (name mismatch); connect to a name it \
                 carries, or set \".\" tls.server_name ({e})"
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("the server's certificate has expired ({e})")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("the server's certificate is not valid yet; check both clocks ({e})")
            }
            CertificateError::Revoked => format!("the server's certificate is revoked ({e})"),
            _ => format!("the server's certificate was refused ({e})"),
        },
        E::AlertReceived(
            alert @ (AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::HandshakeFailure
            | AlertDescription::AccessDenied
            | AlertDescription::CertificateUnknown),
        ) => format!(
            "the server refused us ({alert:?}); it may require a client certificate it trusts: set \".\" \
             tls.certfile and tls.keyfile"
        ),
        E::InvalidMessage(_) | E::InappropriateHandshakeMessage { .. } | E::InappropriateMessage { .. } => {
            format!("the peer does not speak TLS ({e}); is it a plaintext port?")
        }
        other => other.to_string(),
    };
    TlsError::Handshake(format!("TLS handshake with {peer} failed: {reason}"))
}

/// The rustls error inside an I/O error, if that is what it is.
pub(crate) fn rustls_error(e: &std::io::Error) -> Option<&rustls::Error> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

pub(crate) fn connect_error(addr: SocketAddr, e: &std::io::Error, timeout: Duration) -> TlsError {
    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
        timed_out("connect", &addr.to_string(), timeout)
    } else {
        TlsError::Io(format!("connect {addr}: {e}"))
    }
}
