//! The `HttpClient` capability over wasi:http's outgoing handler: the host
//! makes the connection (and TLS for `secure`) and allows only the
//! configured authority.

use crate::deliver::http::{HttpClient, Request};
use crate::error::Error;

pub struct WasiHttp;

impl HttpClient for WasiHttp {
    fn send(&mut self, request: &Request) -> Result<(), Error> {
        use wasip2::http::outgoing_handler;
        use wasip2::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme};

        let fields: Vec<(String, Vec<u8>)> =
            request.headers.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect();
        let headers =
            Fields::from_list(&fields).map_err(|e| Error::BadConfig(format!("HTTP header refused: {e:?}")))?;
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
                    stream
                        .blocking_write_and_flush(chunk)
                        .map_err(|e| Error::Io(format!("HTTP request body: {e:?}")))?;
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
}

fn http_error(e: wasip2::http::types::ErrorCode) -> Error {
    use wasip2::http::types::ErrorCode;
    match e {
        ErrorCode::HttpRequestDenied => {
            Error::Denied("HTTP request denied: the host allows only the authority this handler names".into())
        }
        other => Error::Io(format!("HTTP request failed: {other:?}")),
    }
}
