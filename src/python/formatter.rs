//! `logging.Formatter` with its three styles: `%` (`percent`), `{`
//! (`brace_format`) and `$` (`string.Template`, here).

use crate::error::{Error, Result};
use crate::python::civil_time::{local_time, strftime};
use crate::python::percent::{self, key_error, ArgSource};
use crate::python::record::{Args, LogRecord, Value};
use crate::python::repr::py_repr;

/// `logging.Formatter(fmt, datefmt, style='%')`, plus the local-time facts the
/// guest cannot look up itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Formatter {
    fmt: String,
    style: Style,
    datefmt: Option<String>,
    uses_time: bool,
    pub utc_offset_seconds: i32,
    pub tz_name: String,
}

/// How `fmt` names the record's attributes.
#[derive(Debug, Clone, PartialEq)]
enum Style {
    Percent,
    Brace(Vec<crate::python::brace_format::Piece>),
    /// `string.Template`: text and `$name`/`${name}` fields (`$$` is a `$`).
    Dollar(Vec<TemplatePiece>),
}

#[derive(Debug, Clone, PartialEq)]
enum TemplatePiece {
    Text(String),
    Field(String),
}

/// `string.Template.pattern` over `fmt`, as `StringTemplateStyle.validate`
/// reads it: a bare `$` is an error, and at least one field is needed.
fn parse_template(fmt: &str) -> Result<Vec<TemplatePiece>> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = fmt;
    let ident_len = |s: &str| -> usize {
        let mut n = 0;
        for (i, c) in s.char_indices() {
            let ok = c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit());
            if !ok {
                break;
            }
            n = i + c.len_utf8();
        }
        n
    };
    while let Some(pos) = rest.find('$') {
        text.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            text.push('$');
            rest = tail;
            continue;
        }
        let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
            let n = ident_len(braced);
            match braced[n..].strip_prefix('}') {
                Some(tail) if n > 0 => (&braced[..n], tail),
                _ => {
                    return Err(Error::BadConfig(format!("Invalid format '{fmt}' for '$' style: bare '$' not allowed")))
                }
            }
        } else {
            let n = ident_len(after);
            if n == 0 {
                return Err(Error::BadConfig(format!("Invalid format '{fmt}' for '$' style: bare '$' not allowed")));
            }
            (&after[..n], &after[n..])
        };
        if !text.is_empty() {
            pieces.push(TemplatePiece::Text(std::mem::take(&mut text)));
        }
        pieces.push(TemplatePiece::Field(name.to_string()));
        rest = tail;
    }
    text.push_str(rest);
    if !text.is_empty() {
        pieces.push(TemplatePiece::Text(text));
    }
    if !pieces.iter().any(|p| matches!(p, TemplatePiece::Field(_))) {
        return Err(Error::BadConfig(format!("Invalid format '{fmt}' for '$' style: no fields")));
    }
    Ok(pieces)
}

impl Default for Formatter {
    fn default() -> Self {
        Formatter {
            fmt: "%(message)s".into(),
            style: Style::Percent,
            datefmt: None,
            uses_time: false,
            utc_offset_seconds: 0,
            tz_name: "UTC".into(),
        }
    }
}

impl Formatter {
    /// Validates as CPython 3.8+ does: a `%` format must name at least one field.
    pub fn new(
        fmt: Option<&str>,
        datefmt: Option<&str>,
        style: char,
        utc_offset_seconds: i32,
        tz_name: &str,
    ) -> Result<Formatter> {
        // CPython's defaults for each style when no format is given.
        let fmt = fmt
            .unwrap_or(match style {
                '{' => "{message}",
                '$' => "${message}",
                _ => "%(message)s",
            })
            .to_string();
        let (style, uses_time) = match style {
            '%' => {
                if !has_percent_field(&fmt) {
                    return Err(Error::BadConfig(format!(
                        "Invalid format '{fmt}' for '%' style: name at least one field, e.g. %(message)s"
                    )));
                }
                (Style::Percent, fmt.contains("%(asctime)"))
            }
            '{' => {
                let pieces = crate::python::brace_format::parse(&fmt).map_err(|e| match e {
                    Error::BadConfig(m) => Error::BadConfig(format!("Invalid format '{fmt}' for '{{' style: {m}")),
                    other => other,
                })?;
                if !pieces.iter().any(|p| matches!(p, crate::python::brace_format::Piece::Field { .. })) {
                    return Err(Error::BadConfig(format!("Invalid format '{fmt}' for '{{' style: no fields")));
                }
                (Style::Brace(pieces), fmt.contains("{asctime"))
            }
            '$' => (Style::Dollar(parse_template(&fmt)?), fmt.contains("$asctime") || fmt.contains("${asctime}")),
            other => {
                return Err(Error::BadConfig(format!("formatter style must be one of '%', '{{', '$', not {other:?}")))
            }
        };
        Ok(Formatter {
            uses_time,
            style,
            fmt,
            datefmt: datefmt.map(str::to_string),
            utc_offset_seconds,
            tz_name: tz_name.to_string(),
        })
    }

    /// `Formatter.format(record)`.
    pub fn format(&self, record: &LogRecord) -> Result<String> {
        let message = record.get_message()?;
        if self.uses_time {
            check_time_range(record.created)?;
        }
        let mut s = match self.style {
            // CPython's default format, and the most common: the message
            // itself, without copying it into a second string.
            Style::Percent if self.fmt == "%(message)s" => message,
            _ => self.format_fields(record, &message)?,
        };
        for tail in [&record.exc_text, &record.stack_info].into_iter().flatten() {
            // CPython tests truthiness: an empty exc_text adds nothing.
            if tail.is_empty() {
                continue;
            }
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s.push_str(tail);
        }
        Ok(s)
    }

    /// The format with the record's fields (and `message`) filled in.
    fn format_fields(&self, record: &LogRecord, message: &str) -> Result<String> {
        let asctime = self.uses_time.then(|| self.format_time(record));
        let mut fields = RecordFields { record, message, asctime: asctime.as_deref() };
        Ok(match &self.style {
            Style::Percent => percent::format_with(&self.fmt, &mut fields)?,
            Style::Brace(pieces) => {
                let mut s = String::with_capacity(self.fmt.len() + message.len());
                for piece in pieces {
                    match piece {
                        crate::python::brace_format::Piece::Text(t) => s.push_str(t),
                        crate::python::brace_format::Piece::Field { name, conversion, spec } => {
                            let value = fields.by_key(name)?;
                            crate::python::brace_format::format_field(&value, *conversion, spec, &mut s)?;
                        }
                    }
                }
                s
            }
            Style::Dollar(pieces) => {
                let mut s = String::with_capacity(self.fmt.len() + message.len());
                for piece in pieces {
                    match piece {
                        TemplatePiece::Text(t) => s.push_str(t),
                        TemplatePiece::Field(name) => crate::python::repr::py_str(&fields.by_key(name)?, &mut s),
                    }
                }
                s
            }
        })
    }

    /// `Formatter.formatTime`: `datefmt` through strftime, or CPython's
    /// default `%Y-%m-%d %H:%M:%S,mmm`.
    pub fn format_time(&self, record: &LogRecord) -> String {
        let t = local_time(record.created, self.utc_offset_seconds);
        let mut s = String::with_capacity(23);
        match &self.datefmt {
            Some(datefmt) => strftime(datefmt, &t, &self.tz_name, &mut s),
            None => {
                strftime("%Y-%m-%d %H:%M:%S", &t, &self.tz_name, &mut s);
                let ms = if record.msecs.is_finite() { record.msecs.trunc() as i64 } else { 0 };
                s.push_str(&format!(",{ms:03}"));
            }
        }
        s
    }
}

/// `time.localtime` refuses timestamps its platform cannot represent; we
/// refuse beyond year 9999, where strftime's `%Y` stops being four digits.
pub fn check_time_range(created: f64) -> Result<()> {
    if created.is_finite() && created.abs() <= 253_402_300_799.0 {
        Ok(())
    } else {
        Err(Error::BadRecord(format!(
            "OverflowError: created {created} is out of range for time.localtime (years 1 to 9999)"
        )))
    }
}

/// CPython's `PercentStyle.validation_pattern`, `%\(\w+\)...[diouxefgcrsa%]`.
fn has_percent_field(fmt: &str) -> bool {
    let mut rest = fmt;
    while let Some(pos) = rest.find("%(") {
        rest = &rest[pos + 2..];
        let Some(close) = rest.find(')') else {
            return false;
        };
        let key = &rest[..close];
        if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let after = rest[close + 1..].trim_start_matches(['#', '0', '+', ' ', '-']);
        let after = after.trim_start_matches(|c: char| c.is_ascii_digit() || c == '*');
        let after = match after.strip_prefix('.') {
            Some(a) => a.trim_start_matches(|c: char| c.is_ascii_digit() || c == '*'),
            None => after,
        };
        if after.starts_with(|c: char| "diouxefgcrsa%".contains(c.to_ascii_lowercase())) {
            return true;
        }
    }
    false
}

/// `record.__dict__` as `fmt % record.__dict__` sees it after `format` has
/// set `message` (and `asctime` when the format uses it).
struct RecordFields<'a> {
    record: &'a LogRecord,
    message: &'a str,
    asctime: Option<&'a str>,
}

fn opt_str(v: &Option<String>) -> Value {
    v.as_ref().map_or(Value::None, |s| Value::Str(s.clone()))
}

fn opt_int(v: Option<i64>) -> Value {
    v.map_or(Value::None, Value::Int)
}

/// `str(args)`: a tuple or dict as Python prints it.
fn args_repr(args: &Args) -> String {
    let mut s = String::new();
    match args {
        Args::Tuple(items) => {
            s.push('(');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                py_repr(v, &mut s);
            }
            if items.len() == 1 {
                s.push(',');
            }
            s.push(')');
        }
        Args::Mapping(items) => crate::python::repr::dict_repr(items, &mut s),
    }
    s
}

impl ArgSource for RecordFields<'_> {
    /// `fmt % dict` formats the whole dict for a spec without a key; nobody
    /// writes that in a log format, so it is refused with the reason.
    fn next_positional(&mut self) -> Result<Option<Value>> {
        Err(Error::BadConfig("the format has a field without a name; write %(attribute)s, e.g. %(message)s".into()))
    }

    fn by_key(&mut self, key: &str) -> Result<Value> {
        let r = self.record;
        Ok(match key {
            "name" => Value::Str(r.name.clone()),
            "msg" => Value::Str(r.msg.clone()),
            "args" => match &r.args {
                // A str() of a tuple is what `%(args)s` prints; `%(args)r` is the same text.
                Some(a) => Value::Str(args_repr(a)),
                None => Value::None,
            },
            "levelname" => Value::Str(r.levelname.clone()),
            "levelno" => Value::Int(r.levelno),
            "pathname" => Value::Str(r.pathname.clone()),
            "filename" => Value::Str(r.filename.clone()),
            "module" => Value::Str(r.module.clone()),
            "exc_info" => Value::None,
            "exc_text" => opt_str(&r.exc_text),
            "stack_info" => opt_str(&r.stack_info),
            "lineno" => Value::Int(r.lineno),
            "funcName" => opt_str(&r.func_name),
            "created" => Value::Float(r.created),
            "msecs" => Value::Float(r.msecs),
            "relativeCreated" => Value::Float(r.relative_created),
            "thread" => opt_int(r.thread),
            "threadName" => opt_str(&r.thread_name),
            "processName" => opt_str(&r.process_name),
            "process" => opt_int(r.process),
            "taskName" => opt_str(&r.task_name),
            "message" => Value::Str(self.message.to_string()),
            "asctime" if self.asctime.is_some() => Value::Str(self.asctime.unwrap_or_default().to_string()),
            other => match r.extra.iter().rev().find(|(k, _)| k == other) {
                Some((_, v)) => v.clone(),
                None => return Err(key_error(other)),
            },
        })
    }

    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_format_is_the_message_plus_exc_text() {
        let mut r = LogRecord::new("app", 40, "boom %d", 0.0);
        r.args = Some(Args::Tuple(vec![Value::Int(7)]));
        r.exc_text = Some("Traceback ...".into());
        assert_eq!(Formatter::default().format(&r).unwrap(), "boom 7\nTraceback ...");
    }

    #[test]
    fn asctime_uses_the_host_offset_and_msecs() {
        let r = LogRecord::new("app", 20, "hi", 1_700_000_000.5);
        let f =
            Formatter::new(Some("%(asctime)s %(levelname)-8s %(name)s: %(message)s"), None, '%', 3600, "CET").unwrap();
        assert_eq!(f.format(&r).unwrap(), "2023-11-14 23:13:20,500 INFO     app: hi");
    }

    #[test]
    fn invalid_formats_are_config_errors() {
        assert!(matches!(Formatter::new(Some("no fields"), None, '%', 0, "UTC"), Err(Error::BadConfig(_))));
        assert!(matches!(Formatter::new(Some("{}"), None, '{', 0, "UTC"), Err(Error::BadConfig(_))));
        assert!(matches!(Formatter::new(Some("cost $"), None, '$', 0, "UTC"), Err(Error::BadConfig(_))));
        let f = Formatter::new(Some("%(nope)s"), None, '%', 0, "UTC").unwrap();
        assert!(f.format(&LogRecord::new("a", 1, "", 0.0)).is_err());
    }
}
