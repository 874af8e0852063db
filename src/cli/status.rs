//! `status`: the Monitor entry point for many resources, each system asked once.

use crate::agent;
use crate::error::{Exit, Outcome, Result};

use super::Context;

/// Show where each resource's guest runs and its state and confidence on every system
#[derive(Debug, clap::Args)]
#[command(
    override_usage = concat!(
        "kvmguestctl status [OPTIONS] [RESOURCE...]\n",
        "       kvmguestctl status [OPTIONS] --all"
    ),
    after_help = concat!(
        "Examples:\n",
        "  # Where every guest of the quickstart runs\n",
        "  kvmguestctl --config examples/quickstart.yaml status --all\n",
        "  # Two resources, as JSON for a script\n",
        "  kvmguestctl --config examples/quickstart.yaml status web_vm db_vm -o json\n",
        "  # From cron: exit 6 means a guest runs on two systems\n",
        "  kvmguestctl -q status --all || logger -t kvmguestctl \"status: exit $?\"",
    ),
    long_about = "Show where each resource's guest runs and its state and confidence on every \
system (the Monitor entry point). Each system is asked once, all systems at the same time. \
Without resource names, every configured resource is shown, as `hares -state` does.\n\n\
Exit code 4 when a system could not be asked (2 when a RHEV engine refused the credentials), 6 \
when a guest runs on more than one system."
)]
pub struct Args {
    /// Resource names [default: all]
    #[arg(value_name = "RESOURCE", add = super::names::resources())]
    names: Vec<String>,
    /// Every configured resource (the default)
    #[arg(long, conflicts_with = "names")]
    all: bool,
    /// Also ask each running guest about itself: host name, OS and IP addresses from its QEMU
    /// guest agent, else the addresses of its DHCP leases (each call bounded by PingTimeout)
    #[arg(long)]
    detail: bool,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    context.with_hosts(|config, hosts| {
        // Looking changes nothing: unlike the commands that act, no names means every resource.
        let resources = config.select(&args.names, args.all || args.names.is_empty())?;
        let mut statuses = agent::status(hosts, &resources);
        let unasked = if args.detail {
            agent::monitor::details(hosts, &resources, &mut statuses)
        } else {
            Vec::new()
        };
        #[derive(serde::Serialize)]
        struct Statuses<'a> {
            resources: &'a [agent::ResourceStatus],
        }
        let document = Statuses {
            resources: &statuses,
        };
        if args.detail {
            let detailed: Vec<Detailed> = statuses.iter().map(Detailed).collect();
            context.output.outcomes(&document, &detailed);
        } else {
            context.output.outcomes(&document, &statuses);
        }
        for e in &unasked {
            context.output.warn(&e.to_string());
        }
        for r in statuses.iter().filter(|r| r.concurrency_violation) {
            context.output.warn(&format!(
                "CONCURRENCY VIOLATION: {} ({}) runs on {} at once",
                r.resource,
                r.guest,
                r.running_on.join(" and ")
            ));
        }
        Ok(Exit::of(statuses.iter().map(Outcome::exit)))
    })
}

/// A status with what each running guest says about itself, in columns of its own.
struct Detailed<'a>(&'a agent::ResourceStatus);

impl Outcome for Detailed<'_> {
    const COLUMNS: &'static [&'static str] = &[
        "RESOURCE",
        "SYSTEM",
        "STATE",
        "CONFIDENCE",
        "HYPERVISOR",
        "HOSTNAME",
        "OS",
        "ADDRESSES",
        "WHY",
    ];
    fn rows(&self) -> Vec<Vec<String>> {
        self.0
            .rows()
            .into_iter()
            .zip(&self.0.systems)
            .map(|(mut row, system)| {
                let why = row.pop().unwrap_or_default();
                let details = system.details.as_ref();
                let or_none = |v: Option<&String>| v.cloned().unwrap_or_default();
                row.push(or_none(details.and_then(|d| d.host_name.as_ref())));
                row.push(or_none(details.and_then(|d| d.os.as_ref())));
                row.push(details.map_or(String::new(), |d| {
                    d.interfaces
                        .iter()
                        .flat_map(|i| i.addresses.iter().map(move |a| format!("{a} ({})", i.name)))
                        .collect::<Vec<_>>()
                        .join(", ")
                }));
                row.push(why);
                row
            })
            .collect()
    }
    fn exit(&self) -> Exit {
        self.0.exit()
    }
    fn alerts(&self) -> Vec<String> {
        self.0.alerts()
    }
    fn alarm(&self) -> bool {
        self.0.alarm()
    }
}
