//! The modules of this crate import only modules below them (the order `lib.rs` documents), so
//! that no cycle comes back: each `crate::<module>` a file names must come earlier in `LAYERS`.

const LAYERS: &[&str] = &[
    "base64",
    "env",
    "events",
    "receivers",
    "writes",
    "indexes",
    "shard",
    "heartbeat",
    "status",
    "runtime",
    "argocd",
    "metrics",
    "resources",
    "pr_status",
    "verification",
    "promotions",
    "dry_run",
    "stages",
    "warehouses",
    "gc",
    "lead",
];

#[test]
fn modules_import_only_modules_below_them() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".rs").to_owned())
        .filter(|name| name != "lib")
        .collect();
    files.sort();
    let mut listed: Vec<String> = LAYERS.iter().map(|s| (*s).to_owned()).collect();
    listed.sort();
    assert_eq!(files, listed, "every module has a place in LAYERS");
    let mut violations = Vec::new();
    for (position, module) in LAYERS.iter().enumerate() {
        let text = std::fs::read_to_string(src.join(format!("{module}.rs"))).unwrap();
        for (line_number, line) in text.lines().enumerate() {
            for used in line.split("crate::").skip(1) {
                let name: String = used.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                let group: Vec<&str> = if name.is_empty() && used.starts_with('{') {
                    used[1..used.find('}').unwrap_or(used.len())].split(',').map(str::trim).collect()
                } else {
                    vec![name.as_str()]
                };
                for target in group {
                    match LAYERS.iter().position(|l| *l == target) {
                        Some(at) if at >= position => violations
                            .push(format!("{module}.rs:{}: imports {target}, which is not below it", line_number + 1)),
                        _ => {}
                    }
                }
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
