//! The simulated engine's objects and how they change over time.
//!
//! Nothing runs in the background: every entity carries a queue of future steps
//! (`at` instant, new status), and `advance(now)` applies the steps that are due before any
//! request looks at the world. The SPM election of each data center is evaluated the same way.
//! This keeps the state consistent for concurrent requests (one mutex) and makes timing exact.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::scenario::{Affinity, Delays, HostStatus, Scenario, User, VmSpec, VmStatus};

/// `spm/status` of a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpmStatus {
    None,
    Contending,
    Spm,
}

impl SpmStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SpmStatus::None => "none",
            SpmStatus::Contending => "contending",
            SpmStatus::Spm => "spm",
        }
    }
}

#[derive(Clone, Debug)]
pub struct DataCenter {
    pub id: String,
    pub name: String,
    /// Since when the data center has had no SPM; `None` while it has one.
    pub spm_vacant_since: Option<Instant>,
}

#[derive(Clone, Debug)]
pub struct Cluster {
    pub id: String,
    pub name: String,
    pub dc_id: String,
    pub description: Option<String>,
}

/// A file of a VM payload.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PayloadFile {
    pub name: String,
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
}

/// `payload`: cdrom or floppy, with files.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Payload {
    pub r#type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_id: Option<String>,
    pub files: Vec<PayloadFile>,
}

/// One action or update a VM or host received, for the control interface.
#[derive(Clone, Debug, Serialize)]
pub struct ActionRecord {
    /// `start`, `migrate`, `update` (PUT), ...
    pub verb: String,
    /// The request body as received.
    pub body: String,
    /// The HTTP status answered.
    pub http_status: u16,
    /// Milliseconds since the epoch.
    pub at_ms: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum HostChange {
    Keep,
    Set(String),
}

#[derive(Clone, Debug)]
pub struct VmStep {
    pub at: Instant,
    pub status: VmStatus,
    pub host: HostChange,
    /// A cluster change that lands with this step (migration to another cluster).
    pub cluster: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Vm {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub cluster_id: String,
    pub status: VmStatus,
    pub status_detail: Option<String>,
    pub stop_reason: Option<String>,
    pub ignores_shutdown: bool,
    pub fails_to_start: bool,
    pub host_id: Option<String>,
    pub affinity: Affinity,
    /// Ids of the hosts the VM is dedicated to.
    pub placement_hosts: Vec<String>,
    pub memory: u64,
    pub fqdn: Option<String>,
    pub start_time: Option<SystemTime>,
    pub stop_time: Option<SystemTime>,
    /// The payloads in effect (only the first is used by the engine).
    pub payloads: Vec<Payload>,
    /// Every `payloads` element the VM was given through PUT, in order (an empty list is a
    /// clear). Tests read the last one through the control interface.
    pub payload_history: Vec<Vec<Payload>>,
    pub actions: Vec<ActionRecord>,
    pub steps: VecDeque<VmStep>,
    /// While migrating: the source host and the status to return to on cancel.
    pub migration: Option<(String, VmStatus)>,
}

#[derive(Clone, Debug)]
pub struct HostStep {
    pub at: Instant,
    pub status: HostStatus,
}

#[derive(Clone, Debug)]
pub struct Host {
    pub id: String,
    pub name: String,
    pub cluster_id: String,
    pub address: String,
    pub status: HostStatus,
    pub status_detail: Option<String>,
    pub spm: SpmStatus,
    pub spm_priority: i32,
    pub power_management: bool,
    pub steps: VecDeque<HostStep>,
    pub refresh_count: u32,
    pub manual_fence_count: u32,
    pub actions: Vec<ActionRecord>,
}

pub struct World {
    pub delays: Delays,
    pub payload_max_size: usize,
    pub token_ttl: Option<Duration>,
    pub users: Vec<User>,
    pub data_centers: Vec<DataCenter>,
    pub clusters: Vec<Cluster>,
    pub hosts: Vec<Host>,
    pub vms: Vec<Vm>,
}

/// A stable UUID derived from a kind and a name, so that scenario objects keep their ids from
/// one run to the next (tests can hard-code them).
pub fn derived_id(kind: &str, name: &str) -> String {
    fn fnv(seed: u64, data: &[u8]) -> u64 {
        let mut h = seed;
        for b in data {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    }
    let key = format!("{kind}/{name}");
    let a = fnv(0xcbf2_9ce4_8422_2325, key.as_bytes());
    let b = fnv(0x8422_2325_cbf2_9ce4, key.as_bytes());
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

/// `at + ms`, saturating far in the future instead of overflowing on absurd delays.
pub fn later(at: Instant, ms: u64) -> Instant {
    at.checked_add(Duration::from_millis(ms))
        .or_else(|| at.checked_add(Duration::from_secs(10 * 365 * 86_400)))
        .unwrap_or(at)
}

/// The engine's ids are GUIDs; anything else in a path is a 400.
pub fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

pub fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `2016-10-06T15:38:18.548+00:00`, the engine's date format (in UTC here).
pub fn format_date(t: SystemTime) -> String {
    let ms = epoch_ms(t);
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
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
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}+00:00",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        ms % 1000
    )
}

impl World {
    /// Builds the world from a scenario, checking every reference.
    pub fn from_scenario(s: &Scenario) -> Result<World, String> {
        let mut world = World {
            delays: s.delays_ms.clone(),
            payload_max_size: s.payload_max_size,
            token_ttl: s.token_ttl_secs.map(Duration::from_secs),
            users: s.users.clone(),
            data_centers: Vec::new(),
            clusters: Vec::new(),
            hosts: Vec::new(),
            vms: Vec::new(),
        };
        let now = Instant::now();

        for c in &s.clusters {
            if world.clusters.iter().any(|x| x.name == c.name) {
                return Err(format!("cluster {}: defined twice", c.name));
            }
            let dc_id = match world.data_centers.iter().find(|d| d.name == c.data_center) {
                Some(dc) => dc.id.clone(),
                None => {
                    let id = derived_id("datacenter", &c.data_center);
                    world.data_centers.push(DataCenter {
                        id: id.clone(),
                        name: c.data_center.clone(),
                        spm_vacant_since: None,
                    });
                    id
                }
            };
            world.clusters.push(Cluster {
                id: checked_id(c.id.as_deref(), "cluster", &c.name)?,
                name: c.name.clone(),
                dc_id,
                description: c.description.clone(),
            });
        }

        for (n, h) in s.hosts.iter().enumerate() {
            if world.hosts.iter().any(|x| x.name == h.name) {
                return Err(format!("host {}: defined twice", h.name));
            }
            let cluster_id = world
                .cluster_by_key(&h.cluster)
                .map(|i| world.clusters[i].id.clone())
                .ok_or_else(|| format!("host {}: unknown cluster {}", h.name, h.cluster))?;
            world.hosts.push(Host {
                id: checked_id(h.id.as_deref(), "host", &h.name)?,
                name: h.name.clone(),
                cluster_id,
                address: h
                    .address
                    .clone()
                    .unwrap_or_else(|| format!("192.0.2.{}", 10 + n % 240)),
                status: h.status,
                status_detail: h.status_detail.clone(),
                spm: if h.spm {
                    SpmStatus::Spm
                } else {
                    SpmStatus::None
                },
                spm_priority: h.spm_priority,
                power_management: h.power_management,
                steps: VecDeque::new(),
                refresh_count: 0,
                manual_fence_count: 0,
                actions: Vec::new(),
            });
        }
        for dc in &world.data_centers {
            let spms = world
                .hosts
                .iter()
                .filter(|h| h.spm == SpmStatus::Spm && world.dc_of_cluster(&h.cluster_id) == dc.id)
                .count();
            if spms > 1 {
                return Err(format!("data center {}: more than one SPM host", dc.name));
            }
        }

        let mut specs: Vec<VmSpec> = s.vms.clone();
        for set in &s.vm_sets {
            let width = set.count.to_string().len();
            for i in 1..=set.count {
                specs.push(VmSpec {
                    name: format!("{}{:0width$}", set.name_prefix, i),
                    id: None,
                    cluster: set.cluster.clone(),
                    status: set.status,
                    host: set.host.clone(),
                    placement_policy: set.placement_policy.clone(),
                    memory_mb: 1024,
                    fqdn: None,
                    description: None,
                    status_detail: None,
                    stop_reason: None,
                    ignores_shutdown: false,
                    fails_to_start: false,
                });
            }
        }
        let mut names = std::collections::HashSet::new();
        for v in &specs {
            if !names.insert(v.name.clone()) {
                return Err(format!("vm {}: defined twice", v.name));
            }
            let cluster_id = world
                .cluster_by_key(&v.cluster)
                .map(|i| world.clusters[i].id.clone())
                .ok_or_else(|| format!("vm {}: unknown cluster {}", v.name, v.cluster))?;
            let host_id = match &v.host {
                Some(h) => Some(
                    world
                        .host_by_key(h)
                        .map(|i| world.hosts[i].id.clone())
                        .ok_or_else(|| format!("vm {}: unknown host {h}", v.name))?,
                ),
                None => None,
            };
            if v.status.shows_host() && v.status != VmStatus::Unassigned && host_id.is_none() {
                return Err(format!(
                    "vm {}: status {} needs a host",
                    v.name,
                    v.status.as_str()
                ));
            }
            let mut placement_hosts = Vec::new();
            for h in &v.placement_policy.hosts {
                let i = world
                    .host_by_key(h)
                    .ok_or_else(|| format!("vm {}: unknown placement host {h}", v.name))?;
                placement_hosts.push(world.hosts[i].id.clone());
            }
            let running = v.status.shows_host();
            world.vms.push(Vm {
                id: checked_id(v.id.as_deref(), "vm", &v.name)?,
                name: v.name.clone(),
                description: v.description.clone(),
                cluster_id,
                status: v.status,
                status_detail: v.status_detail.clone(),
                stop_reason: v.stop_reason.clone(),
                ignores_shutdown: v.ignores_shutdown,
                fails_to_start: v.fails_to_start,
                host_id: if running { host_id } else { None },
                affinity: v.placement_policy.affinity,
                placement_hosts,
                memory: v.memory_mb.saturating_mul(1024 * 1024),
                fqdn: v.fqdn.clone(),
                start_time: running.then(SystemTime::now),
                stop_time: (!running).then(SystemTime::now),
                payloads: Vec::new(),
                payload_history: Vec::new(),
                actions: Vec::new(),
                steps: VecDeque::new(),
                migration: None,
            });
        }
        let mut ids = std::collections::HashSet::new();
        for id in world
            .vms
            .iter()
            .map(|v| &v.id)
            .chain(world.hosts.iter().map(|h| &h.id))
            .chain(world.clusters.iter().map(|c| &c.id))
        {
            if !ids.insert(id.clone()) {
                return Err(format!("id {id} used twice"));
            }
        }
        world.advance(now);
        Ok(world)
    }

    pub fn vm_by_id(&self, id: &str) -> Option<usize> {
        self.vms.iter().position(|v| v.id == id)
    }

    /// Hosts are named by id or by name (the migrate action accepts both).
    pub fn host_by_key(&self, key: &str) -> Option<usize> {
        self.hosts
            .iter()
            .position(|h| h.id == key)
            .or_else(|| self.hosts.iter().position(|h| h.name == key))
    }

    pub fn host_by_id(&self, id: &str) -> Option<usize> {
        self.hosts.iter().position(|h| h.id == id)
    }

    pub fn cluster_by_key(&self, key: &str) -> Option<usize> {
        self.clusters
            .iter()
            .position(|c| c.id == key)
            .or_else(|| self.clusters.iter().position(|c| c.name == key))
    }

    pub fn cluster_name(&self, id: &str) -> &str {
        self.clusters
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.as_str())
            .unwrap_or("")
    }

    pub fn host_name(&self, id: &str) -> &str {
        self.hosts
            .iter()
            .find(|h| h.id == id)
            .map(|h| h.name.as_str())
            .unwrap_or("")
    }

    /// The data center id of a cluster.
    pub fn dc_of_cluster(&self, cluster_id: &str) -> String {
        self.clusters
            .iter()
            .find(|c| c.id == cluster_id)
            .map(|c| c.dc_id.clone())
            .unwrap_or_default()
    }

    pub fn dc_name(&self, dc_id: &str) -> &str {
        self.data_centers
            .iter()
            .find(|d| d.id == dc_id)
            .map(|d| d.name.as_str())
            .unwrap_or("")
    }

    /// Applies every step that is due at `now`, then the SPM elections.
    pub fn advance(&mut self, now: Instant) {
        for vm in &mut self.vms {
            while vm.steps.front().is_some_and(|s| s.at <= now) {
                if let Some(step) = vm.steps.pop_front() {
                    apply_vm_step(vm, step);
                }
            }
        }
        for host in &mut self.hosts {
            while host.steps.front().is_some_and(|s| s.at <= now) {
                if let Some(step) = host.steps.pop_front() {
                    host.status = step.status;
                    host.status_detail = None;
                }
            }
        }
        self.elect_spms(now);
    }

    /// A data center without an SPM gets one `spm_election` ms after it lost it: the `up`
    /// host with the highest SPM priority (>= 0) takes the role. A SPM host that is not up
    /// (non_responsive) keeps the role until it is fenced or put into maintenance, as in the
    /// engine.
    fn elect_spms(&mut self, now: Instant) {
        for d in 0..self.data_centers.len() {
            let dc_id = self.data_centers[d].id.clone();
            let in_dc: Vec<usize> = (0..self.hosts.len())
                .filter(|&i| self.dc_of_cluster(&self.hosts[i].cluster_id) == dc_id)
                .collect();
            if in_dc.iter().any(|&i| self.hosts[i].spm == SpmStatus::Spm) {
                self.data_centers[d].spm_vacant_since = None;
                continue;
            }
            let since = *self.data_centers[d].spm_vacant_since.get_or_insert(now);
            if now < later(since, self.delays.spm_election) {
                continue;
            }
            let mut best: Option<usize> = None;
            for &i in &in_dc {
                let h = &self.hosts[i];
                if h.status == HostStatus::Up
                    && h.spm_priority >= 0
                    && best.is_none_or(|b| h.spm_priority > self.hosts[b].spm_priority)
                {
                    best = Some(i);
                }
            }
            if let Some(b) = best {
                self.hosts[b].spm = SpmStatus::Spm;
                self.data_centers[d].spm_vacant_since = None;
            }
        }
    }

    /// Takes the SPM role away from a host (maintenance, manual fence); the election runs
    /// after the delay.
    pub fn release_spm(&mut self, host: usize, now: Instant) {
        if self.hosts[host].spm == SpmStatus::None {
            return;
        }
        self.hosts[host].spm = SpmStatus::None;
        let dc_id = self.dc_of_cluster(&self.hosts[host].cluster_id);
        if let Some(dc) = self.data_centers.iter_mut().find(|d| d.id == dc_id) {
            dc.spm_vacant_since = Some(now);
        }
    }

    /// `DataCenterStatus` derived from its SPM: up with an SPM on an up host, problematic with
    /// an SPM host that is not up, contend while an election can happen, not_operational when
    /// no host can take the role.
    pub fn dc_status(&self, dc_id: &str) -> &'static str {
        let hosts: Vec<&Host> = self
            .hosts
            .iter()
            .filter(|h| self.dc_of_cluster(&h.cluster_id) == dc_id)
            .collect();
        if hosts.is_empty() {
            return "uninitialized";
        }
        match hosts.iter().find(|h| h.spm == SpmStatus::Spm) {
            Some(h) if h.status == HostStatus::Up => "up",
            Some(_) => "problematic",
            None if hosts
                .iter()
                .any(|h| h.status == HostStatus::Up && h.spm_priority >= 0) =>
            {
                "contend"
            }
            None => "not_operational",
        }
    }

    /// The VMs that run on a host (the engine's `run_on_vds`).
    pub fn vms_on_host(&self, host_id: &str) -> Vec<usize> {
        (0..self.vms.len())
            .filter(|&i| {
                self.vms[i].host_id.as_deref() == Some(host_id) && self.vms[i].status.shows_host()
            })
            .collect()
    }
}

fn apply_vm_step(vm: &mut Vm, step: VmStep) {
    vm.status = step.status;
    if let HostChange::Set(h) = step.host {
        vm.host_id = Some(h);
    }
    if let Some(c) = step.cluster {
        vm.cluster_id = c;
    }
    if vm.status != VmStatus::Migrating {
        vm.migration = None;
    }
    if vm.status != VmStatus::Paused {
        vm.status_detail = None;
    }
    if !vm.status.shows_host() {
        vm.host_id = None;
        vm.start_time = None;
        vm.stop_time = Some(SystemTime::now());
    }
}

fn checked_id(given: Option<&str>, kind: &str, name: &str) -> Result<String, String> {
    match given {
        Some(id) if is_uuid(id) => Ok(id.to_ascii_lowercase()),
        Some(id) => Err(format!("{kind} {name}: id {id} is not a UUID")),
        None => Ok(derived_id(kind, name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_uuids_and_stable() {
        let a = derived_id("vm", "db1");
        assert!(is_uuid(&a), "{a}");
        assert_eq!(a, derived_id("vm", "db1"));
        assert_ne!(a, derived_id("host", "db1"));
        assert!(!is_uuid("123"));
    }

    #[test]
    fn dates() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_475_761_098_548);
        assert_eq!(format_date(t), "2016-10-06T13:38:18.548+00:00");
    }
}
