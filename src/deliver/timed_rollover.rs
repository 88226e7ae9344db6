//! `TimedRotatingFileHandler`'s schedule: when the next rollover is, what
//! the rotated file is called, and which old ones to delete.
//!
//! Times are whole seconds, as CPython's `int(time.time())`. Local time is
//! UTC plus the host's offset (the guest has no zone database), so the DST
//! corrections CPython applies never trigger here; see the README.

pub use pylog_wire::rollover::When;

use crate::error::{Error, Result};
use crate::python::civil_time::{local_time, strftime, CivilTime};

const DAY: i64 = 24 * 60 * 60;

#[derive(Debug, Clone, PartialEq)]
pub struct TimedRollover {
    when: When,
    /// Seconds: the unit times `interval`.
    interval: i64,
    pub backup_count: u32,
    utc: bool,
    at_time: Option<u32>,
    utc_offset_seconds: i32,
}

/// The rotated files' date suffix for `when`.
fn suffix(when: When) -> &'static str {
    match when {
        When::Seconds => "%Y-%m-%d_%H-%M-%S",
        When::Minutes => "%Y-%m-%d_%H-%M",
        When::Hours => "%Y-%m-%d_%H",
        When::Days | When::Midnight | When::Weekday(_) => "%Y-%m-%d",
    }
}

/// `extMatch` without the regex: `#` is an ASCII digit, anything else
/// must be equal.
fn ext_shape(when: When) -> &'static str {
    match when {
        When::Seconds => "####-##-##_##-##-##",
        When::Minutes => "####-##-##_##-##",
        When::Hours => "####-##-##_##",
        When::Days | When::Midnight | When::Weekday(_) => "####-##-##",
    }
}

impl TimedRollover {
    /// `TimedRotatingFileHandler.__init__`'s checks, with its messages
    /// (`when` is read, and checked, by `pylog_wire::rollover`).
    pub fn new(
        when: When,
        interval: u32,
        backup_count: u32,
        utc: bool,
        at_time: Option<u32>,
        utc_offset_seconds: i32,
    ) -> Result<TimedRollover> {
        let unit = match when {
            When::Seconds => 1,
            When::Minutes => 60,
            When::Hours => 60 * 60,
            When::Days | When::Midnight => DAY,
            When::Weekday(_) => 7 * DAY,
        };
        if interval == 0 {
            return Err(Error::BadConfig("interval must be at least 1".into()));
        }
        if at_time.is_some_and(|t| t >= DAY as u32) {
            return Err(Error::BadConfig("atTime must be a time of day (under 86400 seconds)".into()));
        }
        Ok(TimedRollover {
            when,
            interval: unit * i64::from(interval),
            backup_count,
            utc,
            at_time,
            utc_offset_seconds: if utc { 0 } else { utc_offset_seconds },
        })
    }

    fn civil(&self, t: i64) -> CivilTime {
        local_time(t as f64, self.utc_offset_seconds)
    }

    /// `computeRollover(currentTime)`.
    pub fn compute_rollover(&self, current: i64) -> i64 {
        let weekday = match self.when {
            When::Midnight => None,
            When::Weekday(d) => Some(u32::from(d)),
            _ => return current + self.interval,
        };
        let t = self.civil(current);
        let mut day = (t.weekday + 6) % 7;
        let rotate_at = i64::from(self.at_time.unwrap_or(DAY as u32));
        let mut r = rotate_at - i64::from((t.hour * 60 + t.minute) * 60 + t.second);
        if r < 0 {
            r += DAY;
            day = (day + 1) % 7;
        }
        let mut result = current + r;
        if let Some(target) = weekday {
            if day != target {
                let wait = if day < target { target - day } else { 6 - day + target + 1 };
                result += i64::from(wait) * DAY;
            }
        }
        result
    }

    /// The rollover after the one at `current`, as `doRollover` computes it.
    pub fn next_after(&self, current: i64) -> i64 {
        let mut next = self.compute_rollover(current);
        while next <= current {
            next += self.interval;
        }
        next
    }

    /// The rotated file's name for the interval that ends at `rollover_at`.
    pub fn rotated_name(&self, base: &str, rollover_at: i64) -> String {
        let mut name = String::from(base);
        name.push('.');
        strftime(suffix(self.when), &self.civil(rollover_at - self.interval), "UTC", &mut name);
        name
    }

    /// `getFilesToDelete`: among `names` (a directory listing), the rotated
    /// files of `base_name` beyond the newest `backup_count`, oldest first.
    pub fn files_to_delete(&self, base_name: &str, names: &[String]) -> Vec<String> {
        let stem = match base_name.rfind('.') {
            Some(i) if i > 0 && !base_name[..i].chars().all(|c| c == '.') => &base_name[..i],
            _ => base_name,
        };
        let prefix = format!("{stem}.");
        let mut found: Vec<String> = names
            .iter()
            .filter(|n| n.starts_with(base_name) && n.starts_with(&prefix))
            .filter(|n| n[prefix.len()..].split('.').any(|part| self.matches_shape(part)))
            .cloned()
            .collect();
        if found.len() < self.backup_count as usize {
            return Vec::new();
        }
        found.sort();
        found.truncate(found.len() - self.backup_count as usize);
        found
    }

    fn matches_shape(&self, part: &str) -> bool {
        let shape = ext_shape(self.when);
        part.len() == shape.len()
            && part.bytes().zip(shape.bytes()).all(|(c, s)| if s == b'#' { c.is_ascii_digit() } else { c == s })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pylog_wire::rollover::parse_when;

    fn schedule(when: &str, backup_count: u32) -> Result<TimedRollover> {
        TimedRollover::new(parse_when(when).map_err(Error::BadConfig)?, 1, backup_count, true, None, 0)
    }

    #[test]
    fn midnight_and_weekly_follow_cpython() {
        // 2026-11-22 01:52:18 UTC is a Sunday (tm_wday 6).
        let now = 1_795_312_338;
        let midnight = schedule("midnight", 0).unwrap();
        assert_eq!(midnight.compute_rollover(now), 1_795_392_000);
        let monday = schedule("W0", 0).unwrap();
        // Asked of CPython: a weekly rollover happens at the midnight that
        // ends the named day.
        assert_eq!(monday.compute_rollover(now), 1_795_478_400);
        let sunday = schedule("w6", 0).unwrap();
        assert_eq!(sunday.compute_rollover(now), 1_795_392_000);
        assert!(schedule("W7", 0).is_err());
        assert!(schedule("X", 0).is_err());
    }

    #[test]
    fn deletes_oldest_beyond_backup_count() {
        let r = schedule("S", 2).unwrap();
        let names: Vec<String> = [
            "app.log",
            "app.log.2026-01-01_00-00-01",
            "app.log.2026-01-01_00-00-03",
            "app.log.2026-01-01_00-00-02",
            "other",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(r.files_to_delete("app.log", &names), vec!["app.log.2026-01-01_00-00-01".to_string()]);
    }
}
