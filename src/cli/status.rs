//! `status`: the Monitor entry point for many resources, each system asked once.

use crate::agent::{self, Hosts};
use crate::error::{Exit, Result};

use super::{Context, Selection};

/// Show where each resource's guest runs and its state and confidence on every system
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Show where each resource's guest runs and its state and confidence on every \
system (the Monitor entry point). Each system is asked once, all systems at the same time.\n\n\
Exit code 4 when a system could not be asked (2 when a RHEV engine refused the credentials), 6 \
when a guest runs on more than one system."
)]
pub struct Args {
    #[command(flatten)]
    selection: Selection,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    let config = context.config()?;
    let resources = config.select(&args.selection.names, args.selection.all)?;
    let connector = context.connector();
    let hosts = Hosts::new(&config, &connector);
    let statuses = agent::status(&hosts, &resources);

    let mut rows = Vec::new();
    for r in &statuses {
        for s in &r.systems {
            let hypervisor = match (s.hypervisor_state, s.hypervisor_reason) {
                (Some(state), Some(reason)) => format!("{state} ({reason})"),
                _ => "-".to_owned(),
            };
            let why = s.error.clone().unwrap_or_else(|| s.why.clone());
            rows.push(vec![
                r.resource.clone(),
                s.system.clone(),
                s.state.to_string(),
                s.confidence.map_or(String::new(), |c| c.to_string()),
                hypervisor,
                why,
            ]);
        }
    }
    #[derive(serde::Serialize)]
    struct Statuses<'a> {
        resources: &'a [agent::ResourceStatus],
    }
    context.output.emit(
        &Statuses {
            resources: &statuses,
        },
        &[
            "RESOURCE",
            "SYSTEM",
            "STATE",
            "CONFIDENCE",
            "HYPERVISOR",
            "WHY",
        ],
        rows,
    );

    for r in statuses.iter().filter(|r| r.concurrency_violation) {
        context.output.warn(&format!(
            "CONCURRENCY VIOLATION: {} ({}) runs on {} at once",
            r.resource,
            r.guest,
            r.running_on.join(" and ")
        ));
    }
    // A system that could not be asked gives its error's code: 4 when unreachable, 2 when the
    // engine refused the configured credentials.
    let failed = statuses
        .iter()
        .flat_map(|r| &r.systems)
        .find_map(|s| s.error_class.as_ref());
    Ok(if statuses.iter().any(|r| r.concurrency_violation) {
        Exit::Concurrency
    } else if let Some(e) = failed {
        e.exit()
    } else {
        Exit::Success
    })
}
