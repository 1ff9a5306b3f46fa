//! `convoy eval TEMPLATE [--context FILE|-]`.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context as _;
use convoy_expr::{Evaluator, context};

use crate::cli::EvalArgs;

pub fn run(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let document = match &args.context {
        None => serde_json::json!({}),
        Some(path) => {
            let text = if path.as_os_str() == "-" {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text).context("cannot read the context from standard input")?;
                text
            } else {
                std::fs::read_to_string(path).map_err(|e| {
                    anyhow::anyhow!("cannot read context file {}: {}", path.display(), crate::output::plain_io(&e))
                })?
            };
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("context is not valid JSON: {e}"))?
        }
    };
    let (scope, data) = context::from_json(&document).map_err(anyhow::Error::msg)?;
    let evaluator = Evaluator::new(&data);
    match evaluator.template(&args.template, &scope) {
        Ok(value) => {
            println!("{}", serde_json::to_string_pretty(&value)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
