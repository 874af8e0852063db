//! Online: define if configured, start, wait DelayAfterGuestOnline, verify by monitoring.

use std::time::Instant;

use super::monitor::{self, ResourceState};
use super::{Console, Hosts, Report, check_system, definition, seconds, verdict, wait_until};
use crate::error::{Error, Result};
use crate::resource::Resource;

#[derive(Debug, Clone, Default)]
pub struct OnlineOptions {
    /// Systems that could not be asked but that the administrator vouches for (fenced, powered
    /// off): the guest is taken as not running there.
    pub assume_stopped: Vec<String>,
}

pub fn online(
    hosts: &Hosts,
    res: &Resource,
    system: &str,
    opts: &OnlineOptions,
    console: &dyn Console,
) -> Result<Report> {
    check_system(res, system)?;
    let started = Instant::now();
    let guest = res.guest_name.as_str();
    let status = monitor::judge(res, &hosts.survey(res.systems.iter().map(String::as_str)));

    // One guest, one host: never start a second copy, and never guess about a host we cannot ask.
    let elsewhere: Vec<&str> = status
        .running_on
        .iter()
        .map(String::as_str)
        .filter(|s| *s != system)
        .collect();
    if !elsewhere.is_empty() {
        return Err(Error::Refused(format!(
            "{guest} already runs on {}; refusing to start a second copy on {system}",
            elsewhere.join(", ")
        )));
    }
    for other in status.systems.iter().filter(|s| s.system != system) {
        let doubt = match (&other.error, other.state) {
            (Some(e), _) => Some(e.clone()),
            (None, ResourceState::Unknown) => Some(format!(
                "its state there is UNKNOWN ({})",
                other.hypervisor_state.unwrap_or("unclassified")
            )),
            _ => None,
        };
        if let Some(why) = doubt
            && !opts.assume_stopped.contains(&other.system)
        {
            return Err(Error::Refused(format!(
                "cannot tell whether {guest} runs on {}: {why}. Start it only once you know it does \
                 not (fence or power off that host), then pass --assume-stopped {}",
                other.system, other.system
            )));
        }
    }
    let here = status
        .on(system)
        .ok_or_else(|| Error::Failed(format!("{system} was not surveyed")))?;
    if let Some(e) = &here.error_class {
        return Err(e.clone());
    }
    if here.active {
        if here.state == ResourceState::Online {
            let v = monitor::Verdict {
                state: here.state,
                confidence: here.confidence,
                active: true,
                observed: None,
            };
            return Ok(Report::new(
                res,
                system,
                "already-online",
                &v,
                here.why.clone(),
                started,
            ));
        }
        return Err(Error::Failed(format!(
            "{guest} is {} on {system} ({}); clean it before starting it again",
            here.state, here.why
        )));
    }

    let host = hosts.get(system)?;
    let defined = here.hypervisor_state.is_some();
    if res.transient {
        // A defined but inactive guest can only be persistent: transient ones vanish when they stop.
        if defined {
            return Err(Error::Refused(format!(
                "{guest} has a persistent definition on {system}, but {} is Transient: \
                 undefine it there first, or set Transient: 0",
                res.name
            )));
        }
        let path = res.guest_config_file_path.as_deref().ok_or_else(|| {
            Error::Config(format!(
                "{} is Transient but has no GuestConfigFilePath",
                res.name
            ))
        })?;
        let xml = definition::read_config_file(path, guest)?;
        console.step(&format!(
            "creating transient {guest} on {system} from {}",
            path.display()
        ));
        host.create_transient(&xml)?;
    } else {
        match &res.guest_config_file_path {
            Some(path) if !defined || res.resync_vm_cfg => {
                let mut xml = definition::read_config_file(path, guest)?;
                if defined && let Some(existing) = definition::uuid(&host.definition(guest)?) {
                    xml = definition::keeping_uuid(&xml, &existing);
                }
                let why = if defined {
                    "ResyncVMCfg = 1"
                } else {
                    "not defined here"
                };
                console.step(&format!(
                    "defining {guest} on {system} from {} ({why})",
                    path.display()
                ));
                host.define(&xml)?;
            }
            None if !defined => {
                return Err(Error::Unknown(format!(
                    "{guest} is not defined on {system}, and {} has no GuestConfigFilePath to define it from",
                    res.name
                )));
            }
            _ => {}
        }
        console.step(&format!("starting {guest} on {system}"));
        host.start(guest)?;
    }
    let launched = Instant::now();
    let delay = seconds(res.delay_after_guest_online);
    let message = format!(
        "{guest}: DelayAfterGuestOnline {}s",
        res.delay_after_guest_online
    );
    // The full delay is waited (the guest settles), unless the guest dies during it.
    wait_until(console, &message, delay, |_| {
        Ok(!verdict(&*host, guest)?.active)
    })?;

    let v = verdict(&*host, guest)?;
    let observed = v
        .observed
        .map_or("not defined".to_owned(), |(s, r)| format!("{s} ({r})"));
    if v.state != ResourceState::Online {
        return Err(Error::Failed(format!(
            "{guest} did not come online on {system}: {:.1}s after the start it is {} ({observed})",
            launched.elapsed().as_secs_f64(),
            v.state
        )));
    }
    // Nothing serialises two starts on two systems (that is the cluster engine's or sanlock's
    // job), but a second copy that appeared meanwhile is said at once, not left to the next
    // monitor.
    let after = monitor::judge(res, &hosts.survey(res.systems.iter().map(String::as_str)));
    if after.concurrency_violation {
        return Err(Error::Concurrency(format!(
            "CONCURRENCY VIOLATION: {guest} now runs on {} at once",
            after.running_on.join(" and ")
        )));
    }
    Ok(Report::new(res, system, "started", &v, observed, started))
}
