//! `stop`: the Offline entry point.

use crate::agent::{self, OfflineOptions, RESEND, ShutdownRequest};
use crate::error::{Exit, Result};
use crate::render::Confirmation;
use std::time::Duration;

use super::{Context, Selection};

/// Shut resources down gracefully on this system, escalating to clean
#[derive(Debug, clap::Args)]
#[command(
    override_usage = concat!(
        "kvmguestctl stop [OPTIONS] RESOURCE...\n",
        "       kvmguestctl stop [OPTIONS] --all"
    ),
    after_help = concat!(
        "Examples:\n",
        "  # Shut web_vm down on node1, destroying it after DelayAfterGuestOffline\n",
        "  kvmguestctl --config examples/quickstart.yaml --sys node1 stop web_vm --yes\n",
        "  # Only ask through ACPI; leave a guest that does not go down running (exit 1)\n",
        "  kvmguestctl --sys node1 stop db_vm --mode acpi --no-kill",
    ),
    long_about = "Shut resources down on this system (the Offline entry point): ask the \
guest to shut down, ask again every 5 seconds while waiting up to DelayAfterGuestOffline, then \
destroy it (unless --no-kill). The definition is saved to SyncDir when configured. Stopping a \
running guest asks for confirmation on a terminal and needs --yes elsewhere."
)]
pub struct Args {
    #[command(flatten)]
    selection: Selection,
    /// How to ask the guest to shut down
    #[arg(long, value_enum, default_value_t = ShutdownRequest::Auto)]
    mode: ShutdownRequest,
    /// Leave a guest that did not shut down running (and exit 1) instead of destroying it
    #[arg(long)]
    no_kill: bool,
    /// How many resources stop at once: a stop mostly waits for the guest to shut down, so many
    /// waits overlap; 1 stops them one after the other
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    parallel: u16,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    let options = OfflineOptions {
        mode: args.mode,
        kill: !args.no_kill,
        resend: RESEND,
        graceful_until: None,
    };
    let then = if options.kill {
        "destroyed"
    } else {
        "left running (--no-kill)"
    };
    let ask = super::Ask {
        title: &|n| format!("Shut down {n} guests"),
        each: &|res, system, here| Confirmation {
            question: agent::shutdown_question(res, system, &options, Duration::ZERO),
            line: super::listed(
                res,
                system,
                here,
                &format!(
                    "{then} if it is still running after {}s",
                    res.delay_after_guest_offline
                ),
            ),
        },
    };
    super::act(
        context,
        &args.selection,
        usize::from(args.parallel),
        Some(ask),
        |hosts, res, system, console| agent::offline(hosts, res, system, &options, console),
    )
}
