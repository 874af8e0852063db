//! `migrate`: the Migrate entry point.

use crate::agent;
use crate::agent::migrate::{self, MigrateMode};
use crate::error::{Exit, Result};
use crate::render::Confirmation;
use crate::resource::Resource;
use std::time::Duration;

use super::{Context, Selection};

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
    /// How many resources migrate at once: migrations share the network between the systems,
    /// so few at a time finish sooner each; 1 moves them one after the other
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    parallel: u16,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    let mode = args.mode;
    let to = args.to.as_str();
    let title = |n| format!("Shut down {n} guests and start them on {to}");
    let each = |res: &Resource, system: &str, here: &agent::SystemStatus| Confirmation {
        question: agent::shutdown_question(res, system, &agent::STOP, Duration::ZERO),
        line: super::listed(
            res,
            system,
            here,
            &format!("shut down, then started on {to}"),
        ),
    };
    // Only an offline migration interrupts the guest; it asks what stop asks.
    let ask = (mode == MigrateMode::Offline).then_some(super::Ask {
        title: &title,
        each: &each,
    });
    // No --sys: each guest leaves the system where it runs, not this machine.
    let locate = context.sys.is_none().then_some(&migrate::source as &_);
    super::act_from(
        context,
        &args.selection,
        usize::from(args.parallel),
        ask,
        locate,
        |hosts, res, system, console| migrate::migrate(hosts, res, system, to, mode, console),
    )
}
