//! `status`: the Monitor entry point for many resources, each system asked once.

use crate::agent;
use crate::error::{Exit, Outcome, Result};

use super::Context;

/// Show where each resource's guest runs and its state and confidence on every system
#[derive(Debug, clap::Args)]
#[command(
    override_usage = concat!(
        "kvmguestctl status [OPTIONS] [RESOURCE...]\n",
        "       kvmguestctl status [OPTIONS] --all"
    ),
    after_help = concat!(
        "Examples:\n",
        "  # Where every guest of the quickstart runs\n",
        "  kvmguestctl --config examples/quickstart.yaml status --all\n",
        "  # Two resources, as JSON for a script\n",
        "  kvmguestctl --config examples/quickstart.yaml status web_vm db_vm -o json\n",
        "  # From cron: exit 6 means a guest runs on two systems\n",
        "  kvmguestctl -q status --all || logger -t kvmguestctl \"status: exit $?\"",
    ),
    long_about = "Show where each resource's guest runs and its state and confidence on every \
system (the Monitor entry point). Each system is asked once, all systems at the same time. \
Without resource names, every configured resource is shown, as `hares -state` does.\n\n\
Exit code 4 when a system could not be asked (2 when a RHEV engine refused the credentials), 6 \
when a guest runs on more than one system."
)]
pub struct Args {
    /// Resource names [default: all]
    #[arg(value_name = "RESOURCE", add = super::names::resources())]
    names: Vec<String>,
    /// Every configured resource (the default)
    #[arg(long, conflicts_with = "names")]
    all: bool,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    context.with_hosts(|config, hosts| {
        // Looking changes nothing: unlike the commands that act, no names means every resource.
        let resources = config.select(&args.names, args.all || args.names.is_empty())?;
        let statuses = agent::status(hosts, &resources);
        #[derive(serde::Serialize)]
        struct Statuses<'a> {
            resources: &'a [agent::ResourceStatus],
        }
        context.output.outcomes(
            &Statuses {
                resources: &statuses,
            },
            &statuses,
        );
        for r in statuses.iter().filter(|r| r.concurrency_violation) {
            context.output.warn(&format!(
                "CONCURRENCY VIOLATION: {} ({}) runs on {} at once",
                r.resource,
                r.guest,
                r.running_on.join(" and ")
            ));
        }
        Ok(Exit::of(statuses.iter().map(Outcome::exit)))
    })
}
