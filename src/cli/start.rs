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
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    let options = OnlineOptions {
        assume_stopped: args.assume_stopped.clone(),
    };
    let console = context.output.console();
    super::act(context, &args.selection, |hosts, res, system| {
        agent::online(hosts, res, system, &options, &console)
    })
}
