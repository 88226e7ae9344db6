//! The durable spool: spooled frames also go to segment files in a
//! directory the host preopened, so that records survive a crash of the
//! host process, not only an outage of the receiver.
//!
//! ```text
//! spool_dir/spool-NAME/            one folder per handler (pylog_wire::spool_name: injective)
//!   00000000000000000007.seg       entry*   entry = 0xD5 | len u32 BE | crc32 u32 BE | frame
//!   00000000000000000008.seg
//!   position                       segment id u64 BE | offset u64 BE of the first entry not yet delivered
//! ```
//! Why segments: a spool that is only ever appended to and cut back when it
//! empties grows without bound through a long outage (dropped records stay
//! on disk). Here a segment is deleted as soon as every entry in it was
//! delivered or dropped, so the files hold at most `spool_bytes` (the spool
//! counts disk bytes, dead ones included, against its byte bound) and a
//! segment is an eighth of that, so little is dead at any time.
//!
//! Replay at the next start reads one entry at a time, so memory never
//! holds more than the spool's own bounds plus one frame. A folder that
//! cannot be read at all is moved aside (`spool-NAME.quarantined-SECONDS`)
//! with a message, and the handler starts with an empty spool: a bad spool
//! never stops a handler.
//!
//! The position is rewritten (write, then rename) every `CHECKPOINT_EVERY`
//! deliveries and whenever a segment is deleted. After a crash, entries
//! delivered since the last checkpoint are sent again: at-least-once. A torn
//! or corrupt entry is detected by its checksum, counted, and the rest of
//! its segment skipped. Entries are not fsynced: they survive the host
//! process dying, not the machine losing power.
//!
//! One concept, over 400 lines: the on-disk log's format, its replay and
//! its recovery from torn or corrupt entries belong together.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const MAGIC: u8 = 0xD5;
/// Bytes an entry adds to its frame on disk.
pub const ENTRY_HEADER: usize = 9;
const CHECKPOINT_EVERY: u32 = 64;
const POSITION: &str = "position";

struct Segment {
    id: u64,
    /// Bytes on disk.
    size: u64,
    /// Where its good entries end (before a corrupt or torn one).
    end: u64,
}

pub struct DurableLog {
    folder: PathBuf,
    segment_bytes: u64,
    /// Oldest first; the last one is appended to.
    segments: VecDeque<Segment>,
    /// Offset in the first segment of the first entry not yet delivered.
    head: u64,
    writer: Option<File>,
    next_id: u64,
    disk_bytes: u64,
    since_checkpoint: u32,
    replay: Option<ReplayCursor>,
}

struct ReplayCursor {
    /// Index into `segments` being read.
    index: usize,
    reader: Option<BufReader<File>>,
    offset: u64,
}

/// What opening found on disk, beyond the frames it hands out.
#[derive(Debug, Default, PartialEq)]
pub struct Found {
    /// Corrupt or torn entries (each skips the rest of its segment).
    pub corrupt: u64,
    /// Why the spool folder was moved aside, if it was.
    pub quarantined: Option<String>,
}

fn io(context: &str, e: std::io::Error) -> Error {
    Error::Io(format!("durable spool: {context}: {e}"))
}

fn segment_name(id: u64) -> String {
    format!("{id:020}.seg")
}

impl DurableLog {
    /// Opens (or creates) handler `name`'s spool folder in `dir`. Call
    /// [`DurableLog::next_recovered`] until it gives `None` before
    /// appending. `max_bytes` is the spool's byte bound; segments are an
    /// eighth of it.
    pub fn open(dir: &str, name: &str, max_bytes: usize) -> Result<(DurableLog, Found)> {
        let folder = Path::new(dir).join(pylog_wire::spool_name::spool_folder(name));
        let segment_bytes = (max_bytes as u64 / 8).max(1);
        match DurableLog::open_folder(&folder, segment_bytes) {
            Ok(log) => Ok((log, Found::default())),
            Err(why) => {
                let secs =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
                let aside = folder.with_extension(format!("quarantined-{secs}"));
                std::fs::rename(&folder, &aside).map_err(|e| io(&format!("{why}; moving it aside also failed"), e))?;
                let log = DurableLog::open_folder(&folder, segment_bytes).map_err(Error::Io)?;
                let message = format!(
                    "durable spool {} could not be read ({why}); it was moved to {} and the handler starts with an \
                     empty spool",
                    folder.display(),
                    aside.display()
                );
                Ok((log, Found { corrupt: 0, quarantined: Some(message) }))
            }
        }
    }

    fn open_folder(folder: &Path, segment_bytes: u64) -> std::result::Result<DurableLog, String> {
        std::fs::create_dir_all(folder).map_err(|e| format!("create {}: {e}", folder.display()))?;
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(folder).map_err(|e| format!("list {}: {e}", folder.display()))? {
            let entry = entry.map_err(|e| format!("list {}: {e}", folder.display()))?;
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else { continue };
            if let Some(id) = name.strip_suffix(".seg").and_then(|n| n.parse::<u64>().ok()) {
                let size = entry.metadata().map_err(|e| format!("stat {name}: {e}"))?.len();
                ids.push((id, size));
            } else if name != POSITION && !name.ends_with(".tmp") {
                return Err(format!("unexpected file {name:?} in the spool folder"));
            }
        }
        ids.sort_unstable();
        let (pos_id, pos_offset) = match std::fs::read(folder.join(POSITION)) {
            Ok(b) if b.len() == 16 => (
                u64::from_be_bytes(b[..8].try_into().unwrap_or_default()),
                u64::from_be_bytes(b[8..].try_into().unwrap_or_default()),
            ),
            Ok(b) => return Err(format!("the position file has {} bytes, not 16", b.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (0, 0),
            Err(e) => return Err(format!("read the position file: {e}")),
        };
        // Segments before the position were delivered; a missing segment at
        // the position was deleted before the checkpoint moved on.
        let mut segments = VecDeque::new();
        let mut disk_bytes = 0;
        for (id, size) in ids {
            if id < pos_id {
                let _ = std::fs::remove_file(folder.join(segment_name(id)));
                continue;
            }
            disk_bytes += size;
            segments.push_back(Segment { id, size, end: size });
        }
        let head = match segments.front() {
            Some(s) if s.id == pos_id => pos_offset.min(s.size),
            _ => 0,
        };
        let next_id = segments.back().map_or(pos_id, |s| s.id + 1);
        Ok(DurableLog {
            folder: folder.to_path_buf(),
            segment_bytes,
            segments,
            head,
            writer: None,
            next_id,
            disk_bytes,
            since_checkpoint: 0,
            replay: Some(ReplayCursor { index: 0, reader: None, offset: head }),
        })
    }

    /// Bytes the spool's files take now, dead entries of a segment not yet
    /// deleted included.
    pub fn disk_bytes(&self) -> u64 {
        self.disk_bytes
    }

    /// The next entry an earlier run left undelivered, read from disk one at
    /// a time; `None` when all are read. Frames longer than `max_frame` are
    /// corrupt by definition (the spool could never have held them).
    pub fn next_recovered(&mut self, max_frame: usize, found: &mut Found) -> Result<Option<Vec<u8>>> {
        loop {
            let Some(cursor) = self.replay.as_mut() else { return Ok(None) };
            let Some(segment) = self.segments.get_mut(cursor.index) else {
                self.replay = None;
                return Ok(None);
            };
            if cursor.reader.is_none() {
                let path = self.folder.join(segment_name(segment.id));
                let mut file = File::open(&path).map_err(|e| io(&format!("open {}", path.display()), e))?;
                if cursor.offset > 0 {
                    use std::io::Seek;
                    file.seek(std::io::SeekFrom::Start(cursor.offset)).map_err(|e| io("seek", e))?;
                }
                cursor.reader = Some(BufReader::with_capacity(64 * 1024, file));
            }
            let reader = cursor.reader.as_mut().ok_or_else(|| Error::Io("durable spool: no reader".into()))?;
            if cursor.offset >= segment.size {
                cursor.index += 1;
                cursor.reader = None;
                cursor.offset = 0;
                continue;
            }
            match read_entry(reader, max_frame) {
                Ok(frame) => {
                    cursor.offset += (ENTRY_HEADER + frame.len()) as u64;
                    return Ok(Some(frame));
                }
                Err(()) => {
                    // A torn or corrupt entry: what follows it in this
                    // segment cannot be framed, so the segment ends here.
                    found.corrupt += 1;
                    segment.end = cursor.offset;
                    cursor.index += 1;
                    cursor.reader = None;
                    cursor.offset = 0;
                }
            }
        }
    }

    pub fn append(&mut self, frame: &[u8]) -> Result<()> {
        let len =
            u32::try_from(frame.len()).map_err(|_| Error::BadRecord("frame too large for the durable spool".into()))?;
        let entry_len = (ENTRY_HEADER + frame.len()) as u64;
        let roll = match self.segments.back() {
            None => true,
            // A segment with a corrupt tail is never appended to.
            Some(s) => s.end != s.size || (s.size > 0 && s.size + entry_len > self.segment_bytes),
        };
        if roll || self.writer.is_none() {
            self.open_writer(roll)?;
        }
        let mut entry = Vec::with_capacity(ENTRY_HEADER + frame.len());
        entry.push(MAGIC);
        entry.extend_from_slice(&len.to_be_bytes());
        entry.extend_from_slice(&crc32fast::hash(frame).to_be_bytes());
        entry.extend_from_slice(frame);
        let writer = self.writer.as_mut().ok_or_else(|| Error::Io("durable spool: no segment open".into()))?;
        writer.write_all(&entry).map_err(|e| io(&format!("append to {}", self.folder.display()), e))?;
        if let Some(s) = self.segments.back_mut() {
            s.size += entry_len;
            s.end = s.size;
        }
        self.disk_bytes += entry_len;
        Ok(())
    }

    /// Opens the last segment for appending, or a new one.
    fn open_writer(&mut self, new_segment: bool) -> Result<()> {
        if new_segment {
            self.segments.push_back(Segment { id: self.next_id, size: 0, end: 0 });
            self.next_id += 1;
        }
        let id = self.segments.back().map_or(0, |s| s.id);
        let path = self.folder.join(segment_name(id));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io(&format!("open {}", path.display()), e))?;
        self.writer = Some(file);
        Ok(())
    }

    /// The oldest undelivered entry (of `frame_len` bytes) is done with:
    /// delivered, or dropped and counted.
    pub fn consumed(&mut self, frame_len: usize, spool_now_empty: bool) -> Result<()> {
        self.head += (ENTRY_HEADER + frame_len) as u64;
        self.since_checkpoint += 1;
        if spool_now_empty && self.replay.is_none() {
            return self.reset();
        }
        let mut deleted = false;
        while self.segments.len() > 1 && self.segments.front().is_some_and(|s| self.head >= s.end) {
            self.delete_front()?;
            deleted = true;
        }
        if deleted || self.since_checkpoint >= CHECKPOINT_EVERY {
            return self.checkpoint();
        }
        Ok(())
    }

    fn delete_front(&mut self) -> Result<()> {
        let Some(s) = self.segments.pop_front() else { return Ok(()) };
        std::fs::remove_file(self.folder.join(segment_name(s.id))).map_err(|e| io("delete a delivered segment", e))?;
        self.disk_bytes -= s.size;
        self.head = 0;
        if let Some(cursor) = self.replay.as_mut() {
            // A segment is deleted only once every entry in it was read, so a
            // cursor still on it moves to the start of the next one.
            match cursor.index.checked_sub(1) {
                Some(index) => cursor.index = index,
                None => {
                    cursor.reader = None;
                    cursor.offset = 0;
                }
            }
        }
        Ok(())
    }

    /// Everything is delivered (or dropped): no segment is needed any more.
    pub fn reset(&mut self) -> Result<()> {
        self.writer = None;
        while !self.segments.is_empty() {
            self.delete_front()?;
        }
        self.head = 0;
        self.checkpoint()
    }

    fn checkpoint(&mut self) -> Result<()> {
        self.since_checkpoint = 0;
        let id = self.segments.front().map_or(self.next_id, |s| s.id);
        let mut position = [0u8; 16];
        position[..8].copy_from_slice(&id.to_be_bytes());
        position[8..].copy_from_slice(&self.head.to_be_bytes());
        let tmp = self.folder.join("position.tmp");
        std::fs::write(&tmp, position).map_err(|e| io("write checkpoint", e))?;
        std::fs::rename(&tmp, self.folder.join(POSITION)).map_err(|e| io("commit checkpoint", e))
    }
}

/// One entry, or `Err` if it is torn or fails its checksum.
fn read_entry(reader: &mut impl Read, max_frame: usize) -> std::result::Result<Vec<u8>, ()> {
    let mut head = [0u8; ENTRY_HEADER];
    reader.read_exact(&mut head).map_err(|_| ())?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let crc = u32::from_be_bytes([head[5], head[6], head[7], head[8]]);
    if head[0] != MAGIC || len > max_frame {
        return Err(());
    }
    let mut frame = vec![0u8; len];
    reader.read_exact(&mut frame).map_err(|_| ())?;
    if crc32fast::hash(&frame) != crc {
        return Err(());
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pylog-durable-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn drain(log: &mut DurableLog, found: &mut Found) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| log.next_recovered(1 << 20, found).unwrap()).collect()
    }

    #[test]
    fn survives_reopen_and_skips_a_torn_tail() {
        let dir = temp_dir("torn");
        let d = dir.to_str().unwrap();
        {
            let (mut log, mut found) = DurableLog::open(d, "h", 1 << 20).unwrap();
            assert!(drain(&mut log, &mut found).is_empty());
            for f in [&b"one"[..], b"two", b"three"] {
                log.append(f).unwrap();
            }
            log.consumed(3, false).unwrap();
            log.checkpoint().unwrap();
        }
        // A crash mid-append leaves a torn entry behind.
        let seg = dir.join("spool-h").join(segment_name(0));
        OpenOptions::new().append(true).open(&seg).unwrap().write_all(&[MAGIC, 0, 0, 0, 9, 1, 2]).unwrap();
        let (mut log, mut found) = DurableLog::open(d, "h", 1 << 20).unwrap();
        assert_eq!(drain(&mut log, &mut found), vec![b"two".to_vec(), b"three".to_vec()]);
        assert_eq!(found.corrupt, 1);
        log.append(b"four").unwrap();
        let (mut log, mut found) = DurableLog::open(d, "h", 1 << 20).unwrap();
        assert_eq!(drain(&mut log, &mut found).len(), 3);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn disk_stays_bounded_when_old_entries_are_consumed() {
        let dir = temp_dir("bound");
        let d = dir.to_str().unwrap();
        let max = 64 * 1024;
        let (mut log, mut found) = DurableLog::open(d, "h", max).unwrap();
        drain(&mut log, &mut found);
        let frame = vec![7u8; 1000];
        let mut live = 0usize;
        for _ in 0..5000 {
            // Drop the oldest while the new one would not fit, as the spool does.
            while log.disk_bytes() as usize + ENTRY_HEADER + frame.len() > max && live > 0 {
                live -= 1;
                log.consumed(frame.len(), live == 0).unwrap();
            }
            log.append(&frame).unwrap();
            live += 1;
            let on_disk: u64 =
                std::fs::read_dir(dir.join("spool-h")).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
            assert!(on_disk <= max as u64 + 16, "{on_disk} bytes on disk");
        }
        assert!(live > max / 1009 * 3 / 4, "most of the bound holds live records: {live}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unreadable_spool_is_moved_aside() {
        let dir = temp_dir("quarantine");
        let d = dir.to_str().unwrap();
        std::fs::create_dir_all(dir.join("spool-h")).unwrap();
        std::fs::write(dir.join("spool-h").join(POSITION), b"bad").unwrap();
        let (mut log, mut found) = DurableLog::open(d, "h", 1 << 20).unwrap();
        assert!(found.quarantined.as_deref().unwrap().contains("position file has 3 bytes"));
        assert!(drain(&mut log, &mut found).is_empty());
        log.append(b"x").unwrap();
        let aside = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("spool-h.quarantined-"));
        assert_eq!(aside.count(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
