//! One process per durable spool: the host takes an exclusive lock beside
//! a handler's spool folder before the plugin may touch it.
//!
//! WASI 0.2 has no file locks, so the plugin cannot do this itself. The
//! lock is an OS advisory lock (`flock`), so a process that dies (even
//! SIGKILL) releases it, and the next start recovers the spool, which is
//! the point of a durable spool.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

/// Held for as long as the handler lives.
#[derive(Debug)]
pub struct SpoolLock {
    _file: File,
}

impl SpoolLock {
    /// Locks handler `name`'s spool in `dir` (the directory the user wrote).
    pub fn acquire(dir: &Path, name: &str) -> Result<SpoolLock, String> {
        let path = dir.join(pylog_wire::spool_name::lock_file(name));
        let file =
            OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| {
                format!("spool_dir {}: cannot create the lock file {}: {e}", dir.display(), path.display())
            })?;
        match file.try_lock() {
            Ok(()) => Ok(SpoolLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(format!(
                "the durable spool of handler {name:?} in {} is in use by another process (it holds {}); run one \
                 process per spool_dir, or give each process its own spool_dir",
                dir.display(),
                path.display()
            )),
            Err(TryLockError::Error(e)) => {
                Err(format!("spool_dir {}: cannot lock {}: {e}", dir.display(), path.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = std::env::temp_dir().join(format!("pylog-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = SpoolLock::acquire(&dir, "app.a").unwrap();
        let err = SpoolLock::acquire(&dir, "app.a").unwrap_err();
        assert!(err.contains("in use by another process"), "{err}");
        SpoolLock::acquire(&dir, "app_a").expect("another handler's spool is apart");
        drop(first);
        SpoolLock::acquire(&dir, "app.a").expect("free again");
        let missing = SpoolLock::acquire(&dir.join("nope"), "x").unwrap_err();
        assert!(missing.contains("nope"), "{missing}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
