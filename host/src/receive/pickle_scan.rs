//! A pass over a received pickle's opcodes before anything decodes it.
//!
//! serde-pickle (like any tree builder) recurses once per nesting level, so
//! a 400 KB frame of nested lists overflows a thread's stack and aborts the
//! process. This scan walks the opcodes iteratively, simulating the
//! unpickler's stack with only each item's nesting depth, and refuses:
//! nesting deeper than `MAX_DEPTH`, every opcode that builds objects or
//! calls code (INST, OBJ, NEWOBJ, BUILD, EXT*, PERSID, out-of-band buffers),
//! sets (a LogRecord has none, and decoding one with NaN panicked), and
//! every global except the few CPython itself uses for plain data
//! (`_codecs.encode` for bytes in protocols 0-2, `bytearray`, `list`).

/// A LogRecord is a flat dict of scalars; 32 leaves room for any honest use.
pub const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub enum ScanError {
    Global(String),
    Forbidden(&'static str),
    TooDeep,
    Malformed(String),
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanError::Global(g) => write!(
                f,
                "the pickle asks for the global {g} (code to run); refused, pickles from the network never run code"
            ),
            ScanError::Forbidden(op) => {
                write!(f, "the pickle uses {op}, which builds objects or runs code; refused")
            }
            ScanError::TooDeep => write!(f, "the pickle nests containers deeper than {MAX_DEPTH} levels; refused"),
            ScanError::Malformed(m) => write!(f, "not a valid pickle: {m}"),
        }
    }
}

/// The globals serde-pickle turns into plain data.
const DATA_GLOBALS: &[(&str, &str)] = &[
    ("_codecs", "encode"),
    ("__builtin__", "bytearray"),
    ("builtins", "bytearray"),
    ("__builtin__", "list"),
    ("builtins", "list"),
];

#[derive(Clone, Copy)]
enum Slot {
    Mark,
    Item(usize),
}

struct Scanner<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Slot>,
    memo: std::collections::HashMap<u64, usize>,
}

fn malformed(m: &str) -> ScanError {
    ScanError::Malformed(m.to_string())
}

impl<'a> Scanner<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ScanError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.data.len()).ok_or_else(|| malformed("truncated"))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn line(&mut self) -> Result<&'a [u8], ScanError> {
        let rest = &self.data[self.pos..];
        let nl = rest.iter().position(|b| *b == b'\n').ok_or_else(|| malformed("unterminated line argument"))?;
        self.pos += nl + 1;
        Ok(&rest[..nl])
    }

    fn len_le(&mut self, width: usize) -> Result<usize, ScanError> {
        let b = self.take(width)?;
        let mut n: u64 = 0;
        for (i, byte) in b.iter().enumerate() {
            n |= (*byte as u64) << (8 * i);
        }
        usize::try_from(n).map_err(|_| malformed("length too large"))
    }

    fn push(&mut self, depth: usize) -> Result<(), ScanError> {
        if depth > MAX_DEPTH {
            return Err(ScanError::TooDeep);
        }
        self.stack.push(Slot::Item(depth));
        Ok(())
    }

    fn pop_item(&mut self) -> Result<usize, ScanError> {
        match self.stack.pop() {
            Some(Slot::Item(d)) => Ok(d),
            _ => Err(malformed("stack underflow")),
        }
    }

    /// Pops back to the last MARK; the deepest item popped.
    fn pop_mark(&mut self) -> Result<usize, ScanError> {
        let mut deepest = 0;
        loop {
            match self.stack.pop() {
                Some(Slot::Mark) => return Ok(deepest),
                Some(Slot::Item(d)) => deepest = deepest.max(d),
                None => return Err(malformed("no MARK")),
            }
        }
    }

    /// Items were added to the container on top of the stack.
    fn grow_top(&mut self, item_depth: usize) -> Result<(), ScanError> {
        let top = self.pop_item()?;
        self.push(top.max(item_depth + 1))
    }

    fn top(&self) -> Result<usize, ScanError> {
        match self.stack.last() {
            Some(Slot::Item(d)) => Ok(*d),
            _ => Err(malformed("no item to memoize")),
        }
    }

    fn put(&mut self, index: u64) -> Result<(), ScanError> {
        let d = self.top()?;
        self.memo.insert(index, d);
        Ok(())
    }

    fn get(&mut self, index: u64) -> Result<(), ScanError> {
        let d = *self.memo.get(&index).ok_or_else(|| malformed("memo key not found"))?;
        self.push(d)
    }

    fn ascii_index(line: &[u8]) -> Result<u64, ScanError> {
        std::str::from_utf8(line).ok().and_then(|s| s.trim().parse().ok()).ok_or_else(|| malformed("bad memo index"))
    }

    fn run(&mut self) -> Result<(), ScanError> {
        loop {
            let op = self.take(1)?[0];
            match op {
                b'.' => return if self.pos == self.data.len() { Ok(()) } else { Err(malformed("bytes after STOP")) },
                b'(' => self.stack.push(Slot::Mark),
                b'0' => {
                    self.stack.pop().ok_or_else(|| malformed("stack underflow"))?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let d = self.top()?;
                    self.push(d)?;
                }
                b'F' | b'I' | b'L' | b'S' | b'V' => {
                    self.line()?;
                    self.push(0)?;
                }
                b'J' => self.scalar(4)?,
                b'K' => self.scalar(1)?,
                b'M' => self.scalar(2)?,
                b'G' => self.scalar(8)?,
                b'N' | 0x88 | 0x89 => self.push(0)?,
                b'T' | b'X' | b'B' => {
                    let n = self.len_le(4)?;
                    self.scalar(n)?;
                }
                b'U' | b'C' | 0x8c | 0x8a => {
                    let n = self.len_le(1)?;
                    self.scalar(n)?;
                }
                0x8b => {
                    let n = self.len_le(4)?;
                    self.scalar(n)?;
                }
                0x8d | 0x8e | 0x96 => {
                    let n = self.len_le(8)?;
                    self.scalar(n)?;
                }
                b']' | b'}' | b')' => self.push(1)?,
                // A LogRecord holds no sets, and serde-pickle sorts set
                // members, which panics on NaN (found by fuzzing).
                0x8f..=0x91 => return Err(ScanError::Forbidden("sets")),
                b'l' | b'd' | b't' => {
                    let d = self.pop_mark()?;
                    self.push(d + 1)?;
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut d = 0;
                    for _ in 0..n {
                        d = d.max(self.pop_item()?);
                    }
                    self.push(d + 1)?;
                }
                b'a' => {
                    let item = self.pop_item()?;
                    self.grow_top(item)?;
                }
                b's' => {
                    let v = self.pop_item()?;
                    let k = self.pop_item()?;
                    self.grow_top(k.max(v))?;
                }
                b'e' | b'u' => {
                    let d = self.pop_mark()?;
                    self.grow_top(d)?;
                }
                b'p' => {
                    let line = self.line()?;
                    self.put(Self::ascii_index(line)?)?;
                }
                b'q' => {
                    let i = self.len_le(1)? as u64;
                    self.put(i)?;
                }
                b'r' => {
                    let i = self.len_le(4)? as u64;
                    self.put(i)?;
                }
                0x94 => {
                    let i = self.memo.len() as u64;
                    self.put(i)?;
                }
                b'g' => {
                    let line = self.line()?;
                    self.get(Self::ascii_index(line)?)?;
                }
                b'h' => {
                    let i = self.len_le(1)? as u64;
                    self.get(i)?;
                }
                b'j' => {
                    let i = self.len_le(4)? as u64;
                    self.get(i)?;
                }
                b'c' => {
                    let module = String::from_utf8_lossy(self.line()?).into_owned();
                    let name = String::from_utf8_lossy(self.line()?).into_owned();
                    if !DATA_GLOBALS.contains(&(module.as_str(), name.as_str())) {
                        return Err(ScanError::Global(format!("{module}.{name}")));
                    }
                    self.push(0)?;
                }
                b'R' => {
                    let args = self.pop_item()?;
                    self.pop_item()?;
                    self.push(args)?;
                }
                0x80 => {
                    self.take(1)?;
                }
                0x95 => {
                    self.take(8)?;
                }
                0x93 => return Err(ScanError::Global("(STACK_GLOBAL)".into())),
                b'i' => return Err(ScanError::Forbidden("INST")),
                b'o' => return Err(ScanError::Forbidden("OBJ")),
                b'b' => return Err(ScanError::Forbidden("BUILD")),
                0x81 => return Err(ScanError::Forbidden("NEWOBJ")),
                0x92 => return Err(ScanError::Forbidden("NEWOBJ_EX")),
                0x82..=0x84 => return Err(ScanError::Forbidden("EXT (the extension registry)")),
                b'P' | b'Q' => return Err(ScanError::Forbidden("PERSID (persistent ids)")),
                0x97 | 0x98 => return Err(ScanError::Forbidden("out-of-band buffers (protocol 5)")),
                other => return Err(ScanError::Malformed(format!("unknown opcode 0x{other:02x}"))),
            }
        }
    }

    fn scalar(&mut self, n: usize) -> Result<(), ScanError> {
        self.take(n)?;
        self.push(0)
    }
}

/// Checks a pickle payload; Ok means it is plain data of bounded depth.
pub fn scan(payload: &[u8]) -> Result<(), ScanError> {
    Scanner { data: payload, pos: 0, stack: Vec::new(), memo: Default::default() }.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_and_code_are_refused_iteratively() {
        let depth = 200_000;
        let mut deep = b"\x80\x02".to_vec();
        deep.extend(std::iter::repeat_n(b']', depth));
        deep.extend(std::iter::repeat_n(b'a', depth - 1));
        deep.push(b'.');
        assert_eq!(scan(&deep), Err(ScanError::TooDeep));
        assert_eq!(scan(b"cposix\nsystem\n(S'true'\ntR."), Err(ScanError::Global("posix.system".into())));
        assert_eq!(scan(b"(S'ls'\nios\nsystem\n."), Err(ScanError::Forbidden("INST")));
        assert_eq!(scan(b"\x80\x05\x97."), Err(ScanError::Forbidden("out-of-band buffers (protocol 5)")));
        // Found by `make fuzz`: a set holding NaN made serde-pickle panic.
        let crash = include_bytes!("../../../tests/regressions/frame_decoder-set-with-nan.pickle");
        assert!(scan(crash).is_err());
        assert!(crate::receive::unpickle::record_from_pickle(crash).is_err());
        // CPython's protocol 1 dict with bytes via _codecs.encode is data.
        assert_eq!(
            scan(b"}q\x00X\x01\x00\x00\x00bq\x01c_codecs\nencode\nq\x02(X\x02\x00\x00\x00\xc3\xbfq\x03X\x06\x00\x00\x00latin1q\x04tq\x05Rq\x06s."),
            Ok(()),
            "pickle.dumps({{'b': b'\\xff'}}, 1), as CPython's SocketHandler writes bytes"
        );
    }
}
