//! libvirt's domain states and reasons (virDomainState and its per-state reason enums), in the
//! shared vocabulary of [`GuestState`]. libvirt's numbers live here and nowhere else.

use virt::sys;

use crate::backend::{Activity, GuestState, Observed, Placement};

/// A state and reason as `virDomainGetState` or the bulk stats report them.
pub fn guest_state(state: u32, reason: i32) -> GuestState {
    let reason = u32::try_from(reason).unwrap_or(u32::MAX);
    GuestState {
        activity: activity(state, reason),
        live: matches!(
            state,
            sys::VIR_DOMAIN_RUNNING
                | sys::VIR_DOMAIN_BLOCKED
                | sys::VIR_DOMAIN_PAUSED
                | sys::VIR_DOMAIN_SHUTDOWN
                | sys::VIR_DOMAIN_CRASHED
                | sys::VIR_DOMAIN_PMSUSPENDED
        ),
        // A libvirt host reports only its own guests.
        placement: Placement::Here,
        observed: state_name(state).map(|name| Observed {
            state: name,
            reason: reason_name(state, reason),
        }),
    }
}

fn activity(state: u32, reason: u32) -> Activity {
    use Activity::*;
    match (state, reason) {
        (
            sys::VIR_DOMAIN_RUNNING,
            sys::VIR_DOMAIN_RUNNING_CRASHED | sys::VIR_DOMAIN_RUNNING_POSTCOPY_FAILED,
        ) => Failed,
        (sys::VIR_DOMAIN_RUNNING, sys::VIR_DOMAIN_RUNNING_POSTCOPY) => ReceivingMemory,
        (sys::VIR_DOMAIN_RUNNING | sys::VIR_DOMAIN_BLOCKED, _) => Running,
        (
            sys::VIR_DOMAIN_PAUSED,
            sys::VIR_DOMAIN_PAUSED_MIGRATION | sys::VIR_DOMAIN_PAUSED_POSTCOPY,
        ) => Migrating,
        (sys::VIR_DOMAIN_PAUSED, sys::VIR_DOMAIN_PAUSED_SAVE) => Saving,
        (
            sys::VIR_DOMAIN_PAUSED,
            sys::VIR_DOMAIN_PAUSED_IOERROR
            | sys::VIR_DOMAIN_PAUSED_WATCHDOG
            | sys::VIR_DOMAIN_PAUSED_CRASHED
            | sys::VIR_DOMAIN_PAUSED_POSTCOPY_FAILED
            | sys::VIR_DOMAIN_PAUSED_API_ERROR,
        ) => Failed,
        (sys::VIR_DOMAIN_PAUSED, sys::VIR_DOMAIN_PAUSED_SHUTTING_DOWN) => PoweringDown,
        (sys::VIR_DOMAIN_PAUSED, sys::VIR_DOMAIN_PAUSED_STARTING_UP) => Launching,
        (sys::VIR_DOMAIN_PAUSED, _) => Paused,
        (sys::VIR_DOMAIN_SHUTDOWN, _) => PoweringDown,
        (
            sys::VIR_DOMAIN_SHUTOFF,
            sys::VIR_DOMAIN_SHUTOFF_CRASHED
            | sys::VIR_DOMAIN_SHUTOFF_FAILED
            | sys::VIR_DOMAIN_SHUTOFF_DAEMON,
        ) => Failed,
        (sys::VIR_DOMAIN_SHUTOFF, sys::VIR_DOMAIN_SHUTOFF_MIGRATED) => MigratedAway,
        (sys::VIR_DOMAIN_SHUTOFF, sys::VIR_DOMAIN_SHUTOFF_SAVED) => Suspended,
        (sys::VIR_DOMAIN_SHUTOFF, _) => ShutOff,
        (sys::VIR_DOMAIN_CRASHED, _) => Failed,
        (sys::VIR_DOMAIN_PMSUSPENDED, _) => Suspended,
        _ => Unknown,
    }
}

fn state_name(state: u32) -> Option<&'static str> {
    Some(match state {
        sys::VIR_DOMAIN_NOSTATE => "no state",
        sys::VIR_DOMAIN_RUNNING => "running",
        sys::VIR_DOMAIN_BLOCKED => "blocked",
        sys::VIR_DOMAIN_PAUSED => "paused",
        sys::VIR_DOMAIN_SHUTDOWN => "shutting down",
        sys::VIR_DOMAIN_SHUTOFF => "shut off",
        sys::VIR_DOMAIN_CRASHED => "crashed",
        sys::VIR_DOMAIN_PMSUSPENDED => "pmsuspended",
        _ => return None,
    })
}

/// The reason's name as `virsh domstate --reason` words it; "unknown" for numbers libvirt may add.
fn reason_name(state: u32, reason: u32) -> &'static str {
    match (state, reason) {
        (sys::VIR_DOMAIN_RUNNING, sys::VIR_DOMAIN_RUNNING_BOOTED) => "booted",
        (sys::VIR_DOMAIN_RUNNING, sys::VIR_DOMAIN_RUNNING_MIGRATED) => "migrated",
        (sys::VIR_DOMAIN_RUNNING, sys::VIR_DOMAIN_RUNNING_RESTORED) => "restored",
        (sys::VIR_DOMAIN_RUNNING, sys::VIR_DOMAIN_RUNNING_FROM_SNAPSHOT) => "from snapshot",
        (sys::VIR_DOMAIN_RUNNING, sys::VIR_DOMAIN_RUNNING_UNPAUSED) => "unpaused",
        (sys::VIR_DOMAIN_RUNNING, sys::VIR_DOMAIN_RUNNING_MIGRATION_CANCELED) => {
            "migration canceled"
        }
        (sys::VIR_DOMAIN_RUNNING, sys::VIR_DOMAIN_RUNNING_SAVE_CANCELED) => "save canceled",
        (sys::VIR_DOMAIN_RUNNING, sys::VIR_DOMAIN_RUNNING_WAKEUP) => "wakeup",
        (sys::VIR_DOMAIN_RUNNING, sys::VIR_DOMAIN_RUNNING_CRASHED) => "crashed",
        (sys::VIR_DOMAIN_RUNNING, sys::VIR_DOMAIN_RUNNING_POSTCOPY) => "post-copy",
        (sys::VIR_DOMAIN_RUNNING, sys::VIR_DOMAIN_RUNNING_POSTCOPY_FAILED) => "post-copy failed",
        (sys::VIR_DOMAIN_PAUSED, sys::VIR_DOMAIN_PAUSED_USER) => "user",
        (sys::VIR_DOMAIN_PAUSED, sys::VIR_DOMAIN_PAUSED_MIGRATION) => "migrating",
        (sys::VIR_DOMAIN_PAUSED, sys::VIR_DOMAIN_PAUSED_SAVE) => "saving",
        (sys::VIR_DOMAIN_PAUSED, sys::VIR_DOMAIN_PAUSED_DUMP) => "dumping",
        (sys::VIR_DOMAIN_PAUSED, sys::VIR_DOMAIN_PAUSED_IOERROR) => "I/O error",
        (sys::VIR_DOMAIN_PAUSED, sys::VIR_DOMAIN_PAUSED_WATCHDOG) => "watchdog",
        (sys::VIR_DOMAIN_PAUSED, sys::VIR_DOMAIN_PAUSED_FROM_SNAPSHOT) => "from snapshot",
        (sys::VIR_DOMAIN_PAUSED, sys::VIR_DOMAIN_PAUSED_SHUTTING_DOWN) => "shutting down",
        (sys::VIR_DOMAIN_PAUSED, sys::VIR_DOMAIN_PAUSED_SNAPSHOT) => "creating snapshot",
        (sys::VIR_DOMAIN_PAUSED, sys::VIR_DOMAIN_PAUSED_CRASHED) => "crashed",
        (sys::VIR_DOMAIN_PAUSED, sys::VIR_DOMAIN_PAUSED_STARTING_UP) => "starting up",
        (sys::VIR_DOMAIN_PAUSED, sys::VIR_DOMAIN_PAUSED_POSTCOPY) => "post-copy",
        (sys::VIR_DOMAIN_PAUSED, sys::VIR_DOMAIN_PAUSED_POSTCOPY_FAILED) => "post-copy failed",
        (sys::VIR_DOMAIN_PAUSED, sys::VIR_DOMAIN_PAUSED_API_ERROR) => "API error",
        (sys::VIR_DOMAIN_SHUTDOWN, sys::VIR_DOMAIN_SHUTDOWN_USER) => "user",
        (sys::VIR_DOMAIN_SHUTOFF, sys::VIR_DOMAIN_SHUTOFF_SHUTDOWN) => "shutdown",
        (sys::VIR_DOMAIN_SHUTOFF, sys::VIR_DOMAIN_SHUTOFF_DESTROYED) => "destroyed",
        (sys::VIR_DOMAIN_SHUTOFF, sys::VIR_DOMAIN_SHUTOFF_CRASHED) => "crashed",
        (sys::VIR_DOMAIN_SHUTOFF, sys::VIR_DOMAIN_SHUTOFF_MIGRATED) => "migrated",
        (sys::VIR_DOMAIN_SHUTOFF, sys::VIR_DOMAIN_SHUTOFF_SAVED) => "saved",
        (sys::VIR_DOMAIN_SHUTOFF, sys::VIR_DOMAIN_SHUTOFF_FAILED) => "failed",
        (sys::VIR_DOMAIN_SHUTOFF, sys::VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT) => "from snapshot",
        (sys::VIR_DOMAIN_SHUTOFF, sys::VIR_DOMAIN_SHUTOFF_DAEMON) => "daemon",
        (sys::VIR_DOMAIN_CRASHED, sys::VIR_DOMAIN_CRASHED_PANICKED) => "panicked",
        _ => "unknown",
    }
}
