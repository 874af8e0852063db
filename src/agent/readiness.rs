//! What `validate --connect` checks of each resource against the world: every system answers, each
//! of the resource's systems could start its guest (it is defined there, or GuestConfigFilePath can
//! define it), and SyncDir can be written. What breaks a failover is found before the failover.

use super::{Hosts, definition, syncdir};
use crate::backend::Keeper;
use crate::error::Error;
use crate::resource::Resource;

/// One problem found, and what it is about.
#[derive(Debug)]
pub enum Finding<'r> {
    /// A system that could not be asked: said once, however many resources run there.
    System(String, Error),
    /// A resource's problem.
    Resource(&'r Resource, Error),
}

impl Finding<'_> {
    /// The problem; each error carries its exit code.
    pub fn error(&self) -> &Error {
        match self {
            Finding::System(_, e) | Finding::Resource(_, e) => e,
        }
    }
}

/// Every problem found: the systems that could not be asked (in the order first met), then each
/// resource's (in the order given).
pub fn readiness<'r>(hosts: &Hosts, resources: &[&'r Resource]) -> Vec<Finding<'r>> {
    let survey = hosts.survey(resources);
    let mut unreachable: Vec<Finding<'r>> = Vec::new();
    let mut found = Vec::new();
    for &res in resources {
        let mut defined_on = Vec::new();
        let mut not_defined_on = Vec::new();
        for system in &res.systems {
            match survey.get(&(res.environment.clone(), system.clone())) {
                Some(Ok(guests)) if guests.iter().any(|g| g.name == res.guest_name) => {
                    defined_on.push(system.as_str())
                }
                Some(Ok(_)) => not_defined_on.push(system.as_str()),
                // An engine's failure is the same for all its systems: said once too.
                Some(Err(e)) => {
                    let said = unreachable
                        .iter()
                        .any(|f| f.error().to_string() == e.to_string());
                    if !said {
                        unreachable.push(Finding::System(system.clone(), e.clone()));
                    }
                }
                None => {}
            }
        }
        let config_file = res
            .guest_config_file_path
            .as_deref()
            .map(|path| definition::read_config_file(path, &res.guest_name).map(drop));
        match config_file {
            Some(Err(e)) => {
                found.push(Finding::Resource(res, e));
                if !not_defined_on.is_empty() && !res.transient {
                    found.push(Finding::Resource(
                        res,
                        cannot_start(res, &not_defined_on, true),
                    ));
                }
            }
            // The file defines the guest wherever it is missing (a transient one everywhere).
            Some(Ok(())) => {}
            None if defined_on.is_empty() && !not_defined_on.is_empty() => {
                found.push(Finding::Resource(res, nowhere(hosts, res)))
            }
            // An engine keeps its VMs for all its hosts: defined for one is defined for all.
            None if !not_defined_on.is_empty() && !res.environment.has_engine() => found.push(
                Finding::Resource(res, cannot_start(res, &not_defined_on, false)),
            ),
            None => {}
        }
        if let Some(dir) = &res.sync_dir
            && let Err(why) = syncdir::writable(dir)
        {
            found.push(Finding::Resource(
                res,
                Error::Failed(format!("SyncDir {}: {why}", dir.display())),
            ));
        }
    }
    unreachable.extend(found);
    unreachable
}

/// A failover to `systems` would fail: the guest is not defined there, and GuestConfigFilePath
/// is not set or not usable.
fn cannot_start(res: &Resource, systems: &[&str], file_unusable: bool) -> Error {
    let guest = &res.guest_name;
    let listed = systems.join(", ");
    let how = if file_unusable {
        "GuestConfigFilePath cannot define it (see its error)".to_owned()
    } else {
        format!(
            "GuestConfigFilePath is not set (define it there: kvmguestctl vmconfigsync {} \
             --define-on {}, or set GuestConfigFilePath)",
            res.name,
            systems.join(" ")
        )
    };
    Error::Unknown(format!(
        "{guest} cannot start on {listed}, so a failover there would fail: it is not defined \
         there, and {how}"
    ))
}

/// A guest defined on none of its systems: an engine says it has no such VM; a hypervisor's
/// guest could have been defined from GuestConfigFilePath, which is not set.
fn nowhere(hosts: &Hosts, res: &Resource) -> Error {
    let engine_says = res
        .systems
        .first()
        .and_then(|system| hosts.get(res, system).ok())
        .and_then(|host| match host.keeper() {
            Keeper::Engine(vms) => Some(vms.missing(&res.guest_name)),
            Keeper::Hypervisor(_) => None,
        });
    engine_says.unwrap_or_else(|| {
        Error::Unknown(format!(
            "{} is defined on none of {} and GuestConfigFilePath is not set",
            res.guest_name,
            res.systems.join(", ")
        ))
    })
}
