//! Schedules over recurrences, time zones and DST changes, at fixed times. Expected instants
//! are calendar facts (checked against the IANA database with Python's `zoneinfo`).

use convoy_api::project::PromotionWindow;
use convoy_api::time::Timestamp;

use super::{Window, WindowState, state};

fn window(name: &str, kind: &str, rrule: Option<&str>, dtstart: &str, dtend: &str) -> Window {
    let spec = PromotionWindow {
        name: name.into(),
        kind: kind.into(),
        rrule: rrule.map(Into::into),
        dtstart: Some(dtstart.into()),
        dtend: Some(dtend.into()),
        ..PromotionWindow::default()
    };
    Window::compile(&spec).unwrap_or_else(|e| panic!("{name}: {e:?}"))
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn business_hours() -> Window {
    window(
        "business-hours",
        "Allow",
        Some("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
        "TZID=America/New_York:20260105T090000",
        "TZID=America/New_York:20260105T170000",
    )
}

fn holidays() -> Window {
    window(
        "holidays",
        "Deny",
        Some("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24"),
        "TZID=Europe/Berlin:20251224T000000",
        "TZID=Europe/Berlin:20251227T000000",
    )
}

#[test]
fn no_windows_means_always_open() {
    assert_eq!(state(&[], at("2026-12-02T12:00:00Z")), WindowState::default());
}

#[test]
fn an_allow_window_opens_on_weekdays_in_its_own_time_zone() {
    let windows = [business_hours()];
    // Wednesday 12:00 in New York (EST, UTC-5): open until 17:00 EST.
    let noon = state(&windows, at("2026-12-02T17:00:00Z"));
    assert!(!noon.closed, "{noon:?}");
    assert_eq!(noon.next_close, Some(at("2026-12-02T22:00:00Z")));
    assert_eq!(noon.next_close_reason.as_deref(), Some("Allow promotion window \"business-hours\" ends"));
    // Friday 18:00 EST: closed over the weekend, open Monday 09:00 EST.
    let friday = state(&windows, at("2026-12-04T23:00:00Z"));
    assert!(friday.closed);
    assert_eq!(friday.next_open, Some(at("2026-12-07T14:00:00Z")));
    assert_eq!(friday.reason.as_deref(), Some("outside every Allow promotion window (\"business-hours\")"));
}

#[test]
fn local_hours_hold_across_a_dst_change() {
    let windows = [business_hours()];
    // Monday 2026-03-09, the day after New York moved to EDT (UTC-4): 09:00 is 13:00Z.
    let before = state(&windows, at("2026-03-09T12:30:00Z"));
    assert!(before.closed);
    assert_eq!(before.next_open, Some(at("2026-03-09T13:00:00Z")));
    assert!(!state(&windows, at("2026-03-09T13:30:00Z")).closed);
    // 17:00 EDT is 21:00Z; in December it was 22:00Z.
    assert_eq!(state(&windows, at("2026-03-09T13:30:00Z")).next_close, Some(at("2026-03-09T21:00:00Z")));
}

#[test]
fn a_night_window_lasts_its_local_hours_when_clocks_fall_back() {
    let nightly = [window(
        "nightly",
        "Deny",
        Some("FREQ=DAILY"),
        "TZID=Europe/Berlin:20261001T010000",
        "TZID=Europe/Berlin:20261001T040000",
    )];
    // 2026-10-25: 01:00 CEST (23:00Z the day before) to 04:00 CET (03:00Z): four real hours.
    let fold = state(&nightly, at("2026-10-25T02:30:00Z"));
    assert!(fold.closed, "{fold:?}");
    assert_eq!(fold.next_open, Some(at("2026-10-25T03:00:00Z")));
    assert!(state(&nightly, at("2026-10-24T23:30:00Z")).closed);
    // The next night is three hours again: 00:00Z to 03:00Z.
    assert_eq!(state(&nightly, at("2026-10-25T12:00:00Z")).next_close, Some(at("2026-10-26T00:00:00Z")));
    assert!(!state(&nightly, at("2026-10-26T03:30:00Z")).closed);
}

#[test]
fn a_yearly_freeze_is_found_weeks_ahead_and_named_while_it_holds() {
    let windows = [holidays()];
    let december = state(&windows, at("2026-12-02T12:00:00Z"));
    assert!(!december.closed);
    // 24 December 00:00 CET.
    assert_eq!(december.next_close, Some(at("2026-12-23T23:00:00Z")));
    assert_eq!(december.next_close_reason.as_deref(), Some("promotion window \"holidays\" (Deny) begins"));
    let christmas = state(&windows, at("2026-12-25T12:00:00Z"));
    assert!(christmas.closed);
    assert_eq!(
        christmas.reason.as_deref(),
        Some("promotion window \"holidays\" (Deny) is active until 2026-12-26T23:00:00Z")
    );
    assert_eq!(christmas.next_open, Some(at("2026-12-26T23:00:00Z")));
    // From January the next freeze is eleven months away, still found.
    assert_eq!(state(&windows, at("2027-01-10T00:00:00Z")).next_close, Some(at("2027-12-23T23:00:00Z")));
}

#[test]
fn deny_wins_over_allow() {
    let windows = [business_hours(), holidays()];
    // Thursday 2026-12-24 12:00 EST: inside business hours, inside the freeze.
    let both = state(&windows, at("2026-12-24T17:00:00Z"));
    assert!(both.closed);
    assert!(both.reason.unwrap().contains("\"holidays\" (Deny)"));
    // The freeze ends 26 December 23:00Z (a Saturday evening): business hours reopen Monday.
    assert_eq!(both.next_open, Some(at("2026-12-28T14:00:00Z")));
}

#[test]
fn ordinal_weekdays_count_within_the_month_or_year() {
    // The last Friday of the month: 25 December 2026, 29 January 2027.
    let last_friday =
        [window("last-friday", "Deny", Some("FREQ=MONTHLY;BYDAY=-1FR"), "20260102T000000Z", "20260103T000000Z")];
    assert_eq!(state(&last_friday, at("2026-12-02T00:00:00Z")).next_close, Some(at("2026-12-25T00:00:00Z")));
    assert_eq!(state(&last_friday, at("2026-12-26T00:00:00Z")).next_close, Some(at("2027-01-29T00:00:00Z")));
    // The fourth Thursday of November: 26 November 2026.
    let thanksgiving = [window(
        "thanksgiving",
        "Deny",
        Some("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH"),
        "TZID=America/New_York:20231123T000000",
        "TZID=America/New_York:20231124T000000",
    )];
    assert_eq!(state(&thanksgiving, at("2026-11-01T00:00:00Z")).next_close, Some(at("2026-11-26T05:00:00Z")));
}

#[test]
fn count_until_and_interval_bound_the_occurrences() {
    let counted =
        [window("three-mornings", "Deny", Some("FREQ=DAILY;COUNT=3"), "20261201T090000Z", "20261201T100000Z")];
    assert!(state(&counted, at("2026-12-03T09:30:00Z")).closed);
    let after = state(&counted, at("2026-12-04T09:30:00Z"));
    assert!(!after.closed);
    assert_eq!(after.next_close, None, "no fourth occurrence");
    let until = [window(
        "two-mornings",
        "Deny",
        Some("FREQ=DAILY;UNTIL=20261202T235959Z"),
        "20261201T090000Z",
        "20261201T100000Z",
    )];
    assert!(state(&until, at("2026-12-02T09:30:00Z")).closed);
    assert!(!state(&until, at("2026-12-03T09:30:00Z")).closed);
    // Every other Monday from 30 November 2026: 14 December, not 7 December.
    let fortnightly =
        [window("fortnightly", "Deny", Some("FREQ=WEEKLY;INTERVAL=2"), "20261130T000000Z", "20261201T000000Z")];
    assert_eq!(state(&fortnightly, at("2026-12-02T00:00:00Z")).next_close, Some(at("2026-12-14T00:00:00Z")));
    // Years after the start, the walk starts near the time asked about and still lands on
    // the right fortnight: 2030-12-02 is a Monday 209 weeks after the start (odd: off week).
    assert!(!state(&fortnightly, at("2030-12-02T12:00:00Z")).closed);
    assert!(state(&fortnightly, at("2030-12-09T12:00:00Z")).closed);
}

#[test]
fn hourly_rules_limit_by_hour() {
    let slots = [window(
        "top-of-the-morning",
        "Allow",
        Some("FREQ=HOURLY;BYHOUR=9,10,11"),
        "20261201T090000Z",
        "20261201T093000Z",
    )];
    assert!(!state(&slots, at("2026-12-02T10:15:00Z")).closed);
    let gap = state(&slots, at("2026-12-02T10:45:00Z"));
    assert!(gap.closed);
    assert_eq!(gap.next_open, Some(at("2026-12-02T11:00:00Z")));
    assert_eq!(state(&slots, at("2026-12-02T11:45:00Z")).next_open, Some(at("2026-12-03T09:00:00Z")));
}

#[test]
fn a_one_shot_window_applies_once() {
    let release = [window("launch-freeze", "Deny", None, "20261210T000000Z", "20261212T000000Z")];
    assert_eq!(state(&release, at("2026-12-02T00:00:00Z")).next_close, Some(at("2026-12-10T00:00:00Z")));
    assert!(state(&release, at("2026-12-11T00:00:00Z")).closed);
    let after = state(&release, at("2026-12-13T00:00:00Z"));
    assert_eq!((after.closed, after.next_close), (false, None));
    // An elapsed one-shot Allow window closes the schedule with no known reopening.
    let elapsed = [window("once", "Allow", None, "20261201T000000Z", "20261202T000000Z")];
    let closed = state(&elapsed, at("2026-12-05T00:00:00Z"));
    assert_eq!((closed.closed, closed.next_open), (true, None));
}

#[test]
fn bad_windows_name_the_field_and_the_fix() {
    /// kind, rrule, dtstart, dtend, the field blamed, words of the message.
    type Case = (&'static str, Option<&'static str>, &'static str, &'static str, &'static str, &'static str);
    let cases: &[Case] = &[
        ("Sometimes", None, "20261201T000000Z", "20261202T000000Z", "kind", "\"Allow\" or \"Deny\""),
        ("Deny", None, "2026-12-01", "20261202T000000Z", "dtstart", "20261224T180000Z"),
        ("Deny", None, "20261202T000000Z", "20261201T000000Z", "dtend", "must be after dtstart"),
        ("Deny", None, "TZID=Nowhere/Land:20261201T000000", "20261202T000000Z", "dtstart", "IANA"),
        ("Deny", Some("BYDAY=MO"), "20261201T000000Z", "20261202T000000Z", "rrule", "FREQ is required"),
        ("Deny", Some("FREQ=MINUTELY"), "20261201T000000Z", "20261202T000000Z", "rrule", "HOURLY at the finest"),
        ("Deny", Some("FREQ=DAILY;BYDAY=1MO"), "20261201T000000Z", "20261202T000000Z", "rrule", "MONTHLY"),
        ("Deny", Some("FREQ=DAILY;COUNT=2;UNTIL=20270101"), "20261201T000000Z", "20261202T000000Z", "rrule", "both"),
        ("Deny", Some("FREQ=MONTHLY;BYSETPOS=-1"), "20261201T000000Z", "20261202T000000Z", "rrule", "not supported"),
        ("Deny", Some("FREQ=WEEKLY;BYDAY=XX"), "20261201T000000Z", "20261202T000000Z", "rrule", "not a weekday"),
        ("Deny", Some("FREQ=DAILY;BYHOUR=24"), "20261201T000000Z", "20261202T000000Z", "rrule", "out of range"),
        ("Deny", Some("FREQ=DAILY;FREQ=WEEKLY"), "20261201T000000Z", "20261202T000000Z", "rrule", "twice"),
    ];
    for (kind, rrule, start, end, field, words) in cases {
        let spec = PromotionWindow {
            name: "w".into(),
            kind: (*kind).into(),
            rrule: rrule.map(Into::into),
            dtstart: Some((*start).into()),
            dtend: Some((*end).into()),
            ..PromotionWindow::default()
        };
        let error = Window::compile(&spec).unwrap_err();
        assert_eq!(error.field, *field, "{rrule:?}: {error:?}");
        assert!(error.message.contains(words), "{rrule:?}: {}", error.message);
    }
}
