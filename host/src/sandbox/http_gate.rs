//! The egress policy for `wasi:http`: a plugin's request leaves only for the
//! authority its HTTPHandler configuration names.
//!
//! wasmtime-wasi-http connects from the host's own network stack, outside
//! WASI's `socket_addr_check`, so this hook is the only gate; refusals are
//! counted with the socket refusals.

use std::future::Future;
use std::sync::Arc;

use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use crate::config::tls::TlsClient;
use crate::sandbox::Denials;

pub struct HttpGate {
    /// "host:port"; None when the handler is not an HTTPHandler.
    pub allowed: Option<String>,
    pub denials: Arc<Denials>,
    /// The handler's TLS client for `secure` (None: the system's store,
    /// built at the first request).
    pub tls: Option<TlsClient>,
}

/// "host" or "host:port" with the scheme's default port filled in.
pub fn normal_authority(authority: &str, secure: bool) -> String {
    let has_port =
        authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) && !authority.ends_with(']');
    if has_port {
        authority.to_ascii_lowercase()
    } else {
        format!("{}:{}", authority.to_ascii_lowercase(), if secure { 443 } else { 80 })
    }
}

type Sent = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = Result<(), Error>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for HttpGate {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Sent {
        let _ = fut;
        let secure = request.uri().scheme() == Some(&http::uri::Scheme::HTTPS);
        let asked = request.uri().authority().map(|a| normal_authority(a.as_str(), secure)).unwrap_or_default();
        if self.allowed.as_deref() != Some(asked.as_str()) {
            self.denials.record_http(&asked);
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        if secure {
            // The system's store is read once per instance, not per request.
            if self.tls.is_none() {
                self.tls = TlsClient::system_default().ok();
            }
            let Some(client) = self.tls.clone() else {
                return Box::new(async { Err(Error::HttpRequestDenied) });
            };
            return Box::new(async move {
                let response = crate::sandbox::https::send(request, options, client).await?;
                Ok((response, Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>))
            });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as Box<dyn Future<Output = _> + Send>))
        })
    }
}
