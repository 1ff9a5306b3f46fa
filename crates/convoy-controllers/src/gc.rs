//! Garbage collection inside the server (Kargo's collector): per Stage the newest 20 finished
//! Promotions stay; per Warehouse all Freight up to the oldest one a Stage holds stays, plus 20;
//! nothing younger than the minimum age goes. The event log keeps its newest 1,000 per project.
//! Settings: `CONVOY_GC_KEEP` (20), `CONVOY_GC_MIN_AGE` (`336h`), `CONVOY_GC_INTERVAL` (`1h`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use convoy_api::Kind;
use convoy_api::time::Timestamp;
use convoy_core::gc::{Item, freight_to_delete, promotions_to_delete};
use convoy_store::{Key, LabelSelector, Store, Stored, Write};
use serde_json::Value;

const EVENTS_KEPT: usize = 1000;

#[derive(Debug, Clone)]
pub struct Settings {
    pub keep: usize,
    pub min_age: Duration,
    pub interval: Duration,
}

impl Settings {
    /// From the environment; an invalid value is an error naming the variable.
    pub fn from_env() -> Result<Settings, String> {
        let duration = |name: &str, default: &str| -> Result<Duration, String> {
            let text = std::env::var(name).unwrap_or_else(|_| default.to_owned());
            convoy_core::duration::parse(&text).map_err(|e| format!("{name}: {e}"))
        };
        let keep = match std::env::var("CONVOY_GC_KEEP") {
            Ok(text) => text.parse().map_err(|_| format!("CONVOY_GC_KEEP: {text:?} is not a whole number"))?,
            Err(_) => 20,
        };
        Ok(Settings {
            keep,
            min_age: duration("CONVOY_GC_MIN_AGE", "336h")?,
            interval: duration("CONVOY_GC_INTERVAL", "1h")?,
        })
    }
}

pub async fn run(store: Arc<dyn Store>, settings: Settings) {
    loop {
        tokio::time::sleep(settings.interval).await;
        match collect(&*store, &settings).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "garbage collection"),
            Err(e) => tracing::warn!(error = %e, "garbage collection failed; trying again next round"),
        }
    }
}

/// One round; returns how many objects it deleted.
pub async fn collect(store: &dyn Store, settings: &Settings) -> Result<usize, String> {
    let now = Timestamp::now();
    let min_age = settings.min_age.as_secs();
    let everything = LabelSelector::everything();
    let list = |kind| async move {
        store.list(kind, None, &LabelSelector::everything()).await.map_err(|e| e.to_string()).map(|(l, _)| l)
    };
    let age = |s: &Stored| -> u64 {
        s.object
            .pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
            .and_then(|t| Timestamp::parse(t).ok())
            .map_or(0, |t| u64::try_from(now.seconds() - t.seconds()).unwrap_or(0))
    };
    let mut doomed: Vec<Key> = Vec::new();

    // Promotions, per Stage, newest (greatest ULID name) first.
    let mut by_stage: BTreeMap<(String, String), Vec<Stored>> = BTreeMap::new();
    for p in list(Kind::Promotion).await? {
        let stage = p.object.pointer("/spec/stage").and_then(Value::as_str).unwrap_or("").to_owned();
        by_stage.entry((p.key.project.clone(), stage)).or_default().push(p);
    }
    for (_, mut promotions) in by_stage {
        promotions.sort_by(|a, b| b.key.name.cmp(&a.key.name));
        let items: Vec<Item> = promotions
            .iter()
            .map(|p| {
                let phase = p.object.pointer("/status/phase").and_then(Value::as_str).unwrap_or("");
                Item {
                    name: p.key.name.clone(),
                    age: age(p),
                    idle: matches!(phase, "Succeeded" | "Failed" | "Errored" | "Aborted"),
                }
            })
            .collect();
        for name in promotions_to_delete(&items, settings.keep, min_age) {
            doomed.extend(promotions.iter().find(|p| p.key.name == name).map(|p| p.key.clone()));
        }
    }

    // Freight, per Warehouse, newest first; held by a Stage = in its current collection.
    let mut held: Vec<(String, String)> = Vec::new();
    for stage in list(Kind::Stage).await? {
        for item in stage
            .object
            .pointer("/status/freightHistory/0/items")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values())
        {
            held.push((stage.key.project.clone(), item["name"].as_str().unwrap_or("").to_owned()));
        }
    }
    let mut by_warehouse: BTreeMap<(String, String), Vec<Stored>> = BTreeMap::new();
    for f in list(Kind::Freight).await? {
        let origin = f.object.pointer("/origin/name").and_then(Value::as_str).unwrap_or("").to_owned();
        by_warehouse.entry((f.key.project.clone(), origin)).or_default().push(f);
    }
    for (_, mut freight) in by_warehouse {
        freight.sort_by_key(|f| std::cmp::Reverse(age_key(f)));
        let items: Vec<Item> = freight
            .iter()
            .map(|f| Item {
                name: f.key.name.clone(),
                age: age(f),
                idle: !held.contains(&(f.key.project.clone(), f.key.name.clone())),
            })
            .collect();
        for name in freight_to_delete(&items, settings.keep, min_age) {
            doomed.extend(freight.iter().find(|f| f.key.name == name).map(|f| f.key.clone()));
        }
    }

    // Events: the newest EVENTS_KEPT per project.
    let (events, _) = store.list(Kind::Event, None, &everything).await.map_err(|e| e.to_string())?;
    let mut by_project: BTreeMap<String, Vec<Stored>> = BTreeMap::new();
    for e in events {
        by_project.entry(e.key.project.clone()).or_default().push(e);
    }
    for (_, mut events) in by_project {
        events.sort_by_key(|e| std::cmp::Reverse(e.revision));
        doomed.extend(events.iter().skip(EVENTS_KEPT).map(|e| e.key.clone()));
    }

    let count = doomed.len();
    // One transaction per object: a concurrent change to one must not keep the rest.
    for key in doomed {
        let _ = store.apply(vec![Write::Delete { key, expected: None }]).await;
    }
    Ok(count)
}

/// Creation order of Freight: `discoveredAt`, else creation time, then name.
fn age_key(f: &Stored) -> (String, String) {
    let time = f
        .object
        .pointer("/discoveredAt")
        .or_else(|| f.object.pointer("/metadata/creationTimestamp"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    (time, f.key.name.clone())
}
