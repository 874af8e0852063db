//! `validate`: the attr_changed checks, and with `--connect` the environment too.

use std::path::Path;

use crate::agent::{Hosts, definition};
use crate::error::{Exit, Result};
use crate::resource::{self, Config, Diagnostic, Origin, Resource, Severity};

use super::Context;

/// Check resource definitions (and with --connect, the hosts they run on)
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Check resource definitions: YAML structure and types, the attr_changed \
rules (delays below their defaults warn; a missing GuestName, incomplete RHEVMInfo or DROpts and \
malformed addresses are errors). With --connect, also the environment: every system's hypervisor \
reachable, the guest defined (or definable from GuestConfigFilePath), SyncDir writable.\n\n\
Exit code 2 on configuration errors; with --connect, 4 when a system is unreachable, 3 when a \
guest can be found nowhere, 1 when SyncDir is not usable."
)]
pub struct Args {
    /// Resource names [default: all]
    #[arg(value_name = "RESOURCE")]
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
    Ok(findings
        .iter()
        .find(|(d, _)| d.severity == Severity::Error)
        .map_or(Exit::Success, |(_, exit)| *exit))
}

fn finding(origin: &Origin, res: &Resource, message: String, exit: Exit) -> (Diagnostic, Exit) {
    let diagnostic = Diagnostic {
        severity: Severity::Error,
        origin: origin.clone(),
        resource: Some(res.name.clone()),
        message,
    };
    (diagnostic, exit)
}

/// The environment checks of `--connect`, each located at the resource's definition.
fn environment(
    context: &Context,
    config: &Config,
    resources: &[&Resource],
) -> Vec<(Diagnostic, Exit)> {
    let connector = context.connector();
    let hosts = Hosts::new(config, &connector);
    let survey = hosts.survey(resources);
    let mut out = Vec::new();
    for res in resources {
        let at = &res.origin;
        let mut defined_somewhere = false;
        for system in &res.systems {
            match survey.get(&(res.environment.clone(), system.clone())) {
                Some(Ok(guests)) => {
                    defined_somewhere |= guests.iter().any(|g| g.name == res.guest_name)
                }
                Some(Err(e)) => out.push(finding(at, res, e.to_string(), e.exit())),
                None => {}
            }
        }
        match &res.guest_config_file_path {
            Some(path) => {
                if let Err(e) = definition::read_config_file(path, &res.guest_name) {
                    out.push(finding(at, res, e.to_string(), e.exit()));
                }
            }
            None if !defined_somewhere => out.push(finding(
                at,
                res,
                match &res.environment {
                    resource::Environment::Rhev(engine) => {
                        crate::backend::rhev::no_vm(&engine.url, &res.guest_name).to_string()
                    }
                    resource::Environment::Libvirt => format!(
                        "{} is defined on none of {} and GuestConfigFilePath is not set",
                        res.guest_name,
                        res.systems.join(", ")
                    ),
                },
                Exit::Unknown,
            )),
            None => {}
        }
        if let Some(dir) = &res.sync_dir
            && let Err(why) = writable(dir)
        {
            out.push(finding(
                at,
                res,
                format!("SyncDir {}: {why}", dir.display()),
                Exit::Failed,
            ));
        }
    }
    out
}

/// Can a file be created in `dir`? Tried for real: permissions alone do not tell (read-only
/// mounts, root on NFS).
fn writable(dir: &Path) -> std::result::Result<(), String> {
    if !dir.is_dir() {
        return Err("does not exist or is not a directory".into());
    }
    let probe = dir.join(format!(".kvmguestctl-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .map_err(|e| format!("is not writable: {e}"))
        .map(|()| {
            let _ = std::fs::remove_file(&probe);
        })
}
