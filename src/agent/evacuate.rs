//! Evacuate: empty a system before maintenance. Every guest live there migrates to the next
//! system of its resource that can take it; a guest that cannot move is left running (or shut
//! down, when asked), with the reason.

use std::time::Duration;

use serde::Serialize;

use super::migrate::{self, MigrateMode};
use super::monitor::{self, ResourceState, ResourceStatus};
use super::{Console, Hosts, batch, offline};
use crate::backend::Keeper;
use crate::error::{Error, Exit, Outcome, Result};
use crate::resource::{Config, Resource};
use crate::vocabulary::vocabulary;

/// How many guests migrate at once unless told: migrations share the network between the hosts.
pub const PARALLEL: usize = 2;

/// One guest live on the evacuated system, and where it goes or why it cannot.
pub struct Move<'c> {
    pub resource: &'c Resource,
    /// The target system, or why the guest cannot move (a refusal, or a concurrency violation).
    pub target: Result<String>,
}

/// What an evacuation will do, from one survey.
pub struct Plan<'c> {
    pub system: String,
    pub moves: Vec<Move<'c>>,
    /// Resources of the system whose guest could not be looked for there (the system could not
    /// be asked in their environment).
    pub unasked: Vec<(&'c Resource, Error)>,
}

/// The plan for emptying `system`: every configured resource whose guest is live there, with its
/// target: `to` when it is one of the resource's systems, else the next system after `system` in
/// the resource's priority list (wrapping) that answers and that the DR rule allows.
pub fn plan<'c>(
    hosts: &Hosts,
    config: &'c Config,
    system: &str,
    to: Option<&str>,
) -> Result<Plan<'c>> {
    config.system(system)?;
    if let Some(to) = to {
        config.system(to)?;
        if to == system {
            return Err(Error::Usage(format!(
                "--to {to} is the system being evacuated: pick another target"
            )));
        }
    }
    let resources: Vec<&Resource> = config
        .resources
        .values()
        .filter(|r| r.systems.iter().any(|s| s == system))
        .collect();
    let mut plan = Plan {
        system: system.to_owned(),
        moves: Vec::new(),
        unasked: Vec::new(),
    };
    for (res, status) in resources.iter().zip(monitor::look(hosts, &resources)) {
        match status.usable(system) {
            Err(e) => plan.unasked.push((res, e)),
            Ok(here) if here.active => plan.moves.push(Move {
                resource: res,
                target: target(hosts, res, &status, system, to),
            }),
            Ok(_) => {}
        }
    }
    Ok(plan)
}

fn target(
    hosts: &Hosts,
    res: &Resource,
    status: &ResourceStatus,
    system: &str,
    to: Option<&str>,
) -> Result<String> {
    let guest = &res.guest_name;
    let elsewhere = status.running_elsewhere(system);
    if !elsewhere.is_empty() {
        return Err(migrate::live_twice(status, &[system], &elsewhere));
    }
    let here = status.usable(system)?;
    if here.state != ResourceState::Online {
        return Err(Error::Refused(format!(
            "{guest} is {} on {system}: only an ONLINE guest migrates",
            here.state
        )));
    }
    // The engine's own refusal (a pinned VM) holds whatever the target.
    if let Keeper::Engine(vms) = hosts.get(res, system)?.keeper() {
        vms.migratable(guest)?;
    }
    let candidates: Vec<&str> = match to.filter(|t| res.systems.iter().any(|s| s == t)) {
        Some(to) => vec![to],
        None => {
            let at = res.systems.iter().position(|s| s == system).unwrap_or(0);
            let (before, after) = res.systems.split_at(at);
            after
                .iter()
                .skip(1)
                .chain(before)
                .map(String::as_str)
                .collect()
        }
    };
    if candidates.is_empty() {
        return Err(Error::Refused(format!(
            "no other system: {} may run only on {system}",
            res.name
        )));
    }
    let mut reasons = Vec::new();
    for candidate in candidates {
        let fits = status
            .usable(candidate)
            .map(|_| ())
            .and_then(|()| migrate::within_site(hosts, res, system, candidate));
        match fits {
            Ok(()) => return Ok(candidate.to_owned()),
            Err(e) => reasons.push(e.to_string()),
        }
    }
    Err(Error::Refused(reasons.join("; ")))
}

/// How the evacuation runs.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// At most this many guests move (or stop) at once.
    pub parallel: usize,
    /// Shut down the guests that cannot move (Offline) instead of leaving them running.
    pub stop_unmovable: bool,
}

vocabulary! {
    /// What happens to a guest: planned (a dry run), or done.
    pub enum Step {
        Move = "move",
        Leave = "leave",
        Stop = "stop",
        Moved = "moved",
        Left = "left",
        Stopped = "stopped",
        Failed = "failed",
    }
}

/// One guest of the evacuation.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub resource: String,
    pub guest: String,
    pub from: String,
    /// The target of a move (planned, done or failed); `None` for a guest that stays or stops.
    pub to: Option<String>,
    pub action: Step,
    pub detail: String,
    /// This guest's part of the command's exit code.
    pub exit_code: Exit,
}

impl Outcome for Row {
    const COLUMNS: &'static [&'static str] =
        &["RESOURCE", "GUEST", "FROM", "TO", "ACTION", "DETAIL"];
    fn rows(&self) -> Vec<Vec<String>> {
        vec![vec![
            self.resource.clone(),
            self.guest.clone(),
            self.from.clone(),
            self.to.clone().unwrap_or_default(),
            self.action.to_string(),
            self.detail.clone(),
        ]]
    }
    fn exit(&self) -> Exit {
        self.exit_code
    }
    fn alerts(&self) -> Vec<String> {
        match self.action {
            Step::Leave | Step::Left => vec![format!(
                "{} ({}) {} running on {}: {}",
                self.guest,
                self.resource,
                if self.action == Step::Leave {
                    "would be left"
                } else {
                    "is left"
                },
                self.from,
                self.detail
            )],
            Step::Failed => vec![format!(
                "{} ({}): {}",
                self.guest, self.resource, self.detail
            )],
            _ => Vec::new(),
        }
    }
    fn alarm(&self) -> bool {
        self.exit_code == Exit::Concurrency
    }
}

impl Move<'_> {
    fn row(&self, from: &str, to: Option<&str>, action: Step, detail: String, exit: Exit) -> Row {
        Row {
            resource: self.resource.name.clone(),
            guest: self.resource.guest_name.clone(),
            from: from.to_owned(),
            to: to.map(str::to_owned),
            action,
            detail,
            exit_code: exit,
        }
    }

    /// A guest left running: refused (5), or a concurrency violation (6).
    fn left(&self, from: &str, action: Step, why: &Error) -> Row {
        let exit = match why {
            Error::Concurrency(_) => Exit::Concurrency,
            _ => Exit::Refused,
        };
        self.row(from, None, action, why.to_string(), exit)
    }
}

/// The plan as rows, changing nothing (`--dry-run`): move, stop, or leave (exit 5, or 6 for a
/// concurrency violation), so that a dry run's exit code says whether the system would be empty.
pub fn preview(plan: &Plan, options: &Options) -> Vec<Row> {
    let from = plan.system.as_str();
    plan.moves
        .iter()
        .map(|m| match &m.target {
            Ok(to) => m.row(
                from,
                Some(to),
                Step::Move,
                format!("live migration {from} -> {to}"),
                Exit::Success,
            ),
            Err(why) if options.stop_unmovable => m.row(
                from,
                None,
                Step::Stop,
                format!("{why}; shut down (--stop-unmovable)"),
                Exit::Success,
            ),
            Err(why) => m.left(from, Step::Leave, why),
        })
        .collect()
}

/// Run the plan after one confirmation for all of it: the migrations at most `parallel` at a
/// time, and the shutdowns of `--stop-unmovable`; one row per guest, in the plan's order.
pub fn execute(
    hosts: &Hosts,
    plan: &Plan,
    options: &Options,
    console: &dyn Console,
) -> Result<Vec<Row>> {
    let from = plan.system.as_str();
    let acting = |m: &Move| m.target.is_ok() || options.stop_unmovable;
    if plan.moves.iter().any(acting) {
        console.confirm(&question(plan, options))?;
    }
    let console = Confirmed(console);
    let run = |m: &Move| match &m.target {
        Ok(to) => {
            match migrate::migrate(hosts, m.resource, from, to, MigrateMode::Live, &console) {
                Ok(report) => m.row(from, Some(to), Step::Moved, report.detail, Exit::Success),
                // Refused before anything moved (the engine's placement policy, a guest that
                // appeared on the target meanwhile): the guest cannot move after all.
                Err(why @ Error::Refused(_)) => unmovable(hosts, m, from, &why, options, &console),
                Err(e) => m.row(from, Some(to), Step::Failed, e.to_string(), e.exit()),
            }
        }
        Err(why) => unmovable(hosts, m, from, why, options, &console),
    };

    // Migrations to one fixed port wait for each other inside migrate (Hosts::incoming); a
    // guest that is only left costs its slot no hypervisor call.
    Ok(batch::bounded(&plan.moves, options.parallel, run))
}

/// A guest that cannot move: shut down with `--stop-unmovable`, else left running.
fn unmovable(
    hosts: &Hosts,
    m: &Move,
    from: &str,
    why: &Error,
    options: &Options,
    console: &dyn Console,
) -> Row {
    if !options.stop_unmovable {
        return m.left(from, Step::Left, why);
    }
    match offline(hosts, m.resource, from, &super::STOP, console) {
        Ok(report) => m.row(
            from,
            None,
            Step::Stopped,
            format!("{why}; {}", report.detail),
            Exit::Success,
        ),
        Err(e) => m.row(
            from,
            None,
            Step::Failed,
            format!("{why}; the shutdown failed: {e}"),
            e.exit(),
        ),
    }
}

/// The one question for the whole evacuation: the action, then each guest's fate.
fn question(plan: &Plan, options: &Options) -> String {
    let mut text = format!("Evacuate {}?", plan.system);
    for m in &plan.moves {
        let guest = format!("{} ({})", m.resource.guest_name, m.resource.name);
        let fate = match &m.target {
            Ok(to) => format!("migrates live to {to}"),
            Err(why) if options.stop_unmovable => format!(
                "is shut down, destroyed if still running after DelayAfterGuestOffline ({}s): {why}",
                m.resource.delay_after_guest_offline
            ),
            Err(why) => format!("is left running: {why}"),
        };
        text.push_str(&format!("\n  {guest} {fate}"));
    }
    text
}

/// The evacuation was confirmed as a whole: the entry points it runs do not ask again.
struct Confirmed<'a>(&'a dyn Console);

impl Console for Confirmed<'_> {
    fn step(&self, message: &str) {
        self.0.step(message);
    }
    fn tick(&self, message: &str, elapsed: Duration, limit: Duration) {
        self.0.tick(message, elapsed, limit);
    }
    fn confirm(&self, _: &str) -> Result<()> {
        Ok(())
    }
    fn transfer(&self, message: &str, done: u64, total: u64) {
        self.0.transfer(message, done, total);
    }
}
