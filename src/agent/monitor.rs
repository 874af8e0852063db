//! Monitor: what a guest's state means for the resource, on each of its systems. Backends
//! translate their hypervisors' states into [`GuestState`]; the table here is written once, over
//! that shared vocabulary.

use std::time::Duration;

use serde::Serialize;

use super::{Hosts, Survey};
use crate::backend::{Activity, AgentAnswer, GuestDetails, GuestState, Observed, Placement};
use crate::error::{Error, Exit, Result};
use crate::resource::Resource;
use crate::vocabulary::vocabulary;

vocabulary! {
    /// The VCS resource states.
    pub enum ResourceState {
        Online = "ONLINE",
        Offline = "OFFLINE",
        Faulted = "FAULTED",
        Unknown = "UNKNOWN",
        IntentionalOffline = "INTENTIONAL OFFLINE",
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
    /// The hypervisor's own words; `None` when the guest is not defined on the system.
    pub observed: Option<Observed>,
    /// What the guest is doing, when the hypervisor knows the guest.
    pub activity: Option<Activity>,
    /// The guest runs on another host, which this system's hypervisor named (an engine).
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
            activity: None,
            elsewhere: None,
        }
    }
}

/// The mapping table (documented in the README): the specification's RHEV table (up 100,
/// powering_up 60, restoring 50, powering_down 40, paused 20, wait_for_launch 10; saving,
/// suspended, migrating and rebooting are INTENTIONAL OFFLINE), plus what a hypervisor can say
/// that the engine cannot (a guest receiving its memory after a post-copy migration, faults).
pub fn classify(guest: &GuestState) -> Verdict {
    use Activity::*;
    use ResourceState::*;
    let (state, confidence) = match guest.activity {
        Running => (Online, Some(100)),
        PoweringUp | ReceivingMemory => (Online, Some(60)),
        Restoring => (Online, Some(50)),
        PoweringDown => (Online, Some(40)),
        Paused => (Online, Some(20)),
        Launching => (Online, Some(10)),
        Migrating | Saving | Suspended | Rebooting | MigratedAway => (IntentionalOffline, None),
        ShutOff => (Offline, None),
        Failed => (Faulted, None),
        Activity::Unknown => (ResourceState::Unknown, None),
    };
    let (state, confidence, elsewhere) = match &guest.placement {
        Placement::Here => (state, confidence, None),
        // Only a VM that is not running can be on no host; a running one without a host is a
        // contradiction, not a state to act on.
        Placement::Nowhere if matches!(guest.activity, ShutOff | Suspended) => {
            (state, confidence, None)
        }
        Placement::Nowhere => (ResourceState::Unknown, None, None),
        Placement::Elsewhere(host) => (Offline, None, Some(host.clone())),
    };
    Verdict {
        state,
        confidence,
        active: guest.live,
        observed: guest.observed,
        activity: Some(guest.activity),
        elsewhere,
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
    #[serde(skip)]
    pub activity: Option<Activity>,
    /// One line for a person when the hypervisor state alone does not explain the resource state
    /// (not defined here, running elsewhere); empty otherwise.
    pub why: String,
    /// What the guest agent did when pinged (GuestHealth on, and the guest running here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentAnswer>,
    /// What the guest says about itself (`status --detail`, where it runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<GuestDetails>,
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

impl crate::error::Outcome for ResourceStatus {
    const COLUMNS: &'static [&'static str] = &[
        "RESOURCE",
        "SYSTEM",
        "STATE",
        "CONFIDENCE",
        "HYPERVISOR",
        "WHY",
    ];
    fn rows(&self) -> Vec<Vec<String>> {
        self.systems
            .iter()
            .map(|s| {
                let hypervisor = match (s.hypervisor_state, s.hypervisor_reason) {
                    (Some(state), Some(reason)) => format!("{state} ({reason})"),
                    _ => "-".to_owned(),
                };
                vec![
                    self.resource.clone(),
                    s.system.clone(),
                    s.state.to_string(),
                    s.confidence.map_or(String::new(), |c| c.to_string()),
                    hypervisor,
                    s.error.clone().unwrap_or_else(|| s.why.clone()),
                ]
            })
            .collect()
    }
    /// 6 for two live copies; else a system that could not be asked gives its error's code (4
    /// when unreachable, 2 when an engine refused the configured credentials).
    fn exit(&self) -> Exit {
        if self.concurrency_violation {
            return Exit::Concurrency;
        }
        self.systems
            .iter()
            .find_map(|s| s.error_class.as_ref())
            .map_or(Exit::Success, Error::exit)
    }
    /// Each system that could not be asked (the error names the system). The concurrency
    /// violation is the caller's warning: it is said with the systems it involves.
    fn alerts(&self) -> Vec<String> {
        self.systems
            .iter()
            .filter_map(|s| s.error.clone())
            .collect()
    }
    fn alarm(&self) -> bool {
        self.concurrency_violation
    }
}

impl ResourceStatus {
    /// The systems of the resource where the guest holds a live instance.
    pub fn live_systems(&self) -> Vec<&str> {
        self.systems
            .iter()
            .filter(|s| s.active)
            .map(|s| s.system.as_str())
            .collect()
    }

    /// Where the guest runs other than on `system`.
    pub fn running_elsewhere(&self, system: &str) -> Vec<&str> {
        self.running_on
            .iter()
            .map(String::as_str)
            .filter(|s| *s != system)
            .collect()
    }

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
    /// The hypervisor's words for the guest here, "crashed, unknown", as messages say them;
    /// `None` when it has none (not defined, or the system could not be asked).
    pub fn hypervisor_words(&self) -> Option<String> {
        match (self.hypervisor_state, self.hypervisor_reason) {
            (Some(state), Some(reason)) => Some(format!("{state}, {reason}")),
            _ => None,
        }
    }

    /// Running, but GuestHealth lowered the confidence: its guest agent stopped answering.
    pub fn agent_degraded(&self) -> bool {
        self.state == ResourceState::Online
            && self.agent.is_some_and(|a| a != AgentAnswer::Answered)
            && self.confidence == Some(super::health::DEGRADED)
    }

    /// The verdict this status was made from (for a report about this system).
    pub fn verdict(&self) -> Verdict {
        Verdict {
            state: self.state,
            confidence: self.confidence,
            active: self.active,
            observed: None,
            activity: self.activity,
            elsewhere: None,
        }
    }
}

/// Monitor many resources: every system involved is asked once, all at the same time; then the
/// guest agents of those with GuestHealth, all at the same time.
pub fn status(hosts: &Hosts, resources: &[&Resource]) -> Vec<ResourceStatus> {
    let mut statuses = look(hosts, resources);
    super::health::check(hosts, resources, &mut statuses);
    statuses
}

/// Where each resource's guest is and in what state, as the hypervisors say, every system asked
/// once: what an entry point needs to find or plan its work. Unlike [`status`], no guest agent
/// is asked, so that finding a guest counts as no monitor of GuestHealth.
pub fn look(hosts: &Hosts, resources: &[&Resource]) -> Vec<ResourceStatus> {
    let survey = hosts.survey(resources);
    let mut statuses: Vec<ResourceStatus> = resources.iter().map(|r| judge(r, &survey)).collect();
    confirm_violations(hosts, resources, &mut statuses);
    statuses
}

/// How long after a look that shows a guest live on two systems the look is taken again.
pub const CONFIRM_AFTER: Duration = Duration::from_millis(500);

/// A concurrency violation is said only when a second look, [`CONFIRM_AFTER`] later, shows it
/// too. The systems are asked at the same time but not at the same instant: a migration that ends
/// between two answers shows the guest still running on the source and already running on the
/// target, an instant that never was.
fn confirm_violations(hosts: &Hosts, resources: &[&Resource], statuses: &mut [ResourceStatus]) {
    let doubtful: Vec<usize> = (0..statuses.len())
        .filter(|&i| statuses[i].concurrency_violation)
        .collect();
    if doubtful.is_empty() {
        return;
    }
    std::thread::sleep(CONFIRM_AFTER);
    let again: Vec<&Resource> = doubtful.iter().map(|&i| resources[i]).collect();
    let survey = hosts.survey(&again);
    for (&i, res) in doubtful.iter().zip(again) {
        statuses[i] = judge(res, &survey);
    }
}

/// Ask each guest where it holds a live instance what it says about itself (host name, OS,
/// addresses), all at once, each agent call bounded by the resource's PingTimeout; an agent that
/// this look has already pinged (GuestHealth) is not pinged again. What could not be asked is
/// returned, naming the guest and the system.
pub fn details(
    hosts: &Hosts,
    resources: &[&Resource],
    statuses: &mut [ResourceStatus],
) -> Vec<Error> {
    let found = ask_each(
        resources,
        statuses,
        |_, s| s.active,
        |res, s| {
            let within = super::seconds(res.guest_health.ping_timeout);
            let host = hosts.get(res, &s.system)?;
            let agent = match s.agent {
                Some(answer) => answer,
                None => host.agent(&res.guest_name, within)?.answer,
            };
            host.details(&res.guest_name, agent, within)
        },
    );
    let mut failed = Vec::new();
    for (i, system, details) in found {
        match details {
            Ok(details) => {
                if let Some(here) = statuses[i].systems.iter_mut().find(|s| s.system == system) {
                    here.details = Some(details);
                }
            }
            Err(e) => failed.push(Error::Failed(format!(
                "details of {} on {system}: {e}",
                resources[i].guest_name
            ))),
        }
    }
    failed
}

/// `ask` about each system of each resource that `wanted` picks, all at once (each call waits on
/// a guest: [`super::health::AT_ONCE`] in flight at most); the answers, each with its resource's
/// index and the system's name.
pub(super) fn ask_each<R: Send>(
    resources: &[&Resource],
    statuses: &[ResourceStatus],
    wanted: impl Fn(&Resource, &SystemStatus) -> bool,
    ask: impl Fn(&Resource, &SystemStatus) -> R + Sync,
) -> Vec<(usize, String, R)> {
    let work: Vec<(usize, &SystemStatus)> = resources
        .iter()
        .zip(statuses)
        .enumerate()
        .flat_map(|(i, (res, status))| {
            status
                .systems
                .iter()
                .filter(|s| wanted(res, s))
                .map(move |s| (i, s))
        })
        .collect();
    let answers = super::batch::bounded(&work, super::health::AT_ONCE, |&(i, s)| {
        ask(resources[i], s)
    });
    work.iter()
        .zip(answers)
        .map(|(&(i, s), answer)| (i, s.system.clone(), answer))
        .collect()
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
                        hypervisor_state: verdict.observed.map(|o| o.state),
                        hypervisor_reason: verdict.observed.map(|o| o.reason),
                        activity: verdict.activity,
                        why,
                        agent: None,
                        details: None,
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
    // arriving on the target) is one guest in transit, not a second one; so is a copy whose CPUs
    // have not run yet (an incoming migration's target is launched paused, "starting up", before
    // the memory flows). A second start that goes on to run is seen running by the next look.
    let in_transit =
        |s: &SystemStatus| matches!(s.activity, Some(Activity::Migrating | Activity::Launching));
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
        activity: None,
        why: "the hypervisor could not be asked".into(),
        agent: None,
        details: None,
        error: Some(e.to_string()),
        error_class: Some(e),
    }
}
