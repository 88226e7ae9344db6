//! `SysLogHandler`'s facility and priority tables, `encodePriority` and
//! `mapPriority`, as in CPython's `Lib/logging/handlers.py`.

use crate::error::{Error, Result};

/// `SysLogHandler.facility_names`, in CPython's order.
pub const FACILITY_NAMES: &[(&str, u32)] = &[
    ("auth", 4),
    ("authpriv", 10),
    ("console", 14),
    ("cron", 9),
    ("daemon", 3),
    ("ftp", 11),
    ("kern", 0),
    ("lpr", 6),
    ("mail", 2),
    ("news", 7),
    ("ntp", 12),
    ("security", 13),
    ("solaris-cron", 15),
    ("syslog", 5),
    ("user", 1),
    ("uucp", 8),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

/// `SysLogHandler.priority_names`; "panic", "critical", "error" and "warn"
/// are CPython's aliases.
pub const PRIORITY_NAMES: &[(&str, u32)] = &[
    ("alert", 1),
    ("crit", 2),
    ("critical", 2),
    ("debug", 7),
    ("emerg", 0),
    ("err", 3),
    ("error", 3),
    ("info", 6),
    ("notice", 5),
    ("panic", 0),
    ("warn", 4),
    ("warning", 4),
];

/// A facility or priority as CPython accepts it: a table name or an int.
#[derive(Debug, Clone, PartialEq)]
pub enum NameOrNumber {
    Name(String),
    Number(u32),
}

fn lookup(table: &[(&str, u32)], name: &str) -> Option<u32> {
    table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

fn valid_names(table: &[(&str, u32)]) -> String {
    table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

pub fn facility_number(facility: &NameOrNumber) -> Result<u32> {
    match facility {
        NameOrNumber::Number(n) => Ok(*n),
        NameOrNumber::Name(name) => lookup(FACILITY_NAMES, name).ok_or_else(|| {
            Error::UnknownFacility(format!(
                "{name:?} is not a syslog facility; use one of: {} (names are lower case), or a number",
                valid_names(FACILITY_NAMES)
            ))
        }),
    }
}

pub fn priority_number(priority: &NameOrNumber) -> Result<u32> {
    match priority {
        NameOrNumber::Number(n) => Ok(*n),
        NameOrNumber::Name(name) => lookup(PRIORITY_NAMES, name).ok_or_else(|| {
            Error::UnknownPriority(format!(
                "{name:?} is not a syslog priority; use one of: {} (names are lower case), or a number",
                valid_names(PRIORITY_NAMES)
            ))
        }),
    }
}

/// `encodePriority`: `(facility << 3) | priority`. CPython passes numbers
/// through unchecked; so do we, except where the result would not fit the
/// `u32` that crosses the WIT boundary.
pub fn encode_priority(facility: &NameOrNumber, priority: &NameOrNumber) -> Result<u32> {
    combine(facility_number(facility)?, priority_number(priority)?)
}

/// `encodePriority(facility, mapPriority(levelname))`, as SysLogHandler
/// computes it for each record, without building the priority's name.
pub fn encode_level_priority(facility: &NameOrNumber, levelname: &str) -> Result<u32> {
    let f = facility_number(facility)?;
    let name = map_priority(levelname);
    let p = lookup(PRIORITY_NAMES, name)
        .ok_or_else(|| Error::UnknownPriority(format!("{name:?} is not a syslog priority")))?;
    combine(f, p)
}

fn combine(f: u32, p: u32) -> Result<u32> {
    f.checked_mul(8).map(|shifted| shifted | p).ok_or_else(|| {
        Error::UnknownFacility(format!(
            "facility {f} is too large: (facility << 3) must fit in 32 bits; syslog facilities are 0..23"
        ))
    })
}

/// `mapPriority`: the five standard level names to priority names, anything
/// else to "warning".
pub fn map_priority(levelname: &str) -> &'static str {
    match levelname {
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARNING" => "warning",
        "ERROR" => "error",
        "CRITICAL" => "critical",
        _ => "warning",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_encode() {
        let n = |s: &str| NameOrNumber::Name(s.into());
        assert_eq!(encode_priority(&n("local3"), &n("err")).unwrap(), 19 * 8 + 3);
        assert_eq!(encode_priority(&NameOrNumber::Number(1), &NameOrNumber::Number(9)).unwrap(), 9);
        assert!(
            matches!(encode_priority(&n("LOCAL3"), &n("err")), Err(Error::UnknownFacility(m)) if m.contains("local0"))
        );
        assert!(matches!(encode_priority(&n("user"), &n("loud")), Err(Error::UnknownPriority(_))));
        assert_eq!(map_priority("Level 5"), "warning");
    }
}
