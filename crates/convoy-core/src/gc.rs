//! Which old Promotions and Freight garbage collection removes (Kargo's collector), pure.

/// An item the collector considers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub name: String,
    /// Seconds since creation.
    pub age: u64,
    /// Promotions: finished. Freight: in no Stage.
    pub idle: bool,
}

/// Promotions of one Stage, newest first: the newest `keep` finished ones stay, as do running
/// ones and anything younger than `min_age`; the rest go.
pub fn promotions_to_delete(newest_first: &[Item], keep: usize, min_age: u64) -> Vec<String> {
    newest_first.iter().filter(|p| p.idle).skip(keep).filter(|p| p.age >= min_age).map(|p| p.name.clone()).collect()
}

/// Freight of one Warehouse, newest first: everything up to the oldest Freight a Stage still
/// holds stays, plus `keep` more beyond it; of the rest, what is idle and older than `min_age` goes.
pub fn freight_to_delete(newest_first: &[Item], keep: usize, min_age: u64) -> Vec<String> {
    let oldest_in_use = newest_first.iter().rposition(|f| !f.idle).map_or(0, |i| i + 1);
    newest_first
        .iter()
        .skip(oldest_in_use + keep)
        .filter(|f| f.idle && f.age >= min_age)
        .map(|f| f.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(spec: &[(u64, bool)]) -> Vec<Item> {
        spec.iter().enumerate().map(|(i, (age, idle))| Item { name: format!("i{i}"), age: *age, idle: *idle }).collect()
    }

    #[test]
    fn promotions_keep_the_newest_finished_and_young_ones() {
        // Newest first; keep 2 finished; a running one never goes; min age 10.
        let list = items(&[(1, true), (2, false), (30, true), (40, true), (5, true), (50, true)]);
        assert_eq!(promotions_to_delete(&list, 2, 10), ["i3", "i5"], "i4 is too young, i1 is running");
        assert!(promotions_to_delete(&list, 10, 0).is_empty());
    }

    #[test]
    fn freight_keeps_everything_newer_than_the_oldest_in_use_plus_some() {
        // i2 is held by a Stage: i0..=i2 stay, then 1 more (i3); i4 goes, i5 is too young.
        let list = items(&[(1, true), (2, true), (30, false), (40, true), (50, true), (5, true)]);
        assert_eq!(freight_to_delete(&list, 1, 10), ["i4"]);
        // Nothing in use: keep the newest 2.
        let idle = items(&[(100, true), (100, true), (100, true)]);
        assert_eq!(freight_to_delete(&idle, 2, 0), ["i2"]);
    }
}
