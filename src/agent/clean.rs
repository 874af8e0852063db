//! Clean: destroy at once, then save the definition to SyncDir.

use std::time::Instant;

use super::{
    Action, Console, Hosts, Local, Report, destroy, hypervisor_definition, local, save_definition,
    verdict,
};
use crate::error::Result;
use crate::resource::Resource;

pub fn clean(hosts: &Hosts, res: &Resource, system: &str, console: &dyn Console) -> Result<Report> {
    let mut started = Instant::now();
    let guest = res.guest_name.as_str();
    let _lock = hosts.hold(res, console)?;
    let (host, before) = match local(hosts, res, system, started)? {
        Local::Defined(host, before) => (host, before),
        Local::Undefined(report) => return Ok(report),
    };
    let xml = match res.sync_dir {
        Some(_) => hypervisor_definition(&*host, guest)?,
        None => None,
    };
    let (action, detail) = if before.active {
        console.confirm(&clean_question(res, system))?;
        // The report's time is the operation's, not the time a person took to answer.
        started = Instant::now();
        destroy(&*host, guest)?;
        (Action::Cleaned, format!("{guest} destroyed"))
    } else {
        (
            Action::AlreadyOffline,
            format!("{guest} is not running on {system}"),
        )
    };
    let after = if before.active {
        verdict(&*host, guest)?
    } else {
        before
    };
    let saved = save_definition(res, xml.as_deref())?;
    Ok(Report::new(res, system, action, &after, detail, started).saved(saved))
}

/// What Clean asks before it destroys a running guest; also the question of a batch of one.
pub fn clean_question(res: &Resource, system: &str) -> String {
    format!(
        "Destroy {} on {system} at once, without a shutdown?",
        res.guest_name
    )
}
