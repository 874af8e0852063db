//! `evacuate` and `migrate` without --sys through the binary, on libvirt's test driver: the plan
//! and its reasons, the confirmation, --stop-unmovable, and finding a migration's source. The
//! test driver cannot migrate, so the moves themselves are tests/testbed.rs's and tests/rhev.rs's.

use std::path::PathBuf;

use serde_json::Value;

mod common;
use common::{fixtures, kvm, run_json};

/// Systems a and b (east) on the fixtures' nodes, c (west: b's node again), an unreachable one,
/// and `resources` below them.
fn config(resources: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resources.yaml");
    let f = fixtures().display().to_string();
    let yaml = format!(
        "systems:\n  a: {{ uri: 'test://{f}/node-a.xml', site: east }}\n  \
         b: {{ uri: 'test://{f}/node-b.xml', site: east }}\n  \
         c: {{ uri: 'test://{f}/node-b.xml', site: west }}\n  \
         gone: {{ uri: 'qemu+unix:///system?socket=/nonexistent/libvirt-sock', site: east }}\n\
         resources:\n{resources}"
    );
    std::fs::write(&path, yaml).unwrap();
    (dir, path)
}

/// Every reason a guest cannot move, and one that can (running01 on a, to b). far's next system
/// after a is its first, gone (the list wraps).
const EVERY_REASON: &str = "  \
    web: { type: KVMGuest, systems: [a, b], GuestName: running01 }\n  \
    solo: { type: KVMGuest, systems: [a], GuestName: blocked01 }\n  \
    dr: { type: KVMGuest, systems: [a, c], GuestName: paused01, \
          DROpts: { ConfigureNetwork: 1, IPAddress: 10.1.0.5, Netmask: 24 } }\n  \
    far: { type: KVMGuest, systems: [gone, a], GuestName: shuttingdown01 }\n  \
    crashed: { type: KVMGuest, systems: [a, b], GuestName: crashed01 }\n  \
    off: { type: KVMGuest, systems: [b, a], GuestName: shutoff01 }\n";

/// How many of EVERY_REASON's guests are live on a (all but `off`): one row each.
const LIVE_ON_A: usize = 5;

/// (resource, to, action, detail, exit_code) of each row.
fn rows(doc: &Value) -> Vec<(String, Value, String, String, u64)> {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["resource"].as_str().unwrap().to_owned(),
                r["to"].clone(),
                r["action"].as_str().unwrap().to_owned(),
                r["detail"].as_str().unwrap().to_owned(),
                r["exit_code"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_dry_run_prints_the_plan_with_each_reason_and_changes_nothing() {
    let (_dir, path) = config(EVERY_REASON);
    let ran = run_json(kvm(&path).args(["evacuate", "--sys", "a", "--dry-run"]));
    assert_eq!(ran.code, 5, "a guest would be left: {}", ran.stderr);
    let rows = rows(&ran.doc);
    let by = |name: &str| rows.iter().find(|r| r.0 == name).unwrap().clone();
    // Only the guests live on a, in the resources' order; shutoff01 is not running.
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(names, ["crashed", "dr", "far", "solo", "web"]);
    assert_eq!(
        by("web"),
        (
            "web".into(),
            "b".into(),
            "move".into(),
            "live migration a -> b".into(),
            0
        )
    );
    for (name, reason) in [
        ("solo", "no other system: solo may run only on a"),
        (
            "dr",
            "dr is configured for disaster recovery (DROpts.ConfigureNetwork = 1): it cannot \
             migrate across sites (a is at east, c at west)",
        ),
        ("far", "gone: cannot reach qemu+unix:///system"),
        (
            "crashed",
            "crashed01 is FAULTED on a: only an ONLINE guest migrates",
        ),
    ] {
        let (_, to, action, detail, exit) = by(name);
        assert_eq!(
            (to, action.as_str(), exit),
            (Value::Null, "leave", 5),
            "{name}"
        );
        assert!(detail.starts_with(reason), "{name}: {detail}");
        assert!(
            ran.stderr
                .contains(&format!("({name}) would be left running on a: {reason}")),
            "{name}: {}",
            ran.stderr
        );
    }
    assert_eq!(ran.doc["errors"], serde_json::json!([]));
    assert!(
        !ran.stderr.contains("migrating"),
        "nothing moved: {}",
        ran.stderr
    );

    // The table has the documented columns; nothing is asked, even without --yes.
    let out = kvm(&path)
        .args(["evacuate", "--sys", "a", "--dry-run"])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["RESOURCE", "GUEST", "FROM", "TO", "ACTION", "DETAIL"]
    );
}

#[test]
fn a_guest_running_twice_is_left_with_exit_6_and_to_pins_the_target() {
    let (_dir, path) = config(
        "  twice: { type: KVMGuest, systems: [a, b], GuestName: twice01 }\n  \
         web: { type: KVMGuest, systems: [a, c, b], GuestName: running01 }\n  \
         solo: { type: KVMGuest, systems: [a], GuestName: blocked01 }\n  \
         drnext: { type: KVMGuest, systems: [a, c, b], GuestName: paused01, \
                   DROpts: { ConfigureNetwork: 1, IPAddress: 10.1.0.5, Netmask: 24 } }\n",
    );
    let ran = run_json(kvm(&path).args(["evacuate", "--sys", "a", "--dry-run", "--to", "b"]));
    assert_eq!(ran.code, 6, "{}", ran.stderr);
    let rows = rows(&ran.doc);
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(names, ["drnext", "solo", "twice", "web"]);
    assert_eq!(rows[2].4, 6);
    assert!(
        rows[2]
            .3
            .contains("twice01 runs on a and b at once (concurrency violation)"),
        "{rows:?}"
    );
    // --to b over web's next system, c.
    assert_eq!(rows[3].1, "b");
    // Without --to: web goes to c; the DR resource passes over c (west) for b.
    let ran = run_json(kvm(&path).args(["evacuate", "--sys", "a", "--dry-run"]));
    assert_eq!(ran.doc["results"][3]["to"], "c");
    assert_eq!(ran.doc["results"][0]["to"], "b");
    assert_eq!(ran.doc["results"][0]["action"], "move");

    for (args, code, message) in [
        (
            &["evacuate", "--dry-run"][..],
            2,
            "name the system to evacuate with --sys",
        ),
        (
            &["evacuate", "--sys", "a", "--to", "a"],
            2,
            "--to a is the system being evacuated",
        ),
        (&["evacuate", "--sys", "nowhere"], 2, "nowhere"),
        (
            &["evacuate", "--sys", "a", "--parallel", "0"],
            2,
            "--parallel",
        ),
    ] {
        let ran = run_json(kvm(&path).args(args));
        assert_eq!(ran.code, code, "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(message), "{args:?}: {}", ran.stderr);
    }
}

#[test]
fn one_confirmation_for_all_and_stop_unmovable_shuts_down_what_cannot_move() {
    let (_dir, path) = config(EVERY_REASON);
    let ran = run_json(kvm(&path).args(["evacuate", "--sys", "a"]));
    assert_eq!(ran.code, 5, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(
            "refused: Evacuate a: this needs confirmation and there is no terminal to ask on: pass --yes"
        ),
        "{}",
        ran.stderr
    );
    assert!(ran.doc["error"].is_object(), "{}", ran.doc);
    assert!(!ran.stderr.contains("shut down"), "{}", ran.stderr);

    let ran = run_json(kvm(&path).args(["--yes", "evacuate", "--sys", "a", "--stop-unmovable"]));
    // The test driver cannot migrate: web's move fails (1), every other guest is stopped.
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert_eq!(rows(&ran.doc).len(), LIVE_ON_A, "{}", ran.doc);
    for (name, action, exit) in rows(&ran.doc).iter().map(|r| (&r.0, &r.2, r.4)) {
        let want = if name == "web" {
            ("failed", 1)
        } else {
            ("stopped", 0)
        };
        assert_eq!((action.as_str(), exit), want, "{name}");
    }
    let solo = &rows(&ran.doc)[3];
    assert!(
        solo.3
            .starts_with("no other system: solo may run only on a; blocked01 shut down"),
        "{solo:?}"
    );
    let web = &ran.doc["results"][4];
    assert_eq!(web["to"], "b");
    assert!(
        web["detail"]
            .as_str()
            .unwrap()
            .ends_with("running01 keeps running on a"),
        "{web}"
    );
    // Stopped under the one confirmation: the guests' own questions are not asked.
    assert!(!ran.stderr.contains("refused"), "{}", ran.stderr);

    // Only guests to leave: nothing to confirm.
    let (_solo, solo) = config("  solo: { type: KVMGuest, systems: [a], GuestName: blocked01 }\n");
    let ran = run_json(kvm(&solo).args(["evacuate", "--sys", "a"]));
    assert_eq!(ran.code, 5, "{}", ran.stderr);
    assert_eq!(ran.doc["results"][0]["action"], "left");
    assert!(!ran.stderr.contains("confirmation"), "{}", ran.stderr);

    // A system that cannot be asked: whether its guests run there is unknown (exit 4).
    let ran = run_json(kvm(&path).args(["evacuate", "--sys", "gone", "--dry-run"]));
    assert_eq!(ran.code, 4, "{}", ran.stderr);
    assert_eq!(ran.doc["errors"][0]["resource"], "far");
    assert_eq!(ran.doc["errors"][0]["exit_code"], 4);

    // c (b's node) runs none of the guests of the resources that list it: nothing to do.
    let ran = run_json(kvm(&path).args(["evacuate", "--sys", "c"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.doc["results"], serde_json::json!([]));
}

#[test]
fn migrate_without_sys_leaves_from_where_the_guest_runs() {
    let (_dir, path) = config(
        "  web: { type: KVMGuest, systems: [a, b, c], GuestName: running01 }\n  \
         off: { type: KVMGuest, systems: [b, a], GuestName: shutoff01 }\n  \
         twice: { type: KVMGuest, systems: [a, b], GuestName: twice01 }\n",
    );
    // Found on a: the test driver then cannot migrate, and says where the guest stays.
    let ran = run_json(kvm(&path).args(["migrate", "web", "--to", "b"]));
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("migrating running01 from a to b (live)"),
        "{}",
        ran.stderr
    );
    let ran = run_json(kvm(&path).args(["migrate", "off", "--to", "a"]));
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert_eq!(
        ran.doc["errors"][0]["message"],
        "shutoff01 is not running on any of its systems"
    );
    let ran = run_json(kvm(&path).args(["migrate", "twice", "--to", "b"]));
    assert_eq!(ran.code, 6, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("twice01 runs on a and b at once (concurrency violation)"),
        "{}",
        ran.stderr
    );
    // --sys still pins the source, as KVMGUESTCTL_SYS does.
    let ran = run_json(kvm(&path).args(["--sys", "b", "migrate", "web", "--to", "c"]));
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("running01 is not running on b"),
        "{}",
        ran.stderr
    );
    let ran = run_json(
        kvm(&path)
            .env("KVMGUESTCTL_SYS", "b")
            .args(["migrate", "web", "--to", "c"]),
    );
    assert_eq!(ran.code, 1, "{}", ran.stderr);
}
