//! The environments the agent drives, one module each, behind the [`Host`] trait.
//!
//! A backend reports raw hypervisor states; what they mean for a cluster resource is decided once,
//! in `agent::monitor`. Every call of a backend is bounded in time by the backend itself.

pub mod libvirt;
pub mod rhev;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;
use std::time::Duration;

use crate::error::Result;
use crate::resource::{Environment, System};
use crate::vocabulary::vocabulary;

/// One guest as a hypervisor reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Guest {
    pub name: String,
    pub state: GuestState,
}

/// A guest's state in words every backend shares: each backend translates its hypervisor's own
/// states into these, and `agent::monitor` alone decides what they mean for the resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestState {
    pub activity: Activity,
    /// The hypervisor holds a live instance of the guest here (running, paused, crashed but
    /// preserved, ...): a second copy must not be started anywhere else.
    pub live: bool,
    /// Where the guest runs, as seen from this system.
    pub placement: Placement,
    /// The hypervisor's own words for the state, shown to people; `None` for a state the
    /// backend does not know (a number a newer hypervisor added).
    pub observed: Option<Observed>,
}

/// What a guest is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Runs normally.
    Running,
    /// Runs on the target of a post-copy migration while its memory still arrives.
    ReceivingMemory,
    /// Being launched by the hypervisor, not yet booting.
    Launching,
    /// Booting.
    PoweringUp,
    /// Resuming from a saved state.
    Restoring,
    /// Shutting down.
    PoweringDown,
    /// Paused, not by a fault.
    Paused,
    /// Leaving (or arriving) by migration, paused or handed over by its engine.
    Migrating,
    /// Being saved to disk.
    Saving,
    /// Saved to disk, or asleep inside the guest (S3).
    Suspended,
    /// Rebooting under its engine's control.
    Rebooting,
    /// Gone from here by migration.
    MigratedAway,
    /// Not running: shut down, destroyed, or never started.
    ShutOff,
    /// Stopped or stuck by a fault: crashed, panicked, I/O error, watchdog, failed to start, lost
    /// with its hypervisor, a failed post-copy migration.
    Failed,
    /// The hypervisor does not know, or says a state nobody can act on.
    Unknown,
}

/// A hypervisor's own words for a guest's state: "running" because "booted", "up" "on this host".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    pub state: &'static str,
    pub reason: &'static str,
}

/// Where a guest runs, as seen from one system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// On this system's host, or not running and belonging to this host (a hypervisor only
    /// reports its own guests).
    Here,
    /// On another host of the same engine (by its engine name).
    Elsewhere(String),
    /// On no host (down, suspended, image locked): the VM belongs to every system equally.
    Nowhere,
}

/// One status survey: hosts that share a management engine answer it from one engine query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SurveyId(u64);

impl SurveyId {
    pub fn fresh() -> SurveyId {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        SurveyId(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

/// Files handed to a guest on a virtual cdrom (RHEV payloads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// (file name, content)
    pub files: Vec<(String, String)>,
}

/// How a graceful shutdown is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownMode {
    /// Through the QEMU guest agent inside the guest.
    Agent,
    /// By pressing the virtual ACPI power button.
    Acpi,
}

/// What became of a shutdown request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownAsked {
    /// Delivered in the mode asked for.
    Delivered(ShutdownMode),
    /// Delivered to an engine, which chooses the guest agent or ACPI itself.
    EngineChooses,
    /// Not sent: the engine would power off a VM that is no longer up instead of asking it.
    NotSentNoLongerUp,
}

impl std::fmt::Display for ShutdownAsked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ShutdownAsked::Delivered(ShutdownMode::Agent) => "guest agent",
            ShutdownAsked::Delivered(ShutdownMode::Acpi) => "ACPI",
            ShutdownAsked::EngineChooses => "the engine's choice of guest agent or ACPI",
            ShutdownAsked::NotSentNoLongerUp => "not sent again: the VM is no longer up",
        })
    }
}

vocabulary! {
    /// What the QEMU guest agent did when asked to answer a ping (`agent` in the JSON).
    pub enum AgentAnswer {
        /// The guest has no guest agent channel: it cannot have an agent.
        NoChannel = "no-channel",
        /// The channel exists but nothing in the guest has opened it (no agent installed, not
        /// running yet, or stopped).
        NotConnected = "not-connected",
        /// The agent answered in time.
        Answered = "answered",
        /// The agent holds its channel open but did not answer in time: it, or the guest OS under
        /// it, is hung.
        Silent = "silent",
    }
}

/// The guest agent asked for a sign of life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentCheck {
    pub answer: AgentAnswer,
    /// Names this run of the guest on this host (libvirt's domain id): a new start, or an arrival
    /// by migration, is a new run.
    pub run: String,
    /// The hypervisor's words when the agent did not answer.
    pub detail: Option<String>,
}

vocabulary! {
    /// Where a guest's addresses came from (`address_source` in the JSON).
    pub enum AddressSource {
        /// The guest agent, from inside the guest.
        Agent = "agent",
        /// The DHCP leases of the hypervisor's virtual network.
        Lease = "lease",
        /// Nowhere: no agent answered and no lease is known.
        Nowhere = "none",
    }
}

/// A network interface inside the guest, with its addresses (`192.0.2.50/24`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GuestInterface {
    pub name: String,
    pub mac: Option<String>,
    pub addresses: Vec<String>,
}

/// What the guest says about itself, through its agent, or what the host knows of its addresses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GuestDetails {
    pub agent: AgentAnswer,
    pub host_name: Option<String>,
    /// The OS's pretty name (`/etc/os-release`).
    pub os: Option<String>,
    pub kernel: Option<String>,
    pub address_source: AddressSource,
    /// Loopback interfaces and addresses left out.
    pub interfaces: Vec<GuestInterface>,
}

/// How the guest's memory moves during a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// The guest keeps running while its memory is copied (short downtime at the end).
    Live,
    /// The guest is paused for the whole copy (shorter total time, longer downtime).
    Paused,
}

/// A migration to ask of a host.
#[derive(Debug, Clone)]
pub struct MigrationRequest {
    pub transfer: Transfer,
    /// Make the guest persistent on the target and remove its definition from the source.
    pub move_definition: bool,
    /// Where the memory stream goes (`tcp://host:port`); the hypervisor's choice when unset.
    pub uri: Option<String>,
    /// Abort the migration when it has not finished by then (MigrateTimeout).
    pub limit: Duration,
}

/// A migration under way, from the hypervisor's job statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrationProgress {
    pub processed_bytes: u64,
    pub total_bytes: u64,
    pub remaining_bytes: u64,
    pub bytes_per_second: u64,
    pub dirty_pages_per_second: u64,
}

/// A finished migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationDone {
    pub elapsed: Duration,
    /// How long the guest did not run, when the hypervisor reports it.
    pub downtime: Option<Duration>,
}

/// One system's hypervisor, connected: what the entry points need of every backend.
pub trait Host: Send + Sync {
    /// Every guest this host knows, in one query (hosts of one engine share one per survey).
    fn guests(&self, survey: SurveyId) -> Result<Vec<Guest>>;
    /// One guest, or `None` when it is not defined here.
    fn guest(&self, name: &str) -> Result<Option<Guest>>;
    /// Start a defined guest here.
    fn start(&self, name: &str) -> Result<()>;
    /// Ask the guest to shut itself down; returns as soon as the request is delivered.
    fn shutdown(&self, name: &str, mode: ShutdownMode) -> Result<ShutdownAsked>;
    /// Stop the guest at once (pull the plug).
    fn destroy(&self, name: &str) -> Result<()>;
    /// Move a running guest to `target` (a system of the same environment), reporting progress
    /// while it runs; at `request.limit` the migration is aborted and the guest stays here.
    fn migrate(
        &self,
        name: &str,
        target: &System,
        request: &MigrationRequest,
        progress: &dyn Fn(&MigrationProgress),
    ) -> Result<MigrationDone>;
    /// Ask the guest's QEMU guest agent for a ping, answered within `within`.
    fn agent(&self, name: &str, within: Duration) -> Result<AgentCheck>;
    /// What the running guest says about itself (each agent call answered within `within`), its
    /// agent having just given `agent` to a ping; or, when it did not answer, the addresses the
    /// host knows from its DHCP leases.
    fn details(&self, name: &str, agent: AgentAnswer, within: Duration) -> Result<GuestDetails>;
    /// Who keeps the guests' definitions, with what that keeper can do.
    fn keeper(&self) -> Keeper<'_>;
}

/// Who keeps a host's guest definitions.
pub enum Keeper<'a> {
    /// The hypervisor: each host has its own copy, which the core defines, saves and syncs.
    Hypervisor(&'a dyn Definitions),
    /// A management engine: its VMs exist before they start anywhere.
    Engine(&'a dyn EngineVms),
}

/// The definitions a hypervisor keeps per host (libvirt domain XML).
pub trait Definitions {
    /// The guest's inactive, migratable definition (what can be defined on another host).
    fn definition(&self, name: &str) -> Result<String>;
    /// Define (or redefine) a persistent guest from its definition.
    fn define(&self, xml: &str) -> Result<()>;
    /// Create and start a transient guest: nothing stays defined once it stops.
    fn create_transient(&self, xml: &str) -> Result<()>;
    /// Remove a stopped guest's persistent definition.
    fn undefine(&self, name: &str) -> Result<()>;
}

/// The VMs a management engine keeps.
pub trait EngineVms {
    /// Hand the VM a cdrom payload, seen from its next start on.
    fn set_payload(&self, name: &str, payload: &Payload) -> Result<()>;
    /// Why a VM of that name cannot be started here: the engine has none.
    fn missing(&self, name: &str) -> crate::error::Error;
    /// `Err(Refused)` with the engine's reason when it would refuse to migrate the VM (its
    /// placement policy); asked before anything moves, so that a plan can say so.
    fn migratable(&self, name: &str) -> Result<()>;
}

/// A guest's lifecycle event, or its QEMU guest agent's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    pub system: String,
    pub guest: String,
    pub event: LifecycleEvent,
    /// Why, in the hypervisor's own words (booted, migrated, destroyed, ...); for the guest
    /// agent, what changed the state of its channel.
    pub detail: &'static str,
    /// The guest arrived or left by migration.
    pub migrated: bool,
}

vocabulary! {
    /// What happened to a guest, as the watcher reports it (`event` in its JSON lines).
    pub enum LifecycleEvent {
        Defined = "defined",
        Undefined = "undefined",
        Started = "started",
        Suspended = "suspended",
        Resumed = "resumed",
        Stopped = "stopped",
        Shutdown = "shutdown",
        Pmsuspended = "pmsuspended",
        Crashed = "crashed",
        /// The QEMU guest agent is connected to its channel: it can answer (a shutdown request).
        AgentConnected = "agent-connected",
        /// The guest agent is not connected: nothing answers a request to it.
        AgentDisconnected = "agent-disconnected",
        /// An event a newer hypervisor added.
        Unknown = "unknown",
    }
}

/// What a watched system reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostEvent {
    /// Subscribed (first time, or again after the hypervisor came back).
    Connected {
        system: String,
    },
    /// Not subscribed: cannot connect, or the connection closed; retried with a backoff.
    Disconnected {
        system: String,
        reason: String,
    },
    Lifecycle(Lifecycle),
}

/// A host as its management engine reports it (for DevScan).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EngineHost {
    pub id: String,
    pub name: String,
    pub cluster: String,
    pub data_center: String,
    pub status: HostStatus,
    /// Holds the Storage Pool Manager role of its data center.
    pub spm: bool,
}

/// An engine host's status. Only the words DevScan decides on are named; any other is kept as
/// the engine spelled it, so that messages and the JSON show the engine's own word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostStatus {
    Up,
    NonResponsive,
    Other(String),
}

impl HostStatus {
    pub fn from_engine(word: &str) -> Self {
        match word {
            "up" => HostStatus::Up,
            "non_responsive" => HostStatus::NonResponsive,
            other => HostStatus::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            HostStatus::Up => "up",
            HostStatus::NonResponsive => "non_responsive",
            HostStatus::Other(word) => word,
        }
    }
}

impl std::fmt::Display for HostStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for HostStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What DevScan needs of a management engine.
pub trait EngineControl: Send + Sync {
    fn hosts(&self) -> Result<Vec<EngineHost>>;
    /// Maintenance mode: the host gives up the SPM role, its VMs migrate away.
    fn deactivate(&self, id: &str) -> Result<()>;
    fn activate(&self, id: &str) -> Result<()>;
    /// Confirm that the host has been rebooted (manual fencing), so that its roles can move.
    fn confirm_fenced(&self, id: &str) -> Result<()>;
    /// Rescan the host's storage.
    fn refresh(&self, id: &str) -> Result<()>;
}

/// Opens hosts, for every environment.
pub trait Connector: Send + Sync {
    fn connect(&self, environment: &Environment, system: &System) -> Result<Arc<dyn Host>>;
    /// The engine of a managed environment (RHEV).
    fn engine(&self, environment: &Environment) -> Result<Arc<dyn EngineControl>>;
    /// Subscribe to the lifecycle events of every guest on `systems`, in the background, until
    /// `stop` is set; reconnects by itself when a hypervisor goes away.
    fn watch(
        &self,
        systems: &[System],
        sink: Sender<HostEvent>,
        stop: Arc<AtomicBool>,
    ) -> Result<()>;
}

/// Every environment's backend behind one [`Connector`]: each resource reaches its own.
pub struct Backends {
    pub libvirt: libvirt::Libvirt,
    pub rhev: rhev::Rhev,
}

impl Backends {
    /// Every call bounded by `timeout`; RHEV engines verified with `ca_file` when given (else
    /// each resource's CAFile), passwords decrypted with `key_file`.
    pub fn new(
        timeout: Duration,
        ca_file: Option<std::path::PathBuf>,
        key_file: std::path::PathBuf,
    ) -> Backends {
        Backends {
            libvirt: libvirt::Libvirt::new(timeout),
            rhev: rhev::Rhev::new(timeout, ca_file, key_file),
        }
    }
}

impl Connector for Backends {
    fn connect(&self, environment: &Environment, system: &System) -> Result<Arc<dyn Host>> {
        match environment {
            Environment::Libvirt => self.libvirt.connect(system),
            Environment::Rhev(engine) => self.rhev.connect(engine, system),
        }
    }

    fn engine(&self, environment: &Environment) -> Result<Arc<dyn EngineControl>> {
        match environment {
            Environment::Libvirt => Err(crate::error::Error::Usage(
                "this is a KVM (libvirt) resource: it has no management engine (RHEVMInfo.Enabled = 0)"
                    .to_owned(),
            )),
            Environment::Rhev(engine) => Ok(self.rhev.engine(engine)?),
        }
    }

    fn watch(
        &self,
        systems: &[System],
        sink: Sender<HostEvent>,
        stop: Arc<AtomicBool>,
    ) -> Result<()> {
        self.libvirt.watch(systems, sink, stop)
    }
}
