//! Which handlers a record reaches: dictConfig's `loggers`, `root` and
//! `filters`, applied as CPython's `Logger.callHandlers` applies them.
//!
//! A record's `name` is the logger it was logged on. Its level is checked
//! once, against that logger's effective level (its own, else the nearest
//! configured ancestor's, else root's). Then the logger's own filters, then
//! the handlers of the logger and of each ancestor, stopping after one whose
//! `propagate` is false, then root's. A handler's own level is the
//! plugin's business; its filters are checked here.

use std::collections::{BTreeMap, HashMap};

/// `logging.lastResort`'s level: a record no handler was found for is
/// written to stderr (as `%(message)s`) from WARNING up.
pub const LAST_RESORT_LEVEL: i64 = 30;

/// One configured logger (or root).
#[derive(Debug, Clone, Default)]
pub struct LoggerNode {
    /// None is NOTSET: the level comes from an ancestor.
    pub level: Option<i64>,
    pub handlers: Vec<String>,
    pub propagate: bool,
    /// `logging.Filter(name)` prefixes the record's name must match.
    pub filters: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Routing {
    pub root: LoggerNode,
    pub loggers: BTreeMap<String, LoggerNode>,
    /// Handler name to the `logging.Filter(name)` prefixes its records must match.
    pub handler_filters: HashMap<String, Vec<String>>,
}

/// `logging.Filter(name).filter(record)`: an empty name passes everything;
/// otherwise the record's logger is that logger or below it.
pub fn filter_passes(prefix: &str, record_name: &str) -> bool {
    prefix.is_empty()
        || record_name == prefix
        || record_name.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.'))
}

/// The record's logger, then each dotted ancestor ("a.b.c", "a.b", "a").
fn lineage(name: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(name).filter(|n| !n.is_empty() && *n != "root");
    std::iter::from_fn(move || {
        let current = next?;
        next = current.rfind('.').map(|i| &current[..i]);
        Some(current)
    })
}

impl Routing {
    /// The logger's effective level (`Logger.getEffectiveLevel`).
    pub fn effective_level(&self, name: &str) -> i64 {
        lineage(name)
            .filter_map(|n| self.loggers.get(n))
            .find_map(|l| l.level.filter(|lv| *lv != 0))
            .or(self.root.level)
            .unwrap_or(0)
    }

    /// The names of the handlers a record of `levelno` logged on `name`
    /// reaches, in CPython's order, once per time CPython calls each (a
    /// handler on a logger and on its ancestor handles the record twice);
    /// `None` when the logger's level or its filters stop the record. An
    /// empty list means no handler was found: CPython then hands a
    /// record of `LAST_RESORT_LEVEL` or above to `logging.lastResort`.
    pub fn targets(&self, name: &str, levelno: i64) -> Option<Vec<&str>> {
        if levelno < self.effective_level(name) {
            return None;
        }
        // Only the logger the record was logged on filters it.
        let own = match name {
            "" | "root" => Some(&self.root),
            _ => self.loggers.get(name),
        };
        if own.is_some_and(|l| !l.filters.iter().all(|f| filter_passes(f, name))) {
            return None;
        }
        let mut out = Vec::new();
        for logger in lineage(name).filter_map(|n| self.loggers.get(n)) {
            out.extend(logger.handlers.iter().map(String::as_str));
            if !logger.propagate {
                return Some(out);
            }
        }
        out.extend(self.root.handlers.iter().map(String::as_str));
        Some(out)
    }

    /// Whether the handler's own filters let a record of logger `name` through.
    pub fn handler_accepts(&self, handler: &str, name: &str) -> bool {
        self.handler_filters.get(handler).is_none_or(|fs| fs.iter().all(|f| filter_passes(f, name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn propagation_levels_and_filters_as_cpython() {
        let mut r = Routing {
            root: LoggerNode { level: Some(30), handlers: vec!["console".into()], ..Default::default() },
            ..Default::default()
        };
        r.loggers.insert(
            "app".into(),
            LoggerNode { level: Some(20), handlers: vec!["file".into()], propagate: true, filters: vec![] },
        );
        r.loggers.insert(
            "app.db".into(),
            LoggerNode { level: None, handlers: vec!["db".into()], propagate: false, filters: vec![] },
        );
        assert_eq!(r.targets("app.web", 20).unwrap(), ["file", "console"]);
        assert_eq!(r.targets("app.db.pool", 20).unwrap(), ["db"]);
        assert!(r.targets("other", 20).is_none());
        assert_eq!(r.targets("other", 30).unwrap(), ["console"]);
        assert!(filter_passes("app", "app.web") && !filter_passes("app", "apple"));
    }
}
