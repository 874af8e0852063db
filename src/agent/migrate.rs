//! Migrate: move a running guest to another of its systems (rgmanager's live and pause
//! migrations; offline = stop here, move the definition, start there).

use std::time::{Duration, Instant};

use super::monitor::{self, ResourceState};
use super::offline::shut_down;
use super::{
    Action, Console, Hosts, OnlineOptions, Report, check_system, definitions, online, verdict,
};
use crate::backend::{Host, MigrationRequest, Transfer};
use crate::error::{Error, Result};
use crate::resource::Resource;

/// The length of one monitor cycle while waiting for the guest on the target (MigrateWaitLimit
/// counts these).
pub const MONITOR_CYCLE: Duration = Duration::from_secs(1);

/// How a guest moves (also the CLI's `--mode` values and their help).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MigrateMode {
    /// The guest keeps running while its memory is copied
    Live,
    /// The guest is paused while its memory is copied (shorter, but longer downtime)
    Pause,
    /// Shut down here, move the definition, start on the target
    Offline,
}

pub fn migrate(
    hosts: &Hosts,
    res: &Resource,
    from: &str,
    to: &str,
    mode: MigrateMode,
    console: &dyn Console,
) -> Result<Report> {
    check_system(res, from)?;
    check_system(res, to)?;
    let guest = res.guest_name.as_str();
    if from == to {
        return Err(Error::Usage(format!(
            "{guest} is to migrate from {from} to {to}: pick another target"
        )));
    }
    within_site(hosts, res, from, to)?;
    let _lock = hosts.hold(res, console)?;
    let status = monitor::judge(res, &hosts.survey(&[res]));
    let here = status.usable(from)?;
    let there = status.usable(to)?;
    if there.active {
        return Err(Error::Refused(format!(
            "{guest} already runs on {to}; nothing to migrate there"
        )));
    }
    if !here.active || here.state != ResourceState::Online {
        return Err(Error::Failed(format!(
            "{guest} is not running on {from} ({}{}): there is nothing to migrate",
            here.state,
            here.hypervisor_state
                .map_or(String::new(), |s| format!(", {s}"))
        )));
    }

    let started = Instant::now();
    let transfer = match mode {
        MigrateMode::Offline => return migrate_offline(hosts, res, from, to, console),
        MigrateMode::Live => Transfer::Live,
        MigrateMode::Pause => Transfer::Paused,
    };
    let (source, target) = (hosts.get(res, from)?, hosts.get(res, to)?);
    let target_system = hosts.system(to)?;
    let request = MigrationRequest {
        transfer,
        move_definition: !res.transient,
        uri: hosts.migration_uri(to)?.map(str::to_owned),
        limit: super::seconds(res.migrate_timeout),
    };
    let port = hosts.incoming(to)?;
    let one_at_a_time = port.as_deref().map(|port| {
        port.try_lock().unwrap_or_else(|_| {
            console.step(&format!(
                "{guest} waits for another migration to {to} (one port, one guest at a time)"
            ));
            port.lock().unwrap_or_else(|p| p.into_inner())
        })
    });
    console.step(&format!(
        "migrating {guest} from {from} to {to} ({})",
        mode_name(mode)
    ));
    let message = format!("{guest} {from} -> {to}");
    let done = source
        .migrate(guest, target_system, &request, &|p| {
            let detail = format!(
                "{message}: {}/s, {} left, {} dirty pages/s",
                bytes(p.bytes_per_second),
                bytes(p.remaining_bytes),
                p.dirty_pages_per_second
            );
            console.transfer(&detail, p.processed_bytes, p.total_bytes);
        })
        // Say where the guest is now, as seen now, or that it cannot be seen: that is what the
        // administrator needs next.
        .map_err(|e| e.amended(&where_now(guest, (from, &*source), (to, &*target))));
    // The copy is over: the next migration to this port may begin.
    drop(one_at_a_time);
    let done = done?;

    // The guest must be seen ONLINE on the target within MigrateWaitLimit monitor cycles: a
    // first look, then one per cycle.
    let cycles = res.migrate_wait_limit;
    let arrived = super::watch_guest(
        console,
        &format!("{guest}: MigrateWaitLimit {cycles} cycle(s) on {to}"),
        (MONITOR_CYCLE * cycles.saturating_sub(1), MONITOR_CYCLE),
        &*target,
        guest,
        |v| v.state == ResourceState::Online,
    )?;
    if arrived.state != ResourceState::Online {
        return Err(Error::Failed(format!(
            "{guest} migrated to {to} but is {} there after {cycles} monitor cycle(s) (MigrateWaitLimit)",
            arrived.state
        )));
    }
    let downtime = done.downtime.map_or(String::new(), |d| {
        format!(", downtime {} ms", d.as_millis())
    });
    let detail = format!(
        "{} migration {from} -> {to} in {:.1}s{downtime}",
        mode_name(mode),
        done.elapsed.as_secs_f64()
    );
    Ok(Report::new(
        res,
        to,
        Action::Migrated,
        &arrived,
        detail,
        started,
    ))
}

/// Where a guest runs after a migration that failed, in a message's words.
fn where_now(guest: &str, from: (&str, &dyn Host), to: (&str, &dyn Host)) -> String {
    let look = |host: &dyn Host| verdict(host, guest).map(|v| v.active);
    match (look(from.1), look(to.1)) {
        (Ok(true), Ok(false)) => format!("{guest} keeps running on {}", from.0),
        (Ok(false), Ok(true)) => format!("{guest} is running on {} now", to.0),
        (Ok(true), Ok(true)) => format!(
            "{guest} is live on both {} and {} (a copy may be finishing the migration): check with \
             status",
            from.0, to.0
        ),
        (Ok(false), Ok(false)) => format!("{guest} runs on neither {} nor {}", from.0, to.0),
        (Err(e), _) | (_, Err(e)) => format!(
            "where {guest} runs now is unknown ({e}): check with status once both hosts answer"
        ),
    }
}

/// The disaster-recovery rule: a resource that configures the guest's network for its site
/// (DROpts.ConfigureNetwork = 1) moves only within a site; across sites it fails over instead.
pub fn within_site(hosts: &Hosts, res: &Resource, from: &str, to: &str) -> Result<()> {
    let (site_from, site_to) = (hosts.site(from)?, hosts.site(to)?);
    if res.dr_opts.configure_network && site_from != site_to {
        return Err(Error::Refused(format!(
            "{} is configured for disaster recovery (DROpts.ConfigureNetwork = 1): it cannot migrate \
             across sites ({from} is at {}, {to} at {})",
            res.name,
            site_from.unwrap_or("no site"),
            site_to.unwrap_or("no site")
        )));
    }
    Ok(())
}

/// Where a migration starts when no system is named: the one system of the resource where the
/// guest is live (`hares -migrate` and `pcs resource move` find it the same way). Live nowhere is
/// exit 3, unless a system could not be asked (its error: the guest may run there); live on two
/// is a concurrency violation, which no migration should pick a side of.
pub fn source(status: &monitor::ResourceStatus) -> Result<String> {
    let live = status.live_systems();
    let guest = &status.guest;
    match live.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => {
            if let Some(e) = status.systems.iter().find_map(|s| s.error_class.clone()) {
                return Err(e);
            }
            // Live on none of its systems, running_on holds only hosts outside them (an engine's).
            Err(Error::Unknown(match status.running_on.as_slice() {
                [] => format!("{guest} is not running on any of its systems"),
                outside => format!(
                    "{guest} is not running on any of its systems; it runs on {}, which is not one of them",
                    outside.join(", ")
                ),
            }))
        }
        [first, others @ ..] => Err(live_twice(status, &[first], others)),
    }
}

/// Why a guest live on `here` and on `elsewhere` does not move: two copies that run are a
/// concurrency violation, for a person to resolve; one copy paused in transit is a migration under
/// way (another command's), to be left alone.
pub fn live_twice(status: &monitor::ResourceStatus, here: &[&str], elsewhere: &[&str]) -> Error {
    let (guest, all) = (&status.guest, [here, elsewhere].concat().join(" and "));
    if status.concurrency_violation {
        Error::Concurrency(format!(
            "{guest} runs on {all} at once (concurrency violation): resolve that first"
        ))
    } else {
        Error::Refused(format!(
            "{guest} is migrating between {all} (another command moves it): left alone"
        ))
    }
}

/// Stop here, move the definition, start there: for guests that cannot migrate while running.
fn migrate_offline(
    hosts: &Hosts,
    res: &Resource,
    from: &str,
    to: &str,
    console: &dyn Console,
) -> Result<Report> {
    let started = Instant::now();
    let guest = res.guest_name.as_str();
    let source = hosts.get(res, from)?;
    let (_, xml) = shut_down(hosts, res, from, &super::STOP, console, true)?;
    // The definition moves with the guest, unless it is transient or its engine keeps it.
    let xml = xml.filter(|_| !res.transient);
    let moves = xml.is_some();
    if let Some(xml) = &xml {
        console.step(&format!("defining {guest} on {to}"));
        definitions(&*hosts.get(res, to)?)?.define(xml)?;
    }
    let report = online(hosts, res, to, &OnlineOptions::default(), console)?;
    let mut detail = format!(
        "offline migration {from} -> {to} in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    if moves && verdict(&*source, guest)?.observed.is_some() {
        match definitions(&*source)?.undefine(guest) {
            Ok(()) => console.step(&format!("removed the definition of {guest} from {from}")),
            Err(e) => detail.push_str(&format!("; its definition is still on {from}: {e}")),
        }
    }
    Ok(Report {
        action: Action::Migrated,
        detail,
        seconds: super::tenths(started),
        ..report
    })
}

fn mode_name(mode: MigrateMode) -> &'static str {
    match mode {
        MigrateMode::Live => "live",
        MigrateMode::Pause => "pause",
        MigrateMode::Offline => "offline",
    }
}

fn bytes(n: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    format!("{:.1} MiB", n as f64 / MIB)
}
