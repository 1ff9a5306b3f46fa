//! RFC 5545 recurrence rules (`RRULE`), expanded in the start's time zone.
//!
//! Supported: `FREQ` (`YEARLY` … `HOURLY`), `INTERVAL`, `COUNT`, `UNTIL`, `BYMONTH`,
//! `BYMONTHDAY`, `BYDAY` (with ordinals for monthly and yearly rules), `BYHOUR`, `BYMINUTE`,
//! `BYSECOND`, `WKST`. `BYSETPOS`, `BYYEARDAY`, `BYWEEKNO` and sub-hourly frequencies are
//! refused with a clear error rather than read approximately. As in most implementations
//! (python-dateutil, rrule-go), the start counts only when it matches the rule.

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, Unit};

use super::ical::{self, instant_in};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freq {
    Yearly,
    Monthly,
    Weekly,
    Daily,
    Hourly,
}

/// A parsed rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub freq: Freq,
    pub interval: i32,
    pub count: Option<u32>,
    /// A local or UTC end (`Z`), inclusive.
    until: Option<(DateTime, bool)>,
    by_month: Vec<i8>,
    by_month_day: Vec<i8>,
    /// (ordinal, weekday); ordinal 0 means every such weekday.
    by_day: Vec<(i8, Weekday)>,
    by_hour: Vec<i8>,
    by_minute: Vec<i8>,
    by_second: Vec<i8>,
    week_start: Weekday,
}

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("MO", Weekday::Monday),
    ("TU", Weekday::Tuesday),
    ("WE", Weekday::Wednesday),
    ("TH", Weekday::Thursday),
    ("FR", Weekday::Friday),
    ("SA", Weekday::Saturday),
    ("SU", Weekday::Sunday),
];

fn weekday(text: &str) -> Option<Weekday> {
    WEEKDAYS.iter().find(|(name, _)| *name == text).map(|(_, day)| *day)
}

fn numbers(key: &str, value: &str, range: std::ops::RangeInclusive<i8>, signed: bool) -> Result<Vec<i8>, String> {
    let mut out = Vec::new();
    for part in value.split(',') {
        let n: i8 = part.parse().map_err(|_| format!("{key}={value}: {part:?} is not a number"))?;
        let magnitude = if signed { n.abs() } else { n };
        if !range.contains(&magnitude) || (signed && n == 0) {
            return Err(format!("{key}={value}: {n} is out of range ({}..={})", range.start(), range.end()));
        }
        out.push(n);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

impl Rule {
    /// Parses `FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=9` (an `RRULE:` prefix is allowed).
    pub fn parse(text: &str) -> Result<Rule, String> {
        let body = text.trim();
        let body = body.strip_prefix("RRULE:").unwrap_or(body);
        let mut rule = Rule {
            freq: Freq::Daily,
            interval: 1,
            count: None,
            until: None,
            by_month: Vec::new(),
            by_month_day: Vec::new(),
            by_day: Vec::new(),
            by_hour: Vec::new(),
            by_minute: Vec::new(),
            by_second: Vec::new(),
            week_start: Weekday::Monday,
        };
        let mut seen = std::collections::BTreeSet::new();
        let mut freq = None;
        for part in body.split(';').filter(|p| !p.is_empty()) {
            let (key, value) =
                part.split_once('=').ok_or_else(|| format!("{part:?} is not KEY=VALUE (e.g. FREQ=DAILY)"))?;
            let key = key.to_ascii_uppercase();
            if !seen.insert(key.clone()) {
                return Err(format!("{key} is given twice"));
            }
            match key.as_str() {
                "FREQ" => {
                    freq = Some(match value {
                        "YEARLY" => Freq::Yearly,
                        "MONTHLY" => Freq::Monthly,
                        "WEEKLY" => Freq::Weekly,
                        "DAILY" => Freq::Daily,
                        "HOURLY" => Freq::Hourly,
                        "MINUTELY" | "SECONDLY" => {
                            return Err(format!(
                                "FREQ={value} is not supported for promotion windows (HOURLY at the finest)"
                            ));
                        }
                        other => {
                            return Err(format!(
                                "FREQ={other} is not a frequency (YEARLY, MONTHLY, WEEKLY, DAILY or HOURLY)"
                            ));
                        }
                    })
                }
                "INTERVAL" => {
                    rule.interval = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=10_000).contains(n))
                        .ok_or_else(|| format!("INTERVAL={value} must be a whole number from 1 to 10000"))?
                }
                "COUNT" => {
                    rule.count = Some(
                        value
                            .parse()
                            .ok()
                            .filter(|n| (1..=100_000).contains(n))
                            .ok_or_else(|| format!("COUNT={value} must be a whole number from 1 to 100000"))?,
                    )
                }
                "UNTIL" => rule.until = Some(ical::parse_value(value).map_err(|e| format!("UNTIL: {e}"))?),
                "BYMONTH" => rule.by_month = numbers("BYMONTH", value, 1..=12, false)?,
                "BYMONTHDAY" => rule.by_month_day = numbers("BYMONTHDAY", value, 1..=31, true)?,
                "BYHOUR" => rule.by_hour = numbers("BYHOUR", value, 0..=23, false)?,
                "BYMINUTE" => rule.by_minute = numbers("BYMINUTE", value, 0..=59, false)?,
                "BYSECOND" => rule.by_second = numbers("BYSECOND", value, 0..=59, false)?,
                "BYDAY" => {
                    for entry in value.split(',') {
                        let split = entry.len().saturating_sub(2);
                        let (ordinal, day) = entry.split_at(split);
                        let day = weekday(day).ok_or_else(|| {
                            format!("BYDAY={value}: {entry:?} is not a weekday (MO … SU, optionally 1MO or -1FR)")
                        })?;
                        let ordinal: i8 = match ordinal {
                            "" => 0,
                            n => n
                                .trim_start_matches('+')
                                .parse()
                                .ok()
                                .filter(|n: &i8| (1..=53).contains(&n.abs()))
                                .ok_or_else(|| format!("BYDAY={value}: {entry:?} has an ordinal outside ±1..53"))?,
                        };
                        rule.by_day.push((ordinal, day));
                    }
                }
                "WKST" => {
                    rule.week_start =
                        weekday(value).ok_or_else(|| format!("WKST={value} is not a weekday (MO … SU)"))?
                }
                "BYSETPOS" | "BYYEARDAY" | "BYWEEKNO" => {
                    return Err(format!(
                        "{key} is not supported for promotion windows; express the window with BYMONTH, BYMONTHDAY, BYDAY and BYHOUR"
                    ));
                }
                other => return Err(format!("{other} is not an RRULE part")),
            }
        }
        rule.freq = freq.ok_or("FREQ is required (e.g. FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR)")?;
        if rule.count.is_some() && rule.until.is_some() {
            return Err("COUNT and UNTIL must not both be given".into());
        }
        let ordinals = rule.by_day.iter().any(|(n, _)| *n != 0);
        if ordinals && !matches!(rule.freq, Freq::Monthly | Freq::Yearly) {
            return Err("BYDAY ordinals (1MO, -1FR) need FREQ=MONTHLY or FREQ=YEARLY".into());
        }
        if rule.freq == Freq::Weekly && !rule.by_month_day.is_empty() {
            return Err("BYMONTHDAY cannot be used with FREQ=WEEKLY".into());
        }
        Ok(rule)
    }

    /// Calls `each` with the start of every occurrence from `start` (the rule's DTSTART, local
    /// in `zone`) that may end after `from` (given the longest occurrence, `longest`), in order,
    /// until one starts after `to` or `each` answers false.
    pub fn occurrences(
        &self,
        zone: &TimeZone,
        start: DateTime,
        from: Timestamp,
        to: Timestamp,
        longest: i64,
        each: &mut dyn FnMut(Timestamp, DateTime) -> bool,
    ) {
        let first = instant_in(zone, start);
        let until = self
            .until
            .map(|(local, utc)| if utc { instant_in(&TimeZone::UTC, local) } else { instant_in(zone, local) });
        // Without COUNT, periods wholly before `from` need not be walked (a day of margin
        // covers offsets changing in between).
        let mut period = match self.count {
            Some(_) => 0,
            None => {
                let earliest = from.as_second().saturating_sub(longest + 86_400);
                let earliest = Timestamp::from_second(earliest).unwrap_or(Timestamp::MIN);
                self.period_of(start, earliest.to_zoned(zone.clone()).datetime()).saturating_sub(1).max(0)
            }
        };
        let mut emitted = 0u32;
        loop {
            let Some(anchor) = self.anchor(start, period) else { return };
            if instant_in(zone, anchor) > to {
                return;
            }
            for local in self.candidates(start, anchor) {
                let instant = instant_in(zone, local);
                if instant < first {
                    continue;
                }
                if until.is_some_and(|u| instant > u) {
                    return;
                }
                emitted += 1;
                if self.count.is_some_and(|c| emitted > c) || !each(instant, local) {
                    return;
                }
            }
            period += 1;
        }
    }

    /// The index of the period holding `at` (negative before the start).
    fn period_of(&self, start: DateTime, at: DateTime) -> i64 {
        let interval = i64::from(self.interval);
        let days = |from: Date| from.until(at.date()).map(|s| i64::from(s.get_days())).unwrap_or(0);
        let steps = match self.freq {
            Freq::Daily => days(start.date()),
            Freq::Weekly => days(week_start(start.date(), self.week_start)).div_euclid(7),
            Freq::Monthly => {
                (i64::from(at.year()) - i64::from(start.year())) * 12 + i64::from(at.month()) - i64::from(start.month())
            }
            Freq::Yearly => i64::from(at.year()) - i64::from(start.year()),
            Freq::Hourly => {
                truncate_to_hour(start).until((Unit::Hour, at)).map(|s| i64::from(s.get_hours())).unwrap_or(0)
            }
        };
        steps.div_euclid(interval)
    }

    /// The first moment of period `index`; `None` past jiff's range (year 9999).
    fn anchor(&self, start: DateTime, index: i64) -> Option<DateTime> {
        let steps = index.checked_mul(i64::from(self.interval))?;
        let midnight = jiff::civil::Time::midnight();
        match self.freq {
            Freq::Daily => {
                start.date().checked_add(Span::new().try_days(steps).ok()?).ok().map(|d| d.to_datetime(midnight))
            }
            Freq::Weekly => week_start(start.date(), self.week_start)
                .checked_add(Span::new().try_weeks(steps).ok()?)
                .ok()
                .map(|d| d.to_datetime(midnight)),
            Freq::Monthly => {
                let month0 = i64::from(start.year()) * 12 + i64::from(start.month()) - 1 + steps;
                let year = i16::try_from(month0.div_euclid(12)).ok()?;
                Date::new(year, (month0.rem_euclid(12) + 1) as i8, 1).ok().map(|d| d.to_datetime(midnight))
            }
            Freq::Yearly => {
                let year = i16::try_from(i64::from(start.year()) + steps).ok()?;
                Date::new(year, 1, 1).ok().map(|d| d.to_datetime(midnight))
            }
            Freq::Hourly => truncate_to_hour(start).checked_add(Span::new().try_hours(steps).ok()?).ok(),
        }
    }

    /// The occurrences of the period starting at `anchor`, in order.
    fn candidates(&self, start: DateTime, anchor: DateTime) -> Vec<DateTime> {
        let day = anchor.date();
        let dates: Vec<Date> = match self.freq {
            Freq::Hourly | Freq::Daily => {
                let limited = self.month_ok(day)
                    && (self.by_month_day.is_empty() || self.month_day_matches(day))
                    && (self.by_day.is_empty() || self.by_day.iter().any(|(_, d)| *d == day.weekday()));
                if limited { vec![day] } else { Vec::new() }
            }
            Freq::Weekly => (0..7)
                .filter_map(|offset| day.checked_add(Span::new().days(offset)).ok())
                .filter(|d| {
                    let wanted = if self.by_day.is_empty() {
                        d.weekday() == start.weekday()
                    } else {
                        self.by_day.iter().any(|(_, w)| *w == d.weekday())
                    };
                    wanted && self.month_ok(*d)
                })
                .collect(),
            Freq::Monthly => {
                if self.month_ok(day) {
                    self.month_days(start, day.year(), day.month())
                } else {
                    Vec::new()
                }
            }
            Freq::Yearly => {
                let year = day.year();
                if !self.by_month.is_empty() {
                    self.by_month.iter().flat_map(|m| self.month_days(start, year, *m)).collect()
                } else if !self.by_day.is_empty() && self.by_month_day.is_empty() {
                    self.year_days_by_weekday(year)
                } else if !self.by_month_day.is_empty() {
                    (1..=12).flat_map(|m| self.month_days(start, year, m)).collect()
                } else {
                    Date::new(year, start.month(), start.day()).ok().into_iter().collect()
                }
            }
        };
        let hours: Vec<i8> = match self.freq {
            Freq::Hourly => {
                if self.by_hour.is_empty() || self.by_hour.contains(&anchor.hour()) {
                    vec![anchor.hour()]
                } else {
                    Vec::new()
                }
            }
            _ if self.by_hour.is_empty() => vec![start.hour()],
            _ => self.by_hour.clone(),
        };
        let minutes = if self.by_minute.is_empty() { vec![start.minute()] } else { self.by_minute.clone() };
        let seconds = if self.by_second.is_empty() { vec![start.second()] } else { self.by_second.clone() };
        let mut out = Vec::new();
        for date in dates {
            for &h in &hours {
                for &m in &minutes {
                    for &s in &seconds {
                        if let Ok(time) = jiff::civil::Time::new(h, m, s, 0) {
                            out.push(date.to_datetime(time));
                        }
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn month_ok(&self, day: Date) -> bool {
        self.by_month.is_empty() || self.by_month.contains(&day.month())
    }

    fn month_day_matches(&self, day: Date) -> bool {
        let last = day.days_in_month();
        self.by_month_day.iter().any(|&n| if n > 0 { n == day.day() } else { last + 1 + n == day.day() })
    }

    /// The days of one month a monthly (or by-month yearly) rule selects.
    fn month_days(&self, start: DateTime, year: i16, month: i8) -> Vec<Date> {
        let Ok(first) = Date::new(year, month, 1) else { return Vec::new() };
        let days = (1..=first.days_in_month()).filter_map(|d| Date::new(year, month, d).ok());
        if !self.by_month_day.is_empty() {
            days.filter(|d| self.month_day_matches(*d) && (self.by_day.is_empty() || self.weekday_in_month(*d)))
                .collect()
        } else if !self.by_day.is_empty() {
            days.filter(|d| self.weekday_in_month(*d)).collect()
        } else {
            Date::new(year, month, start.day()).ok().into_iter().collect()
        }
    }

    /// Whether `day` is one of BYDAY's weekdays, counted within its month (`2TU`, `-1FR`).
    fn weekday_in_month(&self, day: Date) -> bool {
        let nth = (day.day() - 1) / 7 + 1;
        let nth_from_end = -((day.days_in_month() - day.day()) / 7 + 1);
        self.by_day.iter().any(|&(n, w)| w == day.weekday() && (n == 0 || n == nth || n == nth_from_end))
    }

    /// BYDAY without BYMONTH in a yearly rule: weekdays counted within the year (`20MO`).
    fn year_days_by_weekday(&self, year: i16) -> Vec<Date> {
        let Ok(jan1) = Date::new(year, 1, 1) else { return Vec::new() };
        let length = jan1.days_in_year();
        (0..length)
            .filter_map(|offset| jan1.checked_add(Span::new().days(offset)).ok())
            .filter(|d| {
                let index = d.day_of_year();
                let nth = ((index - 1) / 7 + 1) as i8;
                let nth_from_end = -(((length - index) / 7 + 1) as i8);
                self.by_day.iter().any(|&(n, w)| w == d.weekday() && (n == 0 || n == nth || n == nth_from_end))
            })
            .collect()
    }
}

fn week_start(day: Date, first: Weekday) -> Date {
    let back = first.until(day.weekday());
    day.checked_sub(Span::new().days(back)).unwrap_or(day)
}

fn truncate_to_hour(at: DateTime) -> DateTime {
    at.date().to_datetime(jiff::civil::Time::new(at.hour(), 0, 0, 0).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn collect(rule: &Rule, zone: &TimeZone, start: DateTime, from: Timestamp, to: Timestamp) -> Vec<Timestamp> {
        let mut out = Vec::new();
        rule.occurrences(zone, start, from, to, 3600, &mut |at, _| {
            out.push(at);
            true
        });
        out
    }

    proptest! {
        /// Starting the walk near the time asked about finds exactly what walking from the
        /// start finds, whatever the rule, interval and zone.
        #[test]
        fn skipping_ahead_loses_and_invents_nothing(
            freq in prop::sample::select(vec!["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY"]),
            interval in 1i32..5,
            by in prop::sample::select(vec!["", ";BYDAY=MO,FR", ";BYMONTHDAY=1,-1", ";BYHOUR=3,15", ";BYMONTH=3,11"]),
            zone in prop::sample::select(vec!["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]),
            days_later in 0i64..3000,
        ) {
            let text = format!("FREQ={freq};INTERVAL={interval}{by}");
            let Ok(rule) = Rule::parse(&text) else { return Ok(()) };
            let zone = TimeZone::get(zone).unwrap();
            let start = jiff::civil::date(2020, 1, 31).at(2, 30, 0, 0);
            let asked = instant_in(&zone, start).as_second() + days_later * 86_400;
            let from = Timestamp::from_second(asked).unwrap();
            let to = Timestamp::from_second(asked + 40 * 86_400).unwrap();
            let near = collect(&rule, &zone, start, from, to);
            let all: Vec<Timestamp> = collect(&rule, &zone, start, Timestamp::MIN, to)
                .into_iter()
                .filter(|t| t.as_second() >= asked - 3600)
                .collect();
            let near: Vec<Timestamp> = near.into_iter().filter(|t| t.as_second() >= asked - 3600).collect();
            prop_assert_eq!(near, all, "{}", text);
        }
    }
}
