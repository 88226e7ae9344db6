//! A received record's pickle written straight out as one JSON line.
//!
//! `unpickle::record_from_pickle` decodes into serde-pickle values, then a
//! JSON map, then text: three allocations per value, a B-tree per dict, and
//! most of `pylog listen`'s time. This reads the opcodes a `LogRecord` dict
//! is made of (every protocol CPython writes for str, int, float, bool,
//! None, bytes and flat or nested lists and tuples) into a small arena of
//! borrowed values and writes the JSON line from it, in the same layout.
//!
//! It runs no code. The one global it knows is `bytes`, called with no
//! arguments: CPython's protocols 1 and 2 write an empty `bytes` value that
//! way (serde-pickle, behind the general path, does not know it, so there
//! such a record is refused). Anything else it does not know (another
//! global, a set, a nested dict, an int beyond 64 bits, text that is not
//! UTF-8) is `None`, and the caller takes the general path, which scans for
//! code and refuses it. Both paths write identical lines for what both
//! accept; `tests/all/listen_json.rs` checks both against CPython's pickles.
//!
//! One concept, over 400 lines: a single-pass pickle-to-JSON translator
//! for the opcodes CPython's makePickle emits.

use crate::records::attribute_rank;

/// One decoded value; containers hold arena indices, text and bytes borrow
/// the payload.
enum Node<'a> {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
    Seq(Vec<usize>),
    Dict(Vec<(usize, usize)>),
    /// The global `bytes`, only ever called with no arguments.
    BytesType,
}

#[derive(Clone, Copy)]
enum Slot {
    Mark,
    Value(usize),
}

/// Deeper than any record's values; also what stops a list that contains
/// itself (through the memo) from being written forever.
const MAX_DEPTH: usize = 32;
/// Memo indices beyond this go to the general path instead of a huge table.
const MAX_MEMO: usize = 1 << 16;

struct Machine<'a> {
    payload: &'a [u8],
    at: usize,
    nodes: Vec<Node<'a>>,
    stack: Vec<Slot>,
    memo: Vec<Option<usize>>,
}

impl<'a> Machine<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.payload.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(bytes)
    }

    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn le(&mut self, width: usize) -> Option<u64> {
        let bytes = self.take(width)?;
        Some(bytes.iter().rev().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn sized(&mut self, width: usize) -> Option<&'a [u8]> {
        let n = usize::try_from(self.le(width)?).ok()?;
        self.take(n)
    }

    /// A text operand, up to its newline.
    fn line(&mut self) -> Option<&'a str> {
        let rest = self.payload.get(self.at..)?;
        let end = rest.iter().position(|b| *b == b'\n')?;
        self.at += end + 1;
        std::str::from_utf8(&rest[..end]).ok()
    }

    fn push(&mut self, node: Node<'a>) {
        self.nodes.push(node);
        self.stack.push(Slot::Value(self.nodes.len() - 1));
    }

    fn pop(&mut self) -> Option<usize> {
        match self.stack.pop()? {
            Slot::Value(v) => Some(v),
            Slot::Mark => None,
        }
    }

    fn top(&self) -> Option<usize> {
        match self.stack.last()? {
            Slot::Value(v) => Some(*v),
            Slot::Mark => None,
        }
    }

    /// The values above the topmost mark, which is removed.
    fn pop_mark(&mut self) -> Option<Vec<usize>> {
        let mark = self.stack.iter().rposition(|s| matches!(s, Slot::Mark))?;
        let items = self.stack[mark + 1..]
            .iter()
            .map(|s| match s {
                Slot::Value(v) => *v,
                Slot::Mark => unreachable!("rposition found the last mark"),
            })
            .collect();
        self.stack.truncate(mark);
        Some(items)
    }

    fn memo_put(&mut self, index: u64) -> Option<()> {
        let index = usize::try_from(index).ok().filter(|i| *i < MAX_MEMO)?;
        let value = self.top()?;
        if self.memo.len() <= index {
            self.memo.resize(index + 1, None);
        }
        self.memo[index] = Some(value);
        Some(())
    }

    fn memo_get(&mut self, index: u64) -> Option<()> {
        let value = (*self.memo.get(usize::try_from(index).ok()?)?)?;
        self.stack.push(Slot::Value(value));
        Some(())
    }

    fn set_items(&mut self, pairs: &[usize]) -> Option<()> {
        if !pairs.len().is_multiple_of(2) {
            return None;
        }
        let dict = self.top()?;
        let Node::Dict(entries) = &mut self.nodes[dict] else { return None };
        entries.extend(pairs.chunks_exact(2).map(|kv| (kv[0], kv[1])));
        Some(())
    }

    fn append(&mut self, items: &[usize]) -> Option<()> {
        let list = self.top()?;
        let Node::Seq(values) = &mut self.nodes[list] else { return None };
        values.extend_from_slice(items);
        Some(())
    }

    fn int(&mut self, text: &str) -> Option<()> {
        let node = match text {
            "01" => Node::Bool(true),
            "00" => Node::Bool(false),
            t => Node::Int(t.parse().ok()?),
        };
        self.push(node);
        Some(())
    }

    fn run(&mut self) -> Option<usize> {
        loop {
            match self.byte()? {
                0x80 => {
                    self.byte()?;
                }
                0x95 => {
                    self.take(8)?;
                }
                b'}' => self.push(Node::Dict(Vec::new())),
                b']' | b')' => self.push(Node::Seq(Vec::new())),
                b'(' => self.stack.push(Slot::Mark),
                b'X' => {
                    let text = std::str::from_utf8(self.sized(4)?).ok()?;
                    self.push(Node::Str(text));
                }
                0x8c => {
                    let text = std::str::from_utf8(self.sized(1)?).ok()?;
                    self.push(Node::Str(text));
                }
                0x8d => {
                    let text = std::str::from_utf8(self.sized(8)?).ok()?;
                    self.push(Node::Str(text));
                }
                b'B' => {
                    let bytes = self.sized(4)?;
                    self.push(Node::Bytes(bytes));
                }
                b'C' => {
                    let bytes = self.sized(1)?;
                    self.push(Node::Bytes(bytes));
                }
                0x8e => {
                    let bytes = self.sized(8)?;
                    self.push(Node::Bytes(bytes));
                }
                b'J' => {
                    let n = self.le(4)? as u32 as i32;
                    self.push(Node::Int(i64::from(n)));
                }
                b'K' => {
                    let n = self.le(1)?;
                    self.push(Node::Int(n as i64));
                }
                b'M' => {
                    let n = self.le(2)?;
                    self.push(Node::Int(n as i64));
                }
                0x8a => {
                    let bytes = self.sized(1)?;
                    self.push(Node::Int(long_le(bytes)?));
                }
                b'I' => {
                    let text = self.line()?;
                    self.int(text)?;
                }
                b'L' => {
                    let text = self.line()?;
                    let n = text.strip_suffix('L').unwrap_or(text).parse().ok()?;
                    self.push(Node::Int(n));
                }
                b'G' => {
                    let bits = self.take(8)?;
                    let f = f64::from_be_bytes(bits.try_into().ok()?);
                    self.push(Node::Float(f));
                }
                b'F' => {
                    let f = self.line()?.parse().ok()?;
                    self.push(Node::Float(f));
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    if !matches!((module, name), ("__builtin__" | "builtins", "bytes")) {
                        return None;
                    }
                    self.push(Node::BytesType);
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let no_args = matches!(&self.nodes[args], Node::Seq(items) if items.is_empty());
                    if !(no_args && matches!(self.nodes[callable], Node::BytesType)) {
                        return None;
                    }
                    self.push(Node::Bytes(&[]));
                }
                b'N' => self.push(Node::None),
                0x88 => self.push(Node::Bool(true)),
                0x89 => self.push(Node::Bool(false)),
                b'q' => {
                    let i = self.le(1)?;
                    self.memo_put(i)?;
                }
                b'r' => {
                    let i = self.le(4)?;
                    self.memo_put(i)?;
                }
                0x94 => {
                    let next = self.memo.len() as u64;
                    self.memo_put(next)?;
                }
                b'p' => {
                    let i = self.line()?.parse().ok()?;
                    self.memo_put(i)?;
                }
                b'h' => {
                    let i = self.le(1)?;
                    self.memo_get(i)?;
                }
                b'j' => {
                    let i = self.le(4)?;
                    self.memo_get(i)?;
                }
                b'g' => {
                    let i = self.line()?.parse().ok()?;
                    self.memo_get(i)?;
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    self.set_items(&[key, value])?;
                }
                b'u' => {
                    let pairs = self.pop_mark()?;
                    self.set_items(&pairs)?;
                }
                b'a' => {
                    let item = self.pop()?;
                    self.append(&[item])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.append(&items)?;
                }
                b't' | b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Node::Seq(items));
                }
                0x85..=0x87 => {
                    let n = usize::from(self.payload[self.at - 1] - 0x84);
                    let from = self.stack.len().checked_sub(n)?;
                    let items = self.stack.split_off(from);
                    let items = items.into_iter().map(|s| match s {
                        Slot::Value(v) => Some(v),
                        Slot::Mark => None,
                    });
                    let items = items.collect::<Option<Vec<_>>>()?;
                    self.push(Node::Seq(items));
                }
                b'd' => {
                    let pairs = self.pop_mark()?;
                    self.push(Node::Dict(Vec::new()));
                    self.set_items(&pairs)?;
                }
                b'.' => {
                    let root = self.pop()?;
                    return self.stack.is_empty().then_some(root);
                }
                _ => return None,
            }
        }
    }

    fn write(&self, node: usize, depth: usize, out: &mut Vec<u8>) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match &self.nodes[node] {
            Node::None => out.extend_from_slice(b"null"),
            Node::Bool(true) => out.extend_from_slice(b"true"),
            Node::Bool(false) => out.extend_from_slice(b"false"),
            Node::Int(i) => serde_json::to_writer(&mut *out, i).ok()?,
            Node::Float(f) if f.is_finite() => serde_json::to_writer(&mut *out, f).ok()?,
            Node::Float(f) => {
                let name = if f.is_nan() {
                    "nan"
                } else if *f > 0.0 {
                    "inf"
                } else {
                    "-inf"
                };
                out.extend_from_slice(b"{\"$float\":\"");
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"\"}");
            }
            Node::Str(s) => serde_json::to_writer(&mut *out, s).ok()?,
            Node::Bytes(b) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"{\"$bytes\":\"");
                for x in *b {
                    out.extend_from_slice(&[HEX[usize::from(x >> 4)], HEX[usize::from(x & 15)]]);
                }
                out.extend_from_slice(b"\"}");
            }
            Node::Seq(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.write(*item, depth + 1, out)?;
                }
                out.push(b']');
            }
            // serde-pickle orders a nested dict by its own key order; the
            // general path keeps that rule in one place.
            Node::Dict(_) | Node::BytesType => return None,
        }
        Some(())
    }
}

/// Little-endian two's complement, as LONG1 carries it, when it fits i64.
fn long_le(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() {
        return Some(0);
    }
    if bytes.len() > 8 {
        return None;
    }
    let negative = bytes[bytes.len() - 1] & 0x80 != 0;
    let mut buf = [if negative { 0xff } else { 0 }; 8];
    buf[..bytes.len()].copy_from_slice(bytes);
    Some(i64::from_le_bytes(buf))
}

/// Appends the record in `payload` to `out` as one JSON object (no
/// newline), attributes in CPython's order and extras after by name, as
/// `unpickle::record_from_pickle` lays them out; `None` (with `out` as it
/// was) for anything outside the common shape, which the caller then sends
/// down the general path.
pub fn write_record(payload: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let mut machine = Machine {
        payload,
        at: 0,
        nodes: Vec::with_capacity(48),
        stack: Vec::with_capacity(48),
        memo: Vec::with_capacity(48),
    };
    let root = machine.run()?;
    let Node::Dict(entries) = &machine.nodes[root] else { return None };
    let mut keyed = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let Node::Str(key) = machine.nodes[*k] else { return None };
        keyed.push((attribute_rank(key), key, *v));
    }
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    // A key given twice, or no message: the general path decides.
    if keyed.windows(2).any(|w| w[0].1 == w[1].1) || !keyed.iter().any(|(_, k, _)| *k == "msg") {
        return None;
    }
    let start = out.len();
    out.push(b'{');
    for (i, (_, key, value)) in keyed.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if serde_json::to_writer(&mut *out, key).is_err() {
            out.truncate(start);
            return None;
        }
        out.push(b':');
        if machine.write(*value, 1, out).is_none() {
            out.truncate(start);
            return None;
        }
    }
    out.push(b'}');
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn general(payload: &[u8]) -> String {
        serde_json::Value::Object(crate::receive::unpickle::record_from_pickle(payload).expect("a record")).to_string()
    }

    fn direct(payload: &[u8]) -> Option<String> {
        let mut out = Vec::new();
        write_record(payload, &mut out)?;
        Some(String::from_utf8(out).expect("utf-8"))
    }

    #[test]
    fn the_common_shapes_come_out_as_the_general_path_writes_them() {
        // pickle.dumps of one dict with every value kind a record carries,
        // protocols 1 to 5 (bytes from 3 on; before that they are a global).
        let pickles: [&[u8]; 5] = [
            b"}q\x00(X\x03\x00\x00\x00msgq\x01X\x0f\x00\x00\x00hi %s \xc3\xa9\xe2\x98\x83\n\"q\"q\x02X\x04\x00\x00\x00argsq\x03(X\x01\x00\x00\x00aq\x04K\x01G@\x04\x00\x00\x00\x00\x00\x00NI01\n]q\x05(K\x01]q\x06(K\x02J\xfd\xff\xff\xffeeL-1099511627776L\ntq\x07X\x04\x00\x00\x00nameq\x08X\x01\x00\x00\x00nq\x09X\x07\x00\x00\x00levelnoq\nK\x14X\x03\x00\x00\x00bigq\x0bL1099511627776L\nX\x03\x00\x00\x00negq\x0cJ\xfb\xff\xff\xffX\x07\x00\x00\x00createdq\x0dGA\xd9T\xfc@\x00\x00\x00X\x04\x00\x00\x00zeroq\x0eG\x00\x00\x00\x00\x00\x00\x00\x00X\x03\x00\x00\x00nanq\x0fG\x7f\xf8\x00\x00\x00\x00\x00\x00X\x03\x00\x00\x00infq\x10G\xff\xf0\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00fq\x11I00\nu.",
            b"\x80\x02}q\x00(X\x03\x00\x00\x00msgq\x01X\x0f\x00\x00\x00hi %s \xc3\xa9\xe2\x98\x83\n\"q\"q\x02X\x04\x00\x00\x00argsq\x03(X\x01\x00\x00\x00aq\x04K\x01G@\x04\x00\x00\x00\x00\x00\x00N\x88]q\x05(K\x01]q\x06(K\x02J\xfd\xff\xff\xffee\x8a\x06\x00\x00\x00\x00\x00\xfftq\x07X\x04\x00\x00\x00nameq\x08X\x01\x00\x00\x00nq\x09X\x07\x00\x00\x00levelnoq\nK\x14X\x03\x00\x00\x00bigq\x0b\x8a\x06\x00\x00\x00\x00\x00\x01X\x03\x00\x00\x00negq\x0cJ\xfb\xff\xff\xffX\x07\x00\x00\x00createdq\x0dGA\xd9T\xfc@\x00\x00\x00X\x04\x00\x00\x00zeroq\x0eG\x00\x00\x00\x00\x00\x00\x00\x00X\x03\x00\x00\x00nanq\x0fG\x7f\xf8\x00\x00\x00\x00\x00\x00X\x03\x00\x00\x00infq\x10G\xff\xf0\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00fq\x11\x89u.",
            b"\x80\x03}q\x00(X\x03\x00\x00\x00msgq\x01X\x0f\x00\x00\x00hi %s \xc3\xa9\xe2\x98\x83\n\"q\"q\x02X\x04\x00\x00\x00argsq\x03(X\x01\x00\x00\x00aq\x04K\x01G@\x04\x00\x00\x00\x00\x00\x00N\x88]q\x05(K\x01]q\x06(K\x02J\xfd\xff\xff\xffee\x8a\x06\x00\x00\x00\x00\x00\xfftq\x07X\x04\x00\x00\x00nameq\x08X\x01\x00\x00\x00nq\x09X\x07\x00\x00\x00levelnoq\nK\x14X\x03\x00\x00\x00bigq\x0b\x8a\x06\x00\x00\x00\x00\x00\x01X\x03\x00\x00\x00negq\x0cJ\xfb\xff\xff\xffX\x07\x00\x00\x00createdq\x0dGA\xd9T\xfc@\x00\x00\x00X\x04\x00\x00\x00zeroq\x0eG\x00\x00\x00\x00\x00\x00\x00\x00X\x03\x00\x00\x00nanq\x0fG\x7f\xf8\x00\x00\x00\x00\x00\x00X\x03\x00\x00\x00infq\x10G\xff\xf0\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00fq\x11\x89X\x01\x00\x00\x00bq\x12C\x02\x00\xffq\x13u.",
            b"\x80\x04\x95\xd0\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x03msg\x94\x8c\x0fhi %s \xc3\xa9\xe2\x98\x83\n\"q\"\x94\x8c\x04args\x94(\x8c\x01a\x94K\x01G@\x04\x00\x00\x00\x00\x00\x00N\x88]\x94(K\x01]\x94(K\x02J\xfd\xff\xff\xffee\x8a\x06\x00\x00\x00\x00\x00\xfft\x94\x8c\x04name\x94\x8c\x01n\x94\x8c\x07levelno\x94K\x14\x8c\x03big\x94\x8a\x06\x00\x00\x00\x00\x00\x01\x8c\x03neg\x94J\xfb\xff\xff\xff\x8c\x07created\x94GA\xd9T\xfc@\x00\x00\x00\x8c\x04zero\x94G\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x03nan\x94G\x7f\xf8\x00\x00\x00\x00\x00\x00\x8c\x03inf\x94G\xff\xf0\x00\x00\x00\x00\x00\x00\x8c\x01f\x94\x89\x8c\x01b\x94C\x02\x00\xff\x94u.",
            b"\x80\x05\x95\xd0\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x03msg\x94\x8c\x0fhi %s \xc3\xa9\xe2\x98\x83\n\"q\"\x94\x8c\x04args\x94(\x8c\x01a\x94K\x01G@\x04\x00\x00\x00\x00\x00\x00N\x88]\x94(K\x01]\x94(K\x02J\xfd\xff\xff\xffee\x8a\x06\x00\x00\x00\x00\x00\xfft\x94\x8c\x04name\x94\x8c\x01n\x94\x8c\x07levelno\x94K\x14\x8c\x03big\x94\x8a\x06\x00\x00\x00\x00\x00\x01\x8c\x03neg\x94J\xfb\xff\xff\xff\x8c\x07created\x94GA\xd9T\xfc@\x00\x00\x00\x8c\x04zero\x94G\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x03nan\x94G\x7f\xf8\x00\x00\x00\x00\x00\x00\x8c\x03inf\x94G\xff\xf0\x00\x00\x00\x00\x00\x00\x8c\x01f\x94\x89\x8c\x01b\x94C\x02\x00\xff\x94u.",
        ];
        for p in pickles {
            assert_eq!(direct(p).as_deref(), Some(general(p).as_str()), "{}", String::from_utf8_lossy(p));
        }
    }

    #[test]
    fn anything_else_goes_to_the_general_path() {
        let global = b"cposix\nsystem\np0\n(Vtrue\np1\ntp2\nRp3\n.";
        assert_eq!(direct(global), None);
        assert_eq!(direct(b"I1\n."), None, "not a dict");
        assert_eq!(direct(b"\x80\x03}q\x00X\x01\x00\x00\x00aK\x01s."), None, "no msg");
        assert_eq!(direct(b"\x80\x03}q"), None, "truncated");
        // A list that contains itself, through the memo.
        let cycle = b"\x80\x03}(X\x03\x00\x00\x00msgX\x01\x00\x00\x00xX\x01\x00\x00\x00l]q\x00h\x00au.";
        assert_eq!(direct(cycle), None);
    }
}
