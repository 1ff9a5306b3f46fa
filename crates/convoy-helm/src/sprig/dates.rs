//! Sprig's date functions on Go's `time.Time` (an object here): `now`, `date`/`dateInZone`
//! with Go's reference-time layouts, `htmlDate`, `toDate`, `unixEpoch`, `ago`, `duration`,
//! `durationRound`, `dateModify`. "Local" is UTC: Convoy renders the same output wherever the
//! server runs. Rendered times differ on every run, as with Helm.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp, Zoned, tz::TimeZone};

use crate::template::Func;
use crate::value::{Object, Value};

use super::{arity, plain, string};

/// Go's `time.Time`.
#[derive(Debug)]
pub(crate) struct Time(pub(crate) Zoned);

impl Object for Time {
    fn type_name(&self) -> &'static str {
        "time.Time"
    }
    fn field(&self, name: &str) -> Option<Value> {
        let z = &self.0;
        Some(match name {
            "Unix" => Value::Int64(z.timestamp().as_second()),
            "UnixNano" => Value::Int64(z.timestamp().as_nanosecond() as i64),
            "Nanosecond" => Value::Int(i64::from(z.subsec_nanosecond())),
            "Year" => Value::Int(i64::from(z.year())),
            "Month" => Value::Int(i64::from(z.month())),
            "Day" => Value::Int(i64::from(z.day())),
            "Hour" => Value::Int(i64::from(z.hour())),
            "Minute" => Value::Int(i64::from(z.minute())),
            "Second" => Value::Int(i64::from(z.second())),
            "YearDay" => Value::Int(i64::from(z.day_of_year())),
            "UTC" => Value::Object(Arc::new(Time(z.with_time_zone(TimeZone::UTC)))),
            _ => return None,
        })
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        (name == "Format").then(|| match args {
            [Value::String(layout)] => Ok(Value::from(format(&self.0, layout))),
            _ => Err("wrong type for value; expected string".into()),
        })
    }
    fn print(&self) -> String {
        format(&self.0, "2006-01-02 15:04:05.999999999 -0700 MST")
    }
}

fn zone(name: &str) -> Result<TimeZone, String> {
    match name {
        "" | "UTC" | "Local" => Ok(TimeZone::UTC),
        name => TimeZone::get(name).map_err(|_| format!("unknown time zone {name}")),
    }
}

/// Sprig's `toDate`-able inputs: a `time.Time`, or Unix seconds (int, int64, int32).
fn time_of(value: &Value, tz: &TimeZone) -> Zoned {
    let timestamp = match value {
        Value::Object(object) if object.type_name() == "time.Time" => {
            return match (object.field("Unix"), object.field("Nanosecond")) {
                (Some(Value::Int64(seconds)), Some(Value::Int(nanos))) => {
                    Timestamp::new(seconds, nanos as i32).unwrap_or(Timestamp::UNIX_EPOCH)
                }
                _ => Timestamp::UNIX_EPOCH,
            }
            .to_zoned(tz.clone());
        }
        Value::Int(s) | Value::Int64(s) => Timestamp::from_second(*s).unwrap_or(Timestamp::UNIX_EPOCH),
        // Anything else is `time.Now()` in Sprig's `date`.
        _ => Timestamp::now(),
    };
    timestamp.to_zoned(tz.clone())
}

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
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// Go's `Time.Format` with the reference time `Mon Jan 2 15:04:05 MST 2006`.
pub(crate) fn format(z: &Zoned, layout: &str) -> String {
    let mut out = String::new();
    let mut rest = layout;
    let offset = z.offset().seconds();
    let zone_offset = |colon: bool, seconds: bool, z_for_utc: bool| {
        if z_for_utc && offset == 0 {
            return "Z".to_owned();
        }
        let sign = if offset < 0 { '-' } else { '+' };
        let (h, m, s) = (offset.abs() / 3600, offset.abs() / 60 % 60, offset.abs() % 60);
        let sep = if colon { ":" } else { "" };
        let mut text = format!("{sign}{h:02}{sep}{m:02}");
        if seconds {
            text.push_str(&format!("{sep}{s:02}"));
        }
        text
    };
    let hour12 = |h: i8| if h % 12 == 0 { 12 } else { h % 12 };
    while !rest.is_empty() {
        let tokens: &[(&str, &dyn Fn() -> String)] = &[
            ("January", &|| MONTHS[z.month() as usize - 1].to_owned()),
            ("Jan", &|| MONTHS[z.month() as usize - 1][..3].to_owned()),
            ("Monday", &|| DAYS[z.weekday().to_monday_zero_offset() as usize].to_owned()),
            ("Mon", &|| DAYS[z.weekday().to_monday_zero_offset() as usize][..3].to_owned()),
            ("MST", &|| z.time_zone().to_offset_info(z.timestamp()).abbreviation().to_owned()),
            ("2006", &|| format!("{:04}", z.year())),
            ("Z07:00:00", &|| zone_offset(true, true, true)),
            ("-07:00:00", &|| zone_offset(true, true, false)),
            ("Z070000", &|| zone_offset(false, true, true)),
            ("-070000", &|| zone_offset(false, true, false)),
            ("Z07:00", &|| zone_offset(true, false, true)),
            ("-07:00", &|| zone_offset(true, false, false)),
            ("Z0700", &|| zone_offset(false, false, true)),
            ("-0700", &|| zone_offset(false, false, false)),
            ("Z07", &|| if offset == 0 { "Z".into() } else { zone_offset(false, false, false)[..3].to_owned() }),
            ("-07", &|| zone_offset(false, false, false)[..3].to_owned()),
            ("002", &|| format!("{:03}", z.day_of_year())),
            ("01", &|| format!("{:02}", z.month())),
            ("02", &|| format!("{:02}", z.day())),
            ("_2", &|| format!("{:>2}", z.day())),
            ("06", &|| format!("{:02}", z.year() % 100)),
            ("15", &|| format!("{:02}", z.hour())),
            ("03", &|| format!("{:02}", hour12(z.hour()))),
            ("04", &|| format!("{:02}", z.minute())),
            ("05", &|| format!("{:02}", z.second())),
            ("PM", &|| if z.hour() >= 12 { "PM".into() } else { "AM".into() }),
            ("pm", &|| if z.hour() >= 12 { "pm".into() } else { "am".into() }),
            ("1", &|| z.month().to_string()),
            ("2", &|| z.day().to_string()),
            ("3", &|| hour12(z.hour()).to_string()),
            ("4", &|| z.minute().to_string()),
            ("5", &|| z.second().to_string()),
        ];
        // Fractional seconds: .000 (fixed) or .999 (trailing zeros dropped), after a . or ,.
        if let Some(after) = rest.strip_prefix('.').or_else(|| rest.strip_prefix(','))
            && let Some(digit @ ('0' | '9')) = after.chars().next()
        {
            let count = after.chars().take_while(|c| *c == digit).count();
            if !after[count..].starts_with(|c: char| c.is_ascii_digit()) {
                let nanos = format!("{:09}", z.subsec_nanosecond());
                let mut fraction = nanos[..count.min(9)].to_owned();
                if digit == '9' {
                    fraction = fraction.trim_end_matches('0').to_owned();
                }
                if !fraction.is_empty() {
                    out.push_str(&rest[..1]);
                    out.push_str(&fraction);
                }
                rest = &after[count..];
                continue;
            }
        }
        match tokens.iter().find(|(token, _)| rest.starts_with(token)) {
            Some((token, value)) => {
                out.push_str(&value());
                rest = &rest[token.len()..];
            }
            None => {
                let c = rest.chars().next().unwrap_or_default();
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// Go's `time.Parse` for the layouts charts give `toDate`: the same tokens, read back.
fn parse(layout: &str, text: &str) -> Result<Zoned, String> {
    let fail = || format!("parsing time {text:?} as {layout:?}: cannot parse");
    let (mut year, mut month, mut day, mut hour, mut minute, mut second, mut nanos) =
        (1i16, 1i8, 1i8, 0i8, 0i8, 0i8, 0i32);
    let mut pm: Option<bool> = None;
    let mut offset_seconds: Option<i32> = None;
    let (mut l, mut t) = (layout, text);
    let number = |t: &mut &str, min: usize, max: usize| -> Result<i64, String> {
        let digits = t.chars().take(max).take_while(char::is_ascii_digit).count();
        if digits < min {
            return Err(fail());
        }
        let value = t[..digits].parse().map_err(|_| fail())?;
        *t = &t[digits..];
        Ok(value)
    };
    while !l.is_empty() {
        let token = [
            "2006", "01", "02", "_2", "15", "03", "04", "05", "Z07:00", "-07:00", "Z0700", "-0700", "PM", "pm", "Jan",
            "1", "2", "3", "4", "5", "06",
        ]
        .into_iter()
        .find(|token| l.starts_with(token));
        match token {
            Some(token) => {
                l = &l[token.len()..];
                match token {
                    "2006" => year = number(&mut t, 4, 4)? as i16,
                    "06" => year = 2000 + number(&mut t, 2, 2)? as i16,
                    "01" | "1" => month = number(&mut t, token.len(), 2)? as i8,
                    "02" | "2" => day = number(&mut t, token.len(), 2)? as i8,
                    "_2" => {
                        t = t.strip_prefix(' ').unwrap_or(t);
                        day = number(&mut t, 1, 2)? as i8;
                    }
                    "15" | "03" | "3" => hour = number(&mut t, if token == "3" { 1 } else { 2 }, 2)? as i8,
                    "04" | "4" => minute = number(&mut t, token.len(), 2)? as i8,
                    "05" | "5" => {
                        second = number(&mut t, token.len(), 2)? as i8;
                        if let Some(after) = t.strip_prefix('.') {
                            let digits = after.chars().take_while(char::is_ascii_digit).count();
                            if digits > 0 && !l.starts_with('.') {
                                let padded = format!("{:0<9}", &after[..digits.min(9)]);
                                nanos = padded.parse().map_err(|_| fail())?;
                                t = &after[digits..];
                            }
                        }
                    }
                    "PM" | "pm" => {
                        let word = t.get(..2).ok_or_else(fail)?.to_ascii_uppercase();
                        pm = Some(word == "PM");
                        t = &t[2..];
                    }
                    "Jan" => {
                        let index = MONTHS.iter().position(|m| t.starts_with(&m[..3])).ok_or_else(fail)?;
                        month = index as i8 + 1;
                        t = &t[3..];
                    }
                    zone => {
                        if zone.starts_with('Z') && t.starts_with('Z') {
                            offset_seconds = Some(0);
                            t = &t[1..];
                        } else {
                            let sign = match t.chars().next() {
                                Some('+') => 1,
                                Some('-') => -1,
                                _ => return Err(fail()),
                            };
                            t = &t[1..];
                            let h = number(&mut t, 2, 2)?;
                            if zone.contains(':') {
                                t = t.strip_prefix(':').ok_or_else(fail)?;
                            }
                            let m = number(&mut t, 2, 2)?;
                            offset_seconds = Some(sign * (h * 3600 + m * 60) as i32);
                        }
                    }
                }
            }
            None => {
                let c = l.chars().next().unwrap_or_default();
                t = t.strip_prefix(c).ok_or_else(fail)?;
                l = &l[c.len_utf8()..];
            }
        }
    }
    if !t.is_empty() {
        return Err(format!("parsing time {text:?}: extra text: {t:?}"));
    }
    if let Some(pm) = pm {
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    let civil = jiff::civil::DateTime::new(year, month, day, hour, minute, second, nanos).map_err(|_| fail())?;
    let tz = match offset_seconds {
        Some(seconds) => TimeZone::fixed(jiff::tz::Offset::from_seconds(seconds).map_err(|_| fail())?),
        None => TimeZone::UTC,
    };
    civil.to_zoned(tz).map_err(|_| fail())
}

/// Go's `Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
pub(crate) fn duration_string(nanos: i128) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    let fraction = |value: u128, unit: u128, suffix: &str| {
        let whole = value / unit;
        let rest = value % unit;
        let digits = unit.to_string().len() - 1;
        let mut text = whole.to_string();
        if rest > 0 {
            let frac = format!("{rest:0digits$}");
            text.push('.');
            text.push_str(frac.trim_end_matches('0'));
        }
        text.push_str(suffix);
        text
    };
    if n < 1_000 {
        return format!("{sign}{n}ns");
    }
    if n < 1_000_000 {
        return format!("{sign}{}", fraction(n, 1_000, "µs"));
    }
    if n < 1_000_000_000 {
        return format!("{sign}{}", fraction(n, 1_000_000, "ms"));
    }
    let (hours, minutes) = (n / 3_600_000_000_000, n / 60_000_000_000 % 60);
    let seconds = fraction(n % 60_000_000_000, 1_000_000_000, "s");
    match (hours, minutes) {
        (0, 0) => format!("{sign}{seconds}"),
        (0, m) => format!("{sign}{m}m{seconds}"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}"),
    }
}

/// Go's `time.ParseDuration`: `-1.5h`, `2h45m`, `300ms`.
fn parse_duration(text: &str) -> Result<i128, String> {
    let fail = || format!("time: invalid duration {}", crate::gofmt::quote(text));
    let (sign, mut rest) = match text.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(fail());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').count();
        let value: f64 = rest[..number].parse().map_err(|_| fail())?;
        rest = &rest[number..];
        let unit = rest.chars().take_while(|c| !c.is_ascii_digit() && *c != '.').collect::<String>();
        rest = &rest[unit.len()..];
        let scale = match unit.as_str() {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(fail()),
        };
        total += value * scale;
    }
    Ok((sign * total).round() as i128)
}

fn time(z: Zoned) -> Value {
    Value::Object(Arc::new(Time(z)))
}

/// Sprig's `durationRound`: the largest whole unit (`2h`, `3mo`, `1y`), sign dropped, and
/// `0s` up to a second. Strings are Go durations, int64 nanoseconds, a time the time since it;
/// anything else is 0.
fn duration_round(value: &Value) -> String {
    let nanos: i128 = match value {
        Value::String(s) => parse_duration(s).unwrap_or(0),
        Value::Int64(n) => i128::from(*n),
        Value::Object(o) if o.type_name() == "time.Time" => match o.field("Unix") {
            Some(Value::Int64(unix)) => i128::from(Timestamp::now().as_second() - unix) * 1_000_000_000,
            _ => 0,
        },
        _ => 0,
    };
    let n = nanos.unsigned_abs();
    let second = 1_000_000_000u128;
    let (minute, hour) = (60 * second, 3600 * second);
    let (day, month, year) = (24 * hour, 30 * 24 * hour, 365 * 24 * hour);
    for (unit, suffix) in [(year, "y"), (month, "mo"), (day, "d"), (hour, "h"), (minute, "m"), (second, "s")] {
        if n > unit {
            return format!("{}{suffix}", n / unit);
        }
    }
    "0s".into()
}

/// Sprig's `duration`: seconds given as a decimal string or an int64; anything else is 0.
fn duration_seconds(value: &Value) -> i64 {
    match value {
        Value::String(s) => s.parse::<i64>().unwrap_or(0),
        Value::Int64(n) => *n,
        _ => 0,
    }
}

pub(super) fn all() -> Vec<(&'static str, Func)> {
    let date: Func = plain(|a| {
        arity("date", &a, 2)?;
        Ok(Value::from(format(&time_of(&a[1], &TimeZone::UTC), string(&a[0])?)))
    });
    let date_in_zone: Func = plain(|a| {
        arity("dateInZone", &a, 3)?;
        let tz = zone(string(&a[2])?).unwrap_or(TimeZone::UTC);
        Ok(Value::from(format(&time_of(&a[1], &tz), string(&a[0])?)))
    });
    let to_date: fn(Vec<Value>, bool) -> Result<Value, String> = |a, must| {
        arity(if must { "mustToDate" } else { "toDate" }, &a, 2)?;
        match parse(string(&a[0])?, string(&a[1])?) {
            Ok(z) => Ok(time(z)),
            Err(e) if must => Err(e),
            // Go's zero time.
            Err(_) => {
                Ok(time(jiff::civil::date(1, 1, 1).at(0, 0, 0, 0).to_zoned(TimeZone::UTC).map_err(|e| e.to_string())?))
            }
        }
    };
    let date_modify: fn(Vec<Value>, bool) -> Result<Value, String> = |a, must| {
        arity(if must { "mustDateModify" } else { "dateModify" }, &a, 2)?;
        let base = time_of(&a[1], &TimeZone::UTC);
        match parse_duration(string(&a[0])?) {
            Ok(nanos) => {
                let shifted = base.checked_add(SignedDuration::from_nanos(nanos as i64)).map_err(|e| e.to_string())?;
                Ok(time(shifted))
            }
            Err(e) if must => Err(e),
            Err(_) => Ok(time(base)),
        }
    };
    vec![
        ("now", plain(|a| arity("now", &a, 0).map(|()| time(Timestamp::now().to_zoned(TimeZone::UTC))))),
        ("date", date.clone()),
        ("dateInZone", date_in_zone.clone()),
        ("date_in_zone", date_in_zone),
        (
            "htmlDate",
            plain(|a| {
                arity("htmlDate", &a, 1).map(|()| Value::from(format(&time_of(&a[0], &TimeZone::UTC), "2006-01-02")))
            }),
        ),
        (
            "htmlDateInZone",
            plain(|a| {
                arity("htmlDateInZone", &a, 2)?;
                let tz = zone(string(&a[1])?).unwrap_or(TimeZone::UTC);
                Ok(Value::from(format(&time_of(&a[0], &tz), "2006-01-02")))
            }),
        ),
        ("toDate", Arc::new(move |_, a| to_date(a, false))),
        ("mustToDate", Arc::new(move |_, a| to_date(a, true))),
        ("dateModify", Arc::new(move |_, a| date_modify(a, false))),
        ("date_modify", Arc::new(move |_, a| date_modify(a, false))),
        ("mustDateModify", Arc::new(move |_, a| date_modify(a, true))),
        ("must_date_modify", Arc::new(move |_, a| date_modify(a, true))),
        (
            "unixEpoch",
            plain(|a| {
                arity("unixEpoch", &a, 1)?;
                Ok(Value::from(time_of(&a[0], &TimeZone::UTC).timestamp().as_second().to_string()))
            }),
        ),
        (
            "ago",
            plain(|a| {
                arity("ago", &a, 1)?;
                let then = time_of(&a[0], &TimeZone::UTC).timestamp().as_second();
                Ok(Value::from(duration_string(i128::from(Timestamp::now().as_second() - then) * 1_000_000_000)))
            }),
        ),
        (
            "duration",
            plain(|a| {
                arity("duration", &a, 1)
                    .map(|()| Value::from(duration_string(i128::from(duration_seconds(&a[0])) * 1_000_000_000)))
            }),
        ),
        ("durationRound", plain(|a| arity("durationRound", &a, 1).map(|()| Value::from(duration_round(&a[0]))))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Zoned {
        text.parse().unwrap()
    }

    /// Go's documented layouts applied to its own reference time and to another.
    #[test]
    fn go_layouts() {
        let reference = at("2006-01-02T15:04:05.123456789-07:00[-07:00]");
        assert_eq!(format(&reference, "2006-01-02T15:04:05Z07:00"), "2006-01-02T15:04:05-07:00");
        assert_eq!(format(&reference, "Mon Jan _2 15:04:05 2006"), "Mon Jan  2 15:04:05 2006");
        assert_eq!(format(&reference, "02 Jan 06 15:04 -0700"), "02 Jan 06 15:04 -0700");
        assert_eq!(format(&reference, "Monday, 02-Jan-06 3:04:05 PM"), "Monday, 02-Jan-06 3:04:05 PM");
        assert_eq!(format(&reference, "2006-01-02 15:04:05.000"), "2006-01-02 15:04:05.123");
        assert_eq!(format(&reference, "15:04:05.999999999"), "15:04:05.123456789");
        let other = at("2024-11-09T08:07:06Z[UTC]");
        assert_eq!(format(&other, "2006-01-02T15:04:05Z07:00"), "2024-11-09T08:07:06Z");
        assert_eq!(format(&other, "Jan 2, 2006 at 3:04pm (MST)"), "Nov 9, 2024 at 8:07am (UTC)");
        assert_eq!(format(&other, "20060102150405"), "20241109080706");
        assert_eq!(format(&other, "15:04:05.999"), "08:07:06", "trailing zeros of .999 go");
        assert_eq!(format(&other, "002"), "314");
    }

    #[test]
    fn the_functions_in_templates() {
        let render = |source: &str| {
            let mut set = crate::engine::new_set();
            set.add("t", source).unwrap();
            set.execute("t", &Value::Nil).unwrap()
        };
        assert_eq!(render(r#"{{ now | date "2006" }}"#), Timestamp::now().to_zoned(TimeZone::UTC).year().to_string());
        assert_eq!(render(r#"{{ toDate "2006-01-02" "2017-12-31" | date "02/01/2006" }}"#), "31/12/2017");
        let noon = r#"(toDate "2006-01-02T15:04:05Z07:00" "2024-01-01T12:00:00Z")"#;
        assert_eq!(
            render(&format!(r#"{{{{ dateInZone "2006-01-02 15:04 MST" {noon} "Asia/Tokyo" }}}}"#)),
            "2024-01-01 21:00 JST"
        );
        assert_eq!(
            render(&format!(r#"{{{{ {noon} | unixEpoch }}}} {{{{ {noon} | htmlDate }}}}"#)),
            "1704110400 2024-01-01"
        );
        assert_eq!(render(&format!(r#"{{{{ dateModify "-1.5h" {noon} | date "15:04" }}}}"#)), "10:30");
        assert_eq!(
            render(
                r#"{{ duration "95" }} {{ duration 95 }} {{ durationRound "2h5m" }} {{ toDate "2006" "x" | date "2006" }}"#
            ),
            "1m35s 0s 2h 0001",
            "an int literal is not an int64: Sprig's duration reads it as 0"
        );
    }

    #[test]
    fn to_date_reads_what_date_writes() {
        let parsed = parse("2006-01-02", "2017-12-31").unwrap();
        assert_eq!(format(&parsed, "02/01/2006"), "31/12/2017", "Sprig's toDate example");
        let parsed = parse("2006-01-02T15:04:05Z07:00", "2024-03-10T01:02:03+02:00").unwrap();
        assert_eq!(parsed.timestamp().as_second(), 1_710_025_323);
        assert!(parse("2006-01-02", "2017-13-31").is_err());
        assert!(parse("2006-01-02", "2017-12-31x").unwrap_err().contains("extra text"));
    }

    #[test]
    fn durations_as_go_prints_them() {
        let second = 1_000_000_000i128;
        assert_eq!(duration_string(95 * second), "1m35s", "Sprig's duration example");
        assert_eq!(duration_string(0), "0s");
        assert_eq!(duration_string(3 * 3600 * second + 1_500_000_000), "3h0m1.5s");
        assert_eq!(duration_string(1_500_000), "1.5ms");
        assert_eq!(duration_string(-90 * second), "-1m30s");
        assert_eq!(parse_duration("-1.5h").unwrap(), -5400 * second);
        assert_eq!(parse_duration("2h45m").unwrap(), (2 * 3600 + 45 * 60) * second);
        assert!(parse_duration("5 days").is_err());
        assert_eq!(duration_round(&Value::from("2h5m")), "2h");
        assert_eq!(duration_round(&Value::Int64(400 * 86_400 * 1_000_000_000)), "1y");
        assert_eq!(duration_round(&Value::from("-90m")), "1h", "the sign is dropped");
        assert_eq!(duration_round(&Value::Int(7_200)), "0s", "an int is not a duration to Sprig");
    }
}
