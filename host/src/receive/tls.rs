//! The listener's TLS (`pylog listen --tls-cert --tls-key
//! [--tls-client-ca]`): every TCP input then speaks TLS, as rsyslog's
//! `gtls` stream driver does, and with a client CA it admits only senders
//! whose certificate that CA signed.

use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivateKeyDer;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::config::tls::{provider, read_certificates};

/// The server side: this certificate chain and key, and, with `client_ca`,
/// a client certificate signed by that CA required of every sender.
pub fn server_config(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<Arc<ServerConfig>> {
    let provider = provider();
    let chain = read_certificates(cert, "--tls-cert")?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow!("--tls-key {}: no private key read ({e}); give a PEM key", key.display()))?;
    let builder = ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in read_certificates(ca, "--tls-client-ca")? {
                roots.add(c).map_err(|e| anyhow!("--tls-client-ca {}: {e}", ca.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| anyhow!("--tls-client-ca {}: {e}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| anyhow!("--tls-cert {} and --tls-key do not go together: {e}", cert.display()))?;
    // No TLS 1.3 session tickets: a sender that closes without reading
    // them (CPython's SocketHandler.close over `ssl` does) makes its kernel
    // reset the connection, and a reset discards records not yet read here.
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}
