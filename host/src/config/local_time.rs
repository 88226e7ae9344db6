//! Local-time facts for formatters, which the guest cannot read.

/// Local-time facts for formatters: the guest cannot read the host's zone.
#[derive(Debug, Clone)]
pub struct LocalTime {
    pub utc_offset_seconds: i32,
    pub tz_name: String,
}

impl LocalTime {
    /// The host's current offset from UTC. `%Z` prints a numeric name
    /// ("UTC+01:00") because the zone's abbreviation is not portable to read.
    pub fn of_host() -> LocalTime {
        let offset = chrono::Local::now().offset().local_minus_utc();
        LocalTime { utc_offset_seconds: offset, tz_name: tz_name(offset) }
    }
}

pub(crate) fn tz_name(offset: i32) -> String {
    if offset == 0 {
        return "UTC".into();
    }
    let abs = offset.unsigned_abs();
    format!("UTC{}{:02}:{:02}", if offset < 0 { '-' } else { '+' }, abs / 3600, abs % 3600 / 60)
}
