//! Wire facts shared by the guest (the plugin) and the host (`pylog listen`,
//! the sandbox): every byte layout both sides read or write is defined once,
//! here, so that they cannot drift apart.
//!
//! ```text
//! A SocketHandler stream carries frames: length u32 BE, then a body.
//! body, by its first byte:
//!   0x80 ..     a plain CPython pickle (protocol 2+ starts with PROTO 0x80; protocol 1 with '}' 0x7d)
//!   0xA1        signed:               kind | session[16] | sequence u64 | time_us u64 | pickle | hmac[32]
//!   0xA2        acknowledged:         kind | session[16] | sequence u64 | pickle
//!   0xA4        signed, acknowledged: kind | session[16] | sequence u64 | time_us u64 | pickle | hmac[32]
//! The receiver answers 0xA2 and 0xA4 frames with an acknowledgement:
//!   0xA3 | sequence u64 BE   (every frame of the connection up to that sequence is handled)
//! ```
//! The HMAC covers the kind byte, so a signed frame cannot be turned into
//! another kind without the key. None of the kind bytes is a pickle opcode a
//! CPython receiver accepts first, so an old receiver fails loudly.

pub mod frame;
pub mod packed;
pub mod record;
pub mod rollover;
pub mod spool_name;
