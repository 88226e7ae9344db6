//! `open(..., encoding=, errors=)` for the file and stream handlers: the few
//! codecs a log file is written in, with Python's error handlers.

use std::fmt::Write as _;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Encoding {
    Utf8,
    Ascii,
    Latin1,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Errors {
    Strict,
    Ignore,
    Replace,
    BackslashReplace,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextEncoding {
    pub encoding: Encoding,
    pub errors: Errors,
}

impl TextEncoding {
    /// Python's spellings: "utf-8", "UTF8", "latin-1", "iso-8859-1", ...;
    /// an empty encoding is UTF-8 (`io.text_encoding` in a UTF-8 locale).
    pub fn parse(encoding: &str, errors: &str) -> Result<TextEncoding> {
        let normal = encoding.to_ascii_lowercase().replace('_', "-");
        let encoding = match normal.as_str() {
            "" | "utf-8" | "utf8" | "locale" => Encoding::Utf8,
            "ascii" | "us-ascii" => Encoding::Ascii,
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" => Encoding::Latin1,
            _ => {
                return Err(Error::Unsupported(format!(
                    "encoding {encoding:?} is not available in the plugin; use utf-8, ascii or latin-1"
                )))
            }
        };
        let errors = match errors {
            "" | "strict" => Errors::Strict,
            "ignore" => Errors::Ignore,
            "replace" => Errors::Replace,
            "backslashreplace" => Errors::BackslashReplace,
            other => {
                return Err(Error::Unsupported(format!(
                    "errors={other:?} is not available; use strict, ignore, replace or backslashreplace"
                )))
            }
        };
        Ok(TextEncoding { encoding, errors })
    }

    /// Appends `text` encoded. A character the codec cannot write fails the
    /// whole text under `strict`, as CPython's `UnicodeEncodeError` does.
    pub fn encode(&self, text: &str, out: &mut Vec<u8>) -> Result<()> {
        let limit = match self.encoding {
            Encoding::Utf8 => {
                out.extend_from_slice(text.as_bytes());
                return Ok(());
            }
            Encoding::Ascii => 0x80,
            Encoding::Latin1 => 0x100,
        };
        let start = out.len();
        for (i, c) in text.char_indices() {
            let code = c as u32;
            if code < limit {
                out.push(code as u8);
                continue;
            }
            match self.errors {
                Errors::Strict => {
                    out.truncate(start);
                    let codec = if limit == 0x80 { "ascii" } else { "latin-1" };
                    return Err(Error::BadRecord(format!(
                        "UnicodeEncodeError: '{codec}' codec can't encode character {c:?} in position {}; \
                         use encoding utf-8 or errors replace",
                        text[..i].chars().count()
                    )));
                }
                Errors::Ignore => {}
                Errors::Replace => out.push(b'?'),
                Errors::BackslashReplace => {
                    let mut s = String::new();
                    let _ = match code {
                        0..=0xff => write!(s, "\\x{code:02x}"),
                        0x100..=0xffff => write!(s, "\\u{code:04x}"),
                        _ => write!(s, "\\U{code:08x}"),
                    };
                    out.extend_from_slice(s.as_bytes());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(e: &str, errors: &str, text: &str) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        TextEncoding::parse(e, errors)?.encode(text, &mut out)?;
        Ok(out)
    }

    #[test]
    fn python_error_handlers() {
        // "é€".encode("ascii", "backslashreplace") == b"\\xe9\\u20ac"
        assert_eq!(enc("ascii", "backslashreplace", "é€").unwrap(), b"\\xe9\\u20ac");
        assert_eq!(enc("latin-1", "replace", "é€").unwrap(), b"\xe9?");
        assert_eq!(enc("ascii", "ignore", "aé").unwrap(), b"a");
        assert!(matches!(enc("ascii", "strict", "aé"), Err(Error::BadRecord(_))));
        assert!(matches!(enc("cp1252", "", "a"), Err(Error::Unsupported(_))));
    }
}
