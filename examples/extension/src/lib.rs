//! A small "untrusted extension": it does some work and logs through
//! `wasi:logging`, knowing nothing of where logs go. `make compose` plugs
//! pylog-handlers into its wasi:logging import, and the host that runs the
//! composition decides the handlers and what they may reach; `pylog
//! compose` bakes the handlers in for a stock host (`wasmtime run`).
//!
//! A wasm-only crate; natively it compiles to nothing.

#![cfg(target_arch = "wasm32")]

mod wit {
    wit_bindgen::generate!({ path: "wit", world: "extension", generate_all });
}

use wit::wasi::logging::logging::{log, Level};

struct Extension;

impl wit::exports::example::extension::work::Guest for Extension {
    fn process(items: u32) -> u32 {
        log(Level::Info, "extension.work", &format!("processing {items} items"));
        let mut done = 0;
        for i in 0..items {
            if i % 5 == 4 {
                log(Level::Warn, "extension.work", &format!("item {i} was slow"));
            }
            done += 1;
        }
        log(Level::Info, "extension.work", &format!("done: {done} of {items}"));
        done
    }
}

impl wit::exports::wasi::cli::run::Guest for Extension {
    fn run() -> Result<(), ()> {
        let items = match std::env::args().nth(1).map(|a| a.parse::<u32>()) {
            None => 12,
            Some(Ok(n)) => n,
            Some(Err(_)) => {
                eprintln!("usage: APP.wasm [ITEMS]  (ITEMS: how many items to process, a number)");
                return Err(());
            }
        };
        use wit::exports::example::extension::work::Guest;
        Extension::process(items);
        Ok(())
    }
}

wit::export!(Extension with_types_in wit);
