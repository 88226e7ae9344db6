//! `pylog emit --dry-run` / `--dry-run-dir`: where the bytes every handler
//! would have sent go instead.

use std::io::Write;
use std::path::PathBuf;

use std::collections::HashMap;

use anyhow::{Context, Result};
use pylog_host::config::Document;

pub enum DryRun {
    Off,
    Stdout,
    /// One file per handler, `DIR/NAME.bin`, opened on first use.
    Files(PathBuf, std::collections::HashMap<String, std::fs::File>),
}

impl DryRun {
    pub fn on(&self) -> bool {
        !matches!(self, DryRun::Off)
    }

    pub fn write(&mut self, stdout: &mut impl Write, handler: &str, bytes: &[u8]) -> Result<()> {
        match self {
            DryRun::Off => {}
            DryRun::Stdout => stdout.write_all(bytes)?,
            DryRun::Files(dir, files) => {
                if !files.contains_key(handler) {
                    std::fs::create_dir_all(&*dir).with_context(|| format!("create {}", dir.display()))?;
                    let path = dir.join(format!("{}.bin", handler.replace(['/', '\\'], "_")));
                    let file = std::fs::File::create(&path).with_context(|| format!("create {}", path.display()))?;
                    files.insert(handler.to_string(), file);
                }
                if let Some(file) = files.get_mut(handler) {
                    file.write_all(bytes)?;
                }
            }
        }
        Ok(())
    }

    /// How the summary line says where the bytes went.
    pub fn describe(&self) -> String {
        match self {
            DryRun::Off => String::new(),
            DryRun::Stdout => " (dry run: bytes written to stdout)".to_string(),
            DryRun::Files(dir, _) => format!(" (dry run: each handler's bytes in {}/NAME.bin)", dir.display()),
        }
    }
}

/// A dry run shows each queue target's bytes as if it were attached
/// directly; records still go where the queue's routing sends them. Every
/// handler encodes without sending (its dry-run flag).
pub(crate) fn attach_for_dry_run(doc: &mut Document, dry: &DryRun) -> Result<HashMap<String, String>> {
    let mut behind_queue = HashMap::new();
    for q in doc.queues.drain(..) {
        for t in &q.targets {
            behind_queue.insert(t.name.clone(), q.name.clone());
        }
        doc.handlers.extend(q.targets);
    }
    for h in &mut doc.handlers {
        h.dry_run = true;
    }
    if matches!(dry, DryRun::Stdout) && doc.handlers.len() > 1 {
        let names: Vec<&str> = doc.handlers.iter().map(|h| h.name.as_str()).collect();
        anyhow::bail!(
            "--dry-run writes one handler's bytes to stdout, and this document has {} ({}): use --dry-run-dir DIR \
             for one file per handler",
            names.len(),
            names.join(", ")
        );
    }
    Ok(behind_queue)
}
