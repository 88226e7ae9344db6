//! An HTTP extension: every request is logged through `wasi:logging`
//! (context `http`, the method and path as the message) and answered 200.
//! `pylog compose` plugs the handlers in; `wasmtime serve` runs it, one
//! instance per request, as Spin does.
//!
//! A wasm-only crate; natively it compiles to nothing.

#![cfg(target_arch = "wasm32")]

mod wit {
    wit_bindgen::generate!({ path: "wit", world: "http-extension", generate_all });
}

use std::io::Write as _;

use wasip2::http::types::{Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam};
use wit::wasi::logging::logging::{log, Level};

struct HttpExtension;

impl wasip2::exports::http::incoming_handler::Guest for HttpExtension {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let method = match request.method() {
            Method::Get => "GET".to_string(),
            Method::Post => "POST".to_string(),
            Method::Other(m) => m,
            other => format!("{other:?}").to_uppercase(),
        };
        let path = request.path_with_query().unwrap_or_else(|| "/".into());
        log(Level::Info, "http", &format!("{method} {path}"));

        let response = OutgoingResponse::new(Fields::new());
        let Ok(body) = response.body() else { return };
        ResponseOutparam::set(response_out, Ok(response));
        if let Ok(mut out) = body.write() {
            let _ = out.write_all(b"logged\n");
            let _ = out.flush();
        }
        let _ = OutgoingBody::finish(body, None);
    }
}

wasip2::http::proxy::export!(HttpExtension);
