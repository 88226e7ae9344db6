//! `TimedRotatingFileHandler`'s `when`, read as CPython reads it (any case),
//! with CPython's messages: the host checks it when it reads a document,
//! the guest when a handler opens.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Seconds,
    Minutes,
    Hours,
    Days,
    Midnight,
    /// 0 is Monday.
    Weekday(u8),
}

/// `W<day>` from a day number, with CPython's message for one above 6.
pub fn weekday(day: u8) -> Result<When, String> {
    match day {
        0..=6 => Ok(When::Weekday(day)),
        _ => parse_when(&format!("W{day}")),
    }
}

pub fn parse_when(when: &str) -> Result<When, String> {
    let upper = when.to_ascii_uppercase();
    Ok(match upper.as_str() {
        "S" => When::Seconds,
        "M" => When::Minutes,
        "H" => When::Hours,
        "D" => When::Days,
        "MIDNIGHT" => When::Midnight,
        w if w.starts_with('W') => match w.as_bytes() {
            [b'W', d @ b'0'..=b'6'] => When::Weekday(d - b'0'),
            [b'W', _] => return Err(format!("Invalid day specified for weekly rollover: {w}")),
            _ => return Err(format!("You must specify a day for weekly rollover from 0 to 6 (0 is Monday): {w}")),
        },
        _ => return Err(format!("Invalid rollover interval specified: {upper} (use S, M, H, D, MIDNIGHT or W0-W6)")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpython_spellings_and_messages() {
        assert_eq!(parse_when("midnight"), Ok(When::Midnight));
        assert_eq!(parse_when("w6"), Ok(When::Weekday(6)));
        assert!(parse_when("W7").unwrap_err().starts_with("Invalid day specified"));
        assert!(parse_when("W10").unwrap_err().starts_with("You must specify a day"));
        assert!(parse_when("X").unwrap_err().starts_with("Invalid rollover interval specified: X"));
        assert_eq!(weekday(3), Ok(When::Weekday(3)));
        assert_eq!(weekday(7), parse_when("W7"));
        assert_eq!(weekday(10), parse_when("W10"));
    }
}
