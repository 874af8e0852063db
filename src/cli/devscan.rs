//! `devscan`: the DevScan action of RHEV resources.

use std::time::Duration;

use crate::agent::devscan::{self, DevScanOptions};
use crate::error::{Exit, Result};

use super::{Context, Outcomes, Selection};

/// Move the SPM role to the local RHEV cluster and rescan its hosts' storage (DR failover)
#[derive(Debug, clap::Args)]
#[command(
    override_usage = concat!(
        "kvmguestctl devscan [OPTIONS] RESOURCE...\n",
        "       kvmguestctl devscan [OPTIONS] --all"
    ),
    after_help = concat!(
        "Examples:\n",
        "  # The steps DevScan would take for app_vm, changing nothing\n",
        "  kvmguestctl --sys node1 devscan app_vm --dry-run\n",
        "  # Take them, allowing the SPM role ten minutes to move\n",
        "  kvmguestctl --sys node1 devscan app_vm --yes --wait 600",
    ),
    long_about = "The DevScan action of RHEV resources (RHEVMInfo.Enabled = 1): make sure the \
Storage Pool Manager runs on a healthy host of the local cluster (RHEVMInfo.Cluster), then have \
the local hosts refresh their storage so that replicated devices are seen read-write.\n\n\
When the SPM host is non_responsive, it is confirmed fenced (manual fence) if \
RHEVMInfo.UseManualRHEVMFencing = 1, else DevScan refuses (exit 5). When the SPM is on another \
cluster of the data center (the other site after a DR failover), that site's up hosts are put \
into maintenance until the role has moved here, then activated again. Each step is printed as it \
happens; --dry-run prints the plan and changes nothing. Changes ask for confirmation on a \
terminal and need --yes elsewhere."
)]
pub struct Args {
    #[command(flatten)]
    selection: Selection,
    /// Print the steps that would be taken; change nothing
    #[arg(long)]
    dry_run: bool,
    /// Seconds the SPM role may take to move
    #[arg(long, value_name = "SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    wait: u64,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    context.with_hosts(|config, hosts| {
        let resources = config.select(&args.selection.names, args.selection.all)?;
        let options = DevScanOptions {
            dry_run: args.dry_run,
            wait: Duration::from_secs(args.wait),
        };
        let console = context.output.console();
        let outcomes = Outcomes::each(context, resources, |res| {
            devscan::devscan(hosts, res, &options, &console)
        });
        drop(console);
        context.output.outcomes(&outcomes, &outcomes.results);
        for r in &outcomes.results {
            context.output.note(&format!(
                "{}: SPM {} -> {}{}",
                r.resource,
                r.spm_before.as_deref().unwrap_or("none"),
                r.spm_after.as_deref().unwrap_or("none"),
                if r.dry_run {
                    " (dry run: nothing changed)"
                } else {
                    ""
                }
            ));
        }
        Ok(outcomes.exit())
    })
}
