//! How a document's problems are collected: each with its path, all
//! reported together.

use anyhow::{bail, Result};

/// A handler's `class` is what is wrong: reported at `handlers.NAME.class`.
#[derive(Debug)]
pub(crate) struct ClassProblem(pub(crate) String);

impl std::fmt::Display for ClassProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ClassProblem {}

/// What is wrong with a document, each with its path (`handlers.mail.class`).
#[derive(Default)]
pub(crate) struct Problems(Vec<String>);

impl Problems {
    /// Keeps the value, or notes the problem under `path`.
    pub(crate) fn check<T>(&mut self, path: &str, result: Result<T>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(format!("{path}: {e:#}"));
                None
            }
        }
    }

    pub(crate) fn into_result(self) -> Result<()> {
        match self.0.len() {
            0 => Ok(()),
            1 => bail!("{}", self.0[0]),
            n => bail!("{n} problems:\n  {}", self.0.join("\n  ")),
        }
    }
}
