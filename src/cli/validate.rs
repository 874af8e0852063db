//! `validate`: the attr_changed checks, and with `--connect` the environment too.

use crate::agent::{self, Finding, Hosts};
use crate::error::{Exit, Result};
use crate::resource::{self, Config, Diagnostic, Resource, Severity};

use super::Context;

/// Check resource definitions (and with --connect, the hosts they run on)
#[derive(Debug, clap::Args)]
#[command(
    after_help = concat!(
        "Examples:\n",
        "  # Check every resource of the quickstart (warnings do not change the exit code)\n",
        "  kvmguestctl --config examples/quickstart.yaml validate\n",
        "  # Also reach each hypervisor, find each guest, try each SyncDir\n",
        "  kvmguestctl --config examples/quickstart.yaml validate --connect\n",
        "  # The findings as JSON, with file, line and column\n",
        "  kvmguestctl validate -o json",
    ),
    long_about = "Check resource definitions: YAML structure and types, the attr_changed \
rules (delays below their defaults warn; a missing GuestName, incomplete RHEVMInfo or DROpts and \
malformed addresses are errors). With --connect, also what would break a failover: every \
system's hypervisor reachable (a system that is not is said once, at its uri), each of a \
resource's systems able to start its guest (defined there, or GuestConfigFilePath readable and \
defining it; the systems that could not are named), SyncDir writable.\n\n\
Exit code 2 on configuration errors; with --connect, 4 when a system is unreachable, 3 when a \
guest can be found nowhere, 1 when SyncDir is not usable."
)]
pub struct Args {
    /// Resource names [default: all]
    #[arg(value_name = "RESOURCE", add = super::names::resources())]
    names: Vec<String>,
    /// Every configured resource (the default)
    #[arg(long, conflicts_with = "names")]
    all: bool,
    /// Also check the environment: hypervisors, guest definitions, SyncDir
    #[arg(long)]
    connect: bool,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    let (mut findings, config): (Vec<(Diagnostic, Exit)>, Option<Config>) =
        match resource::load(&context.source) {
            Err(diagnostics) => (
                diagnostics.into_iter().map(|d| (d, Exit::Usage)).collect(),
                None,
            ),
            Ok(config) => (
                config
                    .warnings
                    .iter()
                    .map(|d| (d.clone(), Exit::Success))
                    .collect(),
                Some(config),
            ),
        };
    if let Some(config) = &config {
        let resources = config.select(&args.names, args.all || args.names.is_empty())?;
        findings.retain(|(d, _)| {
            d.resource
                .as_ref()
                .is_none_or(|r| resources.iter().any(|s| &s.name == r))
        });
        if args.connect {
            findings.extend(environment(context, config, &resources));
        }
    }

    let rows = findings
        .iter()
        .map(|(d, _)| {
            vec![
                d.severity.as_str().to_owned(),
                d.origin.to_string(),
                d.resource.clone().unwrap_or_default(),
                d.message.clone(),
            ]
        })
        .collect();
    let errors = findings
        .iter()
        .filter(|(d, _)| d.severity == Severity::Error)
        .count();
    #[derive(serde::Serialize)]
    struct Validation<'a> {
        valid: bool,
        errors: usize,
        warnings: usize,
        diagnostics: Vec<&'a Diagnostic>,
    }
    if findings.is_empty() && context.output.format == crate::render::Format::Table {
        context.output.note("configuration is valid");
        return Ok(Exit::Success);
    }
    context.output.emit(
        &Validation {
            valid: errors == 0,
            errors,
            warnings: findings.len() - errors,
            diagnostics: findings.iter().map(|(d, _)| d).collect(),
        },
        &["SEVERITY", "LOCATION", "RESOURCE", "MESSAGE"],
        rows,
    );
    Ok(Exit::of(
        findings
            .iter()
            .filter(|(d, _)| d.severity == Severity::Error)
            .map(|(_, exit)| *exit),
    ))
}

/// The environment checks of `--connect`: a system's located at its `uri` (once, whatever
/// resources run there), a resource's at its definition.
fn environment(
    context: &Context,
    config: &Config,
    resources: &[&Resource],
) -> Vec<(Diagnostic, Exit)> {
    let connector = context.backends();
    agent::readiness(&Hosts::new(config, &connector), resources)
        .into_iter()
        .map(|finding| {
            let (origin, resource) = match &finding {
                Finding::System(system, _) => {
                    let system = config.systems.get(system);
                    let origin = system
                        .and_then(|s| s.uri_origin.clone())
                        .or_else(|| resources.first().map(|r| r.origin.clone()));
                    (origin.unwrap_or_else(|| unplaced(context)), None)
                }
                Finding::Resource(res, _) => (res.origin.clone(), Some(res.name.clone())),
            };
            let e = finding.error();
            let diagnostic = Diagnostic {
                severity: Severity::Error,
                origin,
                resource,
                message: e.to_string(),
            };
            (diagnostic, e.exit())
        })
        .collect()
}

/// The whole configuration, for a finding that no line of it holds.
fn unplaced(context: &Context) -> resource::Origin {
    resource::Origin {
        file: context.source.describe().into(),
        line: 0,
        column: 0,
    }
}
