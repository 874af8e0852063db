//! `watch`: follow managed guests on every system and detect migrations (vcskvmguestd).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::agent::watch::{self, WatchLine};
use crate::error::{Error, Exit, Result};

use super::Context;

/// Follow managed guests' lifecycle events on all systems and detect migrations
#[derive(Debug, clap::Args)]
#[command(
    after_help = concat!(
        "Examples:\n",
        "  # Follow every managed guest; one line per event\n",
        "  kvmguestctl watch\n",
        "  # One JSON object per event, state files under /run\n",
        "  kvmguestctl -o json watch --state-dir /run/kvmguestctl web_vm db_vm",
    ),
    long_about = "Follow the lifecycle of managed guests on all their systems through \
libvirt's events (no polling), reconnecting whenever a libvirtd restarts, and report every start, \
stop, crash, suspend and migration, naming the resource, and the QEMU guest agent connecting \
(agent-connected) or disconnecting (agent-disconnected) inside the guest. When a guest arrives \
somewhere by migration (also one made with plain virsh), run the guestmigrated action: write \
<state-dir>/<resource>.migrated and refresh the resource's status. One line per event; one JSON \
object per line with -o json. SIGTERM or SIGINT stops it cleanly (exit 0)."
)]
pub struct Args {
    /// Resource names [default: all]
    #[arg(value_name = "RESOURCE", add = super::names::resources())]
    names: Vec<String>,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    let config = context.config()?;
    let selected = config.select(&args.names, args.names.is_empty())?;
    // Engines have no libvirt events to follow; where their VMs run is in every status answer.
    let resources = super::libvirt_only(
        context,
        selected,
        !args.names.is_empty(),
        "watch follows libvirt events; the engine reports where a VM runs in every status",
    )?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone())
            .map_err(|e| Error::Failed(format!("cannot handle signal {signal}: {e}")))?;
    }
    let connector = context.backends();
    let mut emit = |line: &WatchLine| context.output.line(line, &text(line));
    watch::watch(
        &config,
        &connector,
        &resources,
        &context.state_dir,
        stop,
        &mut emit,
    )?;
    Ok(Exit::Success)
}

fn text(line: &WatchLine) -> String {
    let who = match (&line.resource, &line.guest) {
        (Some(r), Some(g)) => format!("{r} ({g})"),
        _ => "-".to_owned(),
    };
    let mut text = format!("{} {} {who} {}", line.time, line.system, line.event);
    if !line.detail.is_empty() {
        text.push_str(&format!(": {}", line.detail));
    }
    text
}
