//! The entry points of the KVMGuest agent, written once for every environment.
//!
//! online, offline, monitor and clean talk to [`backend::Host`]s through [`Hosts`], and to the
//! person or engine that called them through a [`Console`]; they never print.

pub mod batch;
mod clean;
pub mod definition;
pub mod devscan;
mod domain_xml;
pub mod evacuate;
pub mod health;
pub mod lock;
pub mod migrate;
pub mod monitor;
mod offline;
mod online;
mod readiness;
pub mod syncdir;
#[cfg(test)]
mod tests;
pub mod vmconfigsync;
pub mod watch;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::backend::{Connector, Guest, Host, Keeper, Placement, SurveyId};
use crate::error::{Error, Result};
use crate::resource::{Config, Environment, Resource};
use crate::vocabulary::vocabulary;

pub use clean::{clean, clean_question};
pub use monitor::{ResourceState, ResourceStatus, SystemStatus, Verdict, status};
pub use offline::{OfflineOptions, RESEND, STOP, ShutdownRequest, offline, shutdown_question};
pub use online::{OnlineOptions, online};
pub use readiness::{Finding, readiness};

/// Where kvmguestctl keeps what it remembers from one command to the next, unless told otherwise.
pub const STATE_DIR: &str = "/var/lib/kvmguestctl";

/// Now, in seconds since the Unix epoch: the time stamps of the files one command leaves for the
/// next (GuestHealth's memory, a lock's holder).
pub(crate) fn epoch_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// How often a waiting entry point looks at the guest again.
pub const POLL: Duration = Duration::from_millis(250);

/// What the entry points need from whoever called them.
pub trait Console: Sync {
    /// Something is about to happen or has happened ("defining web01 from ...").
    fn step(&self, message: &str);
    /// A wait is under way: `elapsed` of at most `limit`.
    fn tick(&self, message: &str, elapsed: Duration, limit: Duration);
    /// Ask before something that interrupts a running guest; `Err(Refused)` when not granted.
    /// The question's first sentence, up to its `?`, names the action (a refusal repeats it);
    /// what follows says what comes after it.
    fn confirm(&self, question: &str) -> Result<()>;
    /// A transfer is under way: `done` of `total` bytes (a migration).
    fn transfer(&self, message: &str, done: u64, total: u64);
}

/// The outcome of online, offline or clean, as reported to the caller.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub resource: String,
    pub guest: String,
    pub system: String,
    pub action: Action,
    pub state: ResourceState,
    pub confidence: Option<u8>,
    pub detail: String,
    /// Where the definition was saved (SyncDir), when it was.
    pub saved_definition: Option<std::path::PathBuf>,
    pub seconds: f64,
}

vocabulary! {
    /// What an entry point did, as reports and their JSON name it.
    pub enum Action {
        Started = "started",
        AlreadyOnline = "already-online",
        Stopped = "stopped",
        Killed = "killed",
        Cleaned = "cleaned",
        AlreadyOffline = "already-offline",
        Migrated = "migrated",
    }
}

/// Every guest of every surveyed system, by environment and system.
pub type Survey = BTreeMap<(Environment, String), Result<Vec<Guest>>>;

/// Connections by environment and system; failures are kept too, so that a host that timed out
/// once is not waited for again.
type Connections = HashMap<(Environment, String), Result<Arc<dyn Host>>>;

/// The hypervisors of the configured systems, each connected at most once per command and
/// environment.
pub struct Hosts<'a> {
    config: &'a Config,
    connector: &'a dyn Connector,
    cache: Mutex<Connections>,
    /// One lock per fixed migration port: see [`Hosts::incoming`].
    ports: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Where monitors remember what they saw for the next monitor (GuestHealth); nowhere when
    /// `None`, and then an agent's silence never counts against a guest.
    memory: Option<std::path::PathBuf>,
    /// The guests' locks on this machine; none taken when `None` (a scripted test's hosts).
    locks: Option<lock::Locks>,
}

impl<'a> Hosts<'a> {
    pub fn new(config: &'a Config, connector: &'a dyn Connector) -> Self {
        Hosts {
            config,
            connector,
            cache: Mutex::new(HashMap::new()),
            ports: Mutex::new(HashMap::new()),
            memory: None,
            locks: None,
        }
    }

    /// The entry points through these hosts that change a guest hold its lock while they act.
    pub fn locking(self, locks: lock::Locks) -> Self {
        Hosts {
            locks: Some(locks),
            ..self
        }
    }

    /// The lock of the resource's guest, held until the returned guard is dropped.
    fn hold(&self, res: &Resource, console: &dyn Console) -> Result<Option<lock::Held>> {
        self.locks
            .as_ref()
            .map(|locks| locks.take(res, console))
            .transpose()
    }

    /// Monitors through these hosts remember what they saw in `dir` (the state directory).
    pub fn remembering(self, dir: std::path::PathBuf) -> Self {
        Hosts {
            memory: Some(dir),
            ..self
        }
    }

    pub fn memory(&self) -> Option<&std::path::Path> {
        self.memory.as_deref()
    }

    /// The site of a system, for disaster-recovery rules.
    pub fn site(&self, system: &str) -> Result<Option<&'a str>> {
        Ok(self.config.system(system)?.site.as_deref())
    }

    /// A configured system.
    pub fn system(&self, name: &str) -> Result<&'a crate::resource::System> {
        self.config.system(name)
    }

    /// Where migration data for a system should be sent, when configured.
    pub fn migration_uri(&self, system: &str) -> Result<Option<&'a str>> {
        Ok(self.config.system(system)?.migration_uri.as_deref())
    }

    /// The lock that migrations to `system` take while they copy, when its migration_uri names a
    /// port: the target's QEMU listens on that one port for one incoming guest at a time, so a
    /// second migration started meanwhile would fail ("Address already in use").
    pub fn incoming(&self, system: &str) -> Result<Option<Arc<Mutex<()>>>> {
        let Some(uri) = self.migration_uri(system)?.filter(|u| names_a_port(u)) else {
            return Ok(None);
        };
        let mut ports = self.ports.lock().unwrap_or_else(|p| p.into_inner());
        Ok(Some(ports.entry(uri.to_owned()).or_default().clone()))
    }

    /// The host of `system` in the resource's environment.
    pub fn get(&self, res: &Resource, system: &str) -> Result<Arc<dyn Host>> {
        self.host(&res.environment, system)
    }

    fn host(&self, environment: &Environment, system: &str) -> Result<Arc<dyn Host>> {
        let key = (environment.clone(), system.to_owned());
        if let Some(found) = self.lock().get(&key) {
            return found.clone();
        }
        let connected = self
            .config
            .system(system)
            .and_then(|s| self.connector.connect(environment, s));
        self.lock().entry(key).or_insert(connected).clone()
    }

    /// The management engine of the resource's environment (RHEV).
    pub fn engine(&self, res: &Resource) -> Result<Arc<dyn crate::backend::EngineControl>> {
        self.connector.engine(&res.environment)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connections> {
        // A poisoned cache only means another thread panicked mid-insert; the map is still sound.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An engine names the host a VM runs on; where that host is a configured system (by its
    /// `rhev_host`), say the system's name, which is what resources list.
    fn by_system_names(&self, guests: Vec<Guest>) -> Vec<Guest> {
        guests
            .into_iter()
            .map(|mut guest| {
                if let Placement::Elsewhere(host) = &mut guest.state.placement
                    && let Some(system) = self
                        .config
                        .systems
                        .values()
                        .find(|s| s.engine_host() == host.as_str())
                {
                    *host = system.name.clone();
                }
                guest
            })
            .collect()
    }

    /// Every guest of every system of the resources: one query per system (per engine for RHEV),
    /// all at once.
    pub fn survey(&self, resources: &[&Resource]) -> Survey {
        let wanted: BTreeSet<(&Environment, &str)> = resources
            .iter()
            .flat_map(|r| r.systems.iter().map(|s| (&r.environment, s.as_str())))
            .collect();
        let survey = SurveyId::fresh();
        std::thread::scope(|scope| {
            let running: Vec<_> = wanted
                .iter()
                .map(|&(environment, system)| {
                    let query = scope.spawn(move || {
                        self.host(environment, system)
                            .and_then(|h| h.guests(survey))
                    });
                    (environment, system, query)
                })
                .collect();
            running
                .into_iter()
                .map(|(environment, system, query)| {
                    let answer = query.join().unwrap_or_else(|_| {
                        Err(Error::Failed(format!(
                            "{system}: the status query panicked"
                        )))
                    });
                    let answer = answer.map(|guests| self.by_system_names(guests));
                    ((environment.clone(), system.to_owned()), answer)
                })
                .collect()
        })
    }
}

/// Whether a migration URI (`tcp://host:port`, `tcp://[::1]:port`) names its port.
fn names_a_port(uri: &str) -> bool {
    let authority = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let authority = authority.split(['/', '?']).next().unwrap_or_default();
    authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
}

/// The system an entry point acts on must be one the resource may run on.
fn check_system(res: &Resource, system: &str) -> Result<()> {
    if res.systems.iter().any(|s| s == system) {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "{} may run only on {}; {system} is not one of its systems",
            res.name,
            res.systems.join(", ")
        )))
    }
}

/// Wait at most `limit`, looking every [`POLL`] whether `done`; true when it was.
fn wait_until(
    console: &dyn Console,
    message: &str,
    limit: Duration,
    done: impl FnMut(Duration) -> Result<bool>,
) -> Result<bool> {
    wait_every(console, message, limit, POLL, done)
}

/// [`wait_until`], looking every `poll`.
fn wait_every(
    console: &dyn Console,
    message: &str,
    limit: Duration,
    poll: Duration,
    mut done: impl FnMut(Duration) -> Result<bool>,
) -> Result<bool> {
    let started = Instant::now();
    loop {
        let elapsed = started.elapsed();
        if done(elapsed)? {
            return Ok(true);
        }
        if elapsed >= limit {
            return Ok(false);
        }
        console.tick(message, elapsed, limit);
        std::thread::sleep(poll.min(limit - elapsed));
    }
}

/// Look at one guest every `poll` for at most `limit`, until `done` is true of what is seen; the
/// last look is returned, for the caller to verify.
fn watch_guest(
    console: &dyn Console,
    message: &str,
    (limit, poll): (Duration, Duration),
    host: &dyn Host,
    guest: &str,
    done: impl Fn(&Verdict) -> bool,
) -> Result<Verdict> {
    let mut last = None;
    wait_every(console, message, limit, poll, |_| {
        let v = verdict(host, guest)?;
        let finished = done(&v);
        last = Some(v);
        Ok(finished)
    })?;
    match last {
        Some(v) => Ok(v),
        None => verdict(host, guest),
    }
}

/// The one-guest verdict on one system, for entry points that poll a single guest.
fn verdict(host: &dyn Host, guest: &str) -> Result<Verdict> {
    Ok(match host.guest(guest)? {
        Some(g) => monitor::classify(&g.state),
        None => Verdict::undefined(),
    })
}

/// Pull the plug. A guest that stopped by itself between the last look and this call (it finished
/// its shutdown, or a transient one vanished) is what was wanted, not a failure.
fn destroy(host: &dyn Host, guest: &str) -> Result<()> {
    match host.destroy(guest) {
        Ok(()) => Ok(()),
        Err(e) => match verdict(host, guest) {
            Ok(v) if !v.active => Ok(()),
            _ => Err(e),
        },
    }
}

/// Where offline and clean begin: the local host and the guest's verdict there, or, when the guest
/// is not defined on this system, the report that there is nothing to stop.
enum Local {
    Defined(Arc<dyn Host>, Verdict),
    Undefined(Report),
}

fn local(hosts: &Hosts, res: &Resource, system: &str, started: Instant) -> Result<Local> {
    check_system(res, system)?;
    let host = hosts.get(res, system)?;
    let before = verdict(&*host, &res.guest_name)?;
    if before.observed.is_some() {
        return Ok(Local::Defined(host, before));
    }
    Ok(Local::Undefined(nothing_to_stop(
        res,
        system,
        &before,
        "not defined",
        started,
    )))
}

/// The report of an offline or clean that finds nothing to stop here: the guest is `why` ("not
/// defined", "not running") on `system`.
fn nothing_to_stop(
    res: &Resource,
    system: &str,
    verdict: &Verdict,
    why: &str,
    started: Instant,
) -> Report {
    let detail = format!("{} is {why} on {system}", res.guest_name);
    Report::new(
        res,
        system,
        Action::AlreadyOffline,
        verdict,
        detail,
        started,
    )
}

/// The definitions a host's hypervisor keeps; an engine keeps its VMs' definitions itself, so
/// moving or syncing one is not for its hosts.
fn definitions(host: &dyn Host) -> Result<&dyn crate::backend::Definitions> {
    match host.keeper() {
        Keeper::Hypervisor(definitions) => Ok(definitions),
        Keeper::Engine(_) => Err(Error::Usage(
            "the engine keeps this VM's definition: it cannot be defined or removed on a host"
                .to_owned(),
        )),
    }
}

/// The guest's definition as its hypervisor keeps it, or `None` where an engine keeps it.
fn hypervisor_definition(host: &dyn Host, guest: &str) -> Result<Option<String>> {
    match host.keeper() {
        Keeper::Hypervisor(definitions) => definitions.definition(guest).map(Some),
        Keeper::Engine(_) => Ok(None),
    }
}

/// Save the definition to SyncDir when the resource has one; the path written, if any.
fn save_definition(res: &Resource, xml: Option<&str>) -> Result<Option<std::path::PathBuf>> {
    match (res.sync_dir.as_deref(), xml) {
        (Some(dir), Some(xml)) => syncdir::save(dir, &res.guest_name, xml).map(|s| Some(s.path)),
        _ => Ok(None),
    }
}

impl crate::error::Outcome for Report {
    const COLUMNS: &'static [&'static str] = &[
        "RESOURCE",
        "SYSTEM",
        "ACTION",
        "STATE",
        "CONFIDENCE",
        "TIME",
        "DETAIL",
    ];
    fn rows(&self) -> Vec<Vec<String>> {
        vec![vec![
            self.resource.clone(),
            self.system.clone(),
            self.action.to_string(),
            self.state.to_string(),
            self.confidence.map_or(String::new(), |c| c.to_string()),
            format!("{:.1}s", self.seconds),
            self.detail.clone(),
        ]]
    }
}

impl Report {
    fn new(
        res: &Resource,
        system: &str,
        action: Action,
        verdict: &Verdict,
        detail: String,
        started: Instant,
    ) -> Report {
        Report {
            resource: res.name.clone(),
            guest: res.guest_name.clone(),
            system: system.to_owned(),
            action,
            state: verdict.state,
            confidence: verdict.confidence,
            detail,
            saved_definition: None,
            seconds: tenths(started),
        }
    }

    fn saved(self, path: Option<std::path::PathBuf>) -> Report {
        Report {
            saved_definition: path,
            ..self
        }
    }
}

/// Seconds since `started`, to a tenth: what reports show.
fn tenths(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 10.0).round() / 10.0
}

fn seconds(s: u32) -> Duration {
    Duration::from_secs(u64::from(s))
}
