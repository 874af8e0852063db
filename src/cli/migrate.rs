//! `migrate`: the Migrate entry point.

use crate::agent::Hosts;
use crate::agent::migrate::{self, MigrateMode};
use crate::error::{Exit, Result};
use crate::render::Format;
use crate::resource::Resource;

use super::{Context, Outcomes, Selection};

/// Move running guests to another of their systems, from where each runs (or --sys)
#[derive(Debug, clap::Args)]
#[command(
    override_usage = concat!(
        "kvmguestctl migrate [OPTIONS] --to SYSTEM RESOURCE...\n",
        "       kvmguestctl migrate [OPTIONS] --to SYSTEM --all"
    ),
    after_help = concat!(
        "Examples:\n",
        "  # Move web_vm to node2 while it runs, from wherever it runs now\n",
        "  kvmguestctl migrate web_vm --to node2\n",
        "  # Shut it down, define it on node2 and start it there\n",
        "  kvmguestctl --sys node1 migrate db_vm --to node2 --mode offline",
    ),
    long_about = "Move running guests to another of their systems (the Migrate entry point), \
from the one system where each is running, as hares -migrate and pcs resource move find it, or \
from --sys when given. A guest running on none of its systems is exit 3, on two at once exit 6. \
Live by default; pause keeps the guest paused during the copy; offline \
stops it, moves the definition and starts it there. The definition is made persistent on the \
target and removed from the source. A migration that has not finished within MigrateTimeout is \
aborted and the guest keeps running on its source. The guest must then be ONLINE on the target within \
MigrateWaitLimit monitor cycles (1 s each).\n\n\
Refused: a target that is not one of the resource's systems (exit 2), a guest not running on --sys \
(exit 1), a guest already running on the target, or a DROpts.ConfigureNetwork = 1 resource whose \
target is at another site (exit 5).\n\n\
RHEV resources: the engine's migrate action to the target's host, live only; refused first \
(exit 5) when the VM's placement policy is pinned or user_migratable, with the engine's reason. \
A migration not done within MigrateTimeout is cancelled."
)]
pub struct Args {
    #[command(flatten)]
    selection: Selection,
    /// The system to move to
    #[arg(long, value_name = "SYSTEM", add = super::names::systems())]
    to: String,
    /// How to move the guest
    #[arg(long, value_enum, default_value_t = MigrateMode::Live)]
    mode: MigrateMode,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    let mode = args.mode;
    let console = context.output.console();
    let run = |hosts: &Hosts, res: &Resource, from: &str| {
        migrate::migrate(hosts, res, from, &args.to, mode, &console)
    };
    if context.sys.is_some() {
        return super::act(context, &args.selection, run);
    }
    // No --sys: each guest leaves the system where it runs, not this machine.
    context.with_hosts(|config, hosts| {
        let resources = config.select(&args.selection.names, args.selection.all)?;
        let outcomes = Outcomes::each(context, resources, |res| {
            run(hosts, res, &migrate::source(hosts, res)?)
        });
        if !outcomes.results.is_empty() || context.output.format == Format::Json {
            context.output.outcomes(&outcomes, &outcomes.results);
        }
        Ok(outcomes.exit())
    })
}
