//! Reading resource definitions from YAML: one file or a directory of `*.yaml` files, parsed into
//! the `raw` types, merged, checked by `validate`, then resolved.

use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use super::raw::{Count, Flag, RawFile, RawResource, origin, set};
use super::validate;
use super::{
    CeInfo, Config, DEFAULT_DELAY_AFTER_GUEST_OFFLINE, DEFAULT_DELAY_AFTER_GUEST_ONLINE,
    DEFAULT_MIGRATE_TIMEOUT, DEFAULT_MIGRATE_WAIT_LIMIT, Diagnostic, DrOpts, Engine, Environment,
    Origin, PasswordSource, Resource, RhevmInfo, Severity, System, resolve,
};

/// Where the configuration comes from.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// `--config PATH` or `KVMGUESTCTL_CONFIG`: a file, or a directory of `*.yaml` files.
    Path(PathBuf),
    /// `/etc/kvmguestctl/resources.yaml` plus `/etc/kvmguestctl/resources.d/*.yaml`.
    Default,
}

pub const DEFAULT_FILE: &str = "/etc/kvmguestctl/resources.yaml";
pub const DEFAULT_DIR: &str = "/etc/kvmguestctl/resources.d";

impl ConfigSource {
    /// Whether there is anything to read at all: a node without a configuration cannot have
    /// started any guest through it (what a cluster agent's stop and probe rely on).
    pub fn exists(&self) -> bool {
        match self {
            ConfigSource::Path(path) => path.exists(),
            ConfigSource::Default => {
                Path::new(DEFAULT_FILE).exists() || Path::new(DEFAULT_DIR).is_dir()
            }
        }
    }

    /// The path an administrator should look at.
    pub fn describe(&self) -> String {
        match self {
            ConfigSource::Path(path) => path.display().to_string(),
            ConfigSource::Default => format!("{DEFAULT_FILE} or {DEFAULT_DIR}/"),
        }
    }
}

/// Load and validate the configuration. On failure, every error found is returned, located.
pub fn load(source: &ConfigSource) -> Result<Config, Vec<Diagnostic>> {
    let files = files(source).map_err(|d| vec![d])?;
    let mut parsed = Vec::new();
    let mut diagnostics = Vec::new();
    for file in files {
        match parse_file(&file) {
            Ok(raw) => parsed.push((file, raw)),
            Err(d) => diagnostics.push(d),
        }
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    checked(parsed)
}

/// Load and validate one configuration document given as text rather than read from a file (a
/// cluster engine's front end builds it from the engine's parameters): the same rules as files,
/// its diagnostics located in `name`.
pub fn load_text(text: &str, name: &Path) -> Result<Config, Vec<Diagnostic>> {
    let raw = parse_text(text, name).map_err(|d| vec![d])?;
    checked(vec![(name.to_owned(), raw)])
}

/// Parsed files merged, validated and resolved.
fn checked(parsed: Vec<(PathBuf, RawFile)>) -> Result<Config, Vec<Diagnostic>> {
    let loaded: Vec<PathBuf> = parsed.iter().map(|(file, _)| file.clone()).collect();
    let (config, mut diagnostics) = merge(parsed);
    if config.resources.is_empty() && diagnostics.is_empty() {
        let names: Vec<String> = loaded.iter().map(|f| f.display().to_string()).collect();
        let first = loaded.first().cloned().unwrap_or_default();
        let message = match names.len() {
            1 => "no resources are defined".to_owned(),
            _ => format!("no resources are defined in any of {}", names.join(", ")),
        };
        diagnostics.push(whole_file(&first, message));
    }
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        return Err(diagnostics);
    }
    Ok(Config {
        warnings: diagnostics,
        ..config
    })
}

fn whole_file(file: &Path, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        origin: Origin {
            file: file.to_owned(),
            line: 0,
            column: 0,
        },
        resource: None,
        message,
    }
}

fn files(source: &ConfigSource) -> Result<Vec<PathBuf>, Diagnostic> {
    match source {
        ConfigSource::Path(path) => {
            let meta = std::fs::metadata(path)
                .map_err(|e| whole_file(path, format!("cannot read the configuration: {e}")))?;
            if meta.is_dir() {
                let found = yaml_files(path)?;
                if found.is_empty() {
                    return Err(whole_file(
                        path,
                        "the directory holds no *.yaml file".into(),
                    ));
                }
                Ok(found)
            } else {
                Ok(vec![path.clone()])
            }
        }
        ConfigSource::Default => {
            let mut found = Vec::new();
            if Path::new(DEFAULT_FILE).exists() {
                found.push(PathBuf::from(DEFAULT_FILE));
            }
            if Path::new(DEFAULT_DIR).is_dir() {
                found.extend(yaml_files(Path::new(DEFAULT_DIR))?);
            }
            if found.is_empty() {
                return Err(whole_file(
                    Path::new(DEFAULT_FILE),
                    format!(
                        "no configuration: neither this file nor {DEFAULT_DIR}/*.yaml exists \
                         (name one with --config or KVMGUESTCTL_CONFIG)"
                    ),
                ));
            }
            Ok(found)
        }
    }
}

fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let read = std::fs::read_dir(dir)
        .map_err(|e| whole_file(dir, format!("cannot read the directory: {e}")))?;
    let mut found: Vec<PathBuf> = read
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    Ok(found)
}

fn parse_file(file: &Path) -> Result<RawFile, Diagnostic> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| whole_file(file, format!("cannot read the file: {e}")))?;
    parse_text(&text, file)
}

fn parse_text(text: &str, file: &Path) -> Result<RawFile, Diagnostic> {
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(RawFile::default());
    }
    // Strict booleans: YAML 1.1's yes/no/on/off are not VCS's 0/1, and a typo must not flip a flag.
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options::<Option<RawFile>>(text, options)
        .map(Option::unwrap_or_default)
        .map_err(|e| {
            let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            let message = e.without_snippet().to_string();
            // The library appends its own "at line L, column C": the location is in our prefix.
            let suffix = format!(" at line {line}, column {column}");
            let message = plain(message.strip_suffix(&suffix).unwrap_or(&message));
            Diagnostic {
                severity: Severity::Error,
                origin: Origin {
                    file: file.to_owned(),
                    line,
                    column,
                },
                resource: None,
                message,
            }
        })
}

/// The YAML library's messages, in an administrator's words where its own are parser jargon or
/// advice meant for programmers.
fn plain(message: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        (", set DuplicateKeyPolicy in Options if acceptable", ""),
        ("expected string scalar", "expected a string"),
        (
            "expected sequence start",
            "expected a list ([a, b] or one '- item' per line)",
        ),
        ("unknown variant", "unknown value"),
    ];
    WORDS.iter().fold(message.to_owned(), |m, (jargon, words)| {
        m.replace(jargon, words)
    })
}

fn merge(parsed: Vec<(PathBuf, RawFile)>) -> (Config, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut systems = std::collections::BTreeMap::<String, (System, Origin)>::new();
    let mut raw_resources: Vec<(PathBuf, Spanned<String>, RawResource)> = Vec::new();
    let mut seen_resources = std::collections::BTreeMap::<String, Origin>::new();

    for (file, raw) in parsed {
        for (name, system) in raw.systems {
            let here = origin(&file, &name);
            if let Some((_, first)) = systems.get(&name.value) {
                diagnostics.push(validate::error(
                    here,
                    None,
                    format!("system '{}' is already defined at {first}", name.value),
                ));
                continue;
            }
            diagnostics.extend(validate::system(&file, &name, &system));
            let base = base_dir(&file);
            systems.insert(
                name.value.clone(),
                (
                    System {
                        name: name.value.clone(),
                        uri: system.uri.map(|u| resolve_test_uri(&base, &u.value)),
                        site: system.site.map(|s| s.value),
                        migration_uri: system.migration_uri.map(|s| s.value),
                        rhev_host: system.rhev_host.map(|s| s.value),
                    },
                    here,
                ),
            );
        }
        for (name, resource) in raw.resources {
            let here = origin(&file, &name);
            if let Some(first) = seen_resources.get(&name.value) {
                diagnostics.push(validate::error(
                    here,
                    Some(&name.value),
                    format!("resource '{}' is already defined at {first}", name.value),
                ));
                continue;
            }
            seen_resources.insert(name.value.clone(), here);
            raw_resources.push((file.clone(), name, resource));
        }
    }

    let systems: std::collections::BTreeMap<String, System> =
        systems.into_iter().map(|(k, (s, _))| (k, s)).collect();
    let mut resources = std::collections::BTreeMap::new();
    for (file, name, raw) in raw_resources {
        diagnostics.extend(validate::resource(&file, &name, &raw, &systems));
        resources.insert(name.value.clone(), resolve_resource(&file, &name, raw));
    }
    (
        Config {
            systems,
            resources,
            warnings: Vec::new(),
        },
        diagnostics,
    )
}

/// libvirt's test driver wants an absolute path (`test:///abs/node.xml`); the configuration may
/// write `test:node.xml` (no slashes) to mean a file beside the YAML file.
fn resolve_test_uri(base: &Path, uri: &str) -> String {
    match uri.strip_prefix("test:") {
        Some(rest) if !rest.starts_with('/') && !rest.is_empty() => {
            format!("test://{}", resolve(base, rest).display())
        }
        _ => uri.to_owned(),
    }
}

/// The environment of a validated resource (validation has made sure RHEV has what it needs).
fn environment(info: &RhevmInfo) -> Environment {
    if !info.enabled {
        return Environment::Libvirt;
    }
    let password = match (&info.password, &info.password_file, &info.password_env) {
        (Some(encrypted), _, _) => PasswordSource::Encrypted(encrypted.clone()),
        (None, Some(file), _) => PasswordSource::File(file.clone()),
        (None, None, variable) => PasswordSource::Env(variable.clone().unwrap_or_default()),
    };
    Environment::Rhev(Engine {
        url: info
            .url
            .as_deref()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned(),
        user: info.user.clone().unwrap_or_default(),
        password,
        ca_file: info.ca_file.clone(),
    })
}

/// The directory that relative paths in `file` are resolved against, made absolute.
fn base_dir(file: &Path) -> PathBuf {
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_owned());
    file.parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_owned)
}

fn resolve_resource(file: &Path, name: &Spanned<String>, raw: RawResource) -> Resource {
    let base = &base_dir(file);
    let count = |v: Option<Spanned<Count>>, default: u32| v.map_or(default, |c| c.value.0);
    let flag = |v: Option<Flag>, default: bool| v.map_or(default, |f| f.0);
    let path = |v: Option<Spanned<String>>| set(v).map(|p| resolve(base, &p));
    let rhevm_info = RhevmInfo {
        enabled: flag(raw.RHEVMInfo.Enabled.map(|s| s.value), false),
        url: set(raw.RHEVMInfo.URL),
        user: set(raw.RHEVMInfo.User),
        password: set(raw.RHEVMInfo.Password),
        cluster: set(raw.RHEVMInfo.Cluster),
        use_manual_rhevm_fencing: flag(raw.RHEVMInfo.UseManualRHEVMFencing, false),
        password_file: path(raw.RHEVMInfo.PasswordFile),
        password_env: set(raw.RHEVMInfo.PasswordEnv),
        ca_file: path(raw.RHEVMInfo.CAFile),
    };
    Resource {
        name: name.value.clone(),
        origin: origin(file, name),
        systems: raw.systems.value.into_iter().map(|s| s.value).collect(),
        guest_name: set(raw.GuestName).unwrap_or_default(),
        delay_after_guest_online: count(
            raw.DelayAfterGuestOnline,
            DEFAULT_DELAY_AFTER_GUEST_ONLINE,
        ),
        delay_after_guest_offline: count(
            raw.DelayAfterGuestOffline,
            DEFAULT_DELAY_AFTER_GUEST_OFFLINE,
        ),
        sync_dir: path(raw.SyncDir),
        guest_config_file_path: path(raw.GuestConfigFilePath),
        resync_vm_cfg: flag(raw.ResyncVMCfg.map(|s| s.value), false),
        ce_info: CeInfo {
            enabled: flag(raw.CEInfo.Enabled, false),
            ce_system: set(raw.CEInfo.CESystem),
            fault_on_hb_loss: flag(raw.CEInfo.FaultOnHBLoss, true),
        },
        environment: environment(&rhevm_info),
        rhevm_info,
        dr_opts: DrOpts {
            configure_network: flag(raw.DROpts.ConfigureNetwork.map(|s| s.value), false),
            ip_address: set(raw.DROpts.IPAddress),
            netmask: set(raw.DROpts.Netmask),
            gateway: set(raw.DROpts.Gateway),
            dns_servers: set(raw.DROpts.DNSServers),
            dns_search_path: set(raw.DROpts.DNSSearchPath),
            device: set(raw.DROpts.Device),
        },
        intentional_offline: flag(raw.IntentionalOffline, true),
        migrate_timeout: count(raw.MigrateTimeout, DEFAULT_MIGRATE_TIMEOUT),
        migrate_wait_limit: count(raw.MigrateWaitLimit, DEFAULT_MIGRATE_WAIT_LIMIT),
        transient: flag(raw.Transient.map(|s| s.value), false),
    }
}
