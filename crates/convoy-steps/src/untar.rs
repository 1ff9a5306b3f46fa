//! `untar`: unpacks a tar archive (gzip-compressed or not) inside the work dir.
//!
//! Entries may not leave `outPath` (absolute paths and `..` are refused), links are skipped,
//! every entry is written through [`within`] (no link already in the work dir leads it out, no
//! `.git`), and the unpacked size and entry count are capped ([`MAX_UNPACKED_BYTES`],
//! [`MAX_ENTRIES`]), so an archive from the network cannot write elsewhere or fill the disk.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use convoy_engine::{StepContext, StepError, StepResult, StepRunner};
use serde::Deserialize;
use serde_json::Map;

use crate::config::decode;
use crate::files::Ignore;
use crate::paths::{resolve, within};

const MAX_UNPACKED_BYTES: u64 = 4 << 30;
const MAX_ENTRIES: usize = 100_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UntarConfig {
    in_path: String,
    out_path: String,
    #[serde(default)]
    strip_components: Option<i64>,
    #[serde(default)]
    ignore: Option<String>,
}

pub(crate) struct Untar;

#[async_trait]
impl StepRunner for Untar {
    fn kind(&self) -> &'static str {
        "untar"
    }

    async fn run(&self, context: &StepContext) -> Result<StepResult, StepError> {
        let config: UntarConfig = decode(self.kind(), &context.config)?;
        let strip = match config.strip_components {
            None => 0,
            Some(n) if n >= 0 => n as usize,
            Some(n) => {
                return Err(StepError::terminal(format!(
                    "invalid untar config: stripComponents: {n} must be 0 or more"
                )));
            }
        };
        let archive = resolve(&context.work_dir, &config.in_path)?;
        let out = resolve(&context.work_dir, &config.out_path)?;
        let ignore = Ignore::parse(config.ignore.as_deref().unwrap_or_default());
        let in_path = config.in_path.clone();
        let work_dir = context.work_dir.clone();
        tokio::task::spawn_blocking(move || unpack(&work_dir, &archive, &out, strip, &ignore))
            .await
            .map_err(|e| StepError::terminal(format!("untar stopped: {e}")))?
            .map_err(|e| StepError::terminal(format!("cannot unpack {in_path}: {e}")))?;
        Ok(StepResult::succeeded(Map::new()))
    }
}

fn unpack(work_dir: &Path, archive: &Path, out: &Path, strip: usize, ignore: &Ignore) -> Result<(), String> {
    let mut file = std::fs::File::open(archive).map_err(|e| e.to_string())?;
    let mut magic = [0u8; 2];
    let gzip = file.read(&mut magic).map_err(|e| e.to_string())? == 2 && magic == [0x1f, 0x8b];
    let file = std::fs::File::open(archive).map_err(|e| e.to_string())?;
    let reader: Box<dyn Read> = if gzip { Box::new(flate2::read::GzDecoder::new(file)) } else { Box::new(file) };
    let mut tar = tar::Archive::new(reader);
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create the output directory: {e}"))?;
    let mut total: u64 = 0;
    for (index, entry) in tar.entries().map_err(|e| format!("not a tar archive: {e}"))?.enumerate() {
        if index >= MAX_ENTRIES {
            return Err(format!("it has more than {MAX_ENTRIES} entries"));
        }
        let mut entry = entry.map_err(|e| format!("not a tar archive: {e}"))?;
        let name = entry.path().map_err(|e| e.to_string())?.into_owned();
        let Some(relative) = inside(&name, strip)? else { continue };
        let text = relative.to_string_lossy().into_owned();
        if ignore.matches(&text) {
            continue;
        }
        let target = within(work_dir, &out.join(&relative)).map_err(|e| e.to_string())?;
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| format!("{text}: {e}"))?;
        } else if kind.is_file() {
            total += entry.header().size().map_err(|e| e.to_string())?;
            if total > MAX_UNPACKED_BYTES {
                return Err(format!("it unpacks to more than {} GiB", MAX_UNPACKED_BYTES >> 30));
            }
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| format!("{text}: {e}"))?;
            }
            let mut written = std::fs::File::create(&target).map_err(|e| format!("{text}: {e}"))?;
            std::io::copy(&mut (&mut entry).take(MAX_UNPACKED_BYTES), &mut written)
                .map_err(|e| format!("{text}: {e}"))?;
            let mode = entry.header().mode().unwrap_or(0o644) & 0o755;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode | 0o600))
                .map_err(|e| format!("{text}: {e}"))?;
        }
        // Links, devices and the like are skipped: they could point outside the work dir.
    }
    Ok(())
}

/// The entry's path below `outPath` after stripping; `None` when stripping leaves nothing.
fn inside(name: &Path, strip: usize) -> Result<Option<PathBuf>, String> {
    let mut parts = Vec::new();
    for component in name.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            _ => return Err(format!("entry {:?} would be written outside the output directory", name)),
        }
    }
    if parts.len() <= strip {
        return Ok(None);
    }
    Ok(Some(parts[strip..].iter().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripping_and_escapes() {
        assert_eq!(inside(Path::new("chart/templates/a.yaml"), 1).unwrap(), Some(PathBuf::from("templates/a.yaml")));
        assert_eq!(inside(Path::new("./chart/"), 1).unwrap(), None);
        assert!(inside(Path::new("../evil"), 0).is_err());
        assert!(inside(Path::new("/etc/passwd"), 0).is_err());
    }
}
