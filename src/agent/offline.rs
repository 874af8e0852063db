//! Offline: graceful shutdown, re-requested while waiting DelayAfterGuestOffline, then Clean.

use std::time::{Duration, Instant};

use super::monitor::ResourceState;
use super::{
    Action, Console, Hosts, Local, Report, destroy, health, hypervisor_definition, local, monitor,
    nothing_to_stop, save_definition, seconds, verdict, wait_until,
};
use crate::backend::{AgentAnswer, Host, Keeper, ShutdownAsked, ShutdownMode};
use crate::error::{Error, Result};
use crate::resource::Resource;

/// How often the shutdown request is sent again while waiting. A request that reaches a guest
/// still booting (ACPI not yet handled, agent not yet up) is lost; one request and a long wait is
/// how Pacemaker's VirtualDomain ends up destroying guests that would have stopped.
pub const RESEND: Duration = Duration::from_secs(5);

/// The graceful shutdown method asked for (also the CLI's `--mode` values and their help).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShutdownRequest {
    /// The guest agent when the guest has its channel, else ACPI
    Auto,
    /// The QEMU guest agent
    Agent,
    /// The ACPI power button
    Acpi,
}

#[derive(Debug, Clone, Copy)]
pub struct OfflineOptions {
    pub mode: ShutdownRequest,
    /// Escalate to Clean when the guest has not stopped after DelayAfterGuestOffline.
    pub kill: bool,
    /// How often the request is sent again ([`RESEND`] unless a test needs it shorter).
    pub resend: Duration,
    /// The graceful wait ends at most this long after the offline began, even before
    /// DelayAfterGuestOffline: a caller with its own timeout (a cluster engine's stop) keeps the
    /// rest of it for the escalation. `None`: the full DelayAfterGuestOffline.
    pub graceful_until: Option<Duration>,
}

/// The stop that acts for someone who cannot be asked on the way (a cluster engine, an offline
/// migration, an evacuation): the agent or ACPI, sent again every [`RESEND`], then destroy after
/// DelayAfterGuestOffline.
pub const STOP: OfflineOptions = OfflineOptions {
    mode: ShutdownRequest::Auto,
    kill: true,
    resend: RESEND,
    graceful_until: None,
};

impl OfflineOptions {
    /// How long to wait for the graceful shutdown when `used` of the offline has passed.
    fn graceful_wait(&self, res: &Resource, used: Duration) -> Duration {
        let delay = seconds(res.delay_after_guest_offline);
        self.graceful_until
            .map_or(delay, |until| delay.min(until.saturating_sub(used)))
    }
}

pub fn offline(
    hosts: &Hosts,
    res: &Resource,
    system: &str,
    opts: &OfflineOptions,
    console: &dyn Console,
) -> Result<Report> {
    shut_down(hosts, res, system, opts, console, false).map(|(report, _)| report)
}

/// Offline; with `carry`, also giving the definition it read before the shutdown (when the
/// backend has one), for an offline migration to carry to the target.
pub(super) fn shut_down(
    hosts: &Hosts,
    res: &Resource,
    system: &str,
    opts: &OfflineOptions,
    console: &dyn Console,
    carry: bool,
) -> Result<(Report, Option<String>)> {
    let started = Instant::now();
    let guest = res.guest_name.as_str();
    let _lock = hosts.hold(res, console)?;
    let (host, before) = match local(hosts, res, system, started)? {
        Local::Defined(host, before) => (host, before),
        Local::Undefined(report) => {
            return Ok((and_where_it_runs(hosts, res, system, report), None));
        }
    };
    // Taken before the shutdown: a transient guest has no definition left afterwards. SyncDir
    // keeps it, and an offline migration carries it to the target; else it is not asked for.
    let xml = if res.sync_dir.is_some() || carry {
        hypervisor_definition(&*host, guest)?
    } else {
        None
    };
    if !before.active {
        let saved = save_definition(res, xml.as_deref())?;
        let report = nothing_to_stop(res, system, &before, "not running", started);
        let report = and_where_it_runs(hosts, res, system, report);
        return Ok((report.saved(saved), xml));
    }
    console.confirm(&shutdown_question(res, system, opts, started.elapsed()))?;
    // The report's time is the operation's, not the time a person took to answer.
    let confirmed = Instant::now();

    // A FAULTED guest (crashed, stopped by an I/O error or its watchdog) cannot hear a shutdown
    // request: waiting DelayAfterGuestOffline would only delay the destroy that must follow.
    let (action, detail) = if before.state == ResourceState::Faulted && opts.kill {
        let how = before.observed.map_or("no state".to_owned(), |o| {
            format!("{}, {}", o.state, o.reason)
        });
        console.step(&format!("{guest} is FAULTED ({how}); destroying it"));
        destroy(&*host, guest)?;
        (
            Action::Killed,
            format!("{guest} was FAULTED ({how}) and was destroyed without a shutdown request"),
        )
    } else {
        ask_to_shut_down(&*host, res, system, opts, started, console).map_err(|e| {
            super::online::unanswered(
                e,
                &format!(
                    "whether {guest} stopped on {system} is unknown (a shutdown request may have \
                     reached it): check with status once {system} answers"
                ),
            )
        })?
    };
    let after = verdict(&*host, guest)?;
    let saved = save_definition(res, xml.as_deref())?;
    let report = Report::new(res, system, action, &after, detail, confirmed).saved(saved);
    Ok((report, xml))
}

/// Ask the guest to shut down, again every `opts.resend`, for the graceful wait; then destroy it
/// (or fail with --no-kill). What was done, for the report.
fn ask_to_shut_down(
    host: &dyn Host,
    res: &Resource,
    system: &str,
    opts: &OfflineOptions,
    started: Instant,
    console: &dyn Console,
) -> Result<(Action, String)> {
    let guest = res.guest_name.as_str();
    let ping = seconds(res.guest_health.ping_timeout);
    // `--mode agent` refuses before the first request, not after the wait.
    let (mut mode, why) = choose(host, res, system, opts.mode, ping);
    if let Some(why) = &why {
        if opts.mode == ShutdownRequest::Agent {
            return Err(Error::Failed(format!(
                "{why}: --mode agent needs a guest agent that answers; use --mode auto (ACPI \
                 when the agent does not answer) or --mode acpi"
            )));
        }
        console.step(&format!("{why}; asking by ACPI"));
    }
    let mut last_request: Option<Duration> = None;
    let mut requests = 0u32;
    // How the first delivered request was made, for the report.
    let mut asked: Option<ShutdownAsked> = None;
    let delay = opts.graceful_wait(res, started.elapsed());
    let message = format!(
        "{guest}: graceful shutdown, up to {:.0}s",
        delay.as_secs_f64()
    );
    let stopped = wait_until(console, &message, delay, |elapsed| {
        if !verdict(host, guest)?.active {
            return Ok(true);
        }
        if last_request.is_none_or(|at| elapsed - at >= opts.resend) {
            // An agent that was not up yet (the guest was still booting) may answer now.
            if last_request.is_some() && opts.mode == ShutdownRequest::Auto {
                let (now, _) = choose(host, res, system, opts.mode, ping);
                if now != mode {
                    console.step(match now {
                        ShutdownMode::Agent => "the guest agent answers now; asking through it",
                        ShutdownMode::Acpi => {
                            "the guest agent does not answer any more; asking by ACPI"
                        }
                    });
                    mode = now;
                }
            }
            last_request = Some(elapsed);
            requests += 1;
            match host.shutdown(guest, mode) {
                Ok(how) => {
                    asked.get_or_insert(how);
                    console.step(&format!(
                        "asked {guest} to shut down ({how}, request {requests})"
                    ))
                }
                Err(e) if opts.mode == ShutdownRequest::Auto && mode == ShutdownMode::Agent => {
                    console.step(&format!(
                        "the guest agent did not take the request ({e}); using ACPI"
                    ));
                    mode = ShutdownMode::Acpi;
                    last_request = None;
                }
                // Keep waiting: the request is sent again, and Clean is the safety net.
                Err(e) => console.step(&format!("shutdown request {requests} failed: {e}")),
            }
        }
        Ok(false)
    })?;

    Ok(if stopped {
        let how = asked.map_or("by itself, before any request".to_owned(), |a| {
            a.to_string()
        });
        (Action::Stopped, format!("{guest} shut down ({how})"))
    } else if !opts.kill {
        return Err(Error::Failed(format!(
            "{guest} is still running on {system} after {:.0}s (DelayAfterGuestOffline); \
             left running because of --no-kill",
            delay.as_secs_f64()
        )));
    } else {
        console.step(&format!(
            "{guest} did not shut down within {:.0}s; destroying it",
            delay.as_secs_f64()
        ));
        destroy(host, guest)?;
        (
            Action::Killed,
            format!("{guest} ignored {requests} shutdown request(s) and was destroyed"),
        )
    })
}

/// The shutdown method for a request: ACPI unless asked for, or the agent answers a ping now (a
/// request to a silent agent is lost, or holds libvirt's agent job for a minute). An engine
/// chooses its method itself. With an agent that does not answer, why not (unless the guest
/// has no agent channel and the caller did not ask for the agent).
fn choose(
    host: &dyn Host,
    res: &Resource,
    system: &str,
    request: ShutdownRequest,
    ping: Duration,
) -> (ShutdownMode, Option<String>) {
    let guest = res.guest_name.as_str();
    if request == ShutdownRequest::Acpi || matches!(host.keeper(), Keeper::Engine(_)) {
        return (ShutdownMode::Acpi, None);
    }
    match host.agent(guest, ping) {
        Ok(check) if check.answer == AgentAnswer::Answered => (ShutdownMode::Agent, None),
        // Nothing to say of a guest that cannot have an agent, unless the agent was asked for.
        Ok(check) if check.answer == AgentAnswer::NoChannel && request == ShutdownRequest::Auto => {
            (ShutdownMode::Acpi, None)
        }
        Ok(check) => (
            ShutdownMode::Acpi,
            Some(health::unanswered(&check, guest, system, ping)),
        ),
        Err(e) => (
            ShutdownMode::Acpi,
            Some(format!(
                "the guest agent of {guest} could not be asked: {e}"
            )),
        ),
    }
}

/// What Offline asks before it shuts a running guest down, `used` into the offline (the wait it
/// names is what is left of it); also the question of a batch of one.
pub fn shutdown_question(
    res: &Resource,
    system: &str,
    opts: &OfflineOptions,
    used: Duration,
) -> String {
    let then = if opts.kill {
        "destroyed"
    } else {
        "left running (--no-kill)"
    };
    format!(
        "Shut down {} on {system}? If it is still running after DelayAfterGuestOffline ({}s), \
         it is {then}.",
        res.guest_name,
        opts.graceful_wait(res, used).as_secs()
    )
}

/// The report of a stop that found nothing to stop on `system`, saying where the guest runs when
/// it runs on another of its systems: a stop aimed at the wrong system would otherwise answer only
/// already-offline. The look is the monitor's (bounded like every call); a system that cannot be
/// asked adds nothing, and never fails the stop: stopping a stopped guest is success, which
/// cluster engines rely on.
fn and_where_it_runs(hosts: &Hosts, res: &Resource, system: &str, report: Report) -> Report {
    if res.systems.iter().all(|s| s == system) {
        return report;
    }
    let status = monitor::judge(res, &hosts.survey(&[res]));
    match status.running_elsewhere(system).as_slice() {
        [] => report,
        systems => Report {
            detail: format!("{}; it runs on {}", report.detail, systems.join(" and ")),
            ..report
        },
    }
}
