//! The `kargo.akuity.io/authorized-stage` annotation: an Application's opt-in to being changed
//! by named Stages (`<project>:<stage>`, comma-separated). Globs are refused, as Kargo does now.

pub const AUTHORIZED_STAGE_ANNOTATION: &str = "kargo.akuity.io/authorized-stage";

/// The `(project, stage)` pairs of an annotation value, or Kargo's message for a bad one.
pub fn authorized_stages(value: &str) -> Result<Vec<(String, String)>, String> {
    let mut stages = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let parts = entry.split_once(':').map(|(p, s)| (p.trim(), s.trim()));
        let Some((project, stage)) = parts.filter(|(p, s)| !p.is_empty() && !s.is_empty()) else {
            return Err(format!("invalid authorized Stage {entry:?}: expected format \"<project>:<stage>\""));
        };
        if project.contains('*') || stage.contains('*') {
            return Err(format!(
                "invalid authorized Stage {entry:?}: deprecated glob expressions are no longer supported"
            ));
        }
        stages.push((project.to_owned(), stage.to_owned()));
    }
    if stages.is_empty() {
        return Err(format!("no authorized Stages found in {value:?}"));
    }
    Ok(stages)
}
