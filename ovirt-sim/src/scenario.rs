//! The scenario file: what the simulated engine holds when it starts (or when the control
//! interface loads a new one). JSON or YAML, same keys; see README.md for the format.

use serde::{Deserialize, Serialize};

/// VM status values, all 15 of the API (`types/VmStatus.java`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VmStatus {
    Unassigned,
    Down,
    Up,
    PoweringUp,
    Paused,
    Migrating,
    Unknown,
    NotResponding,
    WaitForLaunch,
    RebootInProgress,
    SavingState,
    RestoringState,
    Suspended,
    ImageLocked,
    PoweringDown,
}

impl VmStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VmStatus::Unassigned => "unassigned",
            VmStatus::Down => "down",
            VmStatus::Up => "up",
            VmStatus::PoweringUp => "powering_up",
            VmStatus::Paused => "paused",
            VmStatus::Migrating => "migrating",
            VmStatus::Unknown => "unknown",
            VmStatus::NotResponding => "not_responding",
            VmStatus::WaitForLaunch => "wait_for_launch",
            VmStatus::RebootInProgress => "reboot_in_progress",
            VmStatus::SavingState => "saving_state",
            VmStatus::RestoringState => "restoring_state",
            VmStatus::Suspended => "suspended",
            VmStatus::ImageLocked => "image_locked",
            VmStatus::PoweringDown => "powering_down",
        }
    }

    /// The engine's localized name, used inside fault messages ("… because the VM is in Up
    /// status."), from `AppErrors.properties` VAR__VM_STATUS__*.
    pub fn localized(self) -> &'static str {
        match self {
            VmStatus::Unassigned => "Unassigned",
            VmStatus::Down => "Down",
            VmStatus::Up => "Up",
            VmStatus::PoweringUp => "Powering Up",
            VmStatus::Paused => "Paused",
            VmStatus::Migrating => "Migrating",
            VmStatus::Unknown => "Unknown",
            VmStatus::NotResponding => "Not Responding",
            VmStatus::WaitForLaunch => "Wait for Launch",
            VmStatus::RebootInProgress => "Reboot in Progress",
            VmStatus::SavingState => "Saving State",
            VmStatus::RestoringState => "Restoring State",
            VmStatus::Suspended => "Suspended",
            VmStatus::ImageLocked => "Image Locked",
            VmStatus::PoweringDown => "Powering Down",
        }
    }

    /// `VMStatus.isRunning()` in the engine.
    pub fn is_running(self) -> bool {
        matches!(
            self,
            VmStatus::Up
                | VmStatus::PoweringDown
                | VmStatus::PoweringUp
                | VmStatus::Migrating
                | VmStatus::WaitForLaunch
                | VmStatus::RebootInProgress
        )
    }

    /// The engine shows the host only when the VM is not Down, Suspended or ImageLocked.
    pub fn shows_host(self) -> bool {
        !matches!(
            self,
            VmStatus::Down | VmStatus::Suspended | VmStatus::ImageLocked
        )
    }

    #[cfg(test)]
    pub const ALL: [VmStatus; 15] = [
        VmStatus::Unassigned,
        VmStatus::Down,
        VmStatus::Up,
        VmStatus::PoweringUp,
        VmStatus::Paused,
        VmStatus::Migrating,
        VmStatus::Unknown,
        VmStatus::NotResponding,
        VmStatus::WaitForLaunch,
        VmStatus::RebootInProgress,
        VmStatus::SavingState,
        VmStatus::RestoringState,
        VmStatus::Suspended,
        VmStatus::ImageLocked,
        VmStatus::PoweringDown,
    ];
}

/// Host status values, all 16 of the API (`types/HostStatus.java`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostStatus {
    Down,
    Error,
    Initializing,
    Installing,
    InstallFailed,
    Maintenance,
    NonOperational,
    NonResponsive,
    PendingApproval,
    PreparingForMaintenance,
    Connecting,
    Reboot,
    Unassigned,
    Up,
    InstallingOs,
    Kdumping,
}

impl HostStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HostStatus::Down => "down",
            HostStatus::Error => "error",
            HostStatus::Initializing => "initializing",
            HostStatus::Installing => "installing",
            HostStatus::InstallFailed => "install_failed",
            HostStatus::Maintenance => "maintenance",
            HostStatus::NonOperational => "non_operational",
            HostStatus::NonResponsive => "non_responsive",
            HostStatus::PendingApproval => "pending_approval",
            HostStatus::PreparingForMaintenance => "preparing_for_maintenance",
            HostStatus::Connecting => "connecting",
            HostStatus::Reboot => "reboot",
            HostStatus::Unassigned => "unassigned",
            HostStatus::Up => "up",
            HostStatus::InstallingOs => "installing_os",
            HostStatus::Kdumping => "kdumping",
        }
    }

    #[cfg(test)]
    pub const ALL: [HostStatus; 16] = [
        HostStatus::Down,
        HostStatus::Error,
        HostStatus::Initializing,
        HostStatus::Installing,
        HostStatus::InstallFailed,
        HostStatus::Maintenance,
        HostStatus::NonOperational,
        HostStatus::NonResponsive,
        HostStatus::PendingApproval,
        HostStatus::PreparingForMaintenance,
        HostStatus::Connecting,
        HostStatus::Reboot,
        HostStatus::Unassigned,
        HostStatus::Up,
        HostStatus::InstallingOs,
        HostStatus::Kdumping,
    ];
}

/// `placement_policy/affinity`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Affinity {
    #[default]
    Migratable,
    UserMigratable,
    Pinned,
}

impl Affinity {
    pub fn as_str(self) -> &'static str {
        match self {
            Affinity::Migratable => "migratable",
            Affinity::UserMigratable => "user_migratable",
            Affinity::Pinned => "pinned",
        }
    }
}

/// All delays of state changes, in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Delays {
    /// start: time spent in wait_for_launch before powering_up.
    pub wait_for_launch: u64,
    /// start: time spent in powering_up before up.
    pub powering_up: u64,
    /// shutdown: time spent in powering_down before down.
    pub powering_down: u64,
    /// stop: time spent in powering_down before down (0 = down at once).
    pub stop: u64,
    /// migrate: time spent in migrating before up on the destination.
    pub migration: u64,
    /// start of a suspended VM: time in restoring_state.
    pub restoring_state: u64,
    /// suspend: time in saving_state before suspended.
    pub saving_state: u64,
    /// reboot: time in reboot_in_progress.
    pub reboot: u64,
    /// deactivate: time in preparing_for_maintenance before maintenance.
    pub host_maintenance: u64,
    /// activate (and fence start/restart): time in unassigned/reboot before up.
    pub host_activate: u64,
    /// How long a data center stays without an SPM before an eligible host takes the role.
    pub spm_election: u64,
}

impl Default for Delays {
    fn default() -> Self {
        Delays {
            wait_for_launch: 300,
            powering_up: 700,
            powering_down: 1000,
            stop: 0,
            migration: 1000,
            restoring_state: 500,
            saving_state: 500,
            reboot: 500,
            host_maintenance: 500,
            host_activate: 500,
            spm_election: 1000,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// As the SDK sends it: `admin@internal`.
    pub name: String,
    pub password: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    pub name: String,
    #[serde(default)]
    pub id: Option<String>,
    /// The data center's name; data centers are created from the clusters that name them.
    #[serde(default = "default_dc")]
    pub data_center: String,
    #[serde(default)]
    pub description: Option<String>,
}

fn default_dc() -> String {
    "Default".into()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    pub name: String,
    #[serde(default)]
    pub id: Option<String>,
    /// Cluster name.
    pub cluster: String,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default = "default_host_status")]
    pub status: HostStatus,
    #[serde(default)]
    pub status_detail: Option<String>,
    /// This host holds the SPM role of its data center.
    #[serde(default)]
    pub spm: bool,
    /// SPM priority; -1 means never SPM.
    #[serde(default = "default_spm_priority")]
    pub spm_priority: i32,
    /// Power management configured (fence start/stop/restart/status work).
    #[serde(default)]
    pub power_management: bool,
}

fn default_host_status() -> HostStatus {
    HostStatus::Up
}

fn default_spm_priority() -> i32 {
    5
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacementPolicySpec {
    #[serde(default)]
    pub affinity: Affinity,
    /// Host names (or ids) the VM is dedicated to.
    #[serde(default)]
    pub hosts: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmSpec {
    pub name: String,
    #[serde(default)]
    pub id: Option<String>,
    /// Cluster name.
    pub cluster: String,
    #[serde(default = "default_vm_status")]
    pub status: VmStatus,
    /// Host name (or id) the VM runs on; required for statuses that show a host.
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub placement_policy: PlacementPolicySpec,
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u64,
    #[serde(default)]
    pub fqdn: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub status_detail: Option<String>,
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The guest ignores shutdown: powering_down, then back to up (stop still works).
    #[serde(default)]
    pub ignores_shutdown: bool,
    /// The VM cannot start: wait_for_launch, then down again.
    #[serde(default)]
    pub fails_to_start: bool,
}

fn default_vm_status() -> VmStatus {
    VmStatus::Down
}

fn default_memory_mb() -> u64 {
    1024
}

/// Many similar VMs at once: names are `name_prefix` + a zero-padded number from 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmSetSpec {
    pub count: usize,
    pub name_prefix: String,
    pub cluster: String,
    #[serde(default = "default_vm_status")]
    pub status: VmStatus,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub placement_policy: PlacementPolicySpec,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default = "default_users")]
    pub users: Vec<User>,
    /// Lifetime of SSO tokens in seconds; absent = no expiry (`exp` is Long.MAX_VALUE, as the
    /// engine answers for auth records without an expiry).
    #[serde(default)]
    pub token_ttl_secs: Option<u64>,
    #[serde(default)]
    pub delays_ms: Delays,
    /// The engine's `PayloadSize`: the most characters one payload file may hold.
    #[serde(default = "default_payload_size")]
    pub payload_max_size: usize,
    #[serde(default)]
    pub clusters: Vec<ClusterSpec>,
    #[serde(default)]
    pub hosts: Vec<HostSpec>,
    #[serde(default)]
    pub vms: Vec<VmSpec>,
    #[serde(default)]
    pub vm_sets: Vec<VmSetSpec>,
}

fn default_payload_size() -> usize {
    8192
}

fn default_users() -> Vec<User> {
    vec![User {
        name: "admin@internal".into(),
        password: "secret".into(),
    }]
}

/// The scenario used when none is given: `scenarios/default.yaml`.
pub const DEFAULT_SCENARIO: &str = include_str!("../scenarios/default.yaml");

impl Scenario {
    /// Parses JSON when the text looks like JSON, YAML otherwise.
    pub fn parse(text: &str) -> Result<Scenario, String> {
        if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| format!("scenario JSON: {e}"))
        } else {
            serde_saphyr::from_str(text).map_err(|e| format!("scenario YAML: {e}"))
        }
    }

    pub fn default_scenario() -> Scenario {
        // The default file ships with the crate and is checked by a unit test.
        Scenario::parse(DEFAULT_SCENARIO).unwrap_or_else(|_| Scenario::empty())
    }

    pub fn empty() -> Scenario {
        Scenario {
            users: default_users(),
            token_ttl_secs: None,
            delays_ms: Delays::default(),
            payload_max_size: default_payload_size(),
            clusters: Vec::new(),
            hosts: Vec::new(),
            vms: Vec::new(),
            vm_sets: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_scenarios_parse() {
        for text in [
            DEFAULT_SCENARIO,
            include_str!("../scenarios/two-sites.yaml"),
        ] {
            let s = Scenario::parse(text).unwrap();
            assert!(!s.hosts.is_empty());
            crate::world::World::from_scenario(&s).unwrap();
        }
    }

    #[test]
    fn status_names_match_serde() {
        for s in VmStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in HostStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    #[test]
    fn json_and_unknown_keys() {
        let s = Scenario::parse(r#"{"clusters":[{"name":"c"}],"vms":[]}"#).unwrap();
        assert_eq!(s.clusters[0].data_center, "Default");
        assert!(Scenario::parse(r#"{"bogus": 1}"#).is_err());
        assert!(
            Scenario::parse("vms:\n  - name: a\n    cluster: c\n    status: sleeping\n").is_err()
        );
    }
}
