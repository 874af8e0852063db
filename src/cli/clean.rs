//! `clean`: the Clean entry point.

use crate::agent;
use crate::error::{Exit, Result};
use crate::render::Confirmation;

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
    /// How many resources are cleaned at once (1: one after the other)
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    parallel: u16,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    let ask = super::Ask {
        title: &|n| format!("Destroy {n} guests at once, without a shutdown"),
        each: &|res, system, here| Confirmation {
            question: agent::clean_question(res, system),
            line: super::listed(res, system, here, "destroyed at once"),
        },
    };
    super::act(
        context,
        &args.selection,
        usize::from(args.parallel),
        Some(ask),
        |hosts, res, system, console| agent::clean(hosts, res, system, console),
    )
}
