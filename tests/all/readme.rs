//! README's "Shipping records" commands, run as written: its configuration
//! and record are taken from the README's own code blocks, its `pylog
//! listen` line is the receiver, and the records must arrive through both
//! handlers. (`tail -f` streams forever and is left out.)

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{package_root, pylog_bin, Peer};

/// The code blocks of README's "Shipping records" section, in order, with
/// their language.
fn blocks() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(package_root().join("README.md")).expect("README.md");
    let start = readme.find("## Shipping records").expect("a Shipping records section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let mut out = Vec::new();
    let mut rest = section;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let lang_end = after.find('\n').expect("fence line");
        let body_start = lang_end + 1;
        let close = after[body_start..].find("```").expect("closing fence");
        out.push((after[..lang_end].trim().to_string(), after[body_start..body_start + close].to_string()));
        rest = &after[body_start + close + 3..];
    }
    out
}

fn bash(line: &str, dir: &std::path::Path) -> Command {
    let bin = pylog_bin();
    let path = format!("{}:{}", bin.parent().expect("bin dir").display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new("bash");
    cmd.arg("-c").arg(line).current_dir(dir).env("PATH", path);
    cmd
}

#[test]
fn readme_shipping_commands_run_as_written() {
    let dir = std::env::temp_dir().join(format!("pylog-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let blocks = blocks();
    let json: Vec<&String> = blocks.iter().filter(|(lang, _)| lang == "json").map(|(_, body)| body).collect();
    std::fs::write(dir.join("logging.json"), json[0]).expect("logging.json");
    std::fs::write(dir.join("records.jsonl"), json[1]).expect("records.jsonl");
    let commands: Vec<String> = blocks
        .iter()
        .filter(|(lang, _)| lang == "sh")
        .flat_map(|(_, body)| body.lines().map(|l| l.split(" # ").next().unwrap_or(l).trim().to_string()))
        .filter(|l| !l.is_empty() && !l.starts_with("tail -f"))
        .collect();
    let listen_line = commands.iter().find(|c| c.starts_with("pylog listen")).expect("a pylog listen line");
    let mut listen = bash(listen_line.trim_end_matches('&').trim(), &dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the README's pylog listen");
    let mut err = std::io::BufReader::new(listen.stderr.take().expect("stderr"));
    let mut ready = String::new();
    err.read_line(&mut ready).expect("ready line");
    assert!(ready.contains("ready"), "README's pylog listen did not start: {ready}");
    let out = listen.stdout.take().expect("stdout");
    let _listen = Peer(listen);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    for command in commands.iter().filter(|c| !c.starts_with("pylog listen")) {
        let done = bash(command, &dir).output().expect("run");
        assert!(done.status.success(), "README command failed: {command}\n{}", String::from_utf8_lossy(&done.stderr));
    }
    // The record arrives once through each handler (the dry run sends nothing).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    while got.len() < 2 && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            got.push(line);
        }
    }
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.iter().all(|l| l.contains("order A-1042 paid: 99.50 EUR")), "{got:?}");
    for handler in ["central", "syslog"] {
        let bytes = std::fs::read(dir.join("wire").join(format!("{handler}.bin"))).expect("the dry run's file");
        assert!(!bytes.is_empty(), "{handler}");
    }
}
