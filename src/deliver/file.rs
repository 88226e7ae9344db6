//! `FileHandler`, `WatchedFileHandler`, `RotatingFileHandler` and
//! `TimedRotatingFileHandler`: where formatted lines go on disk, and when
//! the file changes underneath them.
//!
//! The plugin sees only the directory the host preopened for this handler,
//! so every path here is inside it. Each step mirrors CPython's method of
//! the same name so that the same record sequence leaves the same files.

use std::fs::{self, File, OpenOptions};
use std::io::Write;

use std::cell::RefCell;
use std::rc::Rc;

use crate::deliver::timed_rollover::TimedRollover;
use crate::deliver::transport::Transport;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum Rotation {
    None,
    Watched,
    Size { max_bytes: u64, backup_count: u32 },
    Timed(TimedRollover),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileOptions {
    pub path: String,
    /// Mode "a" (true) or "w".
    pub append: bool,
    pub delay: bool,
    pub rotation: Rotation,
}

impl FileOptions {
    /// `open()`'s mode for a log file: "a" appends (true), "w" truncates.
    pub fn append_mode(mode: &str) -> Result<bool> {
        match mode {
            "a" => Ok(true),
            "w" => Ok(false),
            other => Err(Error::BadConfig(format!("mode {other:?} must be \"a\" or \"w\" for a log file"))),
        }
    }
}

pub struct FileSink {
    opts: FileOptions,
    file: Option<File>,
    /// (st_dev, st_ino) of the open file, for WatchedFileHandler.
    identity: Option<(u64, u64)>,
    /// TimedRotatingFileHandler's `rolloverAt`, set by the first record.
    rollover_at: Option<i64>,
}

fn io_error(what: &str, path: &str, e: &std::io::Error) -> Error {
    Error::from_io(&format!("{what} {path:?}"), e)
}

impl FileSink {
    pub fn open(mut opts: FileOptions) -> Result<FileSink> {
        if matches!(opts.rotation, Rotation::Size { max_bytes, .. } if max_bytes > 0)
            || matches!(opts.rotation, Rotation::Timed(_))
        {
            // CPython forces append mode for both rotating handlers: "w"
            // would empty the file at every rollover.
            opts.append = true;
        }
        let mut sink = FileSink { opts, file: None, identity: None, rollover_at: None };
        if !sink.opts.delay {
            sink.open_file()?;
        }
        Ok(sink)
    }

    fn open_file(&mut self) -> Result<()> {
        let path = &self.opts.path;
        let mut o = OpenOptions::new();
        if self.opts.append {
            o.append(true).create(true);
        } else {
            o.write(true).create(true).truncate(true);
        }
        let file = o.open(path).map_err(|e| io_error("open", path, &e))?;
        self.identity = identity(path);
        self.file = Some(file);
        Ok(())
    }

    /// Whether several records may be written at once: rotation decides
    /// per record, so only plain and watched files coalesce.
    pub fn coalesces(&self) -> bool {
        matches!(self.opts.rotation, Rotation::None | Rotation::Watched)
    }

    /// Rolls the file over if the next record calls for it, as the
    /// rotating handlers' `shouldRollover` and `doRollover` do before
    /// `emit`. `chars` is the record's line in characters (before
    /// encoding), which `RotatingFileHandler` compares with the file's size
    /// in bytes; `created` is the time `TimedRotatingFileHandler` goes by.
    pub fn roll_over_if_due(&mut self, chars: u64, created: f64) -> Result<()> {
        match self.opts.rotation.clone() {
            Rotation::None | Rotation::Watched => Ok(()),
            Rotation::Size { max_bytes, backup_count } => {
                if self.should_roll_by_size(max_bytes, chars)? {
                    self.roll_by_size(backup_count)?;
                }
                Ok(())
            }
            Rotation::Timed(timed) => self.roll_by_time_if_due(&timed, created),
        }
    }

    /// Writes encoded lines (one record's, or several when `coalesces`);
    /// a watched file is reopened first if it was moved or deleted.
    pub fn write_lines(&mut self, lines: &[u8]) -> Result<()> {
        if matches!(self.opts.rotation, Rotation::Watched) {
            self.reopen_if_needed()?;
        }
        self.write_bytes(lines)
    }

    fn write_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        if self.file.is_none() {
            self.open_file()?;
        }
        let path = &self.opts.path;
        let Some(file) = self.file.as_mut() else { return Err(Error::Closed) };
        file.write_all(bytes).map_err(|e| io_error("write", path, &e))
    }

    pub fn flush(&mut self) -> Result<()> {
        let path = &self.opts.path;
        match self.file.as_mut() {
            Some(f) => f.flush().map_err(|e| io_error("flush", path, &e)),
            None => Ok(()),
        }
    }

    pub fn close(&mut self) {
        self.file = None;
    }

    /// `WatchedFileHandler.reopenIfNeeded`: logrotate moved or deleted the
    /// file, so the path now names another file (or none).
    fn reopen_if_needed(&mut self) -> Result<()> {
        if self.file.is_some() && identity(&self.opts.path) != self.identity {
            self.file = None;
            self.open_file()?;
        }
        Ok(())
    }

    /// `RotatingFileHandler.shouldRollover`.
    fn should_roll_by_size(&mut self, max_bytes: u64, chars: u64) -> Result<bool> {
        if exists(&self.opts.path) && !is_file(&self.opts.path) {
            return Ok(false);
        }
        if self.file.is_none() {
            self.open_file()?;
        }
        if max_bytes == 0 {
            return Ok(false);
        }
        let size = self.file.as_ref().and_then(|f| f.metadata().ok()).map_or(0, |m| m.len());
        Ok(size + chars >= max_bytes)
    }

    /// `RotatingFileHandler.doRollover`: app.log.1 becomes app.log.2, and
    /// so on up to `backup_count`; app.log becomes app.log.1.
    fn roll_by_size(&mut self, backup_count: u32) -> Result<()> {
        self.file = None;
        let base = self.opts.path.clone();
        if backup_count > 0 {
            for i in (1..backup_count).rev() {
                let source = format!("{base}.{i}");
                let dest = format!("{base}.{}", i + 1);
                if exists(&source) {
                    remove_if_exists(&dest)?;
                    fs::rename(&source, &dest).map_err(|e| io_error("rename", &source, &e))?;
                }
            }
            let first = format!("{base}.1");
            remove_if_exists(&first)?;
            rotate(&base, &first)?;
        }
        if !self.opts.delay {
            self.open_file()?;
        }
        Ok(())
    }

    /// `TimedRotatingFileHandler.shouldRollover` and `doRollover`.
    fn roll_by_time_if_due(&mut self, timed: &TimedRollover, created: f64) -> Result<()> {
        let now = if created.is_finite() { created.floor() as i64 } else { 0 };
        let rollover_at = match self.rollover_at {
            Some(at) => at,
            None => {
                // CPython computes this in the constructor from the file's
                // mtime if it exists (it does unless delay), else the clock.
                let start = mtime(&self.opts.path).unwrap_or(now);
                *self.rollover_at.insert(timed.compute_rollover(start))
            }
        };
        if now < rollover_at {
            return Ok(());
        }
        if exists(&self.opts.path) && !is_file(&self.opts.path) {
            self.rollover_at = Some(timed.compute_rollover(now));
            return Ok(());
        }
        self.file = None;
        let base = self.opts.path.clone();
        let dest = timed.rotated_name(&base, rollover_at);
        remove_if_exists(&dest)?;
        rotate(&base, &dest)?;
        if timed.backup_count > 0 {
            let (dir, base_name) = match base.rfind('/') {
                Some(i) => (&base[..=i], &base[i + 1..]),
                None => ("", base.as_str()),
            };
            let listing = fs::read_dir(if dir.is_empty() { "." } else { dir })
                .map_err(|e| io_error("list", dir, &e))?
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .collect::<Vec<_>>();
            for old in timed.files_to_delete(base_name, &listing) {
                let path = format!("{dir}{old}");
                fs::remove_file(&path).map_err(|e| io_error("remove", &path, &e))?;
            }
        }
        if !self.opts.delay {
            self.open_file()?;
        }
        self.rollover_at = Some(timed.next_after(now));
        Ok(())
    }
}

/// The file as the handler's transport. Shared with the file handler,
/// which rolls it over between records (it knows each line's length in
/// characters); a component instance is single-threaded.
pub struct SharedFile(pub Rc<RefCell<FileSink>>);

impl Transport for SharedFile {
    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.0.borrow_mut().write_lines(bytes)
    }
    fn flush(&mut self) -> Result<()> {
        self.0.borrow_mut().flush()
    }
    fn close(&mut self) {
        self.0.borrow_mut().close()
    }
    fn coalesces(&self) -> bool {
        self.0.borrow().coalesces()
    }
}

fn exists(path: &str) -> bool {
    fs::metadata(path).is_ok()
}

fn is_file(path: &str) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file())
}

fn remove_if_exists(path: &str) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error("remove", path, &e)),
        _ => Ok(()),
    }
}

/// `BaseRotatingHandler.rotate` with no rotator: rename if it exists.
fn rotate(source: &str, dest: &str) -> Result<()> {
    if exists(source) {
        fs::rename(source, dest).map_err(|e| io_error("rename", source, &e))?;
    }
    Ok(())
}

fn mtime(path: &str) -> Option<i64> {
    let modified = fs::metadata(path).ok()?.modified().ok()?;
    Some(modified.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64)
}

/// The file's device and inode. WASI has no inode numbers; wasi-libc
/// derives both from wasi:filesystem's `metadata-hash`, which the host
/// computes from them, so "another file" is still detected.
fn identity(path: &str) -> Option<(u64, u64)> {
    let c_path = std::ffi::CString::new(path).ok()?;
    // SAFETY: `stat` writes only into `st`, which is sized for it, and reads
    // the NUL-terminated path.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        (libc::stat(c_path.as_ptr(), &mut st) == 0).then_some((st.st_dev as u64, st.st_ino as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> String {
        let d = std::env::temp_dir().join(format!("pylog-file-sink-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d.to_string_lossy().into_owned()
    }

    #[test]
    fn size_rotation_keeps_backup_count() {
        let d = dir("size");
        let path = format!("{d}/app.log");
        let opts = FileOptions {
            path: path.clone(),
            append: true,
            delay: false,
            rotation: Rotation::Size { max_bytes: 10, backup_count: 2 },
        };
        let mut sink = FileSink::open(opts).unwrap();
        for line in ["aaaa\n", "bbbb\n", "cccc\n", "dddd\n"] {
            sink.roll_over_if_due(5, 0.0).unwrap();
            sink.write_lines(line.as_bytes()).unwrap();
        }
        assert_eq!(fs::read_to_string(&path).unwrap(), "dddd\n");
        assert_eq!(fs::read_to_string(format!("{path}.1")).unwrap(), "cccc\n");
        assert_eq!(fs::read_to_string(format!("{path}.2")).unwrap(), "bbbb\n");
        assert!(!exists(&format!("{path}.3")));
    }

    #[test]
    fn watched_file_reopens_after_move() {
        let d = dir("watched");
        let path = format!("{d}/app.log");
        let opts = FileOptions { path: path.clone(), append: true, delay: false, rotation: Rotation::Watched };
        let mut sink = FileSink::open(opts).unwrap();
        sink.write_lines(b"one\n").unwrap();
        fs::rename(&path, format!("{path}.old")).unwrap();
        sink.write_lines(b"two\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two\n");
        assert_eq!(fs::read_to_string(format!("{path}.old")).unwrap(), "one\n");
    }
}
