//! `QueueHandler` entries: the handlers its `QueueListener` feeds, each
//! resolved as any handler is, and the queue's own bound.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{Map, Value as Json};

use crate::bindings::{Formatter, HandlerConfig};
use crate::config::arguments::level_of;
use crate::config::classes::{class_of, formatter_of, short_class, Resolver};
use crate::config::values::{attr_bool, MAX_CAPACITY};

/// `QueueHandler` with the `handlers` of its `QueueListener` (the form
/// Python 3.12's dictConfig accepts).
#[derive(Debug, Clone)]
pub struct QueueConfig {
    pub name: String,
    pub level: i64,
    /// The QueueHandler's formatter, which `prepare` applies.
    pub formatter: Formatter,
    pub targets: Vec<HandlerConfig>,
    /// QueueListener's `respect_handler_level` (False in CPython: the
    /// targets' levels are ignored unless it is set).
    pub respect_handler_level: bool,
    /// Records the queue holds before `emit` drops (and counts) new ones.
    pub capacity: usize,
}

impl Resolver<'_> {
    pub(crate) fn queue(&self, name: &str, e: &Map<String, Json>) -> Result<QueueConfig> {
        for key in e.keys() {
            if !["class", "level", "formatter", "handlers", "respect_handler_level", "queue", "listener", "."]
                .contains(&key.as_str())
            {
                bail!("QueueHandler has no argument {key:?}");
            }
        }
        match e.get("queue") {
            None | Some(Json::Null) => {}
            Some(_) => bail!(
                "\"queue\" names a Python queue object, which cannot cross into pylog; leave it out (the host \
                 keeps a bounded queue: \".\" queue_size)"
            ),
        }
        match e.get("listener").and_then(Json::as_str) {
            None | Some("logging.handlers.QueueListener") => {}
            Some(other) => bail!("listener {other:?} is Python code; only logging.handlers.QueueListener is available"),
        }
        let names = e
            .get("handlers")
            .and_then(Json::as_array)
            .ok_or_else(|| anyhow!("QueueHandler needs \"handlers\": the names of the handlers its listener feeds"))?;
        let mut targets = Vec::new();
        for t in names {
            let t = t.as_str().ok_or_else(|| anyhow!("handlers must be handler names"))?;
            let entry = self.entry(t)?;
            if short_class(class_of(entry)?) == "QueueHandler" {
                bail!("a QueueHandler cannot feed another QueueHandler ({t:?})");
            }
            targets.push(self.buffered(t, entry).with_context(|| format!("listener handler {t:?}"))?);
        }
        let attrs = match e.get(".") {
            None => Map::new(),
            Some(Json::Object(m)) => m.clone(),
            Some(_) => bail!("\".\" must be a mapping"),
        };
        let capacity = match attrs.get("queue_size") {
            None => 10_000,
            Some(v) => v.as_u64().filter(|n| *n > 0 && *n <= MAX_CAPACITY as u64).ok_or_else(|| {
                anyhow!("\".\" queue_size must be a count from 1 to {MAX_CAPACITY} (the queue is allocated up front)")
            })? as usize,
        };
        Ok(QueueConfig {
            name: name.into(),
            level: level_of(e)?,
            formatter: formatter_of(e, self.formatters, self.local)?,
            targets,
            respect_handler_level: attr_bool(e, "respect_handler_level", false)?,
            capacity,
        })
    }
}
