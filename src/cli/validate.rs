//! `validate`: the attr_changed checks, and with `--connect` the environment too.

use crate::agent::{self, Hosts};
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
malformed addresses are errors). With --connect, also the environment: every system's hypervisor \
reachable, the guest defined (or definable from GuestConfigFilePath), SyncDir writable.\n\n\
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

/// The environment checks of `--connect`, each located at the resource's definition.
fn environment(
    context: &Context,
    config: &Config,
    resources: &[&Resource],
) -> Vec<(Diagnostic, Exit)> {
    let connector = context.backends();
    agent::readiness(&Hosts::new(config, &connector), resources)
        .into_iter()
        .map(|(res, e)| {
            let diagnostic = Diagnostic {
                severity: Severity::Error,
                origin: res.origin.clone(),
                resource: Some(res.name.clone()),
                message: e.to_string(),
            };
            (diagnostic, e.exit())
        })
        .collect()
}
