//! HTTPHandler's `secure` requests, sent with the handler's own TLS client
//! (`"." tls`: a private CA, a client certificate, `server_name`), or the
//! system's trust store (which honours SSL_CERT_FILE): wasmtime-wasi-http's
//! default sender trusts only the public web roots it was built with.
//! Otherwise it is that sender: HTTP/1.1 over one connection per request,
//! with the request's connect and first-byte timeouts.

use std::time::Duration;

use http_body_util::BodyExt;
use rustls::pki_types::ServerName;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

use crate::config::tls::TlsClient;

/// wasmtime-wasi-http's default when the request sets no timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

pub async fn send(
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    client: TlsClient,
) -> Result<http::Response<WasiBody>, Error> {
    let uri = request.uri();
    let authority = uri.authority().ok_or(Error::HttpRequestUriInvalid)?;
    let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_string();
    let address = format!("{}:{}", authority.host(), authority.port_u16().unwrap_or(443));
    let connect_timeout = options.and_then(|o| o.connect_timeout).unwrap_or(DEFAULT_TIMEOUT);
    let first_byte_timeout = options.and_then(|o| o.first_byte_timeout).unwrap_or(DEFAULT_TIMEOUT);
    let stream = match tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(&address)).await {
        Ok(stream) => stream.map_err(Error::Connect)?,
        Err(_) => return Err(Error::ConnectionTimeout),
    };
    let name = client.server_name.clone().unwrap_or(host);
    let server_name = ServerName::try_from(name)?;
    let connector = tokio_rustls::TlsConnector::from(client.config.clone());
    let tls = match tokio::time::timeout(connect_timeout, connector.connect(server_name, stream)).await {
        Ok(tls) => tls.map_err(Error::Tls)?,
        Err(_) => return Err(Error::ConnectionTimeout),
    };
    let (mut sender, connection) =
        tokio::time::timeout(connect_timeout, hyper::client::conn::http1::handshake(TokioIo::new(tls)))
            .await
            .map_err(|_| Error::ConnectionTimeout)??;
    // The connection runs beside the request until the response is read.
    tokio::spawn(connection);
    // Only the path goes on the request line (the authority is the Host header).
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
    *request.uri_mut() = http::Uri::builder().path_and_query(path).build().map_err(|_| Error::HttpRequestUriInvalid)?;
    let response = tokio::time::timeout(first_byte_timeout, sender.send_request(request))
        .await
        .map_err(|_| Error::ConnectionReadTimeout)??;
    Ok(response.map(|body| body.map_err(Error::from).boxed_unsync()))
}
