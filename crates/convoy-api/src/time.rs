//! RFC 3339 timestamps as Kubernetes writes them, without a time-zone database.

use std::fmt;

/// Seconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`; the fraction is dropped.
    pub fn parse(text: &str) -> Result<Timestamp, String> {
        let invalid = || format!("{text:?} is not an RFC 3339 time such as 2024-05-01T12:00:00Z");
        let b = text.as_bytes();
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't' | b' ')
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(invalid());
        }
        let num = |range: std::ops::Range<usize>| -> Result<i64, String> {
            let s = text.get(range).ok_or_else(invalid)?;
            if !s.bytes().all(|c| c.is_ascii_digit()) {
                return Err(invalid());
            }
            s.parse::<i64>().map_err(|_| invalid())
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return Err(invalid());
        }
        let mut rest = &text[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(invalid());
            }
            rest = &frac[digits..];
        }
        let offset = match rest {
            "Z" | "z" => 0,
            _ if rest.len() == 6 && matches!(&rest[..1], "+" | "-") && &rest[3..4] == ":" => {
                let sign = if rest.starts_with('-') { -1 } else { 1 };
                let (oh, om): (i64, i64) =
                    (rest[1..3].parse().map_err(|_| invalid())?, rest[4..6].parse().map_err(|_| invalid())?);
                sign * (oh * 3600 + om * 60)
            }
            _ => return Err(invalid()),
        };
        let days = days_from_civil(year, month, day);
        Ok(Timestamp(days * 86_400 + hour * 3600 + minute * 60 + second - offset))
    }

    pub fn seconds(self) -> i64 {
        self.0
    }

    /// The wall-clock time (the one place this crate reads the clock).
    pub fn now() -> Timestamp {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Timestamp(secs as i64)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(f, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, (secs % 3600) / 60, secs % 60)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        // `date -u -d 2024-02-29T12:34:56Z +%s` = 1709210096
        assert_eq!(Timestamp::parse("2024-02-29T12:34:56Z"), Ok(Timestamp(1_709_210_096)));
        assert_eq!(Timestamp::parse("2024-02-29T14:34:56.123+02:00"), Ok(Timestamp(1_709_210_096)));
        assert_eq!(Timestamp::parse("1970-01-01T00:00:00Z"), Ok(Timestamp(0)));
        assert_eq!(Timestamp(1_709_210_096).to_string(), "2024-02-29T12:34:56Z");
        for bad in ["2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "yesterday", "2024-01-01T00:00:00"] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }
}
