//! Python's semantics, as plain Rust: the `LogRecord`, its values, `repr`,
//! `%`/`{`/`$` formatting, `logging.Formatter`, civil time and the text
//! codecs of `open()`. The bottom layer: it knows nothing of handlers.

pub mod brace_format;
pub mod civil_time;
pub mod formatter;
pub mod percent;
pub mod prepare;
pub mod record;
pub mod repr;
pub mod text_encoding;
pub mod unpack;
pub mod value;
