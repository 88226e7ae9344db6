//! Loggers and filters: which handlers a record reaches, from the
//! `loggers`/`root` entries and `logging.Filter` name prefixes.

use anyhow::{anyhow, bail, Result};
use serde_json::Value as Json;

use crate::config::arguments::level;
use crate::config::problems::Problems;
use crate::config::routing::LoggerNode;
use crate::config::values::str_key;

/// The `filters` section: each entry is `logging.Filter(name)`, written
/// `{"name": "app.web"}`. Factories are Python code.
/// A refused filter stays known by its id, so that what names it is not
/// reported a second time.
pub(crate) fn filter_prefixes(
    section: Option<&Json>,
    problems: &mut Problems,
) -> Result<std::collections::HashMap<String, String>> {
    let mut out = std::collections::HashMap::new();
    let Some(section) = section else { return Ok(out) };
    let section = section.as_object().ok_or_else(|| anyhow!("\"filters\" must be a mapping of filter names"))?;
    for (id, spec) in section {
        let prefix = problems.check(&format!("filters.{id}"), filter_prefix(spec));
        out.insert(id.clone(), prefix.unwrap_or_default());
    }
    Ok(out)
}

pub(crate) fn filter_prefix(spec: &Json) -> Result<String> {
    let spec = spec.as_object().ok_or_else(|| anyhow!("a filter must be a mapping"))?;
    if spec.contains_key("()") {
        bail!("a \"()\" factory is Python code; pylog runs logging.Filter(name) filters: {{\"name\": \"app.web\"}}");
    }
    // Other keys are ignored, as `configure_filter` ignores them
    // (`Document::ignored`).
    Ok(str_key(spec, "name")?.unwrap_or_default())
}

pub(crate) fn filter_names(names: &Json, filters: &std::collections::HashMap<String, String>) -> Result<Vec<String>> {
    let list = names.as_array().ok_or_else(|| anyhow!("filters must be a list of names from \"filters\""))?;
    list.iter()
        .map(|n| {
            let n = n.as_str().ok_or_else(|| anyhow!("filters must be names, not {n}"))?;
            filters.get(n).cloned().ok_or_else(|| anyhow!("filter {n:?} is not defined in \"filters\""))
        })
        .collect()
}

/// The names `logging.getLogger` answers with the root logger.
pub(crate) fn is_root_name(name: &str) -> bool {
    name.is_empty() || name == "root"
}

/// Logging's level numbers the loader needs by name.
pub(crate) mod logging_level {
    pub const WARNING: i64 = 30;
}

/// Python's truth value of a JSON value, as `logger.propagate = value`
/// later tested with `if not c.propagate` sees it.
pub(crate) fn truthy(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(o) => !o.is_empty(),
    }
}

/// What a logger takes; `qualname` is fileConfig's, and dictConfig ignores it
/// silently, as it ignores any other key.
pub(crate) const LOGGER_KEYS: &[&str] = &["level", "handlers", "propagate", "filters", "qualname"];

pub(crate) fn ignored_logger_keys(spec: &Json) -> impl Iterator<Item = &String> {
    spec.as_object().into_iter().flat_map(|o| o.keys()).filter(|k| !LOGGER_KEYS.contains(&k.as_str()))
}

/// A `loggers` entry or `root`: level, handlers, propagate, filters.
pub(crate) fn logger_node(
    name: &str,
    spec: &Json,
    filters: &std::collections::HashMap<String, String>,
) -> Result<LoggerNode> {
    let spec = spec.as_object().ok_or_else(|| anyhow!("logger {name:?} must be a mapping"))?;
    // Other keys are ignored, as CPython ignores them (`Document::ignored`).
    let handlers = match spec.get("handlers") {
        None => Vec::new(),
        Some(Json::Array(list)) => list
            .iter()
            .map(|h| h.as_str().map(str::to_string).ok_or_else(|| anyhow!("handlers must be names, not {h}")))
            .collect::<Result<_>>()?,
        Some(other) => bail!("handlers must be a list of handler names, not {other}"),
    };
    Ok(LoggerNode {
        level: match spec.get("level") {
            None => None,
            Some(v) => Some(level(v)?),
        },
        handlers,
        // CPython sets `propagate` to whatever is given unless it is None,
        // and tests its truth: 0 and 1 are as common as false and true.
        propagate: match spec.get("propagate") {
            None | Some(Json::Null) => true,
            Some(v) => truthy(v),
        },
        filters: match spec.get("filters") {
            None => Vec::new(),
            Some(names) => filter_names(names, filters)?,
        },
    })
}
