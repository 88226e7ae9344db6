//! The durable spool: spooled frames also go to an append-only file in a
//! directory the host preopened, so that records survive a crash of the
//! host process, not only an outage of the receiver.
//!
//! ```text
//! spool-NAME.log:  entry*            entry = 0xD5 | len u32 BE | crc32 u32 BE | frame
//! spool-NAME.pos:  u64 BE            offset of the first entry not yet delivered
//! ```
//! The position is rewritten (write, then rename) every `CHECKPOINT_EVERY`
//! deliveries and whenever the spool empties, when the log is also cut back
//! to nothing. After a crash, entries delivered since the last checkpoint
//! are sent again: at-least-once. A torn or corrupt tail is detected by its
//! checksum, counted and cut off. Entries are not fsynced: they survive the
//! host process dying, not the machine losing power.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use crate::error::{Error, Result};

const MAGIC: u8 = 0xD5;
const HEADER: usize = 9;
const CHECKPOINT_EVERY: u32 = 64;

pub struct DurableLog {
    log_path: PathBuf,
    pos_path: PathBuf,
    log: File,
    /// Offset of the first entry not yet delivered.
    pos: u64,
    end: u64,
    since_checkpoint: u32,
}

/// What opening found on disk.
pub struct Recovered {
    pub frames: Vec<Vec<u8>>,
    /// Entries (or a torn tail) that failed their checksum and were cut off.
    pub corrupt: u64,
}

fn io(context: &str, e: std::io::Error) -> Error {
    Error::Io(format!("durable spool: {context}: {e}"))
}

impl DurableLog {
    /// Opens (or creates) the log for handler `name` in `dir` and reads back
    /// what was not delivered.
    pub fn open(dir: &str, name: &str) -> Result<(DurableLog, Recovered)> {
        let safe: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        let log_path = PathBuf::from(dir).join(format!("spool-{safe}.log"));
        let pos_path = PathBuf::from(dir).join(format!("spool-{safe}.pos"));
        let mut log = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&log_path)
            .map_err(|e| io(&format!("open {}", log_path.display()), e))?;
        let pos = match std::fs::read(&pos_path) {
            Ok(b) if b.len() == 8 => u64::from_be_bytes(b.try_into().unwrap_or([0; 8])),
            _ => 0,
        };
        let mut bytes = Vec::new();
        log.read_to_end(&mut bytes).map_err(|e| io("read", e))?;
        let (frames, good_end, corrupt) = parse(&bytes, pos.min(bytes.len() as u64) as usize);
        if good_end < bytes.len() {
            // Cut the torn tail so that appends continue after good entries.
            log.set_len(good_end as u64).map_err(|e| io("truncate a corrupt tail", e))?;
        }
        log.seek(SeekFrom::End(0)).map_err(|e| io("seek", e))?;
        let d = DurableLog {
            log_path,
            pos_path,
            log,
            pos: pos.min(good_end as u64),
            end: good_end as u64,
            since_checkpoint: 0,
        };
        Ok((d, Recovered { frames, corrupt }))
    }

    pub fn append(&mut self, frame: &[u8]) -> Result<()> {
        let len =
            u32::try_from(frame.len()).map_err(|_| Error::BadRecord("frame too large for the durable spool".into()))?;
        let mut entry = Vec::with_capacity(HEADER + frame.len());
        entry.push(MAGIC);
        entry.extend_from_slice(&len.to_be_bytes());
        entry.extend_from_slice(&crc32fast::hash(frame).to_be_bytes());
        entry.extend_from_slice(frame);
        self.log.write_all(&entry).map_err(|e| io(&format!("append to {}", self.log_path.display()), e))?;
        self.end += entry.len() as u64;
        Ok(())
    }

    /// The first undelivered entry (of `frame_len` bytes) is done with:
    /// delivered, or dropped and counted.
    pub fn consumed(&mut self, frame_len: usize, spool_now_empty: bool) -> Result<()> {
        self.pos += (HEADER + frame_len) as u64;
        self.since_checkpoint += 1;
        if spool_now_empty {
            self.log.set_len(0).map_err(|e| io("truncate", e))?;
            self.log.seek(SeekFrom::Start(0)).map_err(|e| io("seek", e))?;
            self.pos = 0;
            self.end = 0;
            return self.checkpoint();
        }
        if self.since_checkpoint >= CHECKPOINT_EVERY {
            return self.checkpoint();
        }
        Ok(())
    }

    fn checkpoint(&mut self) -> Result<()> {
        self.since_checkpoint = 0;
        let tmp = self.pos_path.with_extension("pos.tmp");
        std::fs::write(&tmp, self.pos.to_be_bytes()).map_err(|e| io("write checkpoint", e))?;
        std::fs::rename(&tmp, &self.pos_path).map_err(|e| io("commit checkpoint", e))
    }
}

/// Entries from `start`; returns them, where the good part ends, and how
/// many corrupt entries (a torn tail counts as one) were found.
fn parse(bytes: &[u8], start: usize) -> (Vec<Vec<u8>>, usize, u64) {
    let mut frames = Vec::new();
    let mut at = start;
    while at < bytes.len() {
        let Some(head) = bytes.get(at..at + HEADER) else { return (frames, at, 1) };
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let crc = u32::from_be_bytes([head[5], head[6], head[7], head[8]]);
        let Some(frame) = bytes.get(at + HEADER..at + HEADER + len) else { return (frames, at, 1) };
        if head[0] != MAGIC || crc32fast::hash(frame) != crc {
            return (frames, at, 1);
        }
        frames.push(frame.to_vec());
        at += HEADER + len;
    }
    (frames, at, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_and_cuts_a_torn_tail() {
        let dir = std::env::temp_dir().join(format!("pylog-durable-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.to_str().unwrap();
        {
            let (mut log, rec) = DurableLog::open(d, "h").unwrap();
            assert!(rec.frames.is_empty());
            for f in [&b"one"[..], b"two", b"three"] {
                log.append(f).unwrap();
            }
            log.consumed(3, false).unwrap();
            log.checkpoint().unwrap();
        }
        // A crash mid-append leaves a torn entry behind.
        let log_path = dir.join("spool-h.log");
        let mut f = OpenOptions::new().append(true).open(&log_path).unwrap();
        f.write_all(&[MAGIC, 0, 0, 0, 9, 1, 2]).unwrap();
        let (mut log, rec) = DurableLog::open(d, "h").unwrap();
        assert_eq!(rec.frames, vec![b"two".to_vec(), b"three".to_vec()]);
        assert_eq!(rec.corrupt, 1);
        log.append(b"four").unwrap();
        let (_, rec) = DurableLog::open(d, "h").unwrap();
        assert_eq!(rec.frames.len(), 3);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
