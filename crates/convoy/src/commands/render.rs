//! `convoy render --stage NAME`: the steps and vars a promotion of the Stage would run.

use std::process::ExitCode;

use convoy_api::{Kind, Resource};
use convoy_core::expand::expand_steps;
use convoy_core::{Operation, admit};
use serde_json::json;

use super::lint::{catalog_of, finding};
use crate::cli::RenderArgs;
use crate::env::SystemEnv;
use crate::manifests::{Content, load};
use crate::output::{Finding, print_findings};

pub fn run(args: &RenderArgs, project: Option<&str>) -> anyhow::Result<ExitCode> {
    let manifests = load(&args.files, project);
    let (catalog, _) = catalog_of(&manifests, false);
    let stages: Vec<_> = manifests
        .documents
        .iter()
        .filter(|d| matches!(&d.content, Content::Resource(r) if r.kind() == Kind::Stage && r.metadata().name() == args.stage))
        .filter(|d| project.is_none_or(|p| matches!(&d.content, Content::Resource(r) if r.metadata().namespace() == p)))
        .collect();
    let doc = match stages.as_slice() {
        [one] => *one,
        [] => anyhow::bail!(
            "no Stage named {:?} in the given files{}",
            args.stage,
            project.map(|p| format!(" (project {p})")).unwrap_or_default()
        ),
        _ => anyhow::bail!("Stage {:?} is defined in several projects; choose one with -p", args.stage),
    };
    let Content::Resource(resource) = &doc.content else { unreachable!("filtered to resources") };
    let Resource::Stage(stage) = resource.as_ref() else { unreachable!("filtered to Stages") };

    let problems = match admit(Resource::Stage(stage.clone()), Operation::Create, &catalog, &mut SystemEnv::default()) {
        Ok(_) => Vec::new(),
        Err(problems) => problems,
    };
    let errors: Vec<Finding> = problems.iter().filter(|p| p.is_error()).map(|p| finding(doc, p)).collect();
    if !errors.is_empty() {
        print_findings(&errors, false)?;
        return Ok(ExitCode::from(1));
    }
    let project = stage.metadata.namespace();
    let Some(template) = &stage.spec.promotion_template.as_ref().filter(|_| !stage.is_control_flow()) else {
        anyhow::bail!("Stage {:?} is a control-flow Stage: it has no promotion steps", args.stage);
    };
    let vars: Vec<_> = stage.spec.vars.iter().chain(&template.spec.vars).cloned().collect();
    let steps = expand_steps(project, &template.spec.steps, &vars, &catalog).map_err(|errors| {
        anyhow::anyhow!("{}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
    })?;
    let rendered = json!({ "stage": args.stage, "project": project, "vars": vars, "steps": steps });
    print!("{}", serde_yaml::to_string(&rendered)?);
    Ok(ExitCode::SUCCESS)
}
