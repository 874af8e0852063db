//! watch: the vcskvmguestd equivalent. Follows every managed guest's lifecycle on all systems
//! through the hypervisors' events (no polling) and runs the guestmigrated action when a guest
//! arrives somewhere by migration: a migration state file, and the resource's status refreshed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::{Hosts, monitor, syncdir};
use crate::backend::{Connector, HostEvent, Lifecycle, LifecycleEvent};
use crate::error::{Error, Result};
use crate::resource::{Config, Resource};
use crate::vocabulary::vocabulary;

/// One line of the watcher's report (one JSON object per line with `-o json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WatchLine {
    /// UTC, RFC 3339.
    pub time: String,
    pub system: String,
    pub resource: Option<String>,
    pub guest: Option<String>,
    pub event: WatchEvent,
    pub detail: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The resource's state on `system` after the guestmigrated action refreshed it.
    pub state: Option<monitor::ResourceState>,
    pub state_file: Option<PathBuf>,
}

/// What a watch line reports: the watcher's own events, or a guest's lifecycle event.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum WatchEvent {
    Watcher(WatcherEvent),
    Guest(LifecycleEvent),
}

vocabulary! {
    pub enum WatcherEvent {
        /// Subscribed to the system's events, having looked at where its guests run.
        Connected = "connected",
        /// The system's events cannot be followed (retried with a backoff).
        Disconnected = "disconnected",
        /// A guest arrived by migration: the guestmigrated action ran.
        Migrated = "migrated",
    }
}

impl std::fmt::Display for WatchEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WatchEvent::Watcher(event) => event.fmt(f),
            WatchEvent::Guest(event) => event.fmt(f),
        }
    }
}

impl WatchLine {
    fn new(system: &str, event: WatchEvent, detail: String) -> WatchLine {
        WatchLine {
            time: rfc3339(SystemTime::now()),
            system: system.to_owned(),
            resource: None,
            guest: None,
            event,
            detail,
            from: None,
            to: None,
            state: None,
            state_file: None,
        }
    }
}

/// What the migration state file records (`<state dir>/<resource>.migrated`).
#[derive(Debug, Serialize)]
struct MigrationRecord<'a> {
    resource: &'a str,
    guest: &'a str,
    from: Option<&'a str>,
    to: &'a str,
    detected_at: &'a str,
}

/// Watch `resources` until `stop` is set, calling `emit` for every line.
pub fn watch(
    config: &Config,
    connector: &dyn Connector,
    resources: &[&Resource],
    state_dir: &Path,
    stop: Arc<AtomicBool>,
    emit: &mut dyn FnMut(&WatchLine),
) -> Result<()> {
    std::fs::create_dir_all(state_dir)
        .map_err(|e| Error::Failed(format!("state directory {}: {e}", state_dir.display())))?;
    let names: BTreeSet<&str> = resources
        .iter()
        .flat_map(|r| r.systems.iter().map(String::as_str))
        .collect();
    let systems = names
        .iter()
        .map(|n| config.system(n).cloned())
        .collect::<Result<Vec<_>>>()?;

    // Where each resource's guest runs, so a migration can say where it came from.
    let mut running_on: BTreeMap<String, Vec<String>> = monitor::status(
        &Hosts::new(config, connector).remembering(state_dir.to_owned()),
        resources,
    )
    .into_iter()
    .map(|s| (s.resource, s.running_on))
    .collect();
    let (tx, rx) = mpsc::channel();
    connector.watch(&systems, tx, stop.clone())?;
    let mut reachable: BTreeMap<String, bool> = BTreeMap::new();
    let mut connected_once: BTreeSet<String> = BTreeSet::new();
    // (resource, system) where a guest was started by an incoming migration, not yet resumed.
    let mut incoming: BTreeSet<(String, String)> = BTreeSet::new();
    // resource -> the system its guest last left by migration: the source of a migration whose
    // departure was seen before its arrival (events of two hosts arrive in no set order).
    let mut departed: BTreeMap<String, String> = BTreeMap::new();
    while !stop.load(Ordering::Relaxed) {
        let event = match rx.recv_timeout(Duration::from_millis(250)) {
            Ok(event) => event,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        match event {
            HostEvent::Connected { system } => {
                let first = connected_once.insert(system.clone());
                reachable.insert(system.clone(), true);
                // Look at where the guests run before saying "connected", so that "connected"
                // means the watcher's picture includes this system. On a first connection the
                // starting picture lacked it if it could not be asked then; after an outage,
                // events were lost and a guest may have moved meanwhile. One survey for all of
                // them: each system asked once, not once per resource.
                let affected: Vec<&Resource> = resources
                    .iter()
                    .copied()
                    .filter(|r| r.systems.contains(&system))
                    .collect();
                let statuses = monitor::status(
                    &Hosts::new(config, connector).remembering(state_dir.to_owned()),
                    &affected,
                );
                let detail = if first { "" } else { "reconnected" };
                emit(&WatchLine::new(
                    &system,
                    WatchEvent::Watcher(WatcherEvent::Connected),
                    detail.to_owned(),
                ));
                for (res, status) in affected.into_iter().zip(statuses) {
                    // Only this system's place in the picture: the others' places are kept by
                    // their own events, which a survey taken mid-migration must not overwrite.
                    let known = running_on.entry(res.name.clone()).or_default();
                    let here = status.running_on.contains(&system);
                    match (known.contains(&system), here) {
                        (false, true) if !first => {
                            let departed = departed.remove(&res.name);
                            emit(&guestmigrated(
                                config, connector, res, &system, known, departed, state_dir,
                            ));
                        }
                        (false, true) => known.push(system.clone()),
                        (true, false) => known.retain(|s| *s != system),
                        _ => {}
                    }
                }
            }
            HostEvent::Disconnected { system, reason } => {
                // Said once per outage, not at every retry.
                if reachable.insert(system.clone(), false) != Some(false) {
                    emit(&WatchLine::new(
                        &system,
                        WatchEvent::Watcher(WatcherEvent::Disconnected),
                        reason,
                    ));
                }
            }
            HostEvent::Lifecycle(ev) => {
                for res in resources
                    .iter()
                    .filter(|r| r.guest_name == ev.guest && r.systems.contains(&ev.system))
                {
                    emit(&lifecycle_line(res, &ev));
                    let known = running_on.entry(res.name.clone()).or_default();
                    let key = (res.name.clone(), ev.system.clone());
                    match ev.event {
                        // The incoming guest is started paused and resumed once the migration is
                        // over: only then does it run on the target. A source resumed after a
                        // cancelled migration says "resumed, migrated" too, but was never started
                        // by a migration.
                        LifecycleEvent::Started if ev.migrated => {
                            incoming.insert(key);
                        }
                        LifecycleEvent::Resumed if ev.migrated && incoming.remove(&key) => {
                            let departed = departed.remove(&res.name);
                            emit(&guestmigrated(
                                config, connector, res, &ev.system, known, departed, state_dir,
                            ))
                        }
                        LifecycleEvent::Resumed if ev.migrated => {}
                        LifecycleEvent::Started | LifecycleEvent::Resumed
                            if !known.contains(&ev.system) =>
                        {
                            known.push(ev.system.clone())
                        }
                        LifecycleEvent::Stopped | LifecycleEvent::Crashed => {
                            if ev.migrated {
                                departed.insert(res.name.clone(), ev.system.clone());
                            }
                            incoming.remove(&key);
                            known.retain(|s| *s != ev.system);
                        }
                        // The rest say nothing about where the guest runs, among them an agent
                        // that comes or goes inside it: reported, no migration, no refresh.
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(())
}

fn lifecycle_line(res: &Resource, ev: &Lifecycle) -> WatchLine {
    WatchLine {
        resource: Some(res.name.clone()),
        guest: Some(ev.guest.clone()),
        ..WatchLine::new(
            &ev.system,
            WatchEvent::Guest(ev.event),
            ev.detail.to_owned(),
        )
    }
}

/// The guestmigrated action: record the migration in the state file and refresh the status (what
/// VCS does with `hares -probe`).
fn guestmigrated(
    config: &Config,
    connector: &dyn Connector,
    res: &Resource,
    to: &str,
    running_on: &mut Vec<String>,
    departed: Option<String>,
    state_dir: &Path,
) -> WatchLine {
    let from = running_on
        .iter()
        .find(|s| *s != to)
        .cloned()
        .or(departed.filter(|s| s != to));
    let status = monitor::status(
        &Hosts::new(config, connector).remembering(state_dir.to_owned()),
        &[res],
    )
    .remove(0);
    let here = status.on(to);
    // The source may still hold its paused, finishing copy for a moment: the guest is on `to`.
    *running_on = vec![to.to_owned()];
    let mut line = WatchLine {
        resource: Some(res.name.clone()),
        guest: Some(res.guest_name.clone()),
        from: from.clone(),
        to: Some(to.to_owned()),
        state: here.map(|s| s.state),
        ..WatchLine::new(
            to,
            WatchEvent::Watcher(WatcherEvent::Migrated),
            String::new(),
        )
    };
    let record = MigrationRecord {
        resource: &res.name,
        guest: &res.guest_name,
        from: from.as_deref(),
        to,
        detected_at: &line.time,
    };
    let path = state_dir.join(format!("{}.migrated", res.name));
    let json = serde_json::to_vec_pretty(&record).unwrap_or_default();
    match syncdir::write_atomically(&path, &json, 0o644, None) {
        Ok(()) => line.state_file = Some(path),
        Err((what, e)) => line.detail = format!("state file {}: {what}: {e}", path.display()),
    }
    if line.detail.is_empty() {
        line.detail = match (&from, here) {
            (Some(from), Some(s)) => format!("from {from}; now {} on {to}", s.state),
            (None, Some(s)) => format!("now {} on {to}", s.state),
            (_, None) => String::new(),
        };
    }
    if status.concurrency_violation {
        line.detail.push_str(&format!(
            "; CONCURRENCY VIOLATION: runs on {}",
            status.running_on.join(" and ")
        ));
    }
    line
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` without a date library (days to civil date: Hinnant's algorithm).
fn rfc3339(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    /// Expected values checked with `date -u -d @SECONDS`.
    fn rfc3339_dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_millis(951_782_400_250)),
            "2000-02-29T00:00:00.250Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_320_000)),
            "2026-11-22T04:00:00.000Z"
        );
    }
}
