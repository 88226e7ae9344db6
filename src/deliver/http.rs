//! `HTTPHandler`'s request, built as CPython builds it and sent through an
//! `HttpClient` capability (wasi:http in the component: the host makes the
//! connection, and TLS for `secure`, and allows only the configured
//! authority).

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
    client: Box<dyn HttpClient>,
}

impl HttpTarget {
    pub fn new(options: HttpOptions, client: Box<dyn HttpClient>) -> Result<HttpTarget> {
        options.validate()?;
        let authorization = options.credentials.as_ref().map(|(user, password)| {
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
        });
        Ok(HttpTarget { options, authorization, client })
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
        self.client.send(&Request {
            method: &o.method,
            secure: o.secure,
            authority: &o.host,
            path_with_query: &path,
            headers: &headers,
            body,
        })
    }
}

/// One request as `HTTPHandler.emit` builds it.
pub struct Request<'a> {
    pub method: &'a str,
    pub secure: bool,
    /// CPython's `host`: "name" or "name:port".
    pub authority: &'a str,
    pub path_with_query: &'a str,
    pub headers: &'a [(&'a str, String)],
    pub body: &'a [u8],
}

/// The capability that sends a request and waits for its status: the
/// component's is wasi:http (`component::http`); native builds have none
/// (`NoHttpClient`). A status outside 2xx is an error that carries it
/// (CPython reads the response and ignores it; a log record a server
/// refused should not pass silently).
pub trait HttpClient {
    fn send(&mut self, request: &Request) -> Result<()>;
}

/// The answer where no host offers HTTP.
pub struct NoHttpClient;

impl HttpClient for NoHttpClient {
    fn send(&mut self, request: &Request) -> Result<()> {
        Err(Error::Unsupported(format!(
            "HTTPHandler {} {}{} goes through wasi:http, which only the component build has",
            request.method, request.authority, request.path_with_query
        )))
    }
}

impl Transport for HttpTarget {
    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.request(bytes)
    }
}
