//! What `pylog listen` does with a frame body: signature check, opcode
//! scan, decode. Must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pylog_host::signing::Verifier;
use pylog_host::unpickle::record_from_pickle;

fuzz_target!(|data: &[u8]| {
    let _ = record_from_pickle(data);
    let mut v = Verifier::new(b"0123456789abcdef");
    let _ = v.verify(data, 1_700_000_000_000_000);
});
