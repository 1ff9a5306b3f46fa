//! Convoy's side of `scripts/bench/helm-render.sh`: a chart rendered as the `helm-template`
//! step renders it (dependencies, values coalescing, one template set parsed per render,
//! execution, splitting, kind ordering, the manifest text), timed per render.
//!
//! `cargo run --release -p convoy-helm --example render_bench -- CHART [ITERATIONS] [OUT]`

use std::time::{Duration, Instant};

use convoy_helm::chart::Chart;
use convoy_helm::render::{Options, render};

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let chart_dir = args.next().ok_or("usage: render_bench CHART [ITERATIONS] [OUT]")?;
    let iterations: usize = args.next().map_or(Ok(30), |n| n.parse().map_err(|e| format!("{e}")))?;
    let out = args.next();
    let chart = Chart::load_dir(std::path::Path::new(&chart_dir))?;
    let options = Options { release_name: "bench".into(), ..Options::default() };
    let mut times: Vec<Duration> = Vec::new();
    let mut last = String::new();
    for i in 0..iterations + 3 {
        let start = Instant::now();
        last = render(&chart, &convoy_helm::Map::default(), &options)?;
        if i >= 3 {
            times.push(start.elapsed());
        }
    }
    times.sort();
    println!("median_us {}", times[times.len() / 2].as_micros());
    if let Some(out) = out {
        std::fs::write(out, last).map_err(|e| e.to_string())?;
    }
    Ok(())
}
