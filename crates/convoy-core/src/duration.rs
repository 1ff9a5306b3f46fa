//! Kargo's duration strings (`5m0s`, `1h30m`, `1.5h`): the pattern
//! `^([0-9]+(\.[0-9]+)?(s|m|h))+$`, a subset of Go's `time.ParseDuration`.

use std::time::Duration;

/// Parses a duration matching Kargo's pattern. Units: `s`, `m`, `h`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let invalid = || format!("{text:?} is not a duration; use a number with a unit s, m or h, e.g. 5m0s or 1h30m");
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !c.is_ascii_digit() && c != '.').ok_or_else(invalid)?;
        let number = &rest[..number_len];
        let valid_number = !number.is_empty()
            && !number.starts_with('.')
            && !number.ends_with('.')
            && number.matches('.').count() <= 1;
        if !valid_number {
            return Err(invalid());
        }
        let value: f64 = number.parse().map_err(|_| invalid())?;
        let unit = match rest[number_len..].chars().next() {
            Some('s') => 1.0,
            Some('m') => 60.0,
            Some('h') => 3600.0,
            _ => return Err(invalid()),
        };
        total += value * unit;
        rest = &rest[number_len + 1..];
    }
    Ok(Duration::from_secs_f64(total))
}

/// Formats like Go's `Duration.String()` for whole seconds: `5m0s`, `1h0m0s`, `30s`.
pub fn format(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kargo_durations() {
        assert_eq!(parse("5m0s"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        for bad in ["", "5", "5d", "m", "1.h", ".5h", "5m ", "-1m", "1ms"] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(format(Duration::from_secs(300)), "5m0s");
        assert_eq!(format(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format(Duration::from_secs(42)), "42s");
    }
}
