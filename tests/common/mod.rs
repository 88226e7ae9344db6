//! What every integration test needs: the built component, the `pylog`
//! binary, and peers (python3 scripts, rsyslog) run with a deadline.

#![allow(dead_code, reason = "each test binary uses a different part of this module")]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pylog_host::Plugin;

/// `target/`, found from this test binary (`target/<profile>/deps/NAME`), so
/// `CARGO_TARGET_DIR` anywhere works.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors().nth(3).expect("target dir").to_path_buf()
}

pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors().nth(2).expect("profile dir").to_path_buf()
}

pub fn component_path() -> PathBuf {
    let p = target_dir().join("wasm32-wasip2/component/pylog_handlers.wasm");
    assert!(p.exists(), "{} is missing: run `make build` (or `make test`) first", p.display());
    p
}

pub fn pylog_bin() -> PathBuf {
    let p = profile_dir().join("pylog");
    assert!(p.exists(), "{} is missing: run `make test`, which builds it first", p.display());
    p
}

pub fn plugin() -> Plugin {
    let bytes = std::fs::read(component_path()).expect("read component");
    Plugin::from_bytes(&bytes, Some(&target_dir().join("pylog-cache"))).expect("load plugin")
}

/// The helper scripts beside the tests.
pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python").join(name)
}

pub fn python() -> Command {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python3");
    Command::new(if venv.exists() { venv } else { PathBuf::from("python3") })
}

pub struct Output {
    pub status: std::process::ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Runs `cmd` with `stdin`, killing it if it outlives `limit`.
pub fn run(mut cmd: Command, stdin: &[u8], limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status =
        wait_deadline(&mut child, limit).unwrap_or_else(|| panic!("{cmd:?} ran past {limit:?} and was killed"));
    let _ = writer.join();
    Output { status, stdout: out_t.join().unwrap_or_default(), stderr: err_t.join().unwrap_or_default() }
}

/// Waits for `child` until `limit`; kills it and returns None past that.
pub fn wait_deadline(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A background process stopped when the test ends, pass or fail.
pub struct Peer(pub Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}
