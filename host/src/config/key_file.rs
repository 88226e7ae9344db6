//! HMAC key files, read with the checks a secret deserves (used by the
//! `"." key_file` option and by `pylog listen --key-file`).

use std::path::Path;

use anyhow::{bail, Context, Result};

/// An HMAC key file: its bytes, one trailing newline removed (so `head -c32
/// /dev/urandom > k` and `openssl rand -hex 32 > k` both work). Errors name
/// the path, never the contents.
pub fn read_key_file(path: &Path) -> Result<Vec<u8>> {
    let mut key = std::fs::read(path).with_context(|| format!("read HMAC key file {}", path.display()))?;
    if key.last() == Some(&b'\n') {
        key.pop();
    }
    if key.len() < 16 {
        bail!(
            "HMAC key file {} holds {} bytes; use at least 16 random bytes (32 recommended)",
            path.display(),
            key.len()
        );
    }
    Ok(key)
}
