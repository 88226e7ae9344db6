//! Broken-down time and `strftime` for `Formatter.formatTime`.
//!
//! The guest has no time zone database, so local time is UTC plus an offset
//! the host measured; `%Z` prints the name the host passed. Directives follow
//! glibc in the C locale, which is what CPython's `time.strftime` calls.

/// `time.struct_time`, the fields `strftime` needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CivilTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Sunday, as C's `tm_wday`.
    pub weekday: u32,
    /// 0-based day of the year, as C's `tm_yday`.
    pub yday: u32,
    pub utc_offset_seconds: i32,
}

/// `time.localtime(created)` for a host whose local time is UTC plus
/// `utc_offset_seconds`. Like CPython, the fraction is floored away.
pub fn local_time(created: f64, utc_offset_seconds: i32) -> CivilTime {
    let secs = if created.is_finite() { created.floor() as i64 } else { 0 } + utc_offset_seconds as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(days);
    let jan1 = days_from_civil(year, 1, 1);
    CivilTime {
        year,
        month,
        day,
        hour: rem / 3600,
        minute: rem % 3600 / 60,
        second: rem % 60,
        weekday: (days + 4).rem_euclid(7) as u32,
        yday: (days - jan1) as u32,
        utc_offset_seconds,
    }
}

/// Howard Hinnant's `civil_from_days`: proleptic Gregorian, exact for any i64
/// day count a float timestamp can reach.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `time.strftime(format, t)` in the C locale.
pub fn strftime(format: &str, t: &CivilTime, tz_name: &str, out: &mut String) {
    use std::fmt::Write;
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(d) = chars.next() else {
            out.push('%');
            break;
        };
        let hour12 = if t.hour.is_multiple_of(12) { 12 } else { t.hour % 12 };
        let _ = match d {
            'Y' => write!(out, "{}", t.year),
            'y' => write!(out, "{:02}", t.year.rem_euclid(100)),
            'C' => write!(out, "{:02}", t.year.div_euclid(100)),
            'm' => write!(out, "{:02}", t.month),
            'd' => write!(out, "{:02}", t.day),
            'e' => write!(out, "{:2}", t.day),
            'H' => write!(out, "{:02}", t.hour),
            'I' => write!(out, "{:02}", hour12),
            'M' => write!(out, "{:02}", t.minute),
            'S' => write!(out, "{:02}", t.second),
            'j' => write!(out, "{:03}", t.yday + 1),
            'p' => write!(out, "{}", if t.hour < 12 { "AM" } else { "PM" }),
            'a' => write!(out, "{}", &DAYS[t.weekday as usize][..3]),
            'A' => write!(out, "{}", DAYS[t.weekday as usize]),
            'b' | 'h' => write!(out, "{}", &MONTHS[(t.month - 1) as usize][..3]),
            'B' => write!(out, "{}", MONTHS[(t.month - 1) as usize]),
            'w' => write!(out, "{}", t.weekday),
            'u' => write!(out, "{}", if t.weekday == 0 { 7 } else { t.weekday }),
            'z' => {
                let off = t.utc_offset_seconds;
                let abs = off.unsigned_abs();
                write!(out, "{}{:02}{:02}", if off < 0 { '-' } else { '+' }, abs / 3600, abs % 3600 / 60)
            }
            'Z' => write!(out, "{tz_name}"),
            'F' => write!(out, "{}-{:02}-{:02}", t.year, t.month, t.day),
            'T' => write!(out, "{:02}:{:02}:{:02}", t.hour, t.minute, t.second),
            'R' => write!(out, "{:02}:{:02}", t.hour, t.minute),
            'D' | 'x' => write!(out, "{:02}/{:02}/{:02}", t.month, t.day, t.year.rem_euclid(100)),
            'X' => write!(out, "{:02}:{:02}:{:02}", t.hour, t.minute, t.second),
            'c' => write!(
                out,
                "{} {} {:2} {:02}:{:02}:{:02} {}",
                &DAYS[t.weekday as usize][..3],
                &MONTHS[(t.month - 1) as usize][..3],
                t.day,
                t.hour,
                t.minute,
                t.second,
                t.year
            ),
            'n' => out.write_char('\n'),
            't' => out.write_char('\t'),
            '%' => out.write_char('%'),
            // glibc prints an unknown directive as it was written.
            other => write!(out, "%{other}"),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_leap_days() {
        let t = local_time(0.0, 0);
        assert_eq!((t.year, t.month, t.day, t.weekday, t.yday), (1970, 1, 1, 4, 0));
        let t = local_time(951_782_400.0 + 0.9, 3600); // 2000-02-29T00:00:00Z
        assert_eq!((t.year, t.month, t.day, t.hour, t.yday), (2000, 2, 29, 1, 59));
        for days in [-800_000_i64, -1, 0, 59, 11_016, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn strftime_c_locale() {
        let t = local_time(1_700_000_000.0, -5 * 3600);
        let mut s = String::new();
        strftime("%Y-%m-%d %H:%M:%S %z %Z %a %b %j %I%p %%", &t, "EST", &mut s);
        assert_eq!(s, "2023-11-14 17:13:20 -0500 EST Tue Nov 318 05PM %");
    }
}
