//! iCalendar (RFC 5545) date-times as promotion windows write them: `20261224T180000Z`,
//! `TZID=Europe/Berlin:20261224T180000`, a floating `20261224T180000` (read as UTC) or a date
//! `20261224` (midnight).

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

/// A local date-time and the zone it is read in.
#[derive(Debug, Clone)]
pub struct ZonedTime {
    pub zone: TimeZone,
    /// How the zone was written (`UTC` when none was).
    pub zone_name: String,
    pub local: DateTime,
}

impl ZonedTime {
    /// The instant; a local time in a DST gap is moved forward, one repeated in a fold takes
    /// its first occurrence (RFC 5545 §3.3.5).
    pub fn instant(&self) -> jiff::Timestamp {
        instant_in(&self.zone, self.local)
    }
}

/// `local` in `zone`, with RFC 5545's rule for times that do not exist or exist twice.
pub fn instant_in(zone: &TimeZone, local: DateTime) -> jiff::Timestamp {
    // `compatible` disambiguation is exactly RFC 5545's; it fails only out of jiff's range.
    zone.to_timestamp(local).unwrap_or(jiff::Timestamp::MAX)
}

/// Parses an iCal date-time value, with an optional `TZID=Zone:` prefix.
pub fn parse(text: &str) -> Result<ZonedTime, String> {
    let text = text.trim();
    let (zone_name, value) = match text.strip_prefix("TZID=") {
        Some(rest) => {
            let (zone, value) = rest
                .split_once(':')
                .ok_or_else(|| format!("{text:?}: TZID=ZONE must be followed by `:` and the time"))?;
            (Some(zone), value)
        }
        None => (None, text),
    };
    let (local, utc) = parse_value(value)?;
    let (zone, zone_name) = match (zone_name, utc) {
        (Some(_), true) => {
            return Err(format!("{text:?}: a time with TZID= must not end in Z (UTC)"));
        }
        (Some(name), false) => {
            let zone = TimeZone::get(name).map_err(|_| {
                format!(
                    "{text:?}: unknown time zone {name:?} (use an IANA name such as Europe/Berlin or America/New_York)"
                )
            })?;
            (zone, name.to_owned())
        }
        (None, _) => (TimeZone::UTC, "UTC".to_owned()),
    };
    Ok(ZonedTime { zone, zone_name, local })
}

/// `YYYYMMDD` or `YYYYMMDDTHHMMSS[Z]`: the local date-time and whether it is UTC.
pub fn parse_value(value: &str) -> Result<(DateTime, bool), String> {
    let invalid = || format!("{value:?} is not an iCal date-time such as 20261224T180000Z or 20261224");
    let (body, utc) = match value.strip_suffix('Z') {
        Some(body) => (body, true),
        None => (value, false),
    };
    if !body.bytes().all(|b| b.is_ascii_digit() || b == b'T') {
        return Err(invalid());
    }
    let number =
        |range: std::ops::Range<usize>| body.get(range).and_then(|s| s.parse::<i16>().ok()).ok_or_else(invalid);
    let date = match body.len() {
        8 | 15 => Date::new(number(0..4)?, number(4..6)? as i8, number(6..8)? as i8).map_err(|_| invalid())?,
        _ => return Err(invalid()),
    };
    if body.len() == 8 {
        return Ok((date.to_datetime(jiff::civil::Time::midnight()), utc));
    }
    if body.as_bytes()[8] != b'T' {
        return Err(invalid());
    }
    let (hour, minute, second) = (number(9..11)?, number(11..13)?, number(13..15)?);
    let time = jiff::civil::Time::new(hour as i8, minute as i8, second as i8, 0).map_err(|_| invalid())?;
    Ok((date.to_datetime(time), utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utc_zoned_floating_and_dates() {
        let utc = parse("20261224T180000Z").unwrap();
        assert_eq!(utc.instant().as_second(), 1_798_135_200);
        // Berlin is UTC+1 in December.
        let berlin = parse("TZID=Europe/Berlin:20261224T180000").unwrap();
        assert_eq!(berlin.instant().as_second(), 1_798_135_200 - 3600);
        assert_eq!(parse("20261224T180000").unwrap().instant(), utc.instant());
        assert_eq!(parse("20261224").unwrap().instant().as_second(), 1_798_135_200 - 18 * 3600);
    }

    #[test]
    fn refuses_what_is_not_a_date_time_and_says_how_to_write_one() {
        for bad in [
            "2026-12-24",
            "20261332T000000Z",
            "20261224T250000",
            "20261224X180000",
            "",
            "TZID=Mars/Base:20261224T180000",
        ] {
            let error = parse(bad).unwrap_err();
            assert!(error.contains("20261224") || error.contains("IANA"), "{bad}: {error}");
        }
        assert!(parse("TZID=Europe/Berlin:20261224T180000Z").unwrap_err().contains("must not end in Z"));
    }

    #[test]
    fn a_time_in_a_dst_gap_moves_forward_and_one_in_a_fold_takes_the_first() {
        // 2026-03-29 02:30 does not exist in Berlin (clocks jump 02:00 → 03:00): 03:30 CEST.
        let gap = parse("TZID=Europe/Berlin:20260329T023000").unwrap();
        assert_eq!(gap.instant(), parse("20260329T013000Z").unwrap().instant());
        // 2026-10-25 02:30 happens twice (03:00 CEST → 02:00 CET): the first, still CEST.
        let fold = parse("TZID=Europe/Berlin:20261025T023000").unwrap();
        assert_eq!(fold.instant(), parse("20261025T003000Z").unwrap().instant());
    }
}
