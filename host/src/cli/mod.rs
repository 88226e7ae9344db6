//! The `pylog` subcommands, one file each; `main.rs` only parses the
//! command line and dispatches here.

pub mod compose;
pub mod config_check;
pub mod dry_run;
pub mod emit;
pub mod emit_console;
pub mod emit_input;
pub mod emit_ship;
pub mod listen;
pub mod summary;
