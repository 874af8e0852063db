//! `ocf`: the OCF resource agent that Pacemaker calls, as `kvmguestctl ocf ACTION` or through a
//! link named `KVMGuest`. It translates OCF parameters (environment variables), actions and return
//! codes around the same core entry points the CLI uses.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::agent::lock::Locks;
use crate::agent::migrate::{MigrateMode, migrate};
use crate::agent::{self, Hosts, OfflineOptions, OnlineOptions, ResourceState, ResourceStatus};
use crate::backend::{Activity, Backends};
use crate::error::{Error, Exit, Result};
use crate::render::AgentLog;
use crate::resource::{self, Config, ConfigSource, Resource};

use super::Context;

mod meta_data;
mod nodes;

/// The agent's name: the link Pacemaker runs is `<ocf root>/resource.d/<provider>/KVMGuest`.
pub const AGENT: &str = "KVMGuest";
/// Where `ocf install` puts the link: Pacemaker's class `ocf`, provider `kvmguestctl`.
pub const DEFAULT_DIR: &str = "/usr/lib/ocf/resource.d/kvmguestctl";

/// What the agent gives Pacemaker for the hypervisor calls around a wait (the default timeouts in
/// the meta-data are the KVMGuest delay plus this).
const MARGIN: Duration = Duration::from_secs(60);
/// Pacemaker's own default operation timeout, when it passes none.
const DEFAULT_OP_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest a single hypervisor call may take before the host is taken as hung.
const MAX_CALL: Duration = Duration::from_secs(10);

/// The OCF return codes (resource-agents API 1.1, Pacemaker Explained "OCF Return Codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rc {
    Success = 0,
    Generic = 1,
    Args = 2,
    Unimplemented = 3,
    Installed = 5,
    Configured = 6,
    NotRunning = 7,
    Degraded = 190,
}

/// Run the OCF agent (the Pacemaker resource agent, also reached as a link named KVMGuest)
#[derive(Debug, clap::Args)]
#[command(
    after_help = concat!(
        "Examples:\n",
        "  # Link the agent where Pacemaker finds ocf:kvmguestctl:KVMGuest\n",
        "  kvmguestctl ocf install\n",
        "  # Its meta-data, as Pacemaker reads it\n",
        "  kvmguestctl ocf meta-data\n",
        "  # A monitor as Pacemaker runs it (7: not running here)\n",
        "  OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=web_vm kvmguestctl ocf monitor; echo $?",
    ),
    long_about = "Run the OCF resource agent that Pacemaker calls: start, stop, monitor, \
migrate_to, migrate_from, validate-all, status, meta-data. Its parameters come from the \
environment as Pacemaker sets them (OCF_RESKEY_config, OCF_RESKEY_resource, OCF_RESKEY_system; \
and KVMGUESTCTL_CA_FILE, KVMGUESTCTL_KEY_FILE, KVMGUESTCTL_STATE_DIR, KVMGUESTCTL_LOCK_DIR as for \
every command), \
its answer is an OCF return code, and it logs on stderr only. `install` links the binary as \
DIR/KVMGuest, so that Pacemaker knows it as ocf:kvmguestctl:KVMGuest."
)]
pub struct Args {
    /// The OCF action, or `install`
    #[arg(value_name = "ACTION")]
    action: Option<String>,
    /// Where `install` creates the KVMGuest link
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DIR)]
    dir: PathBuf,
    /// The binary the link runs, for `install` [default: this one]
    #[arg(long, value_name = "PATH")]
    binary: Option<PathBuf>,
}

pub fn run(context: &Context, args: &Args) -> ExitCode {
    if args.action.as_deref() == Some("install") {
        let names = [AGENT.to_owned()];
        let installed = super::install::links(context, &args.dir, names, args.binary.as_deref());
        let exit = installed.unwrap_or_else(|e| {
            context.output.error(&e);
            e.exit()
        });
        return ExitCode::from(exit.code());
    }
    agent(args.action.as_deref())
}

/// The agent itself: one action, its parameters from the environment.
pub fn agent(action: Option<&str>) -> ExitCode {
    let params = Params::from_env();
    let log = AgentLog::new(format!(
        "{AGENT}({})[{}]",
        params.instance,
        std::process::id()
    ))
    .with_reasons(params.reason_prefix.clone());
    let rc = match action {
        Some("meta-data") => {
            crate::render::document(&meta_data::meta_data(MARGIN));
            Rc::Success
        }
        Some("usage" | "help") => {
            log.info(USAGE);
            Rc::Success
        }
        Some(action) => match Action::parse(action) {
            Some(action) => perform(action, &params, &log),
            None => {
                log.error(&format!("action '{action}' is not implemented; {USAGE}"));
                Rc::Unimplemented
            }
        },
        None => {
            log.error(USAGE);
            Rc::Args
        }
    };
    ExitCode::from(rc as u8)
}

const USAGE: &str = "usage: KVMGuest {start|stop|monitor|status|migrate_to|migrate_from|\
validate-all|meta-data|usage}";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Start,
    Stop,
    Monitor,
    MigrateTo,
    MigrateFrom,
    Validate,
}

impl Action {
    fn parse(word: &str) -> Option<Action> {
        Some(match word {
            "start" => Action::Start,
            "stop" => Action::Stop,
            "monitor" | "status" => Action::Monitor,
            "migrate_to" => Action::MigrateTo,
            "migrate_from" => Action::MigrateFrom,
            "validate-all" => Action::Validate,
            _ => return None,
        })
    }
}

/// What Pacemaker passes: the resource's parameters and the operation's meta attributes.
struct Params {
    config: ConfigSource,
    resource: Option<String>,
    system: Option<String>,
    /// The instance Pacemaker acts on, for the log lines.
    instance: String,
    timeout: Duration,
    /// A monitor with no interval is a probe: is the resource running here at all?
    probe: bool,
    migrate_target: Option<String>,
    /// What marks the failure reason on stderr (Pacemaker shows it in `crm_mon`).
    reason_prefix: String,
    /// The caller speaks OCF 1.1 or later, which has the degraded codes.
    degraded_known: bool,
    /// The RHEV engine's CA and the password key, from the same variables as every command's.
    ca_file: Option<PathBuf>,
    key_file: PathBuf,
    /// Where the monitor remembers its guest agents (KVMGUESTCTL_STATE_DIR).
    state_dir: PathBuf,
    /// Where the guests' locks are (KVMGUESTCTL_LOCK_DIR).
    lock_dir: PathBuf,
}

impl Params {
    fn from_env() -> Params {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let number = |name: &str| var(name).and_then(|v| v.parse::<u64>().ok());
        // A clone's instances are `name:N`; they all manage the one resource.
        let instance = var("OCF_RESOURCE_INSTANCE");
        let resource = var("OCF_RESKEY_resource").or_else(|| {
            instance
                .as_deref()
                .map(|i| i.split(':').next().unwrap_or(i).to_owned())
        });
        Params {
            config: var("OCF_RESKEY_config").map_or(ConfigSource::Default, |p| {
                ConfigSource::Path(PathBuf::from(p))
            }),
            system: var("OCF_RESKEY_system").or_else(|| var("OCF_RESKEY_CRM_meta_on_node")),
            instance: instance.or_else(|| resource.clone()).unwrap_or_default(),
            resource,
            timeout: number("OCF_RESKEY_CRM_meta_timeout")
                .map_or(DEFAULT_OP_TIMEOUT, Duration::from_millis),
            probe: number("OCF_RESKEY_CRM_meta_interval").unwrap_or(0) == 0,
            migrate_target: var("OCF_RESKEY_CRM_meta_migrate_target"),
            reason_prefix: var("OCF_EXIT_REASON_PREFIX")
                .unwrap_or_else(|| "ocf-exit-reason:".to_owned()),
            degraded_known: (
                number("OCF_RA_VERSION_MAJOR"),
                number("OCF_RA_VERSION_MINOR"),
            ) >= (Some(1), Some(1)),
            ca_file: var("KVMGUESTCTL_CA_FILE").map(PathBuf::from),
            key_file: PathBuf::from(
                var("KVMGUESTCTL_KEY_FILE")
                    .unwrap_or_else(|| crate::secret::DEFAULT_KEY_FILE.to_owned()),
            ),
            state_dir: PathBuf::from(
                var("KVMGUESTCTL_STATE_DIR").unwrap_or_else(|| crate::agent::STATE_DIR.to_owned()),
            ),
            lock_dir: PathBuf::from(
                var("KVMGUESTCTL_LOCK_DIR")
                    .unwrap_or_else(|| crate::agent::lock::LOCK_DIR.to_owned()),
            ),
        }
    }

    /// When an operation's wait ends: its last two calls (a stop's destroy and check, a start's
    /// verification) and a second for the rest are left of the timeout.
    fn until(&self) -> Duration {
        self.timeout
            .saturating_sub(self.call_timeout() * 2 + Duration::from_secs(1))
    }

    /// Each hypervisor call gets a quarter of the operation's timeout, at most [`MAX_CALL`]: a
    /// hung libvirtd costs the operation one call, never the whole timeout.
    fn call_timeout(&self) -> Duration {
        (self.timeout / 4).clamp(Duration::from_secs(1), MAX_CALL)
    }
}

/// Why the agent cannot act on the resource here, and the code that says so.
struct Unready {
    rc: Rc,
    why: String,
    /// Nothing of this resource can be running here (no configuration, or not one of its
    /// systems): a stop is done, a probe finds it not running.
    nothing_here: bool,
}

impl Unready {
    /// A probe asks whether the resource runs here at all; a recurring monitor that finds the
    /// configuration gone is told as an error, for the administrator to see.
    fn answer(self, action: Action, probe: bool, log: &AgentLog) -> Rc {
        match action {
            Action::Stop if self.nothing_here => {
                log.info(&format!("{}: nothing to stop here", self.why));
                Rc::Success
            }
            Action::Monitor if self.nothing_here && probe => Rc::NotRunning,
            _ => {
                log.error(&self.why);
                self.rc
            }
        }
    }
}

/// The configuration, the resource and this node's system, checked as validate-all does.
fn prepare(params: &Params) -> std::result::Result<(Config, String, String), Unready> {
    let unready = |rc, why: String, nothing_here| Unready {
        rc,
        why,
        nothing_here,
    };
    let Some(name) = params.resource.clone() else {
        return Err(unready(
            Rc::Configured,
            "no resource: set the parameter 'resource' (or name the Pacemaker resource after it)"
                .to_owned(),
            false,
        ));
    };
    if !params.config.exists() {
        return Err(unready(
            Rc::Installed,
            format!("no configuration at {}", params.config.describe()),
            true,
        ));
    }
    // The configuration is this node's file: what is wrong with it is wrong on this node.
    let config = resource::load(&params.config).map_err(|diagnostics| {
        let lines: Vec<String> = diagnostics
            .iter()
            .map(resource::Diagnostic::under_error)
            .collect();
        unready(Rc::Args, lines.join("\n"), false)
    })?;
    let res = config.resources.get(&name).ok_or_else(|| {
        let why = format!("no resource named '{name}' in {}", params.config.describe());
        unready(Rc::Args, why, false)
    })?;
    let system = resource::local_system(&config, params.system.as_deref())
        .map_err(|e| unready(Rc::Args, e.to_string(), false))?;
    if !res.systems.contains(&system) {
        let why = format!(
            "{name} may run only on {}, not on {system}",
            res.systems.join(", ")
        );
        return Err(unready(Rc::Args, why, true));
    }
    Ok((config, name, system))
}

fn perform(action: Action, params: &Params, log: &AgentLog) -> Rc {
    let (config, name, system) = match prepare(params) {
        Ok(ready) => ready,
        Err(unready) => return unready.answer(action, params.probe, log),
    };
    // Said when the resource is checked or started, not at every recurring monitor.
    if matches!(action, Action::Validate | Action::Start) {
        for warning in &config.warnings {
            log.warn(&warning.to_string());
        }
    }
    let res = &config.resources[&name];
    let backends = Backends::new(
        params.call_timeout(),
        params.ca_file.clone(),
        params.key_file.clone(),
    );
    // Pacemaker's operation waits for a command a person started at most a call's time: the
    // rest of its timeout is the operation's own.
    let hosts = Hosts::new(&config, &backends)
        .remembering(params.state_dir.clone())
        .locking(Locks {
            dir: params.lock_dir.clone(),
            wait: params.call_timeout(),
        });
    match action {
        Action::Validate => Rc::Success,
        Action::Monitor => monitor(&hosts, res, &system, params, log),
        Action::Start => {
            enough_time(
                params,
                "start",
                ("DelayAfterGuestOnline", res.delay_after_guest_online),
                log,
            );
            let options = OnlineOptions {
                assume_stopped: vouched_for(res, &system, params, log),
                until: Some(params.until()),
            };
            done(agent::online(&hosts, res, &system, &options, log), log)
        }
        Action::Stop => {
            let options = OfflineOptions {
                graceful_until: Some(params.until()),
                ..agent::STOP
            };
            enough_time(
                params,
                "stop",
                ("DelayAfterGuestOffline", res.delay_after_guest_offline),
                log,
            );
            done(agent::offline(&hosts, res, &system, &options, log), log)
        }
        Action::MigrateTo => match &params.migrate_target {
            Some(target) => {
                enough_time(
                    params,
                    "migrate_to",
                    ("MigrateTimeout", res.migrate_timeout),
                    log,
                );
                let migrated = migrate(&hosts, res, &system, target, MigrateMode::Live, log);
                done(migrated, log)
            }
            None => {
                log.error("migrate_to needs the target node (OCF_RESKEY_CRM_meta_migrate_target)");
                Rc::Args
            }
        },
        Action::MigrateFrom => arrived(&hosts, res, &system, params, log),
    }
}

/// The resource's other systems that Pacemaker has fenced or that left the cluster cleanly: a
/// start may take the guest as stopped there when their hypervisor cannot be asked (the node is
/// powered off), which is how a guest fails over after its node died. Outside a cluster (no
/// crm_mon, or it cannot connect) there are none, and such a start is refused.
fn vouched_for(res: &Resource, system: &str, params: &Params, log: &AgentLog) -> Vec<String> {
    let down = match nodes::cleanly_down(params.call_timeout()) {
        Ok(down) => down,
        Err(why) => {
            log::debug!("no node states from Pacemaker: {why}");
            return Vec::new();
        }
    };
    let vouched: Vec<String> = res
        .systems
        .iter()
        .filter(|s| *s != system && down.contains(s))
        .cloned()
        .collect();
    if !vouched.is_empty() {
        log.info(&format!(
            "Pacemaker reports {} out of the cluster and clean (fenced or shut down): \
             the guest is taken as stopped there if it cannot be asked",
            vouched.join(", ")
        ));
    }
    vouched
}

/// An operation timeout that cannot hold the resource's own wait and the hypervisor calls around
/// it is the administrator's to fix (the agent still keeps inside it): said at every such
/// operation, with the timeout the meta-data would advise.
fn enough_time(params: &Params, op: &str, (attribute, delay): (&str, u32), log: &AgentLog) {
    let delay = Duration::from_secs(u64::from(delay));
    if params.timeout < delay + params.call_timeout() * 3 {
        log.warn(&format!(
            "the {op} timeout ({}s) leaves too little time beyond {attribute} ({}s); \
             set it to {}s",
            params.timeout.as_secs(),
            delay.as_secs(),
            (delay + MARGIN).as_secs()
        ));
    }
}

/// An entry point's result as an OCF code, its report or error in the log.
fn done(result: Result<agent::Report>, log: &AgentLog) -> Rc {
    match result {
        Ok(report) => {
            log.info(&format!("{}: {}", report.action, report.detail));
            Rc::Success
        }
        Err(e) => {
            log.error(&e.to_string());
            rc_of(&e)
        }
    }
}

/// Errors as Pacemaker should react to them: what is wrong with this node's configuration bans
/// the resource from this node (2), a guest this node cannot have (not defined, no definition file)
/// sends it to another node (5), and everything else is a failure to recover from (1) — never
/// "not running" when the guest may be.
fn rc_of(e: &Error) -> Rc {
    match e.exit() {
        Exit::Usage => Rc::Args,
        Exit::Unknown => Rc::Installed,
        _ => Rc::Generic,
    }
}

/// Monitor: the resource's state on this node, judged from a look at all of its systems.
fn monitor(hosts: &Hosts, res: &Resource, system: &str, params: &Params, log: &AgentLog) -> Rc {
    let status = agent::status(hosts, &[res]).remove(0);
    let rc = monitor_rc(&status, system, params.degraded_known);
    match rc {
        Rc::Success | Rc::NotRunning => {}
        Rc::Degraded => {
            let until = match status.on(system).and_then(|h| h.activity) {
                Some(Activity::Paused) => "until it is resumed",
                _ => "while its guest agent does not answer",
            };
            log.warn(&format!("{}: degraded {until}", explain(&status, system)))
        }
        _ => log.error(&explain(&status, system)),
    }
    // Without the degraded code, a guest whose agent stopped answering is still worth a word.
    if rc == Rc::Success && status.on(system).is_some_and(|h| h.agent_degraded()) {
        log.warn(&explain(&status, system));
    }
    rc
}

/// The OCF answer for a resource state on this node (the table in the README): ONLINE 0, or 190
/// (degraded) for a paused guest when the caller knows that code; OFFLINE and INTENTIONAL OFFLINE
/// 7; FAULTED and UNKNOWN 1; a guest live here and elsewhere at once 1, so that Pacemaker stops
/// this copy.
fn monitor_rc(status: &ResourceStatus, system: &str, degraded_known: bool) -> Rc {
    let Some(here) = status.on(system) else {
        return Rc::Generic;
    };
    // A system that could not be asked is UNKNOWN, below.
    if here.active && status.concurrency_violation {
        return Rc::Generic;
    }
    match here.state {
        // Paused stays paused until someone resumes it, and a silent guest agent may speak
        // again: worth showing, not yet worth a restart.
        ResourceState::Online
            if degraded_known
                && (here.activity == Some(Activity::Paused) || here.agent_degraded()) =>
        {
            Rc::Degraded
        }
        ResourceState::Online => Rc::Success,
        ResourceState::Offline | ResourceState::IntentionalOffline => Rc::NotRunning,
        ResourceState::Faulted | ResourceState::Unknown => Rc::Generic,
    }
}

/// One line on why the monitor failed, for the log.
fn explain(status: &ResourceStatus, system: &str) -> String {
    let Some(here) = status.on(system) else {
        return format!("{system} was not asked");
    };
    if let Some(error) = &here.error {
        return format!("cannot tell whether {} runs here: {error}", status.guest);
    }
    if status.concurrency_violation {
        return format!(
            "CONCURRENCY VIOLATION: {} runs on {} at once",
            status.guest,
            status.running_on.join(" and ")
        );
    }
    let hypervisor = here
        .hypervisor_words()
        .unwrap_or_else(|| "no state".to_owned());
    let why = match here.why.as_str() {
        "" => String::new(),
        why => format!(": {why}"),
    };
    format!(
        "{} is {} here ({hypervisor}){why}",
        status.guest, here.state
    )
}

/// migrate_from, on the target once migrate_to has returned: the guest must be ONLINE here.
fn arrived(hosts: &Hosts, res: &Resource, system: &str, params: &Params, log: &AgentLog) -> Rc {
    let status = agent::status(hosts, &[res]).remove(0);
    match monitor_rc(&status, system, params.degraded_known) {
        rc @ (Rc::Success | Rc::Degraded) => {
            log.info(&format!("{} is online here", res.guest_name));
            rc
        }
        _ => {
            log.error(&format!(
                "the migration did not arrive: {}",
                explain(&status, system)
            ));
            Rc::Generic
        }
    }
}
