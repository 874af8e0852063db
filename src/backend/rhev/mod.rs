//! The RHEV / oVirt backend: the engine's REST API v4 over HTTPS, never a local hypervisor.
//!
//! A system is a host of the engine (by `rhev_host`, else its own name). The engine knows where
//! each VM runs, so one paged VM search per engine answers a status survey of every system.

mod ca;
mod client;
mod xml;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{
    Activity, AgentAnswer, AgentCheck, EngineControl, EngineHost, EngineVms, Guest, GuestDetails,
    GuestState, Host, HostStatus, Keeper, MigrationDone, MigrationProgress, MigrationRequest,
    Observed, Payload, Placement, ShutdownAsked, ShutdownMode, SurveyId, Transfer,
};
use crate::error::{Error, Result};
use crate::resource::{Engine, PasswordSource, System};
use crate::secret::{self, Secret};

pub use ca::{EngineCa, fetch_ca};
pub use client::tls_trusting;

/// VMs per page of a survey: 1,000 VMs take two pages and one empty look.
const PAGE: usize = 500;

/// The engine's 15 VM statuses (the API model's VmStatus) in the shared vocabulary; the
/// specification's table is kept by `agent::monitor` over these. A status the engine may add
/// later, and an absent one (an illegal image), are Unknown.
const VM_STATUSES: [(&str, Activity); 15] = [
    ("unassigned", Activity::Unknown),
    ("down", Activity::ShutOff),
    ("up", Activity::Running),
    ("powering_up", Activity::PoweringUp),
    ("paused", Activity::Paused),
    ("migrating", Activity::Migrating),
    ("unknown", Activity::Unknown),
    ("not_responding", Activity::Unknown),
    ("wait_for_launch", Activity::Launching),
    ("reboot_in_progress", Activity::Rebooting),
    ("saving_state", Activity::Saving),
    ("restoring_state", Activity::Restoring),
    ("suspended", Activity::Suspended),
    ("image_locked", Activity::Unknown),
    ("powering_down", Activity::PoweringDown),
];

/// A VM's status and placement in the shared vocabulary: its status name (or "none",
/// "unrecognised") and where it runs are the words shown.
pub fn guest_state(status: Option<&str>, placement: Placement) -> GuestState {
    let (name, activity) = match status {
        None => ("none", Activity::Unknown),
        Some(s) => VM_STATUSES
            .iter()
            .find(|(known, _)| *known == s)
            .copied()
            .unwrap_or(("unrecognised", Activity::Unknown)),
    };
    let reason = match placement {
        Placement::Here => "on this host",
        Placement::Elsewhere(_) => "on another host",
        Placement::Nowhere => "on no host",
    };
    GuestState {
        activity,
        // The engine gives a VM a host for as long as it holds one: that is what is live.
        live: placement == Placement::Here,
        placement,
        observed: Some(Observed {
            state: name,
            reason,
        }),
    }
}

/// Opens engine sessions, one per engine and account for the whole command.
pub struct Rhev {
    timeout: Duration,
    /// `--ca-file`: overrides RHEVMInfo.CAFile.
    ca_file: Option<PathBuf>,
    key_file: PathBuf,
    engines: Mutex<HashMap<Engine, Arc<EngineSession>>>,
}

impl Rhev {
    pub fn new(timeout: Duration, ca_file: Option<PathBuf>, key_file: PathBuf) -> Rhev {
        Rhev {
            timeout,
            ca_file,
            key_file,
            engines: Mutex::new(HashMap::new()),
        }
    }

    /// The engine's session state, opened at the first use.
    pub fn engine(&self, engine: &Engine) -> Result<Arc<EngineSession>> {
        let mut engines = self.engines.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = engines.get(engine) {
            return Ok(found.clone());
        }
        let ca = self
            .ca_file
            .as_ref()
            .or(engine.ca_file.as_ref())
            .ok_or_else(|| {
                Error::Config(format!(
                    "no CA certificate for {}: set RHEVMInfo.CAFile or pass --ca-file \
                 (get it with: kvmguestctl rhev fetch-ca {} --save FILE)",
                    engine.url, engine.url
                ))
            })?;
        // A CA bundle is a few hundred kB at most.
        let pem = crate::bounded::read(ca, crate::bounded::MIB, crate::bounded::Links::Follow)
            .map_err(|e| {
                Error::Config(format!(
                    "cannot read the CA file {}: {}",
                    ca.display(),
                    crate::error::io(&e)
                ))
            })?;
        let tls = tls_trusting(&pem, ca)?;
        let password = password_fn(engine.password.clone(), self.key_file.clone());
        let session = client::Session::new(&engine.url, &engine.user, password, tls, self.timeout)?;
        let state = Arc::new(EngineSession::new(session));
        engines.insert(engine.clone(), state.clone());
        Ok(state)
    }

    pub fn connect(&self, engine: &Engine, system: &System) -> Result<Arc<dyn Host>> {
        Ok(Arc::new(RhevHost {
            engine: self.engine(engine)?,
            host_name: system.engine_host().to_owned(),
        }))
    }
}

/// The password, read only when the engine is first asked (status of KVM resources must not
/// need the key file).
fn password_fn(source: PasswordSource, key_file: PathBuf) -> client::PasswordFn {
    Box::new(move || match &source {
        PasswordSource::Encrypted(value) => secret::decrypt(&key_file, value),
        PasswordSource::File(path) => secret::read_password_file(path),
        PasswordSource::Env(name) => match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
            _ => Err(Error::Config(format!(
                "RHEVMInfo.PasswordEnv names {name}, which is not set in the environment"
            ))),
        },
    })
}

type Vms = Vec<xml::Vm>;

/// An answer kept for the rest of the command, failures included: an engine that timed out once
/// is not waited for again by every system that asks.
struct Kept<T>(Mutex<Option<Result<Arc<T>>>>);

impl<T> Kept<T> {
    fn new() -> Self {
        Kept(Mutex::new(None))
    }

    /// The kept answer, or a new one from `fetch` when there is none or `fresh` is asked. The
    /// lock is held while fetching: the other askers wait for that answer instead of asking too.
    fn get(&self, fresh: bool, fetch: impl FnOnce() -> Result<T>) -> Result<Arc<T>> {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match kept.as_ref() {
            Some(answer) if !fresh => answer.clone(),
            _ => kept.insert(fetch().map(Arc::new)).clone(),
        }
    }
}

/// One engine as seen by one command: the session and what it learned.
pub struct EngineSession {
    session: client::Session,
    /// The VM list of the latest survey, shared by the hosts that survey asks.
    survey: Mutex<Option<(SurveyId, Result<Arc<Vms>>)>>,
    /// VM name -> id: ids never change, so an action needs no search once a survey has run.
    ids: Mutex<HashMap<String, String>>,
    /// Hosts are not renamed, nor clusters moved, while a command runs.
    hosts: Kept<Vec<xml::Host>>,
    clusters: Kept<Vec<xml::Cluster>>,
}

impl EngineSession {
    fn new(session: client::Session) -> EngineSession {
        EngineSession {
            session,
            survey: Mutex::new(None),
            ids: Mutex::new(HashMap::new()),
            hosts: Kept::new(),
            clusters: Kept::new(),
        }
    }

    pub fn url(&self) -> &str {
        self.session.url()
    }

    /// Every VM of the engine, paged, read once per survey however many systems ask.
    fn vms(&self, survey: SurveyId) -> Result<Arc<Vms>> {
        // Held during the search: the other systems of the same survey wait for its answer.
        // A failure is kept as well: a hung engine costs one timeout per survey, not one per system.
        let mut cached = self.survey.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((id, answer)) = cached.as_ref()
            && *id == survey
        {
            return answer.clone();
        }
        let answer = self.all_vms().map(Arc::new);
        if let Ok(vms) = &answer {
            self.remember(vms);
        }
        *cached = Some((survey, answer.clone()));
        answer
    }

    fn all_vms(&self) -> Result<Vec<xml::Vm>> {
        let mut all = Vec::new();
        for page in 1.. {
            let search = format!("sortby name asc page {page}");
            let max = PAGE.to_string();
            let body = self
                .session
                .get("/vms", &[("search", &search), ("max", &max)])?;
            let vms: xml::Vms = xml::parse(&body, "vms", "GET /vms").map_err(Error::Failed)?;
            let full = vms.vm.len() >= PAGE;
            all.extend(vms.vm);
            if !full {
                break;
            }
        }
        Ok(all)
    }

    fn remember(&self, vms: &[xml::Vm]) {
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        ids.extend(vms.iter().map(|v| (v.name.clone(), v.id.clone())));
    }

    /// One VM by its exact name (the engine's search ignores case; names do not).
    fn vm(&self, name: &str) -> Result<Option<xml::Vm>> {
        let search = format!("name=\"{}\"", name.replace('"', "\\\""));
        let body = self.session.get("/vms", &[("search", &search)])?;
        let vms: xml::Vms = xml::parse(&body, "vms", "GET /vms").map_err(Error::Failed)?;
        let found = vms.vm.into_iter().find(|v| v.name == name);
        self.remember(found.as_slice());
        Ok(found)
    }

    fn vm_required(&self, name: &str) -> Result<xml::Vm> {
        self.vm(name)?.ok_or_else(|| no_vm(self.url(), name))
    }

    /// `/vms/{id}` of a VM, searched for only when no survey or look has given its id yet.
    fn vm_path(&self, name: &str) -> Result<String> {
        let known = self
            .ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned();
        let id = match known {
            Some(id) => id,
            None => self.vm_required(name)?.id,
        };
        Ok(format!("/vms/{id}"))
    }

    fn host_list(&self, fresh: bool) -> Result<Arc<Vec<xml::Host>>> {
        self.hosts.get(fresh, || {
            let body = self.session.get("/hosts", &[])?;
            let hosts: xml::Hosts =
                xml::parse(&body, "hosts", "GET /hosts").map_err(Error::Failed)?;
            Ok(hosts.host)
        })
    }

    fn host_id(&self, name: &str) -> Result<String> {
        let hosts = self.host_list(false)?;
        hosts
            .iter()
            .find(|h| h.name == name)
            .map(|h| h.id.clone())
            .ok_or_else(|| {
                let known: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
                Error::Config(format!(
                    "the engine at {} has no host named {name} (its hosts: {}); \
                     set the system's rhev_host",
                    self.url(),
                    known.join(", ")
                ))
            })
    }

    /// Host id -> name, for naming where VMs run.
    fn host_names(&self) -> Result<HashMap<String, String>> {
        Ok(self
            .host_list(false)?
            .iter()
            .map(|h| (h.id.clone(), h.name.clone()))
            .collect())
    }
}

/// What every RHEV path says of a VM the engine does not have.
fn no_vm(url: &str, name: &str) -> Error {
    Error::Unknown(format!("the engine at {url} has no VM named {name}"))
}

impl EngineControl for EngineSession {
    fn hosts(&self) -> Result<Vec<EngineHost>> {
        let hosts = self.host_list(true)?;
        let clusters = self.clusters.get(false, || {
            let body = self.session.get("/clusters", &[])?;
            let clusters: xml::Clusters =
                xml::parse(&body, "clusters", "GET /clusters").map_err(Error::Failed)?;
            Ok(clusters.cluster)
        })?;
        Ok(hosts
            .iter()
            .map(|h| {
                let cluster = h
                    .cluster
                    .as_ref()
                    .and_then(|c| clusters.iter().find(|k| k.id == c.id));
                EngineHost {
                    id: h.id.clone(),
                    name: h.name.clone(),
                    cluster: cluster.map_or_else(String::new, |c| c.name.clone()),
                    data_center: cluster
                        .and_then(|c| c.data_center.as_ref())
                        .map_or_else(String::new, |d| d.id.clone()),
                    status: HostStatus::from_engine(h.status.as_deref().unwrap_or("none")),
                    spm: h
                        .spm
                        .as_ref()
                        .and_then(|s| s.status.as_deref())
                        .is_some_and(|s| s == "spm"),
                }
            })
            .collect())
    }

    fn deactivate(&self, id: &str) -> Result<()> {
        self.session
            .action(&format!("/hosts/{id}"), "deactivate", &xml::action(""))
    }

    fn activate(&self, id: &str) -> Result<()> {
        self.session
            .action(&format!("/hosts/{id}"), "activate", &xml::action(""))
    }

    fn confirm_fenced(&self, id: &str) -> Result<()> {
        self.session
            .action(&format!("/hosts/{id}"), "fence", &xml::fence("manual"))
    }

    fn refresh(&self, id: &str) -> Result<()> {
        self.session
            .action(&format!("/hosts/{id}"), "refresh", &xml::action(""))
    }
}

/// One system: a host of the engine.
struct RhevHost {
    engine: Arc<EngineSession>,
    host_name: String,
}

impl RhevHost {
    fn guest_of(&self, vm: &xml::Vm, my_id: &str, names: &HashMap<String, String>) -> Guest {
        let placement = match &vm.host {
            None => Placement::Nowhere,
            Some(h) if h.id == my_id => Placement::Here,
            Some(h) => Placement::Elsewhere(
                names
                    .get(&h.id)
                    .cloned()
                    .unwrap_or_else(|| format!("host {}", h.id)),
            ),
        };
        Guest {
            name: vm.name.clone(),
            state: guest_state(vm.status.as_deref(), placement),
        }
    }
}

impl RhevHost {
    /// The engine talks to its VMs' guest agents itself and offers no call through to them.
    fn agent_is_the_engines(name: &str) -> Error {
        Error::Usage(format!(
            "{name} is a RHEV VM: its engine talks to the guest agent itself (see the VM's \
             guest information in the Administration Portal); kvmguestctl asks guest agents of \
             KVM (libvirt) guests only"
        ))
    }
}

impl Host for RhevHost {
    fn guests(&self, survey: SurveyId) -> Result<Vec<Guest>> {
        let vms = self.engine.vms(survey)?;
        let me = self.engine.host_id(&self.host_name)?;
        let names = self.engine.host_names()?;
        Ok(vms
            .iter()
            .map(|vm| self.guest_of(vm, &me, &names))
            .collect())
    }

    fn guest(&self, name: &str) -> Result<Option<Guest>> {
        let me = self.engine.host_id(&self.host_name)?;
        let names = self.engine.host_names()?;
        Ok(self
            .engine
            .vm(name)?
            .map(|vm| self.guest_of(&vm, &me, &names)))
    }

    fn start(&self, name: &str) -> Result<()> {
        let path = self.engine.vm_path(name)?;
        let here = self.engine.host_id(&self.host_name)?;
        self.engine
            .session
            .action(&path, "start", &xml::start_on(&here))
    }

    fn shutdown(&self, name: &str, _mode: ShutdownMode) -> Result<ShutdownAsked> {
        // The engine chooses its guest agent or ACPI, but only for an up VM: any other VM it
        // powers off ("status is not up. Stopping instead."). A repeated request must not reach
        // a VM that is already powering down.
        let vm = self.engine.vm_required(name)?;
        if vm.status.as_deref() != Some("up") {
            return Ok(ShutdownAsked::NotSentNoLongerUp);
        }
        self.engine
            .session
            .action(&format!("/vms/{}", vm.id), "shutdown", &xml::action(""))
            .map(|()| ShutdownAsked::EngineChooses)
    }

    fn destroy(&self, name: &str) -> Result<()> {
        let path = self.engine.vm_path(name)?;
        self.engine.session.action(&path, "stop", &xml::action(""))
    }

    fn migrate(
        &self,
        name: &str,
        target: &System,
        request: &MigrationRequest,
        _progress: &dyn Fn(&MigrationProgress),
    ) -> Result<MigrationDone> {
        if request.transfer != Transfer::Live {
            return Err(Error::Usage(format!(
                "{name}: the engine migrates running VMs live only (use --mode live or offline)"
            )));
        }
        let vm = self.engine.vm_required(name)?;
        check_migratable(&vm)?;
        let target_id = self.engine.host_id(target.engine_host())?;
        let path = format!("/vms/{}", vm.id);
        let started = Instant::now();
        self.engine
            .session
            .action(&path, "migrate", &xml::migrate_to(&target_id))?;
        let source = vm.host.map(|h| h.id);
        let mut last_error = None;
        loop {
            // A poll that fails (a slow or restarting engine) is not the end of the migration,
            // which goes on in the engine: keep looking until the limit, then cancel it.
            match self.engine.vm_required(name) {
                Err(e) => last_error = Some(e),
                Ok(now) => {
                    let on = now.host.as_ref().map(|h| h.id.as_str());
                    let status = now.status.as_deref().unwrap_or("none");
                    if status != "migrating" {
                        if on == Some(target_id.as_str()) {
                            return Ok(MigrationDone {
                                elapsed: started.elapsed(),
                                downtime: None,
                            });
                        }
                        if on == source.as_deref() || on.is_none() {
                            let place = on.map_or("no host", |_| self.host_name.as_str());
                            return Err(Error::Failed(format!(
                                "the engine ended the migration of {name} without moving it: it \
                                 is {status} on {place}"
                            )));
                        }
                    }
                }
            }
            if started.elapsed() >= request.limit {
                let cancelled =
                    self.engine
                        .session
                        .action(&path, "cancelmigration", &xml::action(""));
                return Err(Error::Failed(format!(
                    "the migration of {name} did not finish within {} s (MigrateTimeout){}{}",
                    request.limit.as_secs(),
                    last_error.map_or(String::new(), |e| format!(" (last look: {e})")),
                    match cancelled {
                        Ok(()) => "; cancelled".to_owned(),
                        Err(e) => format!("; cancelling it failed: {e}"),
                    }
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn agent(&self, name: &str, _within: Duration) -> Result<AgentCheck> {
        Err(Self::agent_is_the_engines(name))
    }

    fn details(&self, name: &str, _: AgentAnswer, _within: Duration) -> Result<GuestDetails> {
        Err(Self::agent_is_the_engines(name))
    }

    fn keeper(&self) -> Keeper<'_> {
        Keeper::Engine(self)
    }
}

impl EngineVms for RhevHost {
    fn set_payload(&self, name: &str, payload: &Payload) -> Result<()> {
        let path = self.engine.vm_path(name)?;
        self.engine
            .session
            .put(&path, &xml::payload_update(payload))
            .map(|_| ())
    }

    fn missing(&self, name: &str) -> Error {
        no_vm(self.engine.url(), name)
    }

    fn migratable(&self, name: &str) -> Result<()> {
        check_migratable(&self.engine.vm_required(name)?)
    }
}

/// The engine's own refusals, checked before asking (VmValidator.canMigrate's words), so that
/// the administrator learns why before anything is tried.
fn check_migratable(vm: &xml::Vm) -> Result<()> {
    let affinity = vm
        .placement_policy
        .as_ref()
        .and_then(|p| p.affinity.as_deref());
    let why = match affinity {
        Some("pinned") => "VM is pinned to Host",
        Some("user_migratable") => {
            "VM is non migratable and user did not specify the force-migration flag \
             (placement_policy affinity user_migratable: migrate it from the engine with force)"
        }
        _ => return Ok(()),
    };
    Err(Error::Refused(format!("cannot migrate {}: {why}", vm.name)))
}
