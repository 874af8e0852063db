//! Guest health (the GuestHealth extension): the guest OS, not only its QEMU process, through the
//! QEMU guest agent.
//!
//! QEMU keeps running under a guest whose kernel hung or panicked, so its state stays "running"
//! and every peer's monitor says ONLINE 100 for ever. With GuestHealth, the monitor also pings the
//! agent of a running guest and remembers, between monitors, what the agent did in this run of the
//! guest:
//! - an agent that has not answered once since the guest started (or arrived) here is never held
//!   against it: the guest may have no agent, or it is still booting;
//! - once it has answered, DegradeAfter monitors in a row without an answer lower the confidence
//!   to [`DEGRADED`];
//! - an agent that keeps its channel open but stays silent for FaultAfter seconds (and at least
//!   DegradeAfter monitors) makes the resource FAULTED: that is what a hung OS looks like;
//! - an agent that closed its channel (libvirt's `disconnected`: qemu-ga stopped, or the guest is
//!   rebooting) lowers the confidence but never faults: an OS that closes its port is alive, and
//!   `watch` shows the agent's disconnected and connected events.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::monitor::{ResourceState, ResourceStatus, SystemStatus};
use super::{Hosts, seconds, syncdir};
use crate::backend::{Activity, AgentAnswer, AgentCheck};
use crate::resource::{GuestHealth, Resource};

/// The confidence of a running guest whose agent stopped answering.
pub const DEGRADED: u8 = 50;

/// Pings in flight at once: each waits up to PingTimeout, on a thread of its own.
pub(super) const AT_ONCE: usize = 32;

/// Why an agent did not answer, in a message's words.
pub fn unanswered(check: &AgentCheck, guest: &str, system: &str, within: Duration) -> String {
    match check.answer {
        AgentAnswer::NoChannel => {
            format!("{guest} has no guest agent channel (org.qemu.guest_agent.0) on {system}")
        }
        AgentAnswer::NotConnected => format!(
            "the guest agent of {guest} on {system} is not connected (qemu-ga is not running in \
             the guest)"
        ),
        AgentAnswer::Silent => format!(
            "the guest agent of {guest} on {system} did not answer a ping within {}s{}",
            within.as_secs(),
            check
                .detail
                .as_ref()
                .map_or(String::new(), |d| format!(" ({d})"))
        ),
        AgentAnswer::Answered => format!("the guest agent of {guest} on {system} answered"),
    }
}

/// What the monitor remembers of a resource's agent between two monitors (`<resource>.health`
/// in the state directory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub system: String,
    /// The run of the guest this is about ([`AgentCheck::run`]).
    pub run: String,
    /// The agent answered at least once in this run.
    pub answered: bool,
    /// Monitors in a row without an answer, since the last one.
    pub misses: u32,
    /// When the first of those misses was, in seconds since the Unix epoch.
    pub silent_since: Option<u64>,
}

impl Memory {
    /// How long the agent has been silent at `now`, in seconds (0 when it is not).
    fn silent_for(&self, now: u64) -> u64 {
        now.saturating_sub(self.silent_since.unwrap_or(now))
    }
}

/// What the agent's answer means for the resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Nothing to say: it answered, or it never has in this run.
    None,
    /// A miss that does not count yet, or one that lowers the confidence.
    Miss { degraded: bool },
    /// Silent for FaultAfter: the guest OS is taken as hung.
    Faulted,
}

/// The next memory and the effect of one ping, `now` seconds after the epoch.
pub fn judge(
    before: Option<&Memory>,
    check: &AgentCheck,
    system: &str,
    now: u64,
    policy: &GuestHealth,
) -> (Memory, Effect) {
    let fresh = |answered| Memory {
        system: system.to_owned(),
        run: check.run.clone(),
        answered,
        misses: 0,
        silent_since: None,
    };
    if check.answer == AgentAnswer::Answered {
        return (fresh(true), Effect::None);
    }
    let Some(before) = before.filter(|m| m.system == system && m.run == check.run && m.answered)
    else {
        return (fresh(false), Effect::None);
    };
    let memory = Memory {
        misses: before.misses.saturating_add(1),
        silent_since: before.silent_since.or(Some(now)),
        ..before.clone()
    };
    let degraded = memory.misses >= policy.degrade_after;
    let effect = if degraded
        && check.answer == AgentAnswer::Silent
        && memory.silent_for(now) >= u64::from(policy.fault_after)
    {
        Effect::Faulted
    } else {
        Effect::Miss { degraded }
    };
    (memory, effect)
}

/// Where a resource's memory is kept.
fn memory_file(dir: &Path, res: &Resource) -> PathBuf {
    dir.join(format!("{}.health", res.name))
}

/// The memory a monitor left, read as every file someone else may have put in place is: a
/// FIFO or a runaway file there must not hold a cluster engine's monitor.
fn recall(path: &Path) -> Option<Memory> {
    let bytes = crate::bounded::read(path, MEMORY_LIMIT, crate::bounded::Links::Refuse).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Far more than a memory takes (a few hundred bytes).
const MEMORY_LIMIT: u64 = 64 * 1024;

fn remember(path: &Path, memory: &Memory) -> Result<(), String> {
    let json = serde_json::to_vec_pretty(memory).map_err(|e| e.to_string())?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    syncdir::write_atomically(path, &json, 0o644, None)
        .map_err(|(what, e)| format!("{}: {what}: {e}", path.display()))
}

/// Ping the agent of each resource with GuestHealth on the system where its guest runs, and say
/// what that means in the resource's status (confidence, state, why, `agent`).
pub fn check(hosts: &Hosts, resources: &[&Resource], statuses: &mut [ResourceStatus]) {
    let running = |res: &Resource, s: &SystemStatus| {
        res.guest_health.enabled
            && s.state == ResourceState::Online
            && s.activity == Some(Activity::Running)
    };
    let checks = super::monitor::ask_each(resources, statuses, running, |res, s| {
        let ping = seconds(res.guest_health.ping_timeout);
        hosts
            .get(res, &s.system)
            .and_then(|host| host.agent(&res.guest_name, ping))
    });
    for (i, system, check) in checks {
        let res = resources[i];
        let system = system.as_str();
        let Some(here) = statuses[i].systems.iter_mut().find(|s| s.system == system) else {
            continue;
        };
        let check = match check {
            Ok(check) => check,
            Err(e) => {
                here.why = format!("the guest agent could not be asked: {e}");
                continue;
            }
        };
        here.agent = Some(check.answer);
        let ping = seconds(res.guest_health.ping_timeout);
        let path = hosts.memory().map(|dir| memory_file(dir, res));
        let before = path.as_deref().and_then(recall);
        let now = super::epoch_seconds();
        let (memory, effect) = judge(before.as_ref(), &check, system, now, &res.guest_health);
        // An agent that keeps answering leaves the memory as it was: no write at every monitor.
        if let Some(path) = &path
            && before.as_ref() != Some(&memory)
            && let Err(e) = remember(path, &memory)
        {
            log::warn!(
                "{}: cannot remember the guest agent's answers: {e}",
                res.name
            );
        }
        let policy = &res.guest_health;
        let said = unanswered(&check, &res.guest_name, system, ping);
        let count = format!(
            "{} monitor(s) in a row, {}s; DegradeAfter {}, FaultAfter {}s",
            memory.misses,
            memory.silent_for(now),
            policy.degrade_after,
            policy.fault_after
        );
        match effect {
            Effect::None if check.answer == AgentAnswer::NoChannel => here.why = said,
            Effect::None if !memory.answered && check.answer != AgentAnswer::Answered => {
                here.why = format!(
                    "{said}; not held against it: it has not answered since {} started here",
                    res.guest_name
                );
            }
            Effect::None => {}
            Effect::Miss { degraded } => {
                if degraded {
                    here.confidence = here.confidence.map(|c| c.min(DEGRADED));
                }
                here.why = format!("{said} ({count})");
            }
            Effect::Faulted => {
                here.state = ResourceState::Faulted;
                here.confidence = None;
                here.why = format!(
                    "{said} ({count}): the guest OS is taken as hung; its QEMU process still runs"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: GuestHealth = GuestHealth {
        enabled: true,
        ping_timeout: 2,
        degrade_after: 2,
        fault_after: 60,
    };

    fn check(answer: AgentAnswer, run: &str) -> AgentCheck {
        AgentCheck {
            answer,
            run: run.to_owned(),
            detail: None,
        }
    }

    /// Feed pings at the given times through `judge`, each with the memory of the one before.
    fn run(pings: &[(AgentAnswer, &str, u64)]) -> Vec<(Memory, Effect)> {
        let mut memory: Option<Memory> = None;
        pings
            .iter()
            .map(|(answer, run, at)| {
                let (next, effect) =
                    judge(memory.as_ref(), &check(*answer, run), "a", *at, &POLICY);
                memory = Some(next.clone());
                (next, effect)
            })
            .collect()
    }

    #[test]
    fn an_agent_that_never_answered_in_this_run_is_not_held_against_the_guest() {
        use AgentAnswer::*;
        for answer in [NoChannel, NotConnected, Silent] {
            let seen = run(&[(answer, "7", 0), (answer, "7", 100), (answer, "7", 1000)]);
            assert!(
                seen.iter()
                    .all(|(m, e)| *e == Effect::None && m.misses == 0),
                "{seen:?}"
            );
        }
    }

    #[test]
    fn a_silent_agent_lowers_the_confidence_then_faults_the_resource() {
        use AgentAnswer::*;
        let seen = run(&[
            (Answered, "7", 0),
            (Silent, "7", 10),
            (Silent, "7", 20),
            (Silent, "7", 69),
            (Silent, "7", 70),
        ]);
        let effects: Vec<&Effect> = seen.iter().map(|(_, e)| e).collect();
        assert_eq!(
            effects,
            [
                &Effect::None,
                &Effect::Miss { degraded: false },
                &Effect::Miss { degraded: true },
                &Effect::Miss { degraded: true },
                &Effect::Faulted,
            ]
        );
        assert_eq!(seen[4].0.silent_since, Some(10));
        assert_eq!(seen[4].0.misses, 4);
    }

    #[test]
    fn one_answer_forgives_every_miss() {
        use AgentAnswer::*;
        let seen = run(&[
            (Answered, "7", 0),
            (Silent, "7", 10),
            (Silent, "7", 20),
            (Answered, "7", 30),
            (Silent, "7", 100),
        ]);
        assert_eq!(seen[3].1, Effect::None);
        assert_eq!(seen[4].1, Effect::Miss { degraded: false });
        assert_eq!(seen[4].0.silent_since, Some(100));
    }

    #[test]
    fn a_closed_channel_degrades_but_never_faults() {
        use AgentAnswer::*;
        let seen = run(&[
            (Answered, "7", 0),
            (NotConnected, "7", 10),
            (NotConnected, "7", 20),
            (NotConnected, "7", 10_000),
        ]);
        assert_eq!(seen[3].1, Effect::Miss { degraded: true });
    }

    #[test]
    fn a_new_run_of_the_guest_starts_with_a_clean_slate() {
        use AgentAnswer::*;
        let seen = run(&[
            (Answered, "7", 0),
            (Silent, "7", 10),
            (Silent, "7", 20),
            (Silent, "8", 200),
        ]);
        assert_eq!(seen[3].1, Effect::None);
        assert!(!seen[3].0.answered);
        let elsewhere = judge(Some(&seen[2].0), &check(Silent, "7"), "b", 300, &POLICY);
        assert_eq!(
            elsewhere.1,
            Effect::None,
            "the same domain id on another host is another run"
        );
    }
}
