//! Promotion windows (Kargo main's `promotionWindows`, an Enterprise feature there): when the
//! Stages a window selects may be promoted. A Stage's schedule is open when no Deny window
//! that selects it is active and, if any Allow windows select it, one of them is. Pure: the
//! caller gives the time.

pub mod ical;
pub mod rrule;
#[cfg(test)]
mod tests;

use convoy_api::project::{PromotionPolicySelector, PromotionWindow};
use convoy_api::time::Timestamp;
use convoy_api::{ClusterConfig, Project, ProjectConfig, Stage};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Span, Unit};

use self::ical::instant_in;
use self::rrule::Rule;

/// Asks admission to let a Promotion through a closed schedule; the value says why. Honoured
/// for callers allowed to override windows.
pub const OVERRIDE_ANNOTATION: &str = "convoy.dev/override-window";

/// A window, read and checked.
#[derive(Debug, Clone)]
pub struct Window {
    pub name: String,
    pub deny: bool,
    zone: TimeZone,
    start: DateTime,
    shape: Shape,
}

#[derive(Debug, Clone)]
enum Shape {
    /// Once, until this instant.
    Once { end: jiff::Timestamp },
    /// Every occurrence lasts `length` (local time: a window from 09:00 to 17:00 keeps those
    /// hours across DST changes); `seconds` is the first's length, for look-backs.
    Recurring { rule: Box<Rule>, length: Span, seconds: i64 },
}

/// A problem with one field of a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// `kind`, `dtstart`, `dtend` or `rrule`.
    pub field: &'static str,
    pub message: String,
}

impl Window {
    pub fn compile(window: &PromotionWindow) -> Result<Window, FieldError> {
        let error = |field, message: String| FieldError { field, message };
        let deny = match window.kind.as_str() {
            "Deny" => true,
            "Allow" => false,
            other => return Err(error("kind", format!("kind {other:?} must be \"Allow\" or \"Deny\""))),
        };
        let start_text = window.dtstart.as_deref().filter(|s| !s.trim().is_empty());
        let start_text = start_text
            .ok_or_else(|| error("dtstart", "dtstart is required (e.g. TZID=Europe/Berlin:20261224T000000)".into()))?;
        let end_text = window.dtend.as_deref().filter(|s| !s.trim().is_empty());
        let end_text = end_text.ok_or_else(|| {
            error("dtend", "dtend is required: the end of the (first) occurrence, in dtstart's format".into())
        })?;
        let start = ical::parse(start_text).map_err(|m| error("dtstart", m))?;
        let end = ical::parse(end_text).map_err(|m| error("dtend", m))?;
        let (start_at, end_at) = (start.instant(), end.instant());
        if end_at <= start_at {
            return Err(error("dtend", format!("dtend {end_text:?} must be after dtstart {start_text:?}")));
        }
        let shape = match window.rrule.as_deref().filter(|r| !r.trim().is_empty()) {
            None => Shape::Once { end: end_at },
            Some(text) => {
                let rule = Rule::parse(text).map_err(|m| error("rrule", m))?;
                // The length in dtstart's local time.
                let local_end = end_at.to_zoned(start.zone.clone()).datetime();
                let length = start
                    .local
                    .until((Unit::Day, local_end))
                    .map_err(|e| error("dtend", format!("dtend is too far from dtstart: {e}")))?;
                Shape::Recurring { rule: Box::new(rule), length, seconds: end_at.as_second() - start_at.as_second() }
            }
        };
        Ok(Window { name: window.name.clone(), deny, zone: start.zone, start: start.local, shape })
    }

    /// The [start, end) intervals that overlap [from, to], in order.
    fn intervals(&self, from: i64, to: i64) -> Vec<(i64, i64)> {
        match &self.shape {
            Shape::Once { end } => {
                let start = instant_in(&self.zone, self.start).as_second();
                let end = end.as_second();
                if start <= to && end > from { vec![(start, end)] } else { Vec::new() }
            }
            Shape::Recurring { rule, length, seconds } => {
                let mut out = Vec::new();
                let (Ok(from_at), Ok(to_at)) = (jiff::Timestamp::from_second(from), jiff::Timestamp::from_second(to))
                else {
                    return out;
                };
                rule.occurrences(&self.zone, self.start, from_at, to_at, *seconds, &mut |instant, local| {
                    let end =
                        local.checked_add(*length).map(|e| instant_in(&self.zone, e).as_second()).unwrap_or(i64::MAX);
                    if end > from {
                        out.push((instant.as_second(), end));
                    }
                    true
                });
                out
            }
        }
    }

    /// The longest an occurrence lasts, for looking back from a time.
    fn longest(&self) -> i64 {
        match &self.shape {
            Shape::Once { end } => end.as_second() - instant_in(&self.zone, self.start).as_second(),
            // A day more: a local length can grow by an hour across a DST change.
            Shape::Recurring { seconds, .. } => seconds + 86_400,
        }
    }
}

/// Whether promotions are allowed now, why not, and when that changes (Kargo's
/// `PromotionWindowStatus`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowState {
    pub closed: bool,
    pub reason: Option<String>,
    pub next_open: Option<Timestamp>,
    pub next_close: Option<Timestamp>,
    pub next_close_reason: Option<String>,
}

impl WindowState {
    pub fn to_status(&self) -> convoy_api::stage::PromotionWindowStatus {
        convoy_api::stage::PromotionWindowStatus {
            closed: self.closed,
            reason: self.reason.clone(),
            next_open: self.next_open.map(|t| t.to_string()),
            next_close: self.next_close.map(|t| t.to_string()),
            next_close_reason: self.next_close_reason.clone(),
        }
    }

    /// The next time the state changes, if known.
    pub fn next_change(&self) -> Option<Timestamp> {
        if self.closed { self.next_open } else { self.next_close }
    }
}

/// How far ahead the next change is looked for, widened step by step: most schedules change
/// within days, a yearly freeze may be months away.
const HORIZONS: [i64; 3] = [2 * 86_400, 40 * 86_400, 400 * 86_400];

/// The schedule of `windows` at `now`.
pub fn state(windows: &[Window], now: Timestamp) -> WindowState {
    let now = now.0;
    let lookback = windows.iter().map(Window::longest).max().unwrap_or(0);
    let any_allow = windows.iter().any(|w| !w.deny);
    let mut result = WindowState::default();
    for horizon in HORIZONS {
        let intervals: Vec<(&Window, Vec<(i64, i64)>)> = windows
            .iter()
            .map(|w| (w, w.intervals(now.saturating_sub(lookback), now.saturating_add(horizon))))
            .collect();
        let active = |at: i64, deny: bool| {
            intervals
                .iter()
                .filter(move |(w, _)| w.deny == deny)
                .filter_map(move |(w, spans)| spans.iter().find(|(s, e)| *s <= at && at < *e).map(|(_, e)| (*w, *e)))
        };
        let closed_at =
            |at: i64| active(at, true).next().is_some() || (any_allow && active(at, false).next().is_none());
        let closed = closed_at(now);
        result.closed = closed;
        result.reason = closed.then(|| match active(now, true).next() {
            Some((w, end)) => {
                format!("promotion window {:?} (Deny) is active until {}", w.name, Timestamp(end))
            }
            None => {
                let names: Vec<String> = windows.iter().filter(|w| !w.deny).map(|w| format!("{:?}", w.name)).collect();
                format!("outside every Allow promotion window ({})", names.join(", "))
            }
        });
        let mut boundaries: Vec<i64> = intervals
            .iter()
            .flat_map(|(_, spans)| spans.iter().flat_map(|(s, e)| [*s, *e]))
            .filter(|b| *b > now && *b <= now + horizon)
            .collect();
        boundaries.sort_unstable();
        boundaries.dedup();
        if let Some(change) = boundaries.into_iter().find(|b| closed_at(*b) != closed) {
            if closed {
                result.next_open = Some(Timestamp(change));
            } else {
                result.next_close = Some(Timestamp(change));
                result.next_close_reason = Some(match active(change, true).next() {
                    Some((w, _)) => format!("promotion window {:?} (Deny) begins", w.name),
                    None => {
                        let ending: Vec<String> =
                            active(change - 1, false).map(|(w, _)| format!("{:?}", w.name)).collect();
                        format!("Allow promotion window {} ends", ending.join(", "))
                    }
                });
            }
            return result;
        }
    }
    result
}

/// The windows of the ProjectConfig and the ClusterConfig that select `stage`, read. A window
/// that does not read (stored before a check existed) closes the schedule: freezes fail safe.
pub fn for_stage(
    project_config: Option<&ProjectConfig>,
    cluster_config: Option<&ClusterConfig>,
    project: Option<&Project>,
    stage: &Stage,
) -> Vec<Window> {
    let project_windows = project_config.into_iter().flat_map(|c| &c.spec.promotion_windows);
    let cluster_windows = cluster_config.into_iter().flat_map(|c| &c.spec.promotion_windows).filter(|w| {
        w.project_selector.as_ref().is_none_or(|s| {
            let (labels, name) = match project {
                Some(p) => (&p.metadata.labels, p.metadata.name()),
                None => (&std::collections::BTreeMap::new() as &_, stage.metadata.namespace()),
            };
            selects(s, name, labels)
        })
    });
    project_windows
        .chain(cluster_windows)
        .filter(|w| w.stage_selector.as_ref().is_none_or(|s| selects(s, stage.metadata.name(), &stage.metadata.labels)))
        .map(|w| {
            Window::compile(w).unwrap_or_else(|e| Window {
                name: format!("{} (unreadable: {})", w.name, e.message),
                deny: true,
                zone: TimeZone::UTC,
                start: DateTime::MIN,
                shape: Shape::Once { end: jiff::Timestamp::MAX },
            })
        })
        .collect()
}

fn selects(
    selector: &PromotionPolicySelector,
    name: &str,
    labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    crate::pipeline::name_matches(selector.name.as_deref(), name)
        && convoy_api::meta::labels_match(&selector.match_labels, &selector.match_expressions, labels)
}
