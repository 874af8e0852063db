//! `clean`: the Clean entry point.

use crate::agent;
use crate::error::{Exit, Result};

use super::{Context, Selection};

/// Destroy resources' guests on this system at once (no graceful shutdown)
#[derive(Debug, clap::Args)]
#[command(
    override_usage = concat!(
        "kvmguestctl clean [OPTIONS] RESOURCE...\n",
        "       kvmguestctl clean [OPTIONS] --all"
    ),
    after_help = concat!(
        "Examples:\n",
        "  # Destroy db_vm's guest on node1 at once\n",
        "  kvmguestctl --config examples/quickstart.yaml --sys node1 clean db_vm --yes",
    ),
    long_about = "Destroy resources' guests on this system at once (the Clean entry point), \
then save the definition to SyncDir when configured. Asks for confirmation on a terminal and needs \
--yes elsewhere."
)]
pub struct Args {
    #[command(flatten)]
    selection: Selection,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    let console = context.output.console();
    super::act(context, &args.selection, |hosts, res, system| {
        agent::clean(hosts, res, system, &console)
    })
}
