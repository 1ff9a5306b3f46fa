//! Step paths are relative to the promotion's working directory and may not leave it.

use std::path::{Component, Path, PathBuf};

use convoy_engine::StepError;

pub(crate) fn resolve(work_dir: &Path, relative: &str) -> Result<PathBuf, StepError> {
    let path = Path::new(relative);
    let mut out = work_dir.to_owned();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::Normal(part) => out.push(part),
            Component::ParentDir if out.starts_with(work_dir) && out != work_dir => {
                out.pop();
            }
            _ => {
                return Err(StepError::terminal(format!(
                    "path {relative:?} must be relative to the promotion's working directory and stay inside it"
                )));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_inside() {
        let base = Path::new("/work/p");
        assert_eq!(resolve(base, "./out/a.yaml").unwrap(), Path::new("/work/p/out/a.yaml"));
        assert_eq!(resolve(base, "out/../src").unwrap(), Path::new("/work/p/src"));
        assert!(resolve(base, "../escape").is_err());
        assert!(resolve(base, "/etc/passwd").is_err());
    }
}
