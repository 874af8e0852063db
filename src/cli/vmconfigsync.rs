//! `vmconfigsync`: save definitions to SyncDir, define them on the other systems, or check that
//! every copy agrees.

use crate::agent::vmconfigsync::{self, CheckReport};
use crate::error::{Exit, Outcome, Result};

use super::{Context, Outcomes, Selection};

/// Save guests' definitions to SyncDir (and define them elsewhere), or check that all copies agree
#[derive(Debug, clap::Args)]
#[command(
    override_usage = concat!(
        "kvmguestctl vmconfigsync [OPTIONS] RESOURCE...\n",
        "       kvmguestctl vmconfigsync [OPTIONS] --all"
    ),
    after_help = concat!(
        "Examples:\n",
        "  # Save web_vm's definition to SyncDir\n",
        "  kvmguestctl vmconfigsync web_vm\n",
        "  # Save it, then define it on node2 as well\n",
        "  kvmguestctl vmconfigsync web_vm --define-on node2\n",
        "  # From cron: mail root when the copies differ\n",
        "  kvmguestctl -q vmconfigsync --check --all || mail -s \"guest definitions diverge\" root",
    ),
    long_about = "Save each guest's definition (inactive, migratable), taken from the system \
where it runs or else where it is defined, to SyncDir as <GuestName>.xml: atomically, keeping the \
previous version as <GuestName>.xml.bak, skipped when unchanged (the vmconfigsync action).\n\n\
--define-on / --everywhere then define it on other systems of the resource (havmconfigsync), \
never under a guest that runs there (exit 5).\n\n\
--check compares the definition on every system and in SyncDir, ignoring attribute order and \
whitespace, shows which copies agree and a unified diff of those that do not, and exits 7 when \
any differ or are missing. Designed for cron."
)]
pub struct Args {
    #[command(flatten)]
    selection: Selection,
    /// After saving, define the definition on these systems
    #[arg(long, value_name = "SYSTEM", num_args = 1.., conflicts_with_all = ["everywhere", "check"],
          add = super::names::systems())]
    define_on: Vec<String>,
    /// After saving, define the definition on every other system of the resource
    #[arg(long, conflicts_with = "check")]
    everywhere: bool,
    /// Only compare the copies; change nothing
    #[arg(long)]
    check: bool,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    context.with_hosts(|config, hosts| {
        let resources = super::libvirt_only(
            context,
            config.select(&args.selection.names, args.selection.all)?,
            !args.selection.all,
            "the engine keeps RHEV VM definitions",
        )?;
        // One survey for all the resources: every system is asked once, however many resources.
        let survey = hosts.survey(&resources);
        if args.check {
            let reports: Vec<CheckReport> = resources
                .iter()
                .map(|r| vmconfigsync::check(hosts, r, &survey))
                .collect();
            return Ok(render_check(context, &reports));
        }
        let console = context.output.console();
        let mut outcomes = Outcomes::new();
        for res in resources {
            let targets = if args.everywhere {
                res.systems.clone()
            } else {
                args.define_on.clone()
            };
            match vmconfigsync::vmconfigsync(hosts, res, &survey, &targets, &console) {
                Ok(report) => {
                    for e in report.defined_on.iter().filter_map(|p| p.error.as_ref()) {
                        outcomes.fail(context, res, e);
                    }
                    outcomes.results.push(report);
                }
                Err(e) => outcomes.fail(context, res, &e),
            }
        }
        context.output.outcomes(&outcomes, &outcomes.results);
        Ok(outcomes.exit())
    })
}

fn render_check(context: &Context, reports: &[CheckReport]) -> Exit {
    #[derive(serde::Serialize)]
    struct Checked<'a> {
        resources: &'a [CheckReport],
    }
    context
        .output
        .outcomes(&Checked { resources: reports }, reports);
    if context.output.format == crate::render::Format::Table {
        for diff in reports
            .iter()
            .flat_map(|r| &r.copies)
            .filter_map(|c| c.diff.as_deref())
        {
            context.output.text(diff);
        }
    }
    Exit::of(reports.iter().map(Outcome::exit))
}
