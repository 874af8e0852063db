//! What `validate --connect` checks of each resource against the world: every system answers, the
//! guest is defined somewhere or can be defined from GuestConfigFilePath, and SyncDir can be
//! written.

use super::{Hosts, definition, syncdir};
use crate::backend::Keeper;
use crate::error::Error;
use crate::resource::Resource;

/// Every problem found, by resource (in the order given); each error carries its exit code.
pub fn readiness<'r>(hosts: &Hosts, resources: &[&'r Resource]) -> Vec<(&'r Resource, Error)> {
    let survey = hosts.survey(resources);
    let mut found = Vec::new();
    for &res in resources {
        let mut defined_somewhere = false;
        for system in &res.systems {
            match survey.get(&(res.environment.clone(), system.clone())) {
                Some(Ok(guests)) => {
                    defined_somewhere |= guests.iter().any(|g| g.name == res.guest_name)
                }
                Some(Err(e)) => found.push((res, e.clone())),
                None => {}
            }
        }
        match &res.guest_config_file_path {
            Some(path) => {
                if let Err(e) = definition::read_config_file(path, &res.guest_name) {
                    found.push((res, e));
                }
            }
            None if !defined_somewhere => found.push((res, nowhere(hosts, res))),
            None => {}
        }
        if let Some(dir) = &res.sync_dir
            && let Err(why) = syncdir::writable(dir)
        {
            found.push((
                res,
                Error::Failed(format!("SyncDir {}: {why}", dir.display())),
            ));
        }
    }
    found
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
