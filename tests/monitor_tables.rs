//! The monitor's mapping tables, end to end: each backend's own states, translated into the
//! shared vocabulary by the backend, then judged by `agent::monitor`. Every cell is a row here.

use kvmguestctl::agent::monitor::{ResourceState, ResourceState::*, Verdict, classify};
use kvmguestctl::backend::{Observed, Placement, libvirt, rhev};

fn at(state: u32, reason: i32) -> Verdict {
    classify(&libvirt::states::guest_state(state, reason))
}

/// An engine VM status on a placement; "none" stands for a VM without a status.
fn rhev(status: &str, placement: Placement) -> Verdict {
    let status = (status != "none").then_some(status);
    classify(&rhev::guest_state(status, placement))
}

fn observed(state: &'static str, reason: &'static str) -> Observed {
    Observed { state, reason }
}

/// Every libvirt state and reason, with the expected (state, confidence, active, names).
#[test]
fn the_whole_table() {
    /// (libvirt state, reason, resource state, confidence, active, state name, reason name)
    type Row = (
        u32,
        i32,
        ResourceState,
        Option<u8>,
        bool,
        &'static str,
        &'static str,
    );
    #[rustfmt::skip]
    let table: &[Row] = &[
        (0, 0, Unknown, None, false, "no state", "unknown"),
        (1, 0, Online, Some(100), true, "running", "unknown"),
        (1, 1, Online, Some(100), true, "running", "booted"),
        (1, 2, Online, Some(100), true, "running", "migrated"),
        (1, 3, Online, Some(100), true, "running", "restored"),
        (1, 4, Online, Some(100), true, "running", "from snapshot"),
        (1, 5, Online, Some(100), true, "running", "unpaused"),
        (1, 6, Online, Some(100), true, "running", "migration canceled"),
        (1, 7, Online, Some(100), true, "running", "save canceled"),
        (1, 8, Online, Some(100), true, "running", "wakeup"),
        (1, 9, Faulted, None, true, "running", "crashed"),
        (1, 10, Online, Some(60), true, "running", "post-copy"),
        (1, 11, Faulted, None, true, "running", "post-copy failed"),
        (2, 0, Online, Some(100), true, "blocked", "unknown"),
        (3, 0, Online, Some(20), true, "paused", "unknown"),
        (3, 1, Online, Some(20), true, "paused", "user"),
        (3, 2, IntentionalOffline, None, true, "paused", "migrating"),
        (3, 3, IntentionalOffline, None, true, "paused", "saving"),
        (3, 4, Online, Some(20), true, "paused", "dumping"),
        (3, 5, Faulted, None, true, "paused", "I/O error"),
        (3, 6, Faulted, None, true, "paused", "watchdog"),
        (3, 7, Online, Some(20), true, "paused", "from snapshot"),
        (3, 8, Online, Some(40), true, "paused", "shutting down"),
        (3, 9, Online, Some(20), true, "paused", "creating snapshot"),
        (3, 10, Faulted, None, true, "paused", "crashed"),
        (3, 11, Online, Some(10), true, "paused", "starting up"),
        (3, 12, IntentionalOffline, None, true, "paused", "post-copy"),
        (3, 13, Faulted, None, true, "paused", "post-copy failed"),
        (3, 14, Faulted, None, true, "paused", "API error"),
        (4, 0, Online, Some(40), true, "shutting down", "unknown"),
        (4, 1, Online, Some(40), true, "shutting down", "user"),
        (5, 0, Offline, None, false, "shut off", "unknown"),
        (5, 1, Offline, None, false, "shut off", "shutdown"),
        (5, 2, Offline, None, false, "shut off", "destroyed"),
        (5, 3, Faulted, None, false, "shut off", "crashed"),
        (5, 4, IntentionalOffline, None, false, "shut off", "migrated"),
        (5, 5, IntentionalOffline, None, false, "shut off", "saved"),
        (5, 6, Faulted, None, false, "shut off", "failed"),
        (5, 7, Offline, None, false, "shut off", "from snapshot"),
        (5, 8, Faulted, None, false, "shut off", "daemon"),
        (6, 0, Faulted, None, true, "crashed", "unknown"),
        (6, 1, Faulted, None, true, "crashed", "panicked"),
        (7, 0, IntentionalOffline, None, true, "pmsuspended", "unknown"),
    ];
    for &(state, reason, expected, confidence, active, name, why) in table {
        let v = at(state, reason);
        let cell = format!("state {state} reason {reason}");
        assert_eq!(v.state, expected, "{cell}");
        assert_eq!(v.confidence, confidence, "{cell}");
        assert_eq!(v.active, active, "{cell}");
        assert_eq!(v.observed, Some(observed(name, why)), "{cell}");
    }
}

/// The specification's RHEV table and the statuses it leaves out, on the VM's own host; a VM
/// without a host is never live; one on another host is OFFLINE here and names that host.
#[test]
fn the_rhev_table() {
    #[rustfmt::skip]
    let table: &[(&'static str, ResourceState, Option<u8>)] = &[
        ("wait_for_launch", Online, Some(10)),
        ("powering_up", Online, Some(60)),
        ("up", Online, Some(100)),
        ("powering_down", Online, Some(40)),
        ("paused", Online, Some(20)),
        ("restoring_state", Online, Some(50)),
        ("down", Offline, None),
        ("saving_state", IntentionalOffline, None),
        ("suspended", IntentionalOffline, None),
        ("migrating", IntentionalOffline, None),
        ("reboot_in_progress", IntentionalOffline, None),
        ("image_locked", Unknown, None),
        ("unknown", Unknown, None),
        ("not_responding", Unknown, None),
        ("unassigned", Unknown, None),
        ("none", Unknown, None),
        ("unrecognised", Unknown, None),
    ];
    for &(status, expected, confidence) in table {
        let here = rhev(status, Placement::Here);
        assert_eq!(
            (here.state, here.confidence),
            (expected, confidence),
            "{status}"
        );
        assert!(here.active, "{status}");
        assert_eq!(here.observed, Some(observed(status, "on this host")));
        let nowhere = rhev(status, Placement::Nowhere);
        let hostless = matches!(status, "down" | "suspended" | "image_locked");
        assert_eq!(
            nowhere.state,
            if hostless { expected } else { Unknown },
            "{status}"
        );
        assert!(!nowhere.active, "{status}");
        let elsewhere = rhev(status, Placement::Elsewhere("h9".into()));
        assert_eq!(
            (elsewhere.state, elsewhere.active),
            (Offline, false),
            "{status}"
        );
        assert_eq!(elsewhere.elsewhere.as_deref(), Some("h9"));
    }
}

#[test]
fn numbers_libvirt_may_add_later_are_unknown_or_named_unknown() {
    assert_eq!(at(8, 0).state, Unknown);
    assert_eq!(at(8, 0).observed, None);
    assert_eq!(at(1, 42).observed, Some(observed("running", "unknown")));
    assert_eq!(at(5, -1).state, Offline);
}
