//! Packed records: a batch of `log-record`s as two buffers, so that a batch
//! crosses the component boundary as two copies instead of about 25
//! allocations per record (each string and list of a WIT record is one
//! `cabi_realloc` call into the guest, and that was a fifth of `pylog emit`).
//!
//! ```text
//! text:   every string of every record, concatenated (a WIT `string`: UTF-8
//!         by construction, so the reader slices it without a second check)
//! layout: per record, its fields in `log-record` order:
//!   string     u32 LE byte length; the bytes are the next ones in text
//!   option<T>  u8 0 (none) | u8 1, then T
//!   s64, f64   8 bytes LE (f64 as its bits)
//!   args       option: u8 0 positional | u8 1 mapping, u32 LE count, items
//!   value      u8 tag: 0 none, 1 False, 2 True, 3 int s64, 4 float f64,
//!              5 str string, 6 bytes (u32 LE length, the bytes in layout)
//!   extra      u32 LE count, then (string, value) pairs
//! ```
//! The writer and the reader are here, used by the host and the guest, so
//! the layout is defined once. The reader never panics: a malformed batch
//! is an error naming where it went wrong. One concept, over 400 lines: the
//! layout both ways, with the borrowed record the reader gives and tests.

/// Tags of a `value` in the layout.
pub mod tag {
    pub const NONE: u8 = 0;
    pub const FALSE: u8 = 1;
    pub const TRUE: u8 = 2;
    pub const INT: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const STR: u8 = 5;
    pub const BYTES: u8 = 6;
}

/// `args` kinds in the layout.
pub mod args_kind {
    pub const POSITIONAL: u8 = 0;
    pub const MAPPING: u8 = 1;
}

/// Builds a packed batch; each side walks its own record type through it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PackedWriter {
    pub text: String,
    pub layout: Vec<u8>,
    pub count: u32,
}

impl PackedWriter {
    /// Marks the end of one record (the reader checks the count).
    pub fn end_record(&mut self) {
        self.count += 1;
    }

    pub fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.text.push_str(s);
    }

    pub fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.layout.push(0),
            Some(s) => {
                self.layout.push(1);
                self.str(s);
            }
        }
    }

    pub fn i64(&mut self, v: i64) {
        self.layout.extend_from_slice(&v.to_le_bytes());
    }

    pub fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            None => self.layout.push(0),
            Some(v) => {
                self.layout.push(1);
                self.i64(v);
            }
        }
    }

    pub fn f64(&mut self, v: f64) {
        self.layout.extend_from_slice(&v.to_bits().to_le_bytes());
    }

    pub fn u8(&mut self, v: u8) {
        self.layout.push(v);
    }

    pub fn u32(&mut self, v: u32) {
        self.layout.extend_from_slice(&v.to_le_bytes());
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.layout.extend_from_slice(b);
    }

    /// A value, with its tag.
    pub fn value(&mut self, v: PackedValue) {
        match v {
            PackedValue::None => self.u8(tag::NONE),
            PackedValue::Bool(false) => self.u8(tag::FALSE),
            PackedValue::Bool(true) => self.u8(tag::TRUE),
            PackedValue::Int(i) => {
                self.u8(tag::INT);
                self.i64(i);
            }
            PackedValue::Float(f) => {
                self.u8(tag::FLOAT);
                self.f64(f);
            }
            PackedValue::Str(s) => {
                self.u8(tag::STR);
                self.str(s);
            }
            PackedValue::Bytes(b) => {
                self.u8(tag::BYTES);
                self.bytes(b);
            }
        }
    }

    /// A count, then each key and its value (mapping args, extras).
    pub fn pairs<'v>(&mut self, items: impl ExactSizeIterator<Item = (&'v str, PackedValue<'v>)>) {
        self.u32(items.len() as u32);
        for (k, v) in items {
            self.str(k);
            self.value(v);
        }
    }

    /// `args` of None.
    pub fn no_args(&mut self) {
        self.u8(0);
    }

    /// `args` of a tuple.
    pub fn positional_args<'v>(&mut self, items: impl ExactSizeIterator<Item = PackedValue<'v>>) {
        self.u8(1);
        self.u8(args_kind::POSITIONAL);
        self.u32(items.len() as u32);
        items.for_each(|v| self.value(v));
    }

    /// `args` of a mapping.
    pub fn mapping_args<'v>(&mut self, items: impl ExactSizeIterator<Item = (&'v str, PackedValue<'v>)>) {
        self.u8(1);
        self.u8(args_kind::MAPPING);
        self.pairs(items);
    }
}

/// Why a packed batch could not be read: a host bug, never the sender's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedError {
    pub at: usize,
    pub what: &'static str,
}

impl core::fmt::Display for PackedError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "malformed packed records at layout byte {}: {}", self.at, self.what)
    }
}

/// Reads a packed batch field by field, in the order it was written.
#[derive(Debug, Clone)]
pub struct PackedReader<'a> {
    text: &'a str,
    layout: &'a [u8],
    text_at: usize,
    at: usize,
}

impl<'a> PackedReader<'a> {
    pub fn new(text: &'a str, layout: &'a [u8]) -> Self {
        PackedReader { text, layout, text_at: 0, at: 0 }
    }

    /// Every byte of both buffers was read: anything left is a host bug.
    pub fn finished(&self) -> bool {
        self.at == self.layout.len() && self.text_at == self.text.len()
    }

    fn fail<T>(&self, what: &'static str) -> Result<T, PackedError> {
        Err(PackedError { at: self.at, what })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PackedError> {
        let Some(bytes) = self.at.checked_add(n).and_then(|end| self.layout.get(self.at..end)) else {
            return self.fail("the layout ends early");
        };
        self.at += n;
        Ok(bytes)
    }

    pub fn u8(&mut self) -> Result<u8, PackedError> {
        Ok(self.take(1)?[0])
    }

    pub fn u32(&mut self) -> Result<u32, PackedError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn eight(&mut self) -> Result<[u8; 8], PackedError> {
        let b = self.take(8)?;
        let mut out = [0; 8];
        out.copy_from_slice(b);
        Ok(out)
    }

    pub fn i64(&mut self) -> Result<i64, PackedError> {
        Ok(i64::from_le_bytes(self.eight()?))
    }

    pub fn f64(&mut self) -> Result<f64, PackedError> {
        Ok(f64::from_bits(u64::from_le_bytes(self.eight()?)))
    }

    pub fn str(&mut self) -> Result<&'a str, PackedError> {
        let len = self.u32()? as usize;
        let end = self.text_at.saturating_add(len);
        // `get` also refuses a slice that would split a character.
        let Some(s) = self.text.get(self.text_at..end) else {
            return self.fail("a string runs past the text or splits a character");
        };
        self.text_at = end;
        Ok(s)
    }

    /// `true` when an option holds a value.
    pub fn some(&mut self) -> Result<bool, PackedError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => self.fail("an option tag is neither 0 nor 1"),
        }
    }

    pub fn opt_str(&mut self) -> Result<Option<&'a str>, PackedError> {
        if self.some()? {
            self.str().map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn opt_i64(&mut self) -> Result<Option<i64>, PackedError> {
        if self.some()? {
            self.i64().map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], PackedError> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    /// A count of items that follow, each at least `min_bytes` of layout:
    /// a count the layout cannot hold is refused before anything is
    /// allocated for it.
    pub fn count(&mut self, min_bytes: usize) -> Result<usize, PackedError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_bytes) > self.layout.len() - self.at {
            return self.fail("a count larger than the layout can hold");
        }
        Ok(n)
    }
}

/// A Python value of a packed record, borrowed from the buffers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PackedValue<'a> {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
}

/// `LogRecord.args` of a packed record.
#[derive(Debug, Clone)]
pub enum PackedArgs<'a> {
    Positional(PackedItems<'a>),
    Mapping(PackedItems<'a>),
}

/// Items of a packed list, read as they are iterated (no allocation); the
/// record they belong to has already been read through them, so a
/// malformed item was refused then. Positional args yield `("", value)`.
#[derive(Debug, Clone)]
pub struct PackedItems<'a> {
    reader: PackedReader<'a>,
    left: usize,
    keyed: bool,
}

impl<'a> PackedItems<'a> {
    pub fn len(&self) -> usize {
        self.left
    }

    pub fn is_empty(&self) -> bool {
        self.left == 0
    }
}

impl<'a> Iterator for PackedItems<'a> {
    type Item = Result<(&'a str, PackedValue<'a>), PackedError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let key = if self.keyed { self.reader.str() } else { Ok("") };
        Some(key.and_then(|k| Ok((k, self.reader.value()?))))
    }
}

/// One record read from a packed batch, its fields in `log-record` order,
/// borrowed from the buffers.
#[derive(Debug, Clone)]
pub struct PackedRecord<'a> {
    pub name: &'a str,
    pub msg: &'a str,
    pub args: Option<PackedArgs<'a>>,
    pub levelname: &'a str,
    pub levelno: i64,
    pub pathname: &'a str,
    pub filename: &'a str,
    pub module: &'a str,
    pub exc_text: Option<&'a str>,
    pub stack_info: Option<&'a str>,
    pub lineno: i64,
    pub func_name: Option<&'a str>,
    pub created: f64,
    pub msecs: f64,
    pub relative_created: f64,
    pub thread: Option<i64>,
    pub thread_name: Option<&'a str>,
    pub process_name: Option<&'a str>,
    pub process: Option<i64>,
    pub task_name: Option<&'a str>,
    pub extra: PackedItems<'a>,
}

impl<'a> PackedReader<'a> {
    /// The next record. Its lists are checked here and read again, without
    /// allocating, when iterated.
    pub fn record(&mut self) -> Result<PackedRecord<'a>, PackedError> {
        Ok(PackedRecord {
            name: self.str()?,
            msg: self.str()?,
            args: if self.some()? { Some(self.args()?) } else { None },
            levelname: self.str()?,
            levelno: self.i64()?,
            pathname: self.str()?,
            filename: self.str()?,
            module: self.str()?,
            exc_text: self.opt_str()?,
            stack_info: self.opt_str()?,
            lineno: self.i64()?,
            func_name: self.opt_str()?,
            created: self.f64()?,
            msecs: self.f64()?,
            relative_created: self.f64()?,
            thread: self.opt_i64()?,
            thread_name: self.opt_str()?,
            process_name: self.opt_str()?,
            process: self.opt_i64()?,
            task_name: self.opt_str()?,
            extra: self.items(true)?,
        })
    }

    /// Bytes of text read so far: a record's share of the text is the
    /// difference before and after it.
    pub fn text_read(&self) -> usize {
        self.text_at
    }

    /// Every record of a batch of `count`, checking that nothing is left.
    pub fn records(text: &'a str, layout: &'a [u8], count: u32) -> Result<Vec<PackedRecord<'a>>, PackedError> {
        let mut r = PackedReader::new(text, layout);
        // A record takes at least 77 bytes of layout: a count cannot
        // reserve more than the layout could describe.
        let mut records = Vec::with_capacity((count as usize).min(layout.len() / 77 + 1));
        for _ in 0..count {
            records.push(r.record()?);
        }
        r.check_finished()?;
        Ok(records)
    }

    /// An error unless every byte of both buffers was read.
    pub fn check_finished(&self) -> Result<(), PackedError> {
        match self.finished() {
            true => Ok(()),
            false => self.fail("bytes left after the last record"),
        }
    }

    fn args(&mut self) -> Result<PackedArgs<'a>, PackedError> {
        match self.u8()? {
            args_kind::POSITIONAL => self.items(false).map(PackedArgs::Positional),
            args_kind::MAPPING => self.items(true).map(PackedArgs::Mapping),
            _ => self.fail("an unknown args kind"),
        }
    }

    /// A list of values (with keys when `keyed`), read through once to
    /// check it and to move past it.
    fn items(&mut self, keyed: bool) -> Result<PackedItems<'a>, PackedError> {
        let left = self.count(if keyed { 5 } else { 1 })?;
        let items = PackedItems { reader: self.clone(), left, keyed };
        for _ in 0..left {
            if keyed {
                self.str()?;
            }
            self.value()?;
        }
        Ok(items)
    }

    fn value(&mut self) -> Result<PackedValue<'a>, PackedError> {
        Ok(match self.u8()? {
            tag::NONE => PackedValue::None,
            tag::FALSE => PackedValue::Bool(false),
            tag::TRUE => PackedValue::Bool(true),
            tag::INT => PackedValue::Int(self.i64()?),
            tag::FLOAT => PackedValue::Float(self.f64()?),
            tag::STR => PackedValue::Str(self.str()?),
            tag::BYTES => PackedValue::Bytes(self.bytes()?),
            _ => return self.fail("an unknown value tag"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back() {
        let mut w = PackedWriter::default();
        w.str("héllo");
        w.opt_str(None);
        w.opt_str(Some(""));
        w.i64(-5);
        w.opt_i64(Some(i64::MAX));
        w.f64(f64::NEG_INFINITY);
        w.value(PackedValue::Bytes(&[0, 255]));
        w.end_record();
        let mut r = PackedReader::new(&w.text, &w.layout);
        assert_eq!(r.str(), Ok("héllo"));
        assert_eq!(r.opt_str(), Ok(None));
        assert_eq!(r.opt_str(), Ok(Some("")));
        assert_eq!(r.i64(), Ok(-5));
        assert_eq!(r.opt_i64(), Ok(Some(i64::MAX)));
        assert_eq!(r.f64(), Ok(f64::NEG_INFINITY));
        assert_eq!(r.value(), Ok(PackedValue::Bytes(&[0u8, 255][..])));
        assert!(r.finished());
        assert_eq!(w.count, 1);
    }

    #[test]
    fn malformed_layouts_are_errors_not_panics() {
        let text = "é";
        // A string that would split the two-byte character.
        let mut r = PackedReader::new(text, &[1, 0, 0, 0]);
        assert!(r.str().is_err());
        // A length past the end of the text.
        let mut r = PackedReader::new(text, &[255, 255, 255, 255]);
        assert!(r.str().is_err());
        // A layout that ends inside a number.
        let mut r = PackedReader::new("", &[1, 2]);
        assert!(r.i64().is_err());
        // A count no layout could hold.
        let mut r = PackedReader::new("", &[255, 255, 255, 127]);
        assert!(r.count(1).is_err());
        let mut r = PackedReader::new("", &[2]);
        assert!(r.some().is_err());
    }
}
