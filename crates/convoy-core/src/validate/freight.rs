//! Freight: content-hash name, discovery time, alias (reference §2.6), and validation (§2.5).

use convoy_api::{ALIAS_LABEL, FieldPath, Freight, FreightOrigin, Kind, Subscription};

use crate::admission::Env;
use crate::alias::generate_alias;
use crate::freight_id::freight_id;
use crate::problem::Problems;
use crate::time::Timestamp;
use crate::urls::{normalize_chart, normalize_git, path_join};
use crate::view::{View, ViewExt};

/// On create the name becomes the content hash and a missing alias is generated; the alias
/// label always mirrors the alias field.
pub(crate) fn default(freight: &mut Freight, creating: bool, view: &dyn View, env: &mut dyn Env) {
    if creating {
        freight.metadata.name = Some(freight_id(freight));
        freight.metadata.generate_name = None;
    }
    if freight.discovered_at.is_none() {
        let now = Timestamp((env.now_millis() / 1000) as i64).to_string();
        freight.discovered_at = Some(freight.metadata.creation_timestamp.clone().unwrap_or(now));
    }
    match freight.alias.as_deref().filter(|a| !a.is_empty()) {
        Some(alias) => {
            freight.metadata.labels.insert(ALIAS_LABEL.to_owned(), alias.to_owned());
        }
        None if creating => {
            let project = freight.metadata.namespace().to_owned();
            let taken = |candidate: &str| !view.freight_with_alias(&project, candidate).is_empty();
            let alias = generate_alias(|| env.random(), taken);
            freight.metadata.labels.insert(ALIAS_LABEL.to_owned(), alias.clone());
            freight.alias = Some(alias);
        }
        None => {
            freight.alias = None;
            freight.metadata.labels.remove(ALIAS_LABEL);
        }
    }
}

pub(crate) fn validate(freight: &Freight, view: &dyn View, problems: &mut Problems) {
    let project = freight.metadata.namespace();
    if freight.commits.is_empty()
        && freight.images.is_empty()
        && freight.charts.is_empty()
        && freight.artifacts.is_empty()
    {
        problems
            .error("", "freight must contain at least one commit, image, or chart")
            .with_hint("list the artifacts under commits, images or charts");
    }
    if let Some(alias) = freight.alias.as_deref() {
        let clash = view.freight_with_alias(project, alias).iter().any(|name| name != freight.metadata.name());
        if clash {
            problems
                .error("alias", format!("alias already used by another piece of Freight in namespace {project:?}"))
                .with_hint("choose another alias, or leave it out to have one generated");
        }
    }
    let origin = &freight.origin;
    check_origin_kind_and_name(origin, problems);
    match view.warehouse(project, &origin.name) {
        Some(warehouse) => {
            check_artifacts_match(freight, &warehouse.spec.subscriptions, warehouse.metadata.name(), problems)
        }
        // Without a project (reported on metadata.namespace) there is nothing to look in.
        None if origin.name.is_empty() || project.is_empty() => {}
        None if let Some(place) = view.unreadable(Kind::Warehouse, project, &origin.name) => {
            problems.warning("origin.name", super::unreadable_message(Kind::Warehouse, &origin.name, place));
        }
        None if view.is_complete() => {
            problems
                .error("origin.name", "warehouse does not exist")
                .with_hint(format!("create Warehouse {:?} in project {project:?} first", origin.name));
        }
        // Lint sees only some files: the Warehouse may exist elsewhere.
        None => {
            problems
                .warning(
                    "origin.name",
                    format!("Warehouse {:?} not found in project {project:?} among the given files", origin.name),
                )
                .with_hint(
                    "lint the Warehouse together with its Freight to check the artifacts against its subscriptions",
                );
        }
    }
}

fn check_origin_kind_and_name(origin: &FreightOrigin, problems: &mut Problems) {
    if origin.kind != FreightOrigin::WAREHOUSE {
        super::unsupported(
            problems,
            &FieldPath::root("origin").child("kind"),
            &origin.kind,
            &[FreightOrigin::WAREHOUSE],
        );
    }
    if origin.name.is_empty() {
        problems
            .error("origin.name", "required field is missing")
            .with_hint("name the Warehouse this Freight comes from");
    }
}

/// Every artifact belongs to one subscription of the Warehouse, and every subscription has
/// exactly one artifact.
fn check_artifacts_match(freight: &Freight, subscriptions: &[Subscription], warehouse: &str, problems: &mut Problems) {
    let mut subs: Vec<(&'static str, String, usize)> = subscriptions
        .iter()
        .filter_map(|s| match s {
            Subscription::Git(g) => Some(("commits", normalize_git(&g.repo_url), 0)),
            Subscription::Image(i) => Some(("images", i.repo_url.clone(), 0)),
            Subscription::Chart(c) => {
                Some(("charts", path_join(&[&normalize_chart(&c.repo_url), c.name.as_deref().unwrap_or("")]), 0))
            }
            Subscription::Generic { .. } => None,
        })
        .collect();
    let artifacts = freight
        .commits
        .iter()
        .enumerate()
        .map(|(i, c)| ("commits", i, normalize_git(&c.repo_url), "Git repository"))
        .chain(freight.images.iter().enumerate().map(|(i, im)| ("images", i, im.repo_url.clone(), "image repository")))
        .chain(
            freight
                .charts
                .iter()
                .enumerate()
                .map(|(i, c)| ("charts", i, path_join(&[&normalize_chart(&c.repo_url), &c.name]), "Helm chart")),
        );
    for (field, index, url, what) in artifacts {
        match subs.iter_mut().find(|(f, u, _)| *f == field && *u == url) {
            Some(sub) => sub.2 += 1,
            None => {
                problems
                    .error(
                        format!("{field}[{index}]"),
                        format!("no subscription found for {what} in Warehouse {warehouse:?}"),
                    )
                    .with_hint("Freight can only carry artifacts its Warehouse subscribes to");
            }
        }
    }
    for (field, url, count) in subs {
        if count == 0 {
            problems.error(field, format!("no artifact found for subscription {url:?} of Warehouse {warehouse:?}"));
        } else if count > 1 {
            problems
                .error(field, format!("multiple artifacts found for subscription {url:?} of Warehouse {warehouse:?}"));
        }
    }
}

/// Artifacts and origin cannot change once Freight exists.
pub(crate) fn check_immutable(old: &Freight, new: &Freight, problems: &mut Problems) {
    let changed = if old.origin != new.origin {
        Some("origin")
    } else if old.commits != new.commits {
        Some("commits")
    } else if old.images != new.images {
        Some("images")
    } else if old.charts != new.charts {
        Some("charts")
    } else if old.artifacts != new.artifacts {
        Some("artifacts")
    } else {
        None
    };
    if let Some(field) = changed {
        problems
            .error(field, "Freight is immutable")
            .with_hint("Freight's artifacts cannot change; new artifacts make new Freight");
    }
}
