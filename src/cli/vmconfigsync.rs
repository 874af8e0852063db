//! `vmconfigsync`: save definitions to SyncDir, define them on the other systems, or check that
//! every copy agrees.

use crate::agent::vmconfigsync::{self, CheckReport, DefineOn};
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
        "  # web_vm runs nowhere and node2's copy is the right one\n",
        "  kvmguestctl vmconfigsync web_vm --from node2\n",
        "  # From cron: mail root when the copies differ\n",
        "  kvmguestctl -q vmconfigsync --check --all || mail -s \"guest definitions diverge\" root",
    ),
    long_about = "Save each guest's definition (inactive, migratable) to SyncDir as \
<GuestName>.xml: atomically, keeping the previous version as <GuestName>.xml.bak, left alone when \
SyncDir's copy already means the same (the vmconfigsync action).\n\n\
The definition is never taken from a copy that may be older than another: it comes from the \
system where the guest runs; when it runs nowhere, from the system named by --from, else from \
any system where it is defined if every copy means the same. When the copies differ and nothing \
says which is right, nothing is saved (exit 5): the message lists the copies, which one SyncDir \
holds and where each first differs; --from SYSTEM then names the right one. --sys does not choose \
the copy. Nothing is saved either, exit 5, when the guest runs nowhere and a system cannot be \
asked (unless --from), when it is migrating, or when --from names another system than the one \
where it runs; and exit 6 when it runs on two systems (a concurrency violation).\n\n\
--define-on / --everywhere then define it on other systems of the resource (havmconfigsync); the \
system it was taken from is skipped (--define-on reports it, exit 0).\n\n\
--check compares the definition on every system and in SyncDir, ignoring attribute order and \
whitespace, shows which copies agree and a unified diff of those that do not, and exits 7 when \
any differ or are missing. Designed for cron."
)]
pub struct Args {
    #[command(flatten)]
    selection: Selection,
    /// Take the definition from this system when the guest runs nowhere (its copy is the right
    /// one)
    #[arg(long, value_name = "SYSTEM", conflicts_with = "check", add = super::names::systems())]
    from: Option<String>,
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
            let define_on = if args.everywhere {
                DefineOn::Everywhere
            } else {
                DefineOn::These(&args.define_on)
            };
            let from = args.from.as_deref();
            match vmconfigsync::vmconfigsync(hosts, res, &survey, from, define_on, &console) {
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
