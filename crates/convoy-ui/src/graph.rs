//! The pipeline's layout, computed on the server: Warehouses in the first column, every Stage
//! one column right of its furthest upstream (longest-path layering), rows ordered to reduce
//! crossings (barycenter sweeps), edges as curves between card sides.

use std::collections::{BTreeMap, HashMap};

pub const COLUMN: f64 = 260.0;
pub const ROW: f64 = 104.0;
pub const CARD_WIDTH: f64 = 220.0;
pub const CARD_HEIGHT: f64 = 88.0;

/// A node's place.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub id: String,
    pub layer: usize,
    pub row: usize,
}

/// `nodes` (ids in a stable order) and `edges` (from, to); returns every node placed. Cycles
/// (refused by admission, but a store may hold anything) are broken by ignoring back edges.
pub fn layout(nodes: &[String], edges: &[(String, String)]) -> Vec<Placed> {
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let mut upstream: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (from, to) in edges {
        if let (Some(&f), Some(&t)) = (index.get(from.as_str()), index.get(to.as_str()))
            && f != t
        {
            upstream[t].push(f);
        }
    }
    // Longest path from a source, iteratively (no recursion on 1,000 Stages).
    let mut layer: Vec<Option<usize>> = vec![None; nodes.len()];
    let mut visiting = vec![false; nodes.len()];
    for start in 0..nodes.len() {
        let mut stack = vec![(start, 0usize)];
        while let Some((node, next)) = stack.pop() {
            if layer[node].is_some() {
                continue;
            }
            visiting[node] = true;
            if let Some(&up) = upstream[node].get(next) {
                stack.push((node, next + 1));
                if layer[up].is_none() && !visiting[up] {
                    stack.push((up, 0));
                }
                continue;
            }
            let deepest = upstream[node].iter().filter_map(|&u| layer[u]).max();
            layer[node] = Some(deepest.map_or(0, |d| d + 1));
            visiting[node] = false;
        }
    }
    let layer: Vec<usize> = layer.into_iter().map(Option::unwrap_or_default).collect();
    let depth = layer.iter().copied().max().map_or(0, |d| d + 1);
    let mut columns: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (node, &l) in layer.iter().enumerate() {
        columns[l].push(node);
    }
    let mut downstream: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (node, ups) in upstream.iter().enumerate() {
        for &u in ups {
            downstream[u].push(node);
        }
    }
    // Barycenter sweeps: each node moves toward the mean row of its neighbours in the column
    // before (left to right), then after (right to left).
    let mut row: Vec<f64> = vec![0.0; nodes.len()];
    let renumber = |columns: &Vec<Vec<usize>>, row: &mut Vec<f64>| {
        for column in columns {
            for (i, &n) in column.iter().enumerate() {
                row[n] = i as f64;
            }
        }
    };
    renumber(&columns, &mut row);
    for _ in 0..4 {
        for neighbours in [&upstream, &downstream] {
            let order: Box<dyn Iterator<Item = usize>> = if std::ptr::eq(neighbours, &upstream) {
                Box::new(1..depth)
            } else {
                Box::new((0..depth.saturating_sub(1)).rev())
            };
            for l in order {
                let mut keyed: Vec<(f64, usize)> = columns[l]
                    .iter()
                    .map(|&n| {
                        let near = &neighbours[n];
                        let center = if near.is_empty() {
                            row[n]
                        } else {
                            near.iter().map(|&m| row[m]).sum::<f64>() / near.len() as f64
                        };
                        (center, n)
                    })
                    .collect();
                keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                columns[l] = keyed.into_iter().map(|(_, n)| n).collect();
                renumber(&columns, &mut row);
            }
        }
    }
    let mut placed: BTreeMap<usize, Placed> = BTreeMap::new();
    for (l, column) in columns.iter().enumerate() {
        for (r, &n) in column.iter().enumerate() {
            placed.insert(n, Placed { id: nodes[n].clone(), layer: l, row: r });
        }
    }
    placed.into_values().collect()
}

/// How many edge pairs cross between adjacent columns (for tests and the benchmark).
pub fn crossings(placed: &[Placed], edges: &[(String, String)]) -> usize {
    let at: HashMap<&str, &Placed> = placed.iter().map(|p| (p.id.as_str(), p)).collect();
    let spans: Vec<(usize, usize, usize)> = edges
        .iter()
        .filter_map(|(f, t)| {
            let (f, t) = (at.get(f.as_str())?, at.get(t.as_str())?);
            (t.layer == f.layer + 1).then_some((f.layer, f.row, t.row))
        })
        .collect();
    let mut count = 0;
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            if a.0 == b.0 && ((a.1 < b.1 && a.2 > b.2) || (a.1 > b.1 && a.2 < b.2)) {
                count += 1;
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    fn edges(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
    }

    #[test]
    fn a_stage_sits_one_column_right_of_its_furthest_upstream() {
        let nodes = ids(&["w", "dev", "qa", "staging", "prod"]);
        // prod takes from staging and (a shortcut) dev: it still goes after staging.
        let e = edges(&[("w", "dev"), ("dev", "qa"), ("qa", "staging"), ("staging", "prod"), ("dev", "prod")]);
        let placed = layout(&nodes, &e);
        let layer = |id: &str| placed.iter().find(|p| p.id == id).unwrap().layer;
        assert_eq!([layer("w"), layer("dev"), layer("qa"), layer("staging"), layer("prod")], [0, 1, 2, 3, 4]);
    }

    #[test]
    fn rows_are_ordered_to_undo_crossings() {
        // Two Warehouses each feeding its own chain, listed crosswise: the sweeps straighten them.
        let nodes = ids(&["wa", "wb", "b1", "a1", "b2", "a2"]);
        let e = edges(&[("wa", "a1"), ("wb", "b1"), ("a1", "a2"), ("b1", "b2")]);
        let placed = layout(&nodes, &e);
        assert_eq!(crossings(&placed, &e), 0, "{placed:?}");
    }

    #[test]
    fn a_cycle_does_not_hang_the_layout() {
        let nodes = ids(&["a", "b", "c"]);
        let placed = layout(&nodes, &edges(&[("a", "b"), ("b", "c"), ("c", "a")]));
        assert_eq!(placed.len(), 3);
    }
}
