//! Online: define if configured, start, wait DelayAfterGuestOnline, verify by monitoring.

use std::time::{Duration, Instant};

use super::monitor::{self, ResourceState};
use super::{
    Action, Console, Hosts, Report, check_system, definition, domain_xml, health, seconds,
    watch_guest,
};
use crate::backend::{AgentAnswer, Definitions, EngineVms, Host, Keeper, Payload};
use crate::error::{Error, Result};
use crate::resource::Resource;

/// The payload file's name on the guest's cdrom, and its format version (the first line a
/// guest-side script checks; see examples/rhev/kvmguestctl-dr-network).
pub const DR_PAYLOAD_FILE: &str = "kvmguestctl-dr.conf";
pub const DR_PAYLOAD_FORMAT: &str = "kvmguestctl-dr/1";

/// How much longer than DelayAfterGuestOnline `start` waits for the guest agent (GuestHealth):
/// an OS takes tens of seconds to boot to the point where its agent runs.
pub const AGENT_MARGIN: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Default)]
pub struct OnlineOptions {
    /// Systems that could not be asked but that the administrator vouches for (fenced, powered
    /// off): the guest is taken as not running there.
    pub assume_stopped: Vec<String>,
    /// The wait for the guest agent ends at most this long after the online began: a caller with
    /// its own timeout (a cluster engine's start) keeps the rest for the verification. `None`:
    /// DelayAfterGuestOnline plus [`AGENT_MARGIN`].
    pub until: Option<Duration>,
}

pub fn online(
    hosts: &Hosts,
    res: &Resource,
    system: &str,
    opts: &OnlineOptions,
    console: &dyn Console,
) -> Result<Report> {
    check_system(res, system)?;
    let started = Instant::now();
    let guest = res.guest_name.as_str();
    // Taken before the look: what is decided from it stays true while this online acts.
    let _lock = hosts.hold(res, console)?;
    let status = monitor::judge(res, &hosts.survey(&[res]));
    refuse_a_second_copy(res, system, &status, opts)?;
    let here = status.usable(system)?;
    if here.active {
        if here.state == ResourceState::Online {
            let detail = already_online(hosts, res, system, here);
            return Ok(Report::new(
                res,
                system,
                Action::AlreadyOnline,
                &here.verdict(),
                detail,
                started,
            ));
        }
        let hypervisor = here.hypervisor_words().unwrap_or_else(|| "live".to_owned());
        return Err(Error::Failed(format!(
            "{guest} is {} on {system} ({hypervisor}): it holds a live instance there; stop or \
             clean it before starting it again",
            here.state
        )));
    }

    let host = hosts.get(res, system)?;
    let defined = here.hypervisor_state.is_some();
    match host.keeper() {
        Keeper::Engine(vms) => start_engine_vm(hosts, res, system, &*host, vms, defined, console),
        Keeper::Hypervisor(definitions) if res.transient => {
            create_transient(res, system, definitions, defined, console)
        }
        Keeper::Hypervisor(definitions) => {
            define_if_configured(hosts, res, &status, system, definitions, defined, console)?;
            console.step(&format!("starting {guest} on {system}"));
            host.start(guest)
        }
    }
    .map_err(|e| {
        unanswered(
            e,
            &format!("the start may still take effect once {system} answers: check with status"),
        )
    })?;
    let launched = Instant::now();
    let waited = match host.keeper() {
        Keeper::Hypervisor(_) if res.guest_health.enabled => {
            let limit = (seconds(res.delay_after_guest_online) + AGENT_MARGIN).min(
                opts.until.map_or(Duration::MAX, |until| {
                    until.saturating_sub(started.elapsed())
                }),
            );
            wait_for_the_agent(res, system, &*host, limit, console).map(|(v, note)| (v, Some(note)))
        }
        _ => settle(res, &*host, console).map(|v| (v, None)),
    };
    let (v, agent) = waited.map_err(|e| {
        unanswered(
            e,
            &format!("{guest} was started on {system}; whether it runs now is unknown"),
        )
    })?;
    let observed = v.observed.map_or("not defined".to_owned(), |o| {
        format!("{} ({})", o.state, o.reason)
    });
    if v.state != ResourceState::Online {
        return Err(Error::Failed(format!(
            "{guest} did not come online on {system}: {:.1}s after the start it is {} ({observed})",
            launched.elapsed().as_secs_f64(),
            v.state
        )));
    }
    // Nothing serialises two starts on two systems (that is the cluster engine's or sanlock's
    // job), but a second copy that appeared meanwhile is said at once, not left to the next
    // monitor.
    console.step(&format!("verifying that {guest} runs on {system} only"));
    let after = monitor::judge(res, &hosts.survey(&[res]));
    if after.concurrency_violation {
        return Err(Error::Concurrency(format!(
            "CONCURRENCY VIOLATION: {guest} now runs on {} at once",
            after.running_on.join(" and ")
        )));
    }
    let detail = match agent {
        Some(note) => format!("{observed}; {note}"),
        None => observed,
    };
    Ok(Report::new(
        res,
        system,
        Action::Started,
        &v,
        detail,
        started,
    ))
}

/// A hypervisor that stopped answering mid-operation leaves its outcome open: say what is known.
pub(super) fn unanswered(e: Error, known: &str) -> Error {
    match e {
        Error::Timeout { .. } | Error::Unreachable { .. } => e.amended(known),
        other => other,
    }
}

/// What a guest that is already ONLINE here is doing, and what to do about it when `start`
/// cannot: a paused guest is ONLINE (confidence 20) but serves nothing until it is resumed.
fn already_online(
    hosts: &Hosts,
    res: &Resource,
    system: &str,
    here: &monitor::SystemStatus,
) -> String {
    use crate::backend::Activity;
    let guest = res.guest_name.as_str();
    let said = here
        .hypervisor_words()
        .map_or(String::new(), |words| format!(" ({words})"));
    match here.activity {
        Some(Activity::Paused) if res.environment.has_engine() => format!(
            "{guest} is paused on {system}{said}: resume it in the engine (Run in the \
             Administration Portal, or the API's start action)"
        ),
        Some(Activity::Paused) => {
            let uri = hosts
                .system(system)
                .ok()
                .and_then(|s| s.uri.as_deref())
                .map_or(String::new(), |uri| format!("-c '{uri}' "));
            format!(
                "{guest} is paused on {system}{said}: resume it with `virsh {uri}resume {guest}`"
            )
        }
        Some(Activity::PoweringDown) => {
            format!("{guest} is shutting down on {system}{said}: start it again once it is off")
        }
        Some(Activity::Launching | Activity::PoweringUp | Activity::Restoring) => {
            format!("{guest} is starting on {system}{said}")
        }
        _ => format!("{guest} already runs on {system}{said}"),
    }
}

/// One guest, one host: never start a second copy, and never guess about a host that cannot be
/// asked (unless the administrator vouches for it with --assume-stopped).
fn refuse_a_second_copy(
    res: &Resource,
    system: &str,
    status: &monitor::ResourceStatus,
    opts: &OnlineOptions,
) -> Result<()> {
    let guest = res.guest_name.as_str();
    let elsewhere = status.running_elsewhere(system);
    if !elsewhere.is_empty() {
        return Err(Error::Refused(format!(
            "{guest} already runs on {}; refusing to start a second copy on {system}",
            elsewhere.join(", ")
        )));
    }
    for other in status.systems.iter().filter(|s| s.system != system) {
        // An engine that cannot be asked is so for every system: fencing a host would not help.
        if res.environment.has_engine()
            && let Some(e) = &other.error_class
        {
            return Err(e.clone());
        }
        let doubt = match (&other.error, other.state) {
            (Some(e), _) => Some(e.clone()),
            (None, ResourceState::Unknown) => Some(format!(
                "its state there is UNKNOWN ({})",
                other.hypervisor_state.unwrap_or("unclassified")
            )),
            _ => None,
        };
        if let Some(why) = doubt
            && !opts.assume_stopped.contains(&other.system)
        {
            return Err(Error::Refused(format!(
                "cannot tell whether {guest} runs on {}: {why}. Start it only once you know it does \
                 not (fence or power off that host), then pass --assume-stopped {}",
                other.system, other.system
            )));
        }
    }
    Ok(())
}

/// An engine's VM exists before it starts: hand it the site's network settings when configured,
/// then start it on this system's host.
fn start_engine_vm(
    hosts: &Hosts,
    res: &Resource,
    system: &str,
    host: &dyn Host,
    vms: &dyn EngineVms,
    defined: bool,
    console: &dyn Console,
) -> Result<()> {
    let guest = res.guest_name.as_str();
    if !defined {
        return Err(vms.missing(guest));
    }
    if res.dr_opts.configure_network {
        let site = hosts.site(system)?;
        console.step(&format!(
            "setting the disaster-recovery network payload of {guest} ({})",
            site.map_or("no site".to_owned(), |s| format!("site {s}"))
        ));
        vms.set_payload(guest, &dr_payload(res, site))?;
    }
    console.step(&format!("starting {guest} on {system}"));
    host.start(guest)
}

/// A Transient resource's guest is created and started from GuestConfigFilePath each time, and
/// leaves no definition behind when it stops.
fn create_transient(
    res: &Resource,
    system: &str,
    definitions: &dyn Definitions,
    defined: bool,
    console: &dyn Console,
) -> Result<()> {
    let guest = res.guest_name.as_str();
    // A defined but inactive guest can only be persistent: transient ones vanish when they stop.
    if defined {
        return Err(Error::Refused(format!(
            "{guest} has a persistent definition on {system}, but {} is Transient: \
             undefine it there first, or set Transient: 0",
            res.name
        )));
    }
    let path = res.guest_config_file_path.as_deref().ok_or_else(|| {
        Error::Config(format!(
            "{} is Transient but has no GuestConfigFilePath",
            res.name
        ))
    })?;
    let xml = definition::read_config_file(path, guest)?;
    console.step(&format!(
        "creating transient {guest} on {system} from {}",
        path.display()
    ));
    definitions.create_transient(&xml)
}

/// Define the guest from GuestConfigFilePath when it is not defined here, or always with
/// ResyncVMCfg. A file without a `<uuid>` gets the guest's existing one: the one it has here
/// (libvirt requires it of a redefinition), else the one it has on another of its systems
/// (libvirt would make up a new UUID on each host, and a migration to a host that holds the guest
/// under another UUID fails: "domain already exists with uuid").
fn define_if_configured(
    hosts: &Hosts,
    res: &Resource,
    status: &monitor::ResourceStatus,
    system: &str,
    definitions: &dyn Definitions,
    defined: bool,
    console: &dyn Console,
) -> Result<()> {
    let guest = res.guest_name.as_str();
    match &res.guest_config_file_path {
        Some(path) if !defined || res.resync_vm_cfg => {
            let mut xml = definition::read_config_file(path, guest)?;
            let existing = if defined {
                domain_xml::uuid(&definitions.definition(guest)?)
            } else {
                uuid_elsewhere(hosts, res, status, system)
            };
            if let Some(existing) = existing {
                xml = domain_xml::keeping_uuid(&xml, &existing);
            }
            let why = if defined {
                "ResyncVMCfg = 1"
            } else {
                "not defined here"
            };
            console.step(&format!(
                "defining {guest} on {system} from {} ({why})",
                path.display()
            ));
            definitions.define(&xml)
        }
        None if !defined => Err(Error::Unknown(format!(
            "{guest} is not defined on {system}, and {} has no GuestConfigFilePath to define it from",
            res.name
        ))),
        _ => Ok(()),
    }
}

/// Wait DelayAfterGuestOnline (the guest settles) unless the guest dies during it; the last look
/// is the verification.
fn settle(res: &Resource, host: &dyn Host, console: &dyn Console) -> Result<monitor::Verdict> {
    let guest = res.guest_name.as_str();
    let message = format!(
        "{guest}: DelayAfterGuestOnline {}s",
        res.delay_after_guest_online
    );
    watch_guest(
        console,
        &message,
        (seconds(res.delay_after_guest_online), super::POLL),
        host,
        guest,
        |v| !v.active,
    )
}

/// The guest's UUID on the first other system of the resource where the look found it defined
/// (a system that could not be asked is not asked again).
fn uuid_elsewhere(
    hosts: &Hosts,
    res: &Resource,
    status: &monitor::ResourceStatus,
    system: &str,
) -> Option<String> {
    status
        .systems
        .iter()
        .filter(|s| s.system != system && s.hypervisor_state.is_some())
        .find_map(|other| {
            let host = hosts.get(res, &other.system).ok()?;
            let xml = super::hypervisor_definition(&*host, &res.guest_name).ok()??;
            domain_xml::uuid(&xml)
        })
}

/// GuestHealth's proof of life: wait until the guest agent answers (or the guest dies, or it
/// turns out to have no agent channel), at most `limit`. The last look, and what became of the
/// agent, for the report.
fn wait_for_the_agent(
    res: &Resource,
    system: &str,
    host: &dyn Host,
    limit: Duration,
    console: &dyn Console,
) -> Result<(monitor::Verdict, String)> {
    let guest = res.guest_name.as_str();
    let ping = seconds(res.guest_health.ping_timeout);
    let message = format!(
        "{guest}: waiting for its guest agent, up to {:.0}s",
        limit.as_secs_f64()
    );
    let launched = Instant::now();
    let mut last = None;
    let mut answered = None;
    super::wait_every(console, &message, limit, AGENT_POLL, |_| {
        let v = super::verdict(host, guest)?;
        let gone = !v.active;
        last = Some(v);
        if gone {
            return Ok(true);
        }
        let check = host.agent(guest, ping)?;
        let done = matches!(check.answer, AgentAnswer::Answered | AgentAnswer::NoChannel);
        answered = Some((check, launched.elapsed()));
        Ok(done)
    })?;
    let v = match last {
        Some(v) => v,
        None => super::verdict(host, guest)?,
    };
    let note = match answered {
        Some((check, after)) if check.answer == AgentAnswer::Answered => format!(
            "up in {:.1}s: its guest agent answered",
            after.as_secs_f64()
        ),
        Some((check, _)) if check.answer == AgentAnswer::NoChannel => format!(
            "{}: GuestHealth has no agent to wait for",
            health::unanswered(&check, guest, system, ping)
        ),
        Some((check, after)) => format!(
            "{} after {:.0}s; its silence is not held against it until it has answered once",
            health::unanswered(&check, guest, system, ping),
            after.as_secs_f64()
        ),
        None => "it stopped before its guest agent was asked".to_owned(),
    };
    Ok((v, note))
}

/// How often `start` asks the guest agent whether it is up yet.
const AGENT_POLL: Duration = Duration::from_secs(1);

/// The site's network settings for the guest, as `KEY=VALUE` lines (values are validated
/// addresses and names, never quoted; lists are space-separated; unset keys are empty).
pub fn dr_payload(res: &Resource, site: Option<&str>) -> Payload {
    let dr = &res.dr_opts;
    let value = |v: &Option<String>| v.as_deref().unwrap_or_default().to_owned();
    let content = format!(
        "# kvmguestctl disaster-recovery network settings for resource {} ({})\n\
         FORMAT={DR_PAYLOAD_FORMAT}\n\
         DEVICE={}\n\
         IPADDRESS={}\n\
         NETMASK={}\n\
         GATEWAY={}\n\
         DNSSERVERS={}\n\
         DNSSEARCHPATH={}\n",
        res.name,
        site.map_or("no site".to_owned(), |s| format!("site {s}")),
        value(&dr.device),
        value(&dr.ip_address),
        value(&dr.netmask),
        value(&dr.gateway),
        value(&dr.dns_servers),
        value(&dr.dns_search_path),
    );
    Payload {
        files: vec![(DR_PAYLOAD_FILE.to_owned(), content)],
    }
}
