//! `convoy migrate`: pre-v1.0 Kargo manifests rewritten to v1 (`convoy_core::migrate`), with the
//! text around the changed fields kept: comments, order and layout of everything else. Without
//! `--write` it prints a diff; nothing is written unless every file migrates.
//!
//! Each changed document is edited in place where its `spec` is block-style YAML (the changed
//! fields' lines are replaced); the result is read back and must equal the migrated value, or
//! the document is written out whole instead (its leading comments kept) with a note.

use std::process::ExitCode;

use convoy_api::yaml::parse_documents;
use convoy_core::migrate::{Migrated, migrate_set};
use serde_json::Value;

use crate::cli::MigrateArgs;

pub fn run(args: &MigrateArgs) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for path in &args.files.files {
        let mut found = Vec::new();
        crate::manifests::collect(path, args.files.recursive, true, &mut found).map_err(anyhow::Error::msg)?;
        // Found in a directory, JSON stays as it is: a rewrite writes YAML.
        found.retain(|f| f == path || f.extension().is_none_or(|e| e != "json"));
        files.extend(found);
    }
    // One set across files: a Stage's Warehouse may be in another file.
    let mut chunks: Vec<(usize, String)> = Vec::new();
    let mut texts = Vec::new();
    for (f, file) in files.iter().enumerate() {
        let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
        chunks.extend(split_documents(&text).into_iter().map(|c| (f, c)));
        texts.push(text);
    }
    let mut values = Vec::new();
    for (f, chunk) in &chunks {
        let parsed = parse_documents(chunk).map_err(|e| {
            anyhow::anyhow!(
                "{}: not valid YAML (line {} of its document): {}",
                files[*f].display(),
                e.position.line,
                e.message
            )
        })?;
        values.push(parsed.into_iter().next().map(|d| d.value).unwrap_or(Value::Null));
    }
    let migration = migrate_set(&values);
    if !migration.errors.is_empty() {
        for (i, why) in &migration.errors {
            eprintln!("{}: error: {why}", files[chunks[*i].0].display());
        }
        eprintln!("nothing was changed");
        return Ok(ExitCode::from(1));
    }
    let mut outputs: Vec<String> = vec![String::new(); files.len()];
    let mut changed = vec![false; files.len()];
    for ((f, chunk), migrated) in chunks.iter().zip(&migration.documents) {
        let text = match migrated {
            None => chunk.clone(),
            Some(m) => {
                changed[*f] = true;
                for note in &m.notes {
                    eprintln!("{}: {}: {note}", files[*f].display(), label(&m.value));
                }
                edit(chunk, m).unwrap_or_else(|| {
                    eprintln!(
                        "{}: {}: note: written out whole; comments inside it were not kept",
                        files[*f].display(),
                        label(&m.value)
                    );
                    whole(chunk, &m.value)
                })
            }
        };
        outputs[*f].push_str(&text);
    }
    if let Some(last) = files.len().checked_sub(1) {
        for added in &migration.added {
            eprintln!("{}: {}: added", files[last].display(), label(added));
            outputs[last].push_str(&format!("---\n{}", to_yaml(added)));
            changed[last] = true;
        }
    }
    for (f, file) in files.iter().enumerate().filter(|(f, _)| changed[*f]) {
        if args.write {
            write_atomically(file, &outputs[f])?;
            eprintln!("{}: migrated", file.display());
        } else {
            print!("{}", diff(&file.display().to_string(), &texts[f], &outputs[f]));
        }
    }
    if !changed.iter().any(|c| *c) {
        eprintln!("nothing to migrate: the manifests are Kargo v1 already");
    }
    Ok(ExitCode::SUCCESS)
}

/// Beside the file, then renamed over it: an interrupted write leaves the old file whole.
fn write_atomically(file: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = file.with_file_name(format!(".{name}.convoy-migrate"));
    std::fs::write(&temporary, text)?;
    if let Ok(meta) = std::fs::metadata(file) {
        std::fs::set_permissions(&temporary, meta.permissions())?;
    }
    std::fs::rename(&temporary, file)?;
    Ok(())
}

fn label(value: &Value) -> String {
    let text = |p: &str| value.pointer(p).and_then(Value::as_str).unwrap_or("?").to_owned();
    format!("{}/{}", text("/kind"), text("/metadata/name"))
}

/// The documents of a stream, each with the `---` line that opens it (so that joining them
/// gives the text back).
fn split_documents(text: &str) -> Vec<String> {
    let mut chunks = vec![String::new()];
    for line in text.split_inclusive('\n') {
        if (line.starts_with("---") && line[3..].trim().is_empty())
            && !chunks.last().is_some_and(|c| c.trim().is_empty() || is_comments(c))
        {
            chunks.push(String::new());
        }
        chunks.last_mut().expect("one chunk").push_str(line);
    }
    chunks
}

fn is_comments(text: &str) -> bool {
    text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
}

fn to_yaml(value: &Value) -> String {
    serde_yaml::to_string(value).unwrap_or_default()
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_content(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

/// Replaces, inside a block-style `spec:`, the fields that changed; the rest stays as written.
/// `None` when the document is not laid out so, or the edit does not read back as `migrated`.
fn edit(chunk: &str, migrated: &Migrated) -> Option<String> {
    let original = parse_documents(chunk).ok()?.into_iter().next()?.value;
    let lines: Vec<&str> = chunk.split_inclusive('\n').collect();
    let spec_at = lines.iter().position(|l| l.trim_end() == "spec:" || l.starts_with("spec: #"))?;
    let end =
        (spec_at + 1..lines.len()).find(|&i| is_content(lines[i]) && indent_of(lines[i]) == 0).unwrap_or(lines.len());
    let child = (spec_at + 1..end).find(|&i| is_content(lines[i])).map(|i| indent_of(lines[i]))?;
    let old_spec = original.get("spec").and_then(Value::as_object)?;
    let new_spec = migrated.value.get("spec").and_then(Value::as_object);
    // The top-level keys of spec and their line ranges (a key's comments above it go with it).
    let mut blocks: Vec<(String, usize, usize)> = Vec::new();
    for (i, line) in lines.iter().enumerate().take(end).skip(spec_at + 1) {
        // A key of spec; `- ` at the same indentation is an item of the key above.
        if is_content(line) && indent_of(line) == child && !line.trim_start().starts_with('-') {
            let key = line.trim().split(':').next()?.trim().to_owned();
            if let Some(last) = blocks.last_mut() {
                last.2 = i;
            }
            blocks.push((key, i, end));
        }
    }
    let mut out = String::new();
    out.extend(lines[..spec_at].iter().copied());
    let unchanged = |key: &str| new_spec.and_then(|s| s.get(key)) == old_spec.get(key);
    let mut inserted = false;
    let new_keys: Vec<&String> =
        new_spec.map(|s| s.keys().filter(|k| !old_spec.contains_key(*k)).collect()).unwrap_or_default();
    let render = |key: &str, value: &Value| -> String {
        let body = to_yaml(&serde_json::json!({ key: value }));
        body.lines().map(|l| format!("{}{l}\n", " ".repeat(child))).collect()
    };
    let mut spec_text = String::new();
    spec_text.extend(lines[spec_at..blocks.first()?.1].iter().copied());
    for (key, start, stop) in &blocks {
        if unchanged(key) {
            spec_text.extend(lines[*start..*stop].iter().copied());
            continue;
        }
        // Comments inside a replaced block stay, above what replaced it.
        for line in &lines[*start..*stop] {
            if line.trim_start().starts_with('#') {
                spec_text.push_str(&format!("{}{}\n", " ".repeat(child), line.trim()));
            }
        }
        if let Some(value) = new_spec.and_then(|s| s.get(key.as_str())) {
            spec_text.push_str(&render(key, value));
        }
        if !inserted {
            inserted = true;
            for key in &new_keys {
                spec_text.push_str(&render(key, &new_spec?[key.as_str()]));
            }
        }
    }
    match new_spec {
        Some(_) => out.push_str(&spec_text),
        // The spec went away (a Project): keep only its comments.
        None => spec_text
            .lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .for_each(|l| out.push_str(&format!("{}\n", l.trim()))),
    }
    out.extend(lines[end..].iter().copied());
    let back = parse_documents(&out).ok()?.into_iter().next()?.value;
    (back == migrated.value).then_some(out)
}

/// The document written out whole, after the comments and `---` that opened it.
fn whole(chunk: &str, value: &Value) -> String {
    let head: String = chunk.split_inclusive('\n').take_while(|l| !is_content(l) || l.starts_with("---")).collect();
    format!("{head}{}", to_yaml(value))
}

/// A unified diff of two texts, whole lines, three lines of context.
fn diff(name: &str, old: &str, new: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    // The table below is |a|·|b| cells: beyond a few million (files of thousands of lines) the
    // whole new text is shown instead of spending gigabytes on a diff.
    if a.len().saturating_mul(b.len()) > 4_000_000 {
        let mut out = format!("--- {name}\n+++ {name} (migrated; too long for a line diff, the whole new text)\n");
        b.iter().for_each(|line| out.push_str(&format!("+{line}\n")));
        return out;
    }
    // Longest common subsequence table; manifests are small.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let mut out = format!("--- {name}\n+++ {name} (migrated)\n");
    let near_change = |k: usize| ops[k.saturating_sub(3)..(k + 4).min(ops.len())].iter().any(|(c, _)| *c != ' ');
    let mut skipped = false;
    for (k, (c, line)) in ops.iter().enumerate() {
        if *c != ' ' || near_change(k) {
            if skipped {
                out.push_str("@@\n");
                skipped = false;
            }
            out.push_str(&format!("{c}{line}\n"));
        } else {
            skipped = true;
        }
    }
    out
}
