//! `start`: the Online entry point.

use crate::agent::{self, OnlineOptions};
use crate::error::{Exit, Result};

use super::{Context, Selection};

/// Bring resources online on this system (define if configured, start, wait, verify)
#[derive(Debug, clap::Args)]
#[command(
    override_usage = concat!(
        "kvmguestctl start [OPTIONS] RESOURCE...\n",
        "       kvmguestctl start [OPTIONS] --all"
    ),
    after_help = concat!(
        "Examples:\n",
        "  # Start batch_vm on node1\n",
        "  kvmguestctl --config examples/quickstart.yaml --sys node1 start batch_vm\n",
        "  # Fail over to node1 while node2 is down and known to be powered off\n",
        "  kvmguestctl --sys node1 start web_vm --assume-stopped node2",
    ),
    long_about = "Bring resources online on this system (the Online entry point): refuse \
when the guest already runs on another of its systems; define it from GuestConfigFilePath when it \
is not defined here (always, when ResyncVMCfg is 1); start it; wait DelayAfterGuestOnline; confirm \
it is ONLINE.\n\n\
RHEV resources (RHEVMInfo.Enabled = 1): the engine starts the VM on this system's host; with \
DROpts.ConfigureNetwork = 1 the site's network settings are first set as a cdrom payload \
(kvmguestctl-dr.conf, applied in the guest by examples/rhev/kvmguestctl-dr-network)."
)]
pub struct Args {
    #[command(flatten)]
    selection: Selection,
    /// A system that cannot be reached but is known not to run the guest (fenced, powered off)
    #[arg(long, value_name = "SYSTEM", add = super::names::systems())]
    assume_stopped: Vec<String>,
    /// How many resources start at once: a start mostly waits (DelayAfterGuestOnline), so many
    /// waits overlap; 1 starts them one after the other
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    parallel: u16,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    let options = OnlineOptions {
        assume_stopped: args.assume_stopped.clone(),
        until: None,
    };
    let parallel = usize::from(args.parallel);
    super::act(
        context,
        &args.selection,
        parallel,
        None,
        |hosts, res, system, console| agent::online(hosts, res, system, &options, console),
    )
}
