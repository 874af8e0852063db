//! The KVMGuest resource model: VCS attribute names, defaults from the type definition.
//!
//! `load` reads YAML into the located `raw` types, `validate` holds the attr_changed rules over
//! them, and `load` resolves them into this model; everything above this module sees only
//! resolved values (defaults filled in, paths absolute).

mod load;
mod raw;
pub mod suggest;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::vocabulary::vocabulary;
use serde::{Serialize, Serializer};

pub use load::{ConfigSource, load, load_text};

/// Defaults from the KVMGuest type definition.
pub const DEFAULT_DELAY_AFTER_GUEST_ONLINE: u32 = 5;
pub const DEFAULT_DELAY_AFTER_GUEST_OFFLINE: u32 = 30;
pub const DEFAULT_MIGRATE_TIMEOUT: u32 = 300;
pub const DEFAULT_MIGRATE_WAIT_LIMIT: u32 = 2;
/// Defaults of the GuestHealth extension.
pub const DEFAULT_PING_TIMEOUT: u32 = 2;
pub const DEFAULT_DEGRADE_AFTER: u32 = 2;
pub const DEFAULT_FAULT_AFTER: u32 = 120;

/// Everything the configuration defines, merged from all its files.
#[derive(Debug, Clone)]
pub struct Config {
    pub systems: BTreeMap<String, System>,
    pub resources: BTreeMap<String, Resource>,
    /// Warnings of the attr_changed checks; errors never get this far.
    pub warnings: Vec<Diagnostic>,
}

/// A host of the cluster and how to reach its hypervisor.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct System {
    pub name: String,
    /// The libvirt URI of its hypervisor; only KVM (libvirt) resources need one.
    pub uri: Option<String>,
    pub site: Option<String>,
    /// Where migration data to this system goes (`tcp://host[:port]`); libvirt's choice if unset.
    pub migration_uri: Option<String>,
    /// The host's name in the RHEV engine, when it differs from the system's name.
    pub rhev_host: Option<String>,
    /// Where the system's `uri` is written: what a finding about the host points at.
    #[serde(skip)]
    pub uri_origin: Option<Origin>,
}

impl System {
    /// The name the RHEV engine knows this host by.
    pub fn engine_host(&self) -> &str {
        self.rhev_host.as_deref().unwrap_or(&self.name)
    }
}

/// Which backend manages a resource's guest, and for RHEV through which engine and account.
/// Resources with equal environments share one connection (and one session) per command.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Environment {
    /// libvirt, through each system's `uri`.
    Libvirt,
    /// The oVirt / RHV engine's REST API (`RHEVMInfo.Enabled = 1`).
    Rhev(Engine),
}

impl Environment {
    /// A management engine keeps the guests and answers for all of the resource's systems at
    /// once: when it cannot be asked, no system can.
    pub fn has_engine(&self) -> bool {
        matches!(self, Environment::Rhev(_))
    }
}

/// An engine and the account used on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Engine {
    /// `https://engine.example.com[:port]`, without the `/ovirt-engine/...` path.
    pub url: String,
    pub user: String,
    pub password: PasswordSource,
    /// The engine's CA certificate (PEM); `--ca-file` overrides it.
    pub ca_file: Option<PathBuf>,
}

/// Where the engine password comes from; never the command line, never clear text in the YAML.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PasswordSource {
    /// `RHEVMInfo.Password`, encrypted by `kvmguestctl encrypt`.
    Encrypted(String),
    /// `RHEVMInfo.PasswordFile`: a file only its owner may read.
    File(PathBuf),
    /// `RHEVMInfo.PasswordEnv`: the name of an environment variable.
    Env(String),
}

/// Where something was written: the message prefix of every configuration diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub file: PathBuf,
    pub line: u64,
    pub column: u64,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0 means the whole file (it could not be read, or it defines nothing).
        match self.line {
            0 => write!(f, "{}", self.file.display()),
            line => write!(f, "{}:{line}:{}", self.file.display(), self.column),
        }
    }
}

vocabulary! {
    pub enum Severity {
        Error = "error",
        Warning = "warning",
    }
}

/// One finding of loading or validation, located in its file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    #[serde(flatten)]
    pub origin: Origin,
    pub resource: Option<String>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = self.severity.as_str();
        write!(f, "{}: {severity}: {}", self.origin, self.message)
    }
}

impl Diagnostic {
    /// The diagnostic where the caller already says "error:" (a failed command's message): the
    /// severity is said only of a warning, so that no line reads "error: FILE:L:C: error: ...".
    pub fn under_error(&self) -> String {
        match self.severity {
            Severity::Error => format!("{}: {}", self.origin, self.message),
            Severity::Warning => self.to_string(),
        }
    }
}

/// A KVMGuest resource with every attribute resolved. Serialized with the VCS attribute names
/// (this is what `display -o json` prints); the password never leaves as clear text.
#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    #[serde(rename = "Resource")]
    pub name: String,
    #[serde(skip)]
    pub origin: Origin,
    #[serde(rename = "Systems")]
    pub systems: Vec<String>,
    #[serde(rename = "GuestName")]
    pub guest_name: String,
    #[serde(rename = "DelayAfterGuestOnline")]
    pub delay_after_guest_online: u32,
    #[serde(rename = "DelayAfterGuestOffline")]
    pub delay_after_guest_offline: u32,
    #[serde(rename = "SyncDir")]
    pub sync_dir: Option<PathBuf>,
    #[serde(rename = "GuestConfigFilePath")]
    pub guest_config_file_path: Option<PathBuf>,
    #[serde(rename = "ResyncVMCfg", serialize_with = "vcs_bool")]
    pub resync_vm_cfg: bool,
    #[serde(rename = "CEInfo")]
    pub ce_info: CeInfo,
    #[serde(rename = "RHEVMInfo")]
    pub rhevm_info: RhevmInfo,
    #[serde(rename = "DROpts")]
    pub dr_opts: DrOpts,
    #[serde(rename = "IntentionalOffline", serialize_with = "vcs_bool")]
    pub intentional_offline: bool,
    #[serde(rename = "MigrateTimeout")]
    pub migrate_timeout: u32,
    #[serde(rename = "MigrateWaitLimit")]
    pub migrate_wait_limit: u32,
    /// Extension (not in VCS's type): run the guest transient, created from GuestConfigFilePath at
    /// every start and leaving no persistent definition on any host, as rgmanager does.
    #[serde(rename = "Transient", serialize_with = "vcs_bool")]
    pub transient: bool,
    /// Extension: watch the guest OS through its QEMU guest agent, not only the QEMU process.
    #[serde(rename = "GuestHealth")]
    pub guest_health: GuestHealth,
    #[serde(skip)]
    pub environment: Environment,
}

/// The GuestHealth extension: the monitor also pings the guest agent of a running guest. An
/// agent that stopped answering lowers the confidence after DegradeAfter monitors, and makes the
/// resource FAULTED once it has been silent for FaultAfter seconds.
#[derive(Debug, Clone, Serialize)]
pub struct GuestHealth {
    #[serde(rename = "Enabled", serialize_with = "vcs_bool")]
    pub enabled: bool,
    /// Seconds the agent has to answer a ping (also what `stop` gives it before choosing ACPI).
    #[serde(rename = "PingTimeout")]
    pub ping_timeout: u32,
    /// Monitors in a row without an answer before the confidence is lowered.
    #[serde(rename = "DegradeAfter")]
    pub degrade_after: u32,
    /// Seconds of silence from a connected agent before the resource is FAULTED.
    #[serde(rename = "FaultAfter")]
    pub fault_after: u32,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CeInfo {
    #[serde(rename = "Enabled", serialize_with = "vcs_bool")]
    pub enabled: bool,
    #[serde(rename = "CESystem")]
    pub ce_system: Option<String>,
    #[serde(rename = "FaultOnHBLoss", serialize_with = "vcs_bool")]
    pub fault_on_hb_loss: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RhevmInfo {
    #[serde(rename = "Enabled", serialize_with = "vcs_bool")]
    pub enabled: bool,
    #[serde(rename = "URL")]
    pub url: Option<String>,
    #[serde(rename = "User")]
    pub user: Option<String>,
    #[serde(rename = "Password", serialize_with = "masked")]
    pub password: Option<String>,
    #[serde(rename = "Cluster")]
    pub cluster: Option<String>,
    #[serde(rename = "UseManualRHEVMFencing", serialize_with = "vcs_bool")]
    pub use_manual_rhevm_fencing: bool,
    /// Extension: a file holding the password (mode 0600 or stricter).
    #[serde(rename = "PasswordFile")]
    pub password_file: Option<PathBuf>,
    /// Extension: the environment variable holding the password.
    #[serde(rename = "PasswordEnv")]
    pub password_env: Option<String>,
    /// Extension: the engine's CA certificate in PEM (see `kvmguestctl rhev fetch-ca`).
    #[serde(rename = "CAFile")]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DrOpts {
    #[serde(rename = "ConfigureNetwork", serialize_with = "vcs_bool")]
    pub configure_network: bool,
    #[serde(rename = "IPAddress")]
    pub ip_address: Option<String>,
    #[serde(rename = "Netmask")]
    pub netmask: Option<String>,
    #[serde(rename = "Gateway")]
    pub gateway: Option<String>,
    #[serde(rename = "DNSServers")]
    pub dns_servers: Option<String>,
    #[serde(rename = "DNSSearchPath")]
    pub dns_search_path: Option<String>,
    #[serde(rename = "Device")]
    pub device: Option<String>,
}

/// What a password is shown as, everywhere.
pub const MASKED: &str = "********";

fn masked<S: Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_str(MASKED),
        None => s.serialize_none(),
    }
}

/// VCS booleans are the integers 0 and 1; JSON keeps that convention.
fn vcs_bool<S: Serializer>(value: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u8(u8::from(*value))
}

impl Resource {
    /// `<SyncDir>/<GuestName>.xml`, where the definition is saved, when SyncDir is set.
    pub fn sync_file(&self) -> Option<PathBuf> {
        self.sync_dir
            .as_deref()
            .map(|dir| dir.join(format!("{}.xml", self.guest_name)))
    }

    /// The attributes in display order as (name, value) pairs, associations flattened as
    /// `RHEVMInfo.URL`, unset values as VCS's `NONE` or empty string.
    pub fn attributes(&self) -> Vec<(String, String)> {
        fn flatten(prefix: &str, value: serde_json::Value, out: &mut Vec<(String, String)>) {
            match value {
                serde_json::Value::Object(map) => {
                    for (key, value) in map {
                        let name = if prefix.is_empty() {
                            key
                        } else {
                            format!("{prefix}.{key}")
                        };
                        flatten(&name, value, out);
                    }
                }
                serde_json::Value::Array(items) => {
                    let items: Vec<String> = items
                        .into_iter()
                        .map(|v| {
                            v.as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| v.to_string())
                        })
                        .collect();
                    out.push((prefix.to_owned(), items.join(" ")));
                }
                // Every unset value, scalar or association key, shows VCS's own word for it,
                // which the YAML and the ArgListValues read back as unset.
                serde_json::Value::Null => out.push((prefix.to_owned(), "NONE".to_owned())),
                serde_json::Value::String(s) => out.push((prefix.to_owned(), s)),
                other => out.push((prefix.to_owned(), other.to_string())),
            }
        }
        let mut out = Vec::new();
        let value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let serde_json::Value::Object(map) = value {
            for (key, value) in map {
                if key != "Resource" {
                    flatten(&key, value, &mut out);
                }
            }
        }
        out
    }
}

impl Config {
    /// The resources named, in the order given, or all of them (sorted by name).
    pub fn select(&self, names: &[String], all: bool) -> crate::error::Result<Vec<&Resource>> {
        use crate::error::Error;
        if all {
            return Ok(self.resources.values().collect());
        }
        if names.is_empty() {
            return Err(Error::Usage(
                "name at least one resource, or pass --all".to_owned(),
            ));
        }
        names
            .iter()
            .map(|name| {
                self.resources
                    .get(name)
                    .ok_or_else(|| Error::Unknown(self.no_resource(name)))
            })
            .collect()
    }

    /// Why `name` names no resource: a guest's name given for its resource is said so; else the
    /// closest resource names.
    fn no_resource(&self, name: &str) -> String {
        let guests: Vec<&str> = self
            .resources
            .values()
            .filter(|r| r.guest_name.eq_ignore_ascii_case(name))
            .map(|r| r.name.as_str())
            .collect();
        if !guests.is_empty() {
            return format!(
                "no resource named '{name}': {name} is the guest of {}: name the resource",
                suggest::either(&guests)
            );
        }
        let known: Vec<&str> = self.resources.keys().map(String::as_str).collect();
        format!(
            "no resource named '{name}' ({})",
            suggest::hint(name, &known, "configured")
        )
    }

    pub fn system(&self, name: &str) -> crate::error::Result<&System> {
        self.systems.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.systems.keys().map(String::as_str).collect();
            crate::error::Error::Config(format!(
                "system '{name}' is not defined ({})",
                suggest::hint(name, &known, "defined")
            ))
        })
    }
}

/// The system this process acts on: `--sys`, else this machine's host name (full, then short).
pub fn local_system(config: &Config, requested: Option<&str>) -> crate::error::Result<String> {
    if let Some(name) = requested {
        config.system(name)?;
        return Ok(name.to_owned());
    }
    let host = hostname();
    let short = host.split('.').next().unwrap_or_default().to_owned();
    for candidate in [&host, &short] {
        if config.systems.contains_key(candidate.as_str()) {
            return Ok(candidate.clone());
        }
    }
    Err(crate::error::Error::Usage(format!(
        "this host ('{host}') is not one of the configured systems ({}); name one with --sys",
        config
            .systems
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// Resolve a path written in a configuration file against that file's directory.
fn resolve(base: &Path, written: &str) -> PathBuf {
    let path = Path::new(written);
    if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    }
}
