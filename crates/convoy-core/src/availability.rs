//! Which Freight a Stage may take (reference §5.3), and the auto-promotion candidate (§5.5).
//! Pure: the caller passes the time.

use std::time::Duration;

use convoy_api::stage::{FreightRequest, requests};
use convoy_api::{Freight, FreightOrigin, Stage};

use crate::duration;
use crate::time::Timestamp;

/// Why Freight may enter a Stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Approved by hand for this Stage; bypasses upstream verification and soak.
    Approved,
    /// The Stage takes Freight straight from its Warehouse.
    Direct,
    /// Verified (and soaked, where required) in the upstream Stages the strategy asks for.
    Upstream,
}

/// Why Freight may not enter a Stage, precise enough to tell the user what to wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// The Stage requests nothing from this Freight's origin.
    OriginNotRequested { origin: String },
    /// Not verified in these upstream Stages (all of them for OneOf, the missing ones for All).
    NotVerified { stages: Vec<String> },
    /// Verified but not yet soaked long enough in `stage`.
    Soaking { stage: String, remaining: Duration },
    /// The request names neither `direct` nor upstream Stages.
    NoSources,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unavailable::OriginNotRequested { origin } => write!(f, "the Stage requests no Freight from {origin}"),
            Unavailable::NotVerified { stages } => {
                write!(f, "not yet verified in upstream Stage(s) {}", stages.join(", "))
            }
            Unavailable::Soaking { stage, remaining } => {
                write!(f, "soaking in {stage}: {} left of the required soak time", duration::format(*remaining))
            }
            Unavailable::NoSources => write!(f, "the Stage's request has neither direct nor upstream Stages"),
        }
    }
}

/// Is `freight` available to `stage` at `now`?
pub fn availability(stage: &Stage, freight: &Freight, now: Timestamp) -> Result<Via, Unavailable> {
    let Some(request) = requests(stage, &freight.origin) else {
        return Err(Unavailable::OriginNotRequested { origin: freight.origin.key() });
    };
    let stage_name = stage.metadata.name();
    if freight.status.approved_for.contains_key(stage_name) {
        return Ok(Via::Approved);
    }
    if request.sources.direct {
        return Ok(Via::Direct);
    }
    upstream_availability(request, freight, now)
}

fn upstream_availability(request: &FreightRequest, freight: &Freight, now: Timestamp) -> Result<Via, Unavailable> {
    let upstream = &request.sources.stages;
    if upstream.is_empty() {
        return Err(Unavailable::NoSources);
    }
    let required = request.sources.required_soak_time.as_deref().and_then(|d| duration::parse(d).ok());
    let outcomes: Vec<(&String, Result<(), Unavailable>)> =
        upstream.iter().map(|s| (s, verified_and_soaked(freight, s, required, now))).collect();
    let all = request.sources.availability_strategy.as_deref() == Some("All");
    if all {
        let unverified: Vec<String> = outcomes
            .iter()
            .filter(|(_, r)| matches!(r, Err(Unavailable::NotVerified { .. })))
            .map(|(s, _)| (*s).clone())
            .collect();
        if !unverified.is_empty() {
            return Err(Unavailable::NotVerified { stages: unverified });
        }
        return match outcomes.into_iter().find_map(|(_, r)| r.err()) {
            Some(soaking) => Err(soaking),
            None => Ok(Via::Upstream),
        };
    }
    if outcomes.iter().any(|(_, r)| r.is_ok()) {
        return Ok(Via::Upstream);
    }
    // OneOf: report the upstream Stage closest to letting it through.
    let soonest = outcomes
        .into_iter()
        .filter_map(|(_, r)| match r {
            Err(s @ Unavailable::Soaking { .. }) => Some(s),
            _ => None,
        })
        .min_by_key(|s| match s {
            Unavailable::Soaking { remaining, .. } => *remaining,
            _ => Duration::MAX,
        });
    Err(soonest.unwrap_or_else(|| Unavailable::NotVerified { stages: upstream.clone() }))
}

fn verified_and_soaked(
    freight: &Freight,
    stage: &str,
    required: Option<Duration>,
    now: Timestamp,
) -> Result<(), Unavailable> {
    let Some(verified) = freight.status.verified_in.get(stage) else {
        return Err(Unavailable::NotVerified { stages: vec![stage.to_owned()] });
    };
    let Some(required) = required else { return Ok(()) };
    let completed = verified.longest_soak.as_deref().and_then(|d| duration::parse(d).ok()).unwrap_or_default();
    let ongoing = freight
        .status
        .currently_in
        .get(stage)
        .and_then(|c| c.since.as_deref())
        .and_then(|s| Timestamp::parse(s).ok())
        .map(|since| Duration::from_secs(u64::try_from(now.0 - since.0).unwrap_or(0)))
        .unwrap_or_default();
    let longest = completed.max(ongoing);
    if longest >= required {
        Ok(())
    } else {
        Err(Unavailable::Soaking { stage: stage.to_owned(), remaining: required - longest })
    }
}

/// The Freight auto-promotion would choose for `origin` among `candidates` (any origin; the
/// others are ignored). NewestFreight: newest `discoveredAt` (else creation time), ties to the
/// greater name. MatchUpstream: the one available Freight currently in the single upstream
/// Stage; none when there are several (a transient state).
pub fn auto_promotion_candidate<'a>(
    stage: &Stage,
    origin: &FreightOrigin,
    candidates: &[&'a Freight],
    now: Timestamp,
) -> Option<&'a Freight> {
    let request = requests(stage, origin)?;
    let available = candidates.iter().copied().filter(|f| &f.origin == origin && availability(stage, f, now).is_ok());
    let policy = request.sources.auto_promotion_options.as_ref().and_then(|o| o.selection_policy.as_deref());
    if policy == Some("MatchUpstream") {
        let [upstream] = request.sources.stages.as_slice() else { return None };
        let mut in_upstream = available.filter(|f| f.status.currently_in.contains_key(upstream));
        let first = in_upstream.next()?;
        return in_upstream.next().is_none().then_some(first);
    }
    available.max_by(|a, b| (discovered(a), a.metadata.name()).cmp(&(discovered(b), b.metadata.name())))
}

/// How long until the first of `candidates` that is soaking upstream for `stage` has soaked
/// enough (when the Stage should look again), if any is.
pub fn soonest_soak_end(stage: &Stage, candidates: &[&Freight], now: Timestamp) -> Option<Duration> {
    candidates
        .iter()
        .filter_map(|f| match availability(stage, f, now) {
            Err(Unavailable::Soaking { remaining, .. }) => Some(remaining),
            _ => None,
        })
        .min()
}

fn discovered(freight: &Freight) -> Timestamp {
    freight
        .discovered_at
        .as_deref()
        .or(freight.metadata.creation_timestamp.as_deref())
        .and_then(|t| Timestamp::parse(t).ok())
        .unwrap_or_default()
}
