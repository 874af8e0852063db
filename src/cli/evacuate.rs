//! `evacuate`: move every guest off a system before maintenance.

use crate::agent::evacuate::{self, Options, PARALLEL};
use crate::error::{Error, Exit, Result};

use super::{Context, Outcomes};

/// Move every guest running on a system (--sys) to another of its systems
#[derive(Debug, clap::Args)]
#[command(
    override_usage = "kvmguestctl evacuate --sys SYSTEM [--to SYSTEM] [--dry-run] [--parallel N] [--stop-unmovable]",
    after_help = concat!(
        "Examples:\n",
        "  # What would move where, changing nothing\n",
        "  kvmguestctl evacuate --sys node1 --dry-run\n",
        "  # Empty node1 before maintenance, shutting down what cannot move\n",
        "  kvmguestctl evacuate --sys node1 --stop-unmovable --yes",
    ),
    long_about = "Move every guest running on the system named by --sys to another of its \
resource's systems, live (the Migrate entry point, with its checks, MigrateTimeout and \
MigrateWaitLimit): to --to when it is one of the resource's systems, else to the next system after \
--sys in the resource's priority list that answers and that the DR rule allows. A guest that cannot \
move (a DR resource whose other systems are at another site, a pinned RHEV VM, no other system, \
none answering, not ONLINE, running twice) is left running with the reason (exit 5; 6 for a guest \
running twice), or shut down with --stop-unmovable (the Offline entry point). One confirmation \
lists the plan on a terminal; elsewhere --yes is needed. --dry-run prints the plan and changes \
nothing; its exit code says whether a guest would be left. Migrations to a system whose \
migration_uri names a port run one after another, since that port takes one guest at a time."
)]
pub struct Args {
    /// The system to move guests to, for resources that may run there [default: each resource's
    /// next system]
    #[arg(long, value_name = "SYSTEM", add = super::names::systems())]
    to: Option<String>,
    /// Print the plan and change nothing
    #[arg(long)]
    dry_run: bool,
    /// How many guests move at once
    #[arg(long, value_name = "N", default_value_t = PARALLEL,
          value_parser = clap::builder::TypedValueParser::map(clap::value_parser!(u16).range(1..=64), usize::from))]
    parallel: usize,
    /// Shut down the guests that cannot move instead of leaving them running
    #[arg(long)]
    stop_unmovable: bool,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    let system = context.sys.as_deref().ok_or_else(|| {
        Error::Usage("name the system to evacuate with --sys (or KVMGUESTCTL_SYS)".to_owned())
    })?;
    let options = Options {
        parallel: args.parallel,
        stop_unmovable: args.stop_unmovable,
    };
    context.with_hosts(|config, hosts| {
        let plan = evacuate::plan(hosts, config, system, args.to.as_deref())?;
        let mut outcomes = Outcomes::new();
        for (res, e) in &plan.unasked {
            outcomes.fail(context, res, e);
        }
        outcomes.results = if args.dry_run {
            evacuate::preview(&plan, &options)
        } else {
            evacuate::execute(hosts, &plan, &options, &context.output.console())?
        };
        if outcomes.results.is_empty() && plan.unasked.is_empty() {
            context.output.note(&format!(
                "no guest of a configured resource runs on {system}"
            ));
        }
        if !outcomes.results.is_empty() || context.output.format == crate::render::Format::Json {
            context.output.outcomes(&outcomes, &outcomes.results);
        }
        Ok(outcomes.exit())
    })
}
