//! Monitor: what a hypervisor state means for the resource, on each of its systems.
//!
//! The libvirt table follows the RHEV table of the specification (up 100, powering_up 60,
//! restoring 50, powering_down 40, paused 20, wait_for_launch 10; saving, suspended and migrating
//! are INTENTIONAL OFFLINE) and adds what libvirt can say that RHEV cannot (crashes, I/O errors).

use std::fmt;

use serde::{Serialize, Serializer};

use super::{Hosts, Survey};
use crate::backend::{GuestState, Placement};
use crate::error::{Error, Result};
use crate::resource::Resource;

/// The VCS resource states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceState {
    Online,
    Offline,
    Faulted,
    Unknown,
    IntentionalOffline,
}

impl ResourceState {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceState::Online => "ONLINE",
            ResourceState::Offline => "OFFLINE",
            ResourceState::Faulted => "FAULTED",
            ResourceState::Unknown => "UNKNOWN",
            ResourceState::IntentionalOffline => "INTENTIONAL OFFLINE",
        }
    }
}

impl fmt::Display for ResourceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ResourceState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What one hypervisor state means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub state: ResourceState,
    /// VCS confidence level (10..=100), for ONLINE only.
    pub confidence: Option<u8>,
    /// The hypervisor holds a live instance (running, paused, crashed but preserved, ...):
    /// a second copy must not be started anywhere else.
    pub active: bool,
    /// The hypervisor's own words: ("running", "booted").
    pub observed: Option<(&'static str, &'static str)>,
    /// The guest runs on another host, which this system's hypervisor named (RHEV).
    pub elsewhere: Option<String>,
}

impl Verdict {
    /// The guest is not defined on the system at all.
    pub fn undefined() -> Verdict {
        Verdict {
            state: ResourceState::Offline,
            confidence: None,
            active: false,
            observed: None,
            elsewhere: None,
        }
    }
}

const STATE_NAMES: [&str; 8] = [
    "no state",
    "running",
    "blocked",
    "paused",
    "shutting down",
    "shut off",
    "crashed",
    "pmsuspended",
];

/// libvirt's reason names per state (virDomainRunningReason, virDomainPausedReason, ...).
fn reason_name(state: u32, reason: i32) -> &'static str {
    const RUNNING: &[&str] = &[
        "unknown",
        "booted",
        "migrated",
        "restored",
        "from snapshot",
        "unpaused",
        "migration canceled",
        "save canceled",
        "wakeup",
        "crashed",
        "post-copy",
        "post-copy failed",
    ];
    const PAUSED: &[&str] = &[
        "unknown",
        "user",
        "migrating",
        "saving",
        "dumping",
        "I/O error",
        "watchdog",
        "from snapshot",
        "shutting down",
        "creating snapshot",
        "API error",
        "starting up",
        "post-copy",
        "post-copy failed",
    ];
    const SHUTDOWN: &[&str] = &["unknown", "user"];
    const SHUTOFF: &[&str] = &[
        "unknown",
        "shutdown",
        "destroyed",
        "crashed",
        "migrated",
        "saved",
        "failed",
        "from snapshot",
        "daemon",
    ];
    const CRASHED: &[&str] = &["unknown", "panicked"];
    let names: &[&str] = match state {
        1 => RUNNING,
        3 => PAUSED,
        4 => SHUTDOWN,
        5 => SHUTOFF,
        6 => CRASHED,
        _ => &["unknown"],
    };
    usize::try_from(reason)
        .ok()
        .and_then(|r| names.get(r))
        .copied()
        .unwrap_or("unknown")
}

/// The mapping tables (documented in the README; every cell is unit-tested below).
pub fn classify(state: &GuestState) -> Verdict {
    match state {
        GuestState::Libvirt { state, reason } => classify_libvirt(*state, *reason),
        GuestState::Rhev { status, placement } => classify_rhev(status, placement),
    }
}

/// The specification's RHEV table, plus the statuses it leaves out: not_responding, unassigned
/// and a status the engine did not name (an illegal image) are UNKNOWN.
fn classify_rhev(status: &'static str, placement: &Placement) -> Verdict {
    use ResourceState::*;
    let (state, confidence) = match status {
        "wait_for_launch" => (Online, Some(10)),
        "powering_up" => (Online, Some(60)),
        "up" => (Online, Some(100)),
        "powering_down" => (Online, Some(40)),
        "paused" => (Online, Some(20)),
        "restoring_state" => (Online, Some(50)),
        "down" => (Offline, None),
        "saving_state" | "suspended" | "migrating" | "reboot_in_progress" => {
            (IntentionalOffline, None)
        }
        _ => (Unknown, None),
    };
    // The engine gives a VM a host for as long as it holds one: that is what is live.
    let (state, confidence, active, reason, elsewhere) = match placement {
        Placement::Here => (state, confidence, true, "on this host", None),
        // Only these statuses leave a VM without a host; a running one without a host is a
        // contradiction, not a state to act on.
        Placement::Nowhere if matches!(status, "down" | "suspended" | "image_locked") => {
            (state, confidence, false, "on no host", None)
        }
        Placement::Nowhere => (Unknown, None, false, "on no host", None),
        Placement::Elsewhere(host) => (Offline, None, false, "on another host", Some(host.clone())),
    };
    Verdict {
        state,
        confidence,
        active,
        observed: Some((status, reason)),
        elsewhere,
    }
}

fn classify_libvirt(state: u32, reason: i32) -> Verdict {
    use ResourceState::*;
    let (resource_state, confidence) = match (state, reason) {
        (1, 9 | 11) => (Faulted, None), // running crashed / post-copy failed
        (1, 10) => (Online, Some(60)),  // running on the target, pages still arriving
        (1, _) | (2, _) => (Online, Some(100)),
        (3, 2 | 12) => (IntentionalOffline, None), // migrating away
        (3, 3) => (IntentionalOffline, None),      // saving state
        (3, 5 | 6 | 10 | 13) => (Faulted, None), // I/O error, watchdog, API error, post-copy failed
        (3, 8) => (Online, Some(40)),            // paused while shutting down
        (3, 11) => (Online, Some(10)),           // starting up: wait_for_launch
        (3, _) => (Online, Some(20)),
        (4, _) => (Online, Some(40)),             // powering down
        (5, 3 | 6 | 8) => (Faulted, None),        // crashed, failed to start, lost with its daemon
        (5, 4 | 5) => (IntentionalOffline, None), // migrated away, saved (suspended)
        (5, _) => (Offline, None),
        (6, _) => (Faulted, None),
        (7, _) => (IntentionalOffline, None), // suspended by the guest (S3)
        _ => (Unknown, None),
    };
    let known = (state as usize) < STATE_NAMES.len();
    Verdict {
        state: resource_state,
        confidence,
        active: matches!(state, 1 | 2 | 3 | 4 | 6 | 7),
        observed: known.then(|| (STATE_NAMES[state as usize], reason_name(state, reason))),
        elsewhere: None,
    }
}

/// The resource on one of its systems.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SystemStatus {
    pub system: String,
    pub state: ResourceState,
    pub confidence: Option<u8>,
    /// The guest holds a live instance on this system.
    pub active: bool,
    pub hypervisor_state: Option<&'static str>,
    pub hypervisor_reason: Option<&'static str>,
    /// One line for a person when the hypervisor state alone does not explain the resource state
    /// (not defined here, running elsewhere); empty otherwise.
    pub why: String,
    /// Set when the system could not be asked (unreachable, timed out).
    pub error: Option<String>,
    #[serde(skip)]
    pub error_class: Option<Error>,
}

/// The resource on all of its systems.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ResourceStatus {
    pub resource: String,
    pub guest: String,
    /// The systems where the guest holds a live instance, then any host outside its systems
    /// where its engine says it runs.
    pub running_on: Vec<String>,
    /// True when it runs on more than one (not counting a copy paused mid-migration): the
    /// cluster's worst case.
    pub concurrency_violation: bool,
    pub systems: Vec<SystemStatus>,
}

impl ResourceStatus {
    pub fn on(&self, system: &str) -> Option<&SystemStatus> {
        self.systems.iter().find(|s| s.system == system)
    }

    /// The status on a system an entry point acts on, or why that system could not be asked.
    pub fn usable(&self, system: &str) -> Result<&SystemStatus> {
        let found = self
            .on(system)
            .ok_or_else(|| Error::Failed(format!("{system} was not surveyed")))?;
        match &found.error_class {
            Some(e) => Err(e.clone()),
            None => Ok(found),
        }
    }
}

impl SystemStatus {
    /// The verdict this status was made from (for a report about this system).
    pub fn verdict(&self) -> Verdict {
        Verdict {
            state: self.state,
            confidence: self.confidence,
            active: self.active,
            observed: None,
            elsewhere: None,
        }
    }
}

/// Monitor many resources: every system involved is asked once, all at the same time.
pub fn status(hosts: &Hosts, resources: &[&Resource]) -> Vec<ResourceStatus> {
    let survey = hosts.survey(resources);
    resources.iter().map(|r| judge(r, &survey)).collect()
}

/// One resource's status from a survey of its systems.
pub fn judge(res: &Resource, survey: &Survey) -> ResourceStatus {
    // Hosts outside the resource's systems that its guest runs on (an engine's other hosts).
    let mut outside = std::collections::BTreeSet::new();
    let mut systems: Vec<SystemStatus> = res
        .systems
        .iter()
        .map(
            |system| match survey.get(&(res.environment.clone(), system.clone())) {
                Some(Ok(guests)) => {
                    let found = guests.iter().find(|g| g.name == res.guest_name);
                    let verdict = found.map_or_else(Verdict::undefined, |g| classify(&g.state));
                    let why = match verdict.observed {
                        Some(_) => String::new(),
                        None => format!("{} is not defined here", res.guest_name),
                    };
                    if let Some(host) = verdict
                        .elsewhere
                        .as_ref()
                        .filter(|h| !res.systems.contains(h))
                    {
                        outside.insert(host.clone());
                    }
                    SystemStatus {
                        system: system.clone(),
                        state: verdict.state,
                        confidence: verdict.confidence,
                        active: verdict.active,
                        hypervisor_state: verdict.observed.map(|o| o.0),
                        hypervisor_reason: verdict.observed.map(|o| o.1),
                        why,
                        error: None,
                        error_class: None,
                    }
                }
                Some(Err(e)) => unknown(system, e.clone()),
                None => unknown(system, Error::Failed(format!("{system}: not surveyed"))),
            },
        )
        .collect();

    let running_on: Vec<String> = systems
        .iter()
        .filter(|s| s.active)
        .map(|s| s.system.clone())
        .chain(outside)
        .collect();
    for s in systems
        .iter_mut()
        .filter(|s| s.state == ResourceState::Offline)
    {
        let elsewhere: Vec<&str> = running_on
            .iter()
            .map(String::as_str)
            .filter(|o| *o != s.system)
            .collect();
        if !elsewhere.is_empty() {
            let running = format!("running on {}", elsewhere.join(", "));
            s.why = if s.why.is_empty() {
                running
            } else {
                format!("{}; {running}", s.why)
            };
            if res.intentional_offline {
                s.state = ResourceState::IntentionalOffline;
            }
        }
    }
    // Two live copies are a violation, but a copy paused while it migrates (leaving the source, or
    // arriving on the target) is one guest in transit, not a second one.
    let in_transit = |s: &SystemStatus| {
        s.hypervisor_state == Some("paused")
            && matches!(s.hypervisor_reason, Some("migrating" | "post-copy"))
    };
    let live = systems
        .iter()
        .filter(|s| s.active && !in_transit(s))
        .count();
    ResourceStatus {
        resource: res.name.clone(),
        guest: res.guest_name.clone(),
        concurrency_violation: live > 1,
        running_on,
        systems,
    }
}

fn unknown(system: &str, e: Error) -> SystemStatus {
    SystemStatus {
        system: system.to_owned(),
        state: ResourceState::Unknown,
        confidence: None,
        active: false,
        hypervisor_state: None,
        hypervisor_reason: None,
        why: "the hypervisor could not be asked".into(),
        error: Some(e.to_string()),
        error_class: Some(e),
    }
}

#[cfg(test)]
mod tests {
    use super::ResourceState::*;
    use super::*;

    fn at(state: u32, reason: i32) -> Verdict {
        classify(&GuestState::Libvirt { state, reason })
    }

    /// Every libvirt state and reason, with the expected (state, confidence, active, names).
    #[test]
    fn the_whole_table() {
        /// (libvirt state, reason, resource state, confidence, active, state name, reason name)
        type Row = (
            u32,
            i32,
            ResourceState,
            Option<u8>,
            bool,
            &'static str,
            &'static str,
        );
        #[rustfmt::skip]
        let table: &[Row] = &[
            (0, 0, Unknown, None, false, "no state", "unknown"),
            (1, 0, Online, Some(100), true, "running", "unknown"),
            (1, 1, Online, Some(100), true, "running", "booted"),
            (1, 2, Online, Some(100), true, "running", "migrated"),
            (1, 3, Online, Some(100), true, "running", "restored"),
            (1, 4, Online, Some(100), true, "running", "from snapshot"),
            (1, 5, Online, Some(100), true, "running", "unpaused"),
            (1, 6, Online, Some(100), true, "running", "migration canceled"),
            (1, 7, Online, Some(100), true, "running", "save canceled"),
            (1, 8, Online, Some(100), true, "running", "wakeup"),
            (1, 9, Faulted, None, true, "running", "crashed"),
            (1, 10, Online, Some(60), true, "running", "post-copy"),
            (1, 11, Faulted, None, true, "running", "post-copy failed"),
            (2, 0, Online, Some(100), true, "blocked", "unknown"),
            (3, 0, Online, Some(20), true, "paused", "unknown"),
            (3, 1, Online, Some(20), true, "paused", "user"),
            (3, 2, IntentionalOffline, None, true, "paused", "migrating"),
            (3, 3, IntentionalOffline, None, true, "paused", "saving"),
            (3, 4, Online, Some(20), true, "paused", "dumping"),
            (3, 5, Faulted, None, true, "paused", "I/O error"),
            (3, 6, Faulted, None, true, "paused", "watchdog"),
            (3, 7, Online, Some(20), true, "paused", "from snapshot"),
            (3, 8, Online, Some(40), true, "paused", "shutting down"),
            (3, 9, Online, Some(20), true, "paused", "creating snapshot"),
            (3, 10, Faulted, None, true, "paused", "API error"),
            (3, 11, Online, Some(10), true, "paused", "starting up"),
            (3, 12, IntentionalOffline, None, true, "paused", "post-copy"),
            (3, 13, Faulted, None, true, "paused", "post-copy failed"),
            (4, 0, Online, Some(40), true, "shutting down", "unknown"),
            (4, 1, Online, Some(40), true, "shutting down", "user"),
            (5, 0, Offline, None, false, "shut off", "unknown"),
            (5, 1, Offline, None, false, "shut off", "shutdown"),
            (5, 2, Offline, None, false, "shut off", "destroyed"),
            (5, 3, Faulted, None, false, "shut off", "crashed"),
            (5, 4, IntentionalOffline, None, false, "shut off", "migrated"),
            (5, 5, IntentionalOffline, None, false, "shut off", "saved"),
            (5, 6, Faulted, None, false, "shut off", "failed"),
            (5, 7, Offline, None, false, "shut off", "from snapshot"),
            (5, 8, Faulted, None, false, "shut off", "daemon"),
            (6, 0, Faulted, None, true, "crashed", "unknown"),
            (6, 1, Faulted, None, true, "crashed", "panicked"),
            (7, 0, IntentionalOffline, None, true, "pmsuspended", "unknown"),
        ];
        for &(state, reason, expected, confidence, active, name, why) in table {
            let v = at(state, reason);
            let cell = format!("state {state} reason {reason}");
            assert_eq!(v.state, expected, "{cell}");
            assert_eq!(v.confidence, confidence, "{cell}");
            assert_eq!(v.active, active, "{cell}");
            assert_eq!(v.observed, Some((name, why)), "{cell}");
        }
    }

    /// The specification's RHEV table and the statuses it leaves out, on the VM's own host; a VM
    /// without a host is never live; one on another host is OFFLINE here and names that host.
    #[test]
    fn the_rhev_table() {
        #[rustfmt::skip]
        let table: &[(&'static str, ResourceState, Option<u8>)] = &[
            ("wait_for_launch", Online, Some(10)),
            ("powering_up", Online, Some(60)),
            ("up", Online, Some(100)),
            ("powering_down", Online, Some(40)),
            ("paused", Online, Some(20)),
            ("restoring_state", Online, Some(50)),
            ("down", Offline, None),
            ("saving_state", IntentionalOffline, None),
            ("suspended", IntentionalOffline, None),
            ("migrating", IntentionalOffline, None),
            ("reboot_in_progress", IntentionalOffline, None),
            ("image_locked", Unknown, None),
            ("unknown", Unknown, None),
            ("not_responding", Unknown, None),
            ("unassigned", Unknown, None),
            ("none", Unknown, None),
            ("unrecognised", Unknown, None),
        ];
        for &(status, expected, confidence) in table {
            let here = classify(&GuestState::Rhev {
                status,
                placement: Placement::Here,
            });
            assert_eq!(
                (here.state, here.confidence),
                (expected, confidence),
                "{status}"
            );
            assert!(here.active, "{status}");
            assert_eq!(here.observed, Some((status, "on this host")));
            let nowhere = classify(&GuestState::Rhev {
                status,
                placement: Placement::Nowhere,
            });
            let hostless = matches!(status, "down" | "suspended" | "image_locked");
            assert_eq!(
                nowhere.state,
                if hostless { expected } else { Unknown },
                "{status}"
            );
            assert!(!nowhere.active, "{status}");
            let elsewhere = classify(&GuestState::Rhev {
                status,
                placement: Placement::Elsewhere("h9".into()),
            });
            assert_eq!(
                (elsewhere.state, elsewhere.active),
                (Offline, false),
                "{status}"
            );
            assert_eq!(elsewhere.elsewhere.as_deref(), Some("h9"));
        }
    }

    #[test]
    fn numbers_libvirt_may_add_later_are_unknown_or_named_unknown() {
        assert_eq!(at(8, 0).state, Unknown);
        assert_eq!(at(8, 0).observed, None);
        assert_eq!(at(1, 42).observed, Some(("running", "unknown")));
        assert_eq!(at(5, -1).state, Offline);
    }
}
