//! `vcs`: the KVMGuest entry points as VCS's script agent framework runs them
//! (`kvmguestctl vcs ENTRYPOINT RESOURCE ARGLISTVALUES...`, or the binary under an entry point's
//! name in an agent directory). Only translation lives here: V50 ArgListValues in, VCS exit codes
//! and log lines out; every entry point is the core's, as the other commands call it.

mod arglist;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::agent::migrate::{self, MigrateMode};
use crate::agent::{
    self, Hosts, OnlineOptions, Report, ResourceState, SystemStatus, devscan, vmconfigsync,
};
use crate::backend::Backends;
use crate::error::{Error, Result};
use crate::render::AgentLog;
use crate::resource::Resource;

use super::Context;
use arglist::{ArgList, Loaded, Problem, SystemSpec};

/// Run KVMGuest entry points for VCS, or create the agent directory's links
#[derive(Debug, clap::Args)]
#[command(
    override_usage = "kvmguestctl vcs ENTRYPOINT RESOURCE [ARGLISTVALUES]...\n       \
                      kvmguestctl vcs install [--dir DIR] [--binary PATH]",
    after_help = concat!(
        "Examples:\n",
        "  # The agent directory's links, in /opt/VRTSagents/ha/bin/KVMGuest\n",
        "  kvmguestctl vcs install\n",
        "  # A monitor as the framework runs it (110: online, confidence 100)\n",
        "  KVMGUESTCTL_SYS=node1 kvmguestctl vcs monitor web_vm GuestName 1 web01 \\\n",
        "      DelayAfterGuestOffline 1 60; echo $?",
    ),
    long_about = "Run a KVMGuest entry point as the VCS script agent framework does: \
kvmguestctl vcs ENTRYPOINT RESOURCE ARGLISTVALUES..., where ENTRYPOINT is online, offline, \
monitor, clean, migrate, attr_changed, open, close, shutdown or action/TOKEN (guestmigrated, \
vmconfigsync, DevScan), and ARGLISTVALUES are the V50 tuples NAME COUNT VALUE... of the KVMGuest \
ArgList. The binary does the same when it is run under an entry point's name from an agent \
directory (kvmguestctl vcs install makes those links).\n\n\
Exit codes as VCS reads them: monitor 100 offline, 101-110 online (confidence/10 + 100), 200 \
intentional offline, 99 unknown; online, offline and migrate 0 (monitor at once); clean and \
actions 0 success, 1 failure. Log lines go to stderr; only an action's output goes to stdout.\n\n\
Settings come from the environment (the framework passes no flags): KVMGUESTCTL_SYS (this \
node), KVMGUESTCTL_VCS_URI (its hypervisor, default qemu:///system), KVMGUESTCTL_VCS_TARGET_URI \
(a migration target's, default qemu+ssh://{system}/system), KVMGUESTCTL_VCS_MIGRATION_URI \
(where migration data goes), KVMGUESTCTL_VCS_TIMEOUT (seconds per hypervisor call, default 20), \
KVMGUESTCTL_VCS_HARES (default /opt/VRTSvcs/bin/hares), KVMGUESTCTL_CA_FILE, \
KVMGUESTCTL_KEY_FILE, KVMGUESTCTL_STATE_DIR (where GuestHealth remembers guest agents), \
KVMGUESTCTL_LOCK_DIR (where the guests' locks are)."
)]
pub struct Args {
    #[command(subcommand)]
    command: VcsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum VcsCommand {
    Install(InstallArgs),
    #[command(external_subcommand)]
    EntryPoint(Vec<String>),
}

/// Beside the enterprise agents, not in the bundled KVMGuest agent's /opt/VRTSvcs/bin/KVMGuest,
/// whose files a VCS upgrade rewrites.
pub const DEFAULT_DIR: &str = "/opt/VRTSagents/ha/bin/KVMGuest";

/// Create a VCS agent directory whose entry points are links to this binary
#[derive(Debug, clap::Args)]
#[command(
    after_help = concat!(
        "Examples:\n",
        "  # The links in the default directory, to this binary\n",
        "  kvmguestctl vcs install\n",
        "  # Elsewhere, to an installed binary (then AgentDirectory names DIR)\n",
        "  kvmguestctl vcs install --dir /opt/kvmguestctl/agent --binary /usr/bin/kvmguestctl",
    ),
    long_about = "Create a VCS agent directory whose entry points (online, offline, monitor, \
clean, migrate, attr_changed, open, close, shutdown, action/guestmigrated, action/vmconfigsync, \
action/DevScan) are symbolic links to this binary, which runs each as `kvmguestctl vcs`. \
Idempotent: links already right are left alone, links to another binary are replaced \
atomically. A file that is not a link is never replaced (exit 5, nothing changed): it belongs to \
another agent. Point the KVMGuest type's AgentDirectory at the directory (see \
examples/vcs/KVMGuestTypes.cf)."
)]
struct InstallArgs {
    /// The agent directory (the type's AgentDirectory)
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DIR)]
    dir: PathBuf,
    /// The binary the links run [default: this one]
    #[arg(long, value_name = "PATH")]
    binary: Option<PathBuf>,
}

/// The entry points that are executables of their own name in the agent directory.
const ENTRY_POINTS: &[&str] = &[
    "online",
    "offline",
    "monitor",
    "clean",
    "migrate",
    "attr_changed",
    "open",
    "close",
    "shutdown",
];

/// The action tokens (SupportedActions), each `action/<token>` in the agent directory.
const ACTIONS: &[&str] = &["guestmigrated", "vmconfigsync", "DevScan"];

/// The monitor's exit codes.
const UNKNOWN: u8 = 99;
const OFFLINE: u8 = 100;
const INTENTIONAL_OFFLINE: u8 = 200;

const DEFAULT_URI: &str = "qemu:///system";
const DEFAULT_TARGET_URI: &str = "qemu+ssh://{system}/system";
/// Per hypervisor call: a monitor makes two in turn (connect, then one query of every guest),
/// which stays within VCS's default MonitorTimeout of 60 s.
const DEFAULT_TIMEOUT: u64 = 20;
const DEFAULT_HARES: &str = "/opt/VRTSvcs/bin/hares";
/// How long DevScan waits for the SPM role to move unless told otherwise (the CLI's default).
const DEVSCAN_WAIT: u64 = 300;

/// The command line to parse: unchanged, unless the binary was run under an entry point's name (a
/// link in a VCS agent directory), which becomes `kvmguestctl vcs ENTRYPOINT ARGS...`.
pub fn argv(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if let Some(entry) = args.first().and_then(|a| invoked_as(Path::new(a))) {
        args[0] = OsString::from("kvmguestctl");
        args.splice(1..1, [OsString::from("vcs"), OsString::from(entry)]);
    }
    args
}

/// The entry point a path names: `<agentdir>/monitor`, `<agentdir>/action/DevScan`, ...
fn invoked_as(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let parent = path.parent().and_then(Path::file_name);
    if parent.is_some_and(|p| p == "action") && ACTIONS.contains(&name) {
        return Some(format!("action/{name}"));
    }
    ENTRY_POINTS.contains(&name).then(|| name.to_owned())
}

pub fn run(context: &Context, args: &Args) -> ExitCode {
    match &args.command {
        VcsCommand::Install(install) => {
            let names = ENTRY_POINTS
                .iter()
                .map(|e| (*e).to_owned())
                .chain(ACTIONS.iter().map(|a| format!("action/{a}")));
            let binary = install.binary.as_deref();
            let exit =
                super::install::links(context, &install.dir, names, binary).unwrap_or_else(|e| {
                    context.output.error(&e);
                    e.exit()
                });
            ExitCode::from(exit.code())
        }
        VcsCommand::EntryPoint(words) => ExitCode::from(entry_point(context, words)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum EntryPoint {
    Online,
    Offline,
    Monitor,
    Clean,
    Migrate,
    AttrChanged,
    Open,
    Close,
    Shutdown,
    Action,
}

impl EntryPoint {
    fn named(name: &str) -> Option<EntryPoint> {
        Some(match name {
            "online" => EntryPoint::Online,
            "offline" => EntryPoint::Offline,
            "monitor" => EntryPoint::Monitor,
            "clean" => EntryPoint::Clean,
            "migrate" => EntryPoint::Migrate,
            "attr_changed" => EntryPoint::AttrChanged,
            "open" => EntryPoint::Open,
            "close" => EntryPoint::Close,
            "shutdown" => EntryPoint::Shutdown,
            _ if name.starts_with("action/") => EntryPoint::Action,
            _ => return None,
        })
    }

    /// The exit code when the entry point could not even start (bad ArgListValues or settings):
    /// monitor says UNKNOWN; clean and actions fail; online, offline and migrate ask for a monitor
    /// at once, which then reports UNKNOWN for the same reason. VCS ignores the others' codes.
    fn cannot_run(self) -> u8 {
        match self {
            EntryPoint::Monitor => UNKNOWN,
            EntryPoint::Clean | EntryPoint::Action => 1,
            _ => 0,
        }
    }
}

fn entry_point(context: &Context, words: &[String]) -> u8 {
    // clap gives an external subcommand its name first, always.
    let Some((name, rest)) = words.split_first() else {
        return crate::error::Exit::Usage.code();
    };
    let Some(entry) = EntryPoint::named(name) else {
        let mut known: Vec<String> = ENTRY_POINTS.iter().map(|e| (*e).to_owned()).collect();
        known.extend(ACTIONS.iter().map(|a| format!("action/{a}")));
        AgentLog::new("kvmguestctl vcs".to_owned()).error(&format!(
            "unknown entry point '{name}' (entry points: {})",
            known.join(", ")
        ));
        return crate::error::Exit::Usage.code();
    };
    let Some((resource, values)) = rest.split_first() else {
        let log = log(name, "");
        log.error("no resource name: the framework passes RESOURCE ARGLISTVALUES...");
        return entry.cannot_run();
    };
    let call = Call {
        context,
        log: log(name, resource),
        resource,
        action: name.strip_prefix("action/"),
    };
    match entry {
        EntryPoint::Close | EntryPoint::Shutdown => 0,
        EntryPoint::AttrChanged | EntryPoint::Open => {
            call.check(values);
            0
        }
        _ => call
            .run(entry, values)
            .unwrap_or_else(|()| entry.cannot_run()),
    }
}

/// The entry points' log, in the style of VCS agents' messages: `KVMGuest:RESOURCE:ENTRYPOINT`.
fn log(entry: &str, resource: &str) -> AgentLog {
    AgentLog::new(format!("KVMGuest:{resource}:{entry}"))
}

/// This node's settings, from the environment (the framework passes no flags).
struct Settings {
    node: String,
    uri: String,
    target_uri: String,
    migration_uri: Option<String>,
    timeout: Duration,
    hares: PathBuf,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Settings {
    fn read(context: &Context) -> std::result::Result<Settings, Problem> {
        let node = context
            .sys
            .clone()
            .unwrap_or_else(crate::resource::hostname);
        if node.is_empty() {
            return Err(Problem::new(
                "KVMGUESTCTL_SYS",
                "this node's name is unknown (no host name): set KVMGUESTCTL_SYS",
            ));
        }
        let timeout = match var("KVMGUESTCTL_VCS_TIMEOUT") {
            None => DEFAULT_TIMEOUT,
            Some(t) => t
                .parse()
                .ok()
                .filter(|t| (1..=3600).contains(t))
                .ok_or_else(|| {
                    Problem::new(
                        "KVMGUESTCTL_VCS_TIMEOUT",
                        format!("'{t}' is not a number of seconds from 1 to 3600"),
                    )
                })?,
        };
        Ok(Settings {
            node,
            uri: var("KVMGUESTCTL_VCS_URI").unwrap_or_else(|| DEFAULT_URI.to_owned()),
            target_uri: var("KVMGUESTCTL_VCS_TARGET_URI")
                .unwrap_or_else(|| DEFAULT_TARGET_URI.to_owned()),
            migration_uri: var("KVMGUESTCTL_VCS_MIGRATION_URI"),
            timeout: Duration::from_secs(timeout),
            hares: var("KVMGUESTCTL_VCS_HARES").map_or_else(|| DEFAULT_HARES.into(), PathBuf::from),
        })
    }

    /// This node, then the migration target if any: the resource's systems.
    fn systems(&self, target: Option<&str>) -> Vec<SystemSpec> {
        let migration_uri = |system: &str| {
            self.migration_uri.as_ref().map(|template| {
                (
                    template.replace("{system}", system),
                    "KVMGUESTCTL_VCS_MIGRATION_URI",
                )
            })
        };
        let mut systems = vec![SystemSpec {
            name: self.node.clone(),
            uri: (self.uri.clone(), "KVMGUESTCTL_VCS_URI"),
            migration_uri: migration_uri(&self.node),
        }];
        // A target that is this node is left for the core to refuse, in its own words.
        if let Some(target) = target.filter(|t| *t != self.node) {
            systems.push(SystemSpec {
                name: target.to_owned(),
                uri: (
                    self.target_uri.replace("{system}", target),
                    "KVMGUESTCTL_VCS_TARGET_URI",
                ),
                migration_uri: migration_uri(target),
            });
        }
        systems
    }
}

/// One entry point's invocation.
struct Call<'a> {
    context: &'a Context,
    log: AgentLog,
    resource: &'a str,
    /// The action's token, when the entry point is `action/<token>`.
    action: Option<&'a str>,
}

impl Call<'_> {
    /// What keeps the entry point from running, in the log; an action's caller (`hares -action`)
    /// reads only stdout, so there too.
    fn problems(&self, problems: &[Problem]) {
        for p in problems {
            self.log.error(&p.to_string());
            if let Some(token) = self.action {
                self.context.output.raw(&format!("{token} failed: {p}\n"));
            }
        }
    }

    /// The resource from its ArgListValues on this node (and a migration target), with its
    /// settings; every problem is logged. Warnings are for attr_changed and open to log.
    fn load(&self, arglist: &ArgList, target: Option<&str>) -> Option<(Settings, Loaded)> {
        let settings = Settings::read(self.context)
            .map_err(|p| self.problems(&[p]))
            .ok()?;
        let loaded = arglist::load(self.resource, arglist, &settings.systems(target))
            .map_err(|p| self.problems(&p))
            .ok()?;
        Some((settings, loaded))
    }

    fn backends(&self, settings: &Settings) -> Backends {
        Backends::new(
            settings.timeout,
            self.context.ca_file.clone(),
            self.context.key_file.clone(),
        )
    }

    /// Every entry point that acts: the ArgListValues read, the resource built, the core called.
    /// `Err` when it could not start (already logged).
    fn run(&self, entry: EntryPoint, values: &[String]) -> std::result::Result<u8, ()> {
        let (arglist, rest) = arglist::parse(values).map_err(|p| self.problems(&[p]))?;
        let target = match entry {
            EntryPoint::Migrate => Some(target(rest).map_err(|p| self.problems(&[p]))?),
            EntryPoint::Action => None,
            _ => match rest.first() {
                Some(word) => {
                    self.problems(&[Problem::unknown(word)]);
                    return Err(());
                }
                None => None,
            },
        };
        let (settings, loaded) = self.load(&arglist, target.as_deref()).ok_or(())?;
        let res = loaded.resource().ok_or(())?;
        let backends = self.backends(&settings);
        let hosts = Hosts::new(&loaded.config, &backends)
            .remembering(self.context.state_dir.clone())
            .locking(self.context.locks(settings.timeout));
        let node = settings.node.as_str();
        Ok(match entry {
            EntryPoint::Monitor => self.monitor(&hosts, res, node),
            EntryPoint::Online => {
                let done = agent::online(&hosts, res, node, &OnlineOptions::default(), &self.log);
                self.report(done);
                0
            }
            EntryPoint::Offline => {
                self.report(agent::offline(&hosts, res, node, &agent::STOP, &self.log));
                0
            }
            EntryPoint::Clean => {
                if self.report(agent::clean(&hosts, res, node, &self.log)) {
                    0
                } else {
                    1
                }
            }
            EntryPoint::Migrate => {
                let to = target.as_deref().unwrap_or_default();
                let done = migrate::migrate(&hosts, res, node, to, MigrateMode::Live, &self.log);
                self.report(done);
                // The core waited for the migration to end (or aborted it at MigrateTimeout) and
                // for the guest on the target: nothing is left to wait for.
                0
            }
            EntryPoint::Action => {
                let token = self.action.unwrap_or_default();
                let action = Action {
                    call: self,
                    hosts: &hosts,
                    res,
                    settings: &settings,
                };
                action.run(token, rest)
            }
            // Never acting, so never run here (see entry_point).
            EntryPoint::AttrChanged
            | EntryPoint::Open
            | EntryPoint::Close
            | EntryPoint::Shutdown => 0,
        })
    }

    /// Log what online, offline, clean or migrate did; true when it succeeded.
    fn report(&self, done: Result<Report>) -> bool {
        match done {
            Ok(r) => {
                let confidence = r.confidence.map_or(String::new(), |c| format!(" {c}"));
                self.log.info(&format!(
                    "{}: {} is {}{confidence} on {} after {:.1}s ({})",
                    r.action, r.guest, r.state, r.system, r.seconds, r.detail
                ));
                if let Some(path) = &r.saved_definition {
                    self.log
                        .info(&format!("definition saved to {}", path.display()));
                }
                true
            }
            Err(e) => {
                self.log.error(&e.to_string());
                false
            }
        }
    }

    /// The resource's state on this node as VCS's monitor codes say it.
    fn monitor(&self, hosts: &Hosts, res: &Resource, node: &str) -> u8 {
        let here = match this_node(hosts, res, node) {
            Ok(here) => here,
            Err(e) => {
                self.log.error(&e.to_string());
                return UNKNOWN;
            }
        };
        let code = monitor_code(&here);
        // Only what VCS will act on without knowing why: a fault (reported OFFLINE, so that VCS
        // cleans and fails over) and an unknown state. The normal states go unlogged, as a monitor
        // runs every MonitorInterval.
        if matches!(here.state, ResourceState::Faulted | ResourceState::Unknown)
            || here.agent_degraded()
        {
            self.log.warn(&format!(
                "{} is {} on {node}{}: exit {code}",
                res.guest_name,
                here.state,
                hypervisor(&here)
            ));
        }
        code
    }

    /// attr_changed and open: the rules of `validate --connect` on the resource as VCS now
    /// describes it, logged; nothing else happens and nothing fails (VCS ignores their codes).
    fn check(&self, values: &[String]) {
        let values = &values[arglist::start(values)..];
        if values.is_empty() {
            self.log.warn("no ArgListValues to check");
            return;
        }
        let Some((arglist, rest)) = arglist::parse(values).map_err(|p| self.problems(&[p])).ok()
        else {
            return;
        };
        if let Some(word) = rest.first() {
            self.log.warn(&Problem::unknown(word).to_string());
        }
        let Some((settings, loaded)) = self.load(&arglist, None) else {
            return;
        };
        for w in &loaded.warnings {
            self.log.warn(&w.to_string());
        }
        let Some(res) = loaded.resource() else {
            return;
        };
        let backends = self.backends(&settings);
        let found = agent::readiness(&Hosts::new(&loaded.config, &backends), &[res]);
        for finding in &found {
            self.log.error(&finding.error().to_string());
        }
        if found.is_empty() && loaded.warnings.is_empty() {
            self.log.info(&format!(
                "{} checked on {}: no problems",
                res.guest_name, settings.node
            ));
        }
    }
}

/// The resource's status on this node, or why it could not be had.
fn this_node(hosts: &Hosts, res: &Resource, node: &str) -> Result<SystemStatus> {
    let status = agent::status(hosts, &[res])
        .into_iter()
        .next()
        .ok_or_else(|| Error::Failed(format!("{} was not surveyed", res.name)))?;
    status.usable(node).cloned()
}

/// VCS's monitor code: 100 + confidence/10 when ONLINE, 100 OFFLINE, 200 INTENTIONAL OFFLINE,
/// 99 UNKNOWN. VCS has no code for FAULTED: OFFLINE of a resource it knows online is a fault, and
/// it cleans before it fails over.
fn monitor_code(here: &SystemStatus) -> u8 {
    match here.state {
        ResourceState::Online => OFFLINE + here.confidence.unwrap_or(100) / 10,
        ResourceState::Offline | ResourceState::Faulted => OFFLINE,
        ResourceState::IntentionalOffline => INTENTIONAL_OFFLINE,
        ResourceState::Unknown => UNKNOWN,
    }
}

fn hypervisor(here: &SystemStatus) -> String {
    match (here.hypervisor_words(), here.why.as_str()) {
        (Some(words), "") => format!(" ({words})"),
        (Some(words), why) => format!(" ({words}; {why})"),
        (None, "") => String::new(),
        (None, why) => format!(" ({why})"),
    }
}

/// The migration target from VCSInfo, after the ArgListValues. The Agent Developer's Guide says
/// VCSInfo carries the target host name but not how it is laid out, so each plausible layout is
/// taken: `VCSInfo COUNT key value...` with the key TargetHost (V50's association), `TargetHost 1
/// NAME`, or the name alone.
fn target(rest: &[String]) -> std::result::Result<String, Problem> {
    let missing = || {
        Problem::new(
            "VCSInfo",
            format!(
                "no migration target after the ArgListValues (expected VCSInfo with TargetHost; \
                 got '{}')",
                rest.join(" ")
            ),
        )
    };
    match rest {
        [name] => Ok(name.clone()),
        [key, count, value] if key == "TargetHost" && count == "1" => Ok(value.clone()),
        [key, count, pairs @ ..] if key == "VCSInfo" && count.parse() == Ok(pairs.len()) => pairs
            .chunks(2)
            .find(|p| p[0] == "TargetHost" && p.len() == 2)
            .map(|p| p[1].clone())
            .ok_or_else(missing),
        _ => Err(missing()),
    }
}

/// An action's run: the resource, its hosts, and where its output goes (stdout, which `hares
/// -action` shows its caller).
struct Action<'a> {
    call: &'a Call<'a>,
    hosts: &'a Hosts<'a>,
    res: &'a Resource,
    settings: &'a Settings,
}

impl Action<'_> {
    fn out(&self, text: &str) {
        self.call.context.output.raw(&format!("{text}\n"));
    }

    /// An action's failure: on stdout for `hares -action`'s caller, and in the log.
    fn failed(&self, token: &str, why: &str) -> u8 {
        self.out(&format!("{token} failed: {why}"));
        self.call.log.error(why);
        1
    }

    fn run(&self, token: &str, rest: &[String]) -> u8 {
        if !ACTIONS.contains(&token) {
            let why = format!("unknown action (SupportedActions: {})", ACTIONS.join(", "));
            return self.failed(token, &why);
        }
        let args = match action_args(rest) {
            Ok(args) => args,
            Err(why) => return self.failed(token, &why),
        };
        if token != "DevScan" && !args.is_empty() {
            return self.failed(token, "takes no arguments");
        }
        match token {
            "guestmigrated" => self.guestmigrated(),
            "vmconfigsync" => self.vmconfigsync(),
            _ => self.devscan(&args),
        }
    }

    /// guestmigrated: a guest moved outside VCS (detected by `kvmguestctl watch` or another
    /// watcher). Say where it is as this node sees it, then have VCS look now (`hares -probe`), as
    /// the bundled agent does, instead of at the next MonitorInterval.
    fn guestmigrated(&self) -> u8 {
        let node = &self.settings.node;
        let here = match this_node(self.hosts, self.res, node) {
            Ok(here) => here,
            Err(e) => return self.failed("guestmigrated", &e.to_string()),
        };
        let confidence = here.confidence.map_or(String::new(), |c| format!(" {c}"));
        let why = if here.why.is_empty() {
            String::new()
        } else {
            format!(" ({})", here.why)
        };
        self.out(&format!(
            "{} is {}{confidence} on {node}{why}",
            self.res.guest_name, here.state
        ));
        let hares = &self.settings.hares;
        if !hares.exists() {
            self.out(&format!(
                "{} not found: VCS sees the move at its next monitor",
                hares.display()
            ));
            return 0;
        }
        match probe(hares, &self.res.name, node, self.settings.timeout) {
            Ok(()) => {
                self.out(&format!(
                    "asked VCS to probe {} on {node} (hares -probe)",
                    self.res.name
                ));
                0
            }
            Err(why) => self.failed("guestmigrated", &format!("hares -probe: {why}")),
        }
    }

    /// vmconfigsync: this node's definition saved to SyncDir (the core's vmconfigsync, defining
    /// it nowhere else: havmconfigsync's part is `kvmguestctl vmconfigsync --define-on`). This
    /// node is the resource's one system, so its copy is the source without `--from`.
    fn vmconfigsync(&self) -> u8 {
        let survey = self.hosts.survey(&[self.res]);
        let nowhere = vmconfigsync::DefineOn::These(&[]);
        match vmconfigsync::vmconfigsync(
            self.hosts,
            self.res,
            &survey,
            None,
            nowhere,
            &self.call.log,
        ) {
            Ok(r) => {
                let backup = r.backup.as_ref().map_or(String::new(), |b| {
                    format!("; the previous copy is {}", b.display())
                });
                self.out(&format!(
                    "{} {} (the definition of {} on {}){backup}",
                    r.action,
                    r.path.display(),
                    r.guest,
                    r.source
                ));
                0
            }
            Err(e) => self.failed("vmconfigsync", &e.to_string()),
        }
    }

    /// DevScan (RHEV): arguments `dry-run` and `wait=SECONDS`, words rather than flags because
    /// `hares -actionargs` would take a leading dash for one of its own options.
    fn devscan(&self, args: &[String]) -> u8 {
        let mut options = devscan::DevScanOptions {
            dry_run: false,
            wait: Duration::from_secs(DEVSCAN_WAIT),
        };
        for arg in args {
            match arg.split_once('=') {
                None if arg == "dry-run" => options.dry_run = true,
                Some(("wait", secs)) => match secs.parse::<u64>() {
                    Ok(s) if (1..=3600).contains(&s) => options.wait = Duration::from_secs(s),
                    _ => {
                        let why = format!("wait={secs}: not a number of seconds from 1 to 3600");
                        return self.failed("DevScan", &why);
                    }
                },
                _ => {
                    let why = format!("unknown argument '{arg}' (dry-run, wait=SECONDS)");
                    return self.failed("DevScan", &why);
                }
            }
        }
        match devscan::devscan(self.hosts, self.res, &options, &self.call.log) {
            Ok(r) => {
                for s in &r.steps {
                    let on = match (&s.host, &s.cluster) {
                        (Some(h), Some(c)) => format!(" {h} ({c})"),
                        _ => String::new(),
                    };
                    self.out(&format!("{}{on}: {}: {}", s.step, s.outcome, s.detail));
                }
                self.out(&format!(
                    "SPM {} -> {}{}",
                    r.spm_before.as_deref().unwrap_or("none"),
                    r.spm_after.as_deref().unwrap_or("none"),
                    if r.dry_run {
                        " (dry run: nothing changed)"
                    } else {
                        ""
                    }
                ));
                0
            }
            Err(e) => self.failed("DevScan", &e.to_string()),
        }
    }
}

/// An action's arguments after the ArgListValues: `COUNT ARG...` (nothing at all is none).
fn action_args(rest: &[String]) -> std::result::Result<Vec<String>, String> {
    let Some((count, args)) = rest.split_first() else {
        return Ok(Vec::new());
    };
    match count.parse::<usize>() {
        Ok(n) if n == args.len() => Ok(args.to_vec()),
        Ok(n) => Err(format!(
            "the action's argument COUNT is {n}, but {} argument(s) follow",
            args.len()
        )),
        Err(_) => Err(Problem::unknown(count).to_string()),
    }
}

/// `hares -probe RESOURCE -sys NODE`, given at most `limit` (hares only asks the engine, which
/// answers at once unless it is hung).
fn probe(
    hares: &Path,
    resource: &str,
    node: &str,
    limit: Duration,
) -> std::result::Result<(), String> {
    let mut hares_probe = std::process::Command::new(hares);
    hares_probe.args(["-probe", resource, "-sys", node]);
    match super::bounded_output(&mut hares_probe, limit)? {
        (status, _, _) if status.success() => Ok(()),
        (status, _, stderr) => Err(format!("{status}: {}", stderr.trim())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn entry_points_by_the_name_they_are_run_as() {
        let named = |p: &str| invoked_as(Path::new(p));
        assert_eq!(named("/opt/agent/monitor").as_deref(), Some("monitor"));
        assert_eq!(
            named("/opt/agent/action/DevScan").as_deref(),
            Some("action/DevScan")
        );
        assert_eq!(named("/opt/agent/action/other"), None);
        assert_eq!(named("/usr/bin/kvmguestctl"), None);
        let args = argv(["/a/clean", "r", "GuestName", "1", "g"].map(OsString::from));
        assert_eq!(
            args,
            ["kvmguestctl", "vcs", "clean", "r", "GuestName", "1", "g"]
        );
        let args = argv(["kvmguestctl", "status"].map(OsString::from));
        assert_eq!(args, ["kvmguestctl", "status"]);
    }

    #[test]
    fn the_migration_target_in_each_layout() {
        assert_eq!(target(&words("node2")).unwrap(), "node2");
        assert_eq!(target(&words("TargetHost 1 node2")).unwrap(), "node2");
        assert_eq!(
            target(&words("VCSInfo 4 Other x TargetHost node2")).unwrap(),
            "node2"
        );
        assert!(target(&words("VCSInfo 2 Other x")).is_err());
        assert!(target(&[]).is_err());
    }

    #[test]
    fn action_arguments_are_counted() {
        assert_eq!(action_args(&[]).unwrap(), Vec::<String>::new());
        assert_eq!(
            action_args(&words("2 dry-run wait=5")).unwrap(),
            words("dry-run wait=5")
        );
        assert!(
            action_args(&words("2 dry-run"))
                .unwrap_err()
                .contains("COUNT is 2")
        );
    }
}
