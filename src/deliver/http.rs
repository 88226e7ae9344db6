//! `HTTPHandler`'s request over `wasi:http/outgoing-handler`: the host
//! makes the connection (and TLS for `secure`) and allows only the
//! configured authority.

use base64::Engine as _;

use crate::deliver::transport::Transport;
use crate::error::{Error, Result};

/// `HTTPHandler(host, url, method, secure, credentials)`.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpOptions {
    pub host: String,
    pub url: String,
    pub method: String,
    pub secure: bool,
    pub credentials: Option<(String, String)>,
}

impl HttpOptions {
    /// CPython's constructor checks, with its message.
    pub fn validate(&self) -> Result<()> {
        if self.method != "GET" && self.method != "POST" {
            return Err(Error::BadConfig(format!("method must be GET or POST, not {:?}", self.method)));
        }
        if self.host.is_empty() || self.host.contains(['/', ' ', '@']) {
            return Err(Error::BadConfig(format!("host {:?} must be a host name with an optional :port", self.host)));
        }
        if !self.url.starts_with('/') {
            return Err(Error::BadConfig(format!("url {:?} must be a path starting with /", self.url)));
        }
        Ok(())
    }
}

pub struct HttpTarget {
    options: HttpOptions,
    authorization: Option<String>,
}

impl HttpTarget {
    pub fn new(options: HttpOptions) -> Result<HttpTarget> {
        options.validate()?;
        let authorization = options.credentials.as_ref().map(|(user, password)| {
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
        });
        Ok(HttpTarget { options, authorization })
    }

    /// One request carrying `data` (the url-encoded record): in the query
    /// for GET, as a form body for POST, as `HTTPHandler.emit` builds it.
    pub fn request(&mut self, data: &[u8]) -> Result<()> {
        let data = std::str::from_utf8(data).map_err(|_| Error::BadRecord("HTTP data is not UTF-8".into()))?;
        let o = &self.options;
        let mut headers: Vec<(&str, String)> = Vec::with_capacity(3);
        let (path, body) = if o.method == "GET" {
            let sep = if o.url.contains('?') { '&' } else { '?' };
            (format!("{}{sep}{data}", o.url), &b""[..])
        } else {
            headers.push(("Content-type", "application/x-www-form-urlencoded".into()));
            headers.push(("Content-length", data.len().to_string()));
            (o.url.clone(), data.as_bytes())
        };
        if let Some(a) = &self.authorization {
            headers.push(("Authorization", a.clone()));
        }
        send(&Request {
            method: &o.method,
            secure: o.secure,
            authority: &o.host,
            path_with_query: &path,
            headers: &headers,
            body,
        })
    }
}

struct Request<'a> {
    method: &'a str,
    secure: bool,
    /// CPython's `host`: "name" or "name:port".
    authority: &'a str,
    path_with_query: &'a str,
    headers: &'a [(&'a str, String)],
    body: &'a [u8],
}

/// Sends the request and waits for the status. A status outside 2xx is an
/// error that carries it (CPython reads the response and ignores it; a
/// log record a server refused should not pass silently).
#[cfg(target_arch = "wasm32")]
fn send(request: &Request) -> Result<()> {
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme};

    let fields: Vec<(String, Vec<u8>)> =
        request.headers.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect();
    let headers = Fields::from_list(&fields).map_err(|e| Error::BadConfig(format!("HTTP header refused: {e:?}")))?;
    let outgoing = OutgoingRequest::new(headers);
    let method = match request.method {
        "GET" => Method::Get,
        "POST" => Method::Post,
        other => return Err(Error::BadConfig(format!("method must be GET or POST, not {other:?}"))),
    };
    let invalid = |what: &str| Error::BadConfig(format!("HTTPHandler {what} is not valid in a URL"));
    outgoing.set_method(&method).map_err(|()| invalid("method"))?;
    outgoing
        .set_scheme(Some(if request.secure { &Scheme::Https } else { &Scheme::Http }))
        .map_err(|()| invalid("scheme"))?;
    outgoing.set_authority(Some(request.authority)).map_err(|()| invalid("host"))?;
    outgoing.set_path_with_query(Some(request.path_with_query)).map_err(|()| invalid("url"))?;
    // A request with no body (GET) never takes one, so that the host sends
    // it without Content-Length, as CPython does.
    let body = if request.body.is_empty() {
        None
    } else {
        Some(outgoing.body().map_err(|()| Error::Io("HTTP request body unavailable".into()))?)
    };
    let options = RequestOptions::new();
    let _ = options.set_connect_timeout(Some(3_000_000_000));
    let _ = options.set_first_byte_timeout(Some(3_000_000_000));
    let future = outgoing_handler::handle(outgoing, Some(options)).map_err(http_error)?;
    if let Some(body) = body {
        {
            let stream = body.write().map_err(|()| Error::Io("HTTP request body stream unavailable".into()))?;
            // wasi:io allows at most 4096 bytes per blocking write.
            for chunk in request.body.chunks(4096) {
                stream.blocking_write_and_flush(chunk).map_err(|e| Error::Io(format!("HTTP request body: {e:?}")))?;
            }
        }
        OutgoingBody::finish(body, None).map_err(http_error)?;
    }
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(e))) => return Err(http_error(e)),
        Some(Err(())) | None => return Err(Error::Io("HTTP response was not available".into())),
    };
    match response.status() {
        200..=299 => Ok(()),
        status => Err(Error::Io(format!(
            "HTTP {status} from {}{}: the server refused the record",
            request.authority, request.path_with_query
        ))),
    }
}

#[cfg(target_arch = "wasm32")]
fn http_error(e: wasip2::http::types::ErrorCode) -> Error {
    use wasip2::http::types::ErrorCode;
    match e {
        ErrorCode::HttpRequestDenied => {
            Error::Denied("HTTP request denied: the host allows only the authority this handler names".into())
        }
        other => Error::Io(format!("HTTP request failed: {other:?}")),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn send(request: &Request) -> Result<()> {
    let _ = (request.secure, request.headers, request.body);
    Err(Error::Unsupported(format!(
        "HTTPHandler {} {}{} goes through wasi:http, which only the component build has",
        request.method, request.authority, request.path_with_query
    )))
}
impl Transport for HttpTarget {
    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.request(bytes)
    }
}
