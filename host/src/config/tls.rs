//! A handler's `"." tls` table: the trust, identity and verification the
//! host uses when it makes the handler's TLS connections. The host reads
//! every file here, at configuration time; the plugin never sees a path or
//! a key, only a connection.
//!
//! ```json
//! ".": {"tls": {"cafile": "ca.pem", "server_name": "logs.example",
//!               "certfile": "client.pem", "keyfile": "client-key.pem", "verify": true}}
//! ```

use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde_json::{Map, Value as Json};

use crate::config::values::{attr_bool, str_key};

const KEYS: &[&str] = &["cafile", "server_name", "certfile", "keyfile", "verify"];

/// A handler's TLS client: built once, shared by each connection it makes.
#[derive(Clone)]
pub struct TlsClient {
    pub config: Arc<ClientConfig>,
    /// The name the certificate must carry; None: the destination's host.
    pub server_name: Option<String>,
    /// False only when the configuration said `"verify": false`.
    pub verifies: bool,
    /// Whether a client certificate is presented.
    pub has_client_certificate: bool,
    /// What it trusts and presents, in words (`pylog config check`).
    pub summary: String,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient")
            .field("server_name", &self.server_name)
            .field("verifies", &self.verifies)
            .field("has_client_certificate", &self.has_client_certificate)
            .field("summary", &self.summary)
            .finish()
    }
}

/// The `"." tls` table of a handler, if it has one.
pub(crate) fn tls_table(attrs: &Map<String, Json>) -> Result<Option<&Map<String, Json>>> {
    match attrs.get("tls") {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Object(t)) => Ok(Some(t)),
        Some(other) => bail!(
            "\".\" tls must be a mapping (cafile, server_name, certfile, keyfile, verify), not {other}; use {{}} for \
             the system's trust store"
        ),
    }
}

impl TlsClient {
    /// The client of a `"." tls` table, with its files read now.
    pub fn from_table(table: &Map<String, Json>) -> Result<TlsClient> {
        for key in table.keys() {
            if !KEYS.contains(&key.as_str()) {
                bail!("\".\" tls has {key:?}, which is not a TLS option; known: {}", KEYS.join(", "));
            }
        }
        let verifies = attr_bool(table, "verify", true).map_err(|e| anyhow!("tls: {e}"))?;
        let cafile = str_key(table, "cafile").context("\".\" tls.cafile")?;
        let builder = if verifies {
            ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()?
                .with_root_certificates(roots(cafile.as_deref())?)
        } else {
            ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
        };
        let certfile = str_key(table, "certfile").context("\".\" tls.certfile")?;
        let keyfile = str_key(table, "keyfile").context("\".\" tls.keyfile")?;
        let config = match (&certfile, &keyfile) {
            (None, None) => builder.with_no_client_auth(),
            (Some(cert), key) => {
                // CPython's load_cert_chain: the key may sit in the certificate file.
                let key_path = key.as_deref().unwrap_or(cert);
                let chain = read_certificates(Path::new(cert), "\".\" tls.certfile")?;
                let key = PrivateKeyDer::from_pem_file(key_path)
                    .map_err(|e| anyhow!("\".\" tls.keyfile {key_path}: no private key read ({e}); give a PEM key"))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| anyhow!("\".\" tls.certfile {cert} and its key do not go together: {e}"))?
            }
            (None, Some(_)) => bail!("\".\" tls.keyfile needs tls.certfile, the certificate it belongs to"),
        };
        let server_name = str_key(table, "server_name").context("\".\" tls.server_name")?;
        if let Some(name) = &server_name {
            ServerName::try_from(name.as_str())
                .map_err(|_| anyhow!("\".\" tls.server_name {name:?} is not a DNS name or an IP address"))?;
        }
        let mut summary = match (verifies, &cafile) {
            (false, _) => "verification OFF (any certificate is accepted)".to_string(),
            (true, Some(ca)) => format!("trusting the CAs in {ca}"),
            (true, None) => "trusting the system's CAs".to_string(),
        };
        if let Some(name) = &server_name {
            summary.push_str(&format!(", expecting the name {name:?}"));
        }
        if let Some(cert) = &certfile {
            summary.push_str(&format!(", presenting the client certificate {cert}"));
        }
        Ok(TlsClient {
            config: Arc::new(config),
            server_name,
            verifies,
            has_client_certificate: certfile.is_some(),
            summary,
        })
    }

    /// The client of a TLS destination that names no table (a library
    /// caller's own `HandlerConfig`): the system's trust store, no client
    /// certificate.
    pub fn system_default() -> Result<TlsClient> {
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots(None)?)
            .with_no_client_auth();
        Ok(TlsClient {
            config: Arc::new(config),
            server_name: None,
            verifies: true,
            has_client_certificate: false,
            summary: "trusting the system's CAs".into(),
        })
    }
}

/// The crypto provider every TLS config here uses: ring, which
/// wasmtime-wasi-http already builds.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates of a PEM file; `what` names the setting in messages
/// (`"." tls.cafile`, `--tls-cert`).
pub fn read_certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow!("{what} {}: {e}; give a PEM file of certificates", path.display()))?;
    if certs.is_empty() {
        bail!("{what} {} holds no PEM certificate", path.display());
    }
    Ok(certs)
}

/// The CAs a handler trusts: its `cafile` alone, or else the system's
/// store (which honours SSL_CERT_FILE and SSL_CERT_DIR), or, on a system
/// without one, the public web roots.
fn roots(cafile: Option<&str>) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match cafile {
        Some(path) => {
            for cert in read_certificates(Path::new(path), "\".\" tls.cafile")? {
                store.add(cert).map_err(|e| anyhow!("\".\" tls.cafile {path}: {e}"))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // One unreadable system certificate does not make the others useless.
                let _ = store.add(cert);
            }
            if store.is_empty() {
                store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
        }
    }
    Ok(store)
}

/// `"verify": false`: any certificate is accepted (the summary says so
/// loudly); signatures are still checked, so the connection is encrypted
/// to whoever answered.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
