//! `vmconfigsync` through the binary on libvirt's test driver (each command is one process, so
//! every test sets up its state within one invocation or through SyncDir, which persists).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use predicates::prelude::*;
use serde_json::Value;

mod common;
use common::{fixtures, kvm, run_json};

/// Two test-driver systems and three resources sharing one SyncDir.
fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let sync = dir.path().join("sync");
    std::fs::create_dir(&sync).unwrap();
    let f = fixtures().display().to_string();
    let yaml = format!(
        "systems:\n  a: {{ uri: 'test://{f}/node-a.xml' }}\n  b: {{ uri: 'test://{f}/node-b.xml' }}\n\
         resources:\n  running: {{ type: KVMGuest, systems: [a, b], GuestName: running01, SyncDir: sync }}\n  \
         twice: {{ type: KVMGuest, systems: [a, b], GuestName: twice01, SyncDir: sync }}\n  \
         paused: {{ type: KVMGuest, systems: [a, b], GuestName: paused01, SyncDir: sync }}\n  \
         nosync: {{ type: KVMGuest, systems: [a], GuestName: shutoff01 }}\n"
    );
    let path = dir.path().join("r.yaml");
    std::fs::write(&path, yaml).unwrap();
    (dir, path, sync)
}

#[test]
fn saves_from_the_running_system_then_reports_unchanged() {
    let (_dir, config, sync) = setup();
    let ran = run_json(kvm(&config).args(["vmconfigsync", "running"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let doc = ran.doc;
    let r = &doc["results"][0];
    assert_eq!(r["source"], "a");
    assert_eq!(r["action"], "saved");
    assert_eq!(r["backup"], Value::Null);
    let saved = sync.join("running01.xml");
    assert_eq!(r["path"], saved.display().to_string());
    let xml = std::fs::read_to_string(&saved).unwrap();
    assert!(xml.contains("<name>running01</name>"), "{xml}");
    assert_eq!(
        std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let ran = run_json(kvm(&config).args(["vmconfigsync", "running"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let again = ran.doc;
    assert_eq!(again["results"][0]["action"], "unchanged");
}

#[test]
fn a_changed_definition_keeps_the_previous_copy_as_backup() {
    let (_dir, config, sync) = setup();
    let saved = sync.join("running01.xml");
    std::fs::write(
        &saved,
        "<domain><name>running01</name><!-- older --></domain>",
    )
    .unwrap();
    let ran = run_json(kvm(&config).args(["vmconfigsync", "running"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let doc = ran.doc;
    assert_eq!(doc["results"][0]["action"], "saved");
    let backup = sync.join("running01.xml.bak");
    assert_eq!(doc["results"][0]["backup"], backup.display().to_string());
    assert!(std::fs::read_to_string(backup).unwrap().contains("older"));
}

#[test]
fn define_on_places_the_definition_and_skips_the_system_it_came_from() {
    let (_dir, config, _sync) = setup();
    let ran = run_json(kvm(&config).args(["vmconfigsync", "paused", "--everywhere"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        ran.doc["results"][0]["defined_on"],
        serde_json::json!([{"system": "b", "result": "defined", "detail": ""}])
    );

    let ran = run_json(kvm(&config).args(["vmconfigsync", "running", "--define-on", "a", "b"]));
    assert_eq!(
        ran.code, 0,
        "a request to define on the source is harmless: {}",
        ran.stderr
    );
    assert_eq!(
        ran.doc["results"][0]["defined_on"],
        serde_json::json!([
            {"system": "a", "result": "skipped",
             "detail": "a is where the definition was taken from: running01 runs there"},
            {"system": "b", "result": "defined", "detail": ""},
        ])
    );
    kvm(&config)
        .args(["vmconfigsync", "running", "--define-on", "a"])
        .assert()
        .success()
        .stdout(predicate::str::contains("a: skipped"));

    kvm(&config)
        .args(["vmconfigsync", "running", "--define-on", "c"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("c is not one of its systems"));
    kvm(&config)
        .args(["vmconfigsync", "nosync"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nosync has no SyncDir"));
}

/// A guest live on two systems has no current copy: nothing is saved, nothing defined.
#[test]
fn a_concurrency_violation_saves_nothing() {
    let (_dir, config, sync) = setup();
    for args in [&["twice"][..], &["twice", "--define-on", "b"]] {
        kvm(&config)
            .arg("vmconfigsync")
            .args(args)
            .assert()
            .code(6)
            .stderr(predicate::str::contains(
                "CONCURRENCY VIOLATION: twice01 runs on a, b at once: which definition is \
                 current is not known, so nothing is saved or defined",
            ));
    }
    assert!(!sync.join("twice01.xml").exists());
}

/// A guest shut off on a and on b with different definitions: b's has more memory, as after the
/// memory was raised on b and `stop` on b saved it. same01 is the same on both; only01 is
/// defined on a only.
fn diverged() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let sync = dir.path().join("sync");
    std::fs::create_dir(&sync).unwrap();
    let domain = |name: &str, uuid: &str, memory: u32| {
        format!(
            "<domain type='test'><name>{name}</name><uuid>{uuid}</uuid><memory>{memory}</memory>\
             <os><type>hvm</type></os><test:runstate>5</test:runstate></domain>"
        )
    };
    let quiet = "0f6b3c2e-58a4-4c1b-9d2e-6a0c5b1e7f01";
    let same = "0f6b3c2e-58a4-4c1b-9d2e-6a0c5b1e7f02";
    let only = "0f6b3c2e-58a4-4c1b-9d2e-6a0c5b1e7f03";
    for (system, guests) in [
        (
            "a",
            [
                domain("quiet01", quiet, 131072),
                domain("same01", same, 131072),
                domain("only01", only, 131072),
            ]
            .concat(),
        ),
        (
            "b",
            [
                domain("quiet01", quiet, 262144),
                domain("same01", same, 131072),
            ]
            .concat(),
        ),
    ] {
        std::fs::write(
            dir.path().join(format!("node-{system}.xml")),
            format!(
                "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>{guests}</node>"
            ),
        )
        .unwrap();
    }
    let d = dir.path().display();
    let yaml = format!(
        "systems:\n  a: {{ uri: 'test://{d}/node-a.xml' }}\n  b: {{ uri: 'test://{d}/node-b.xml' }}\n\
         resources:\n  quiet: {{ type: KVMGuest, systems: [a, b], GuestName: quiet01, SyncDir: sync }}\n  \
         same: {{ type: KVMGuest, systems: [a, b], GuestName: same01, SyncDir: sync }}\n  \
         only: {{ type: KVMGuest, systems: [a, b], GuestName: only01, SyncDir: sync }}\n"
    );
    let path = dir.path().join("r.yaml");
    std::fs::write(&path, yaml).unwrap();
    (dir, path, sync)
}

/// The guest runs nowhere and the copies differ: nothing says which is newer, so SyncDir's copy
/// is never replaced, whichever system is acted on, until --from names the right one.
#[test]
fn differing_copies_of_a_guest_that_runs_nowhere_are_not_saved_without_from() {
    let (_dir, config, sync) = diverged();
    let ran =
        run_json(kvm(&config).args(["vmconfigsync", "quiet", "--from", "b", "--define-on", "b"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.doc["results"][0]["source"], "b");
    assert_eq!(
        ran.doc["results"][0]["defined_on"],
        serde_json::json!([{"system": "b", "result": "skipped",
                            "detail": "b is where the definition was taken from"}])
    );
    let saved = sync.join("quiet01.xml");
    let newer = std::fs::read_to_string(&saved).unwrap();
    assert!(newer.contains("262144"), "{newer}");

    let refusal = "quiet01 runs nowhere and its definitions differ: a, b (as in SyncDir; first \
                   differs from a at <memory unit=\"KiB\">262144</memory>); nothing says which \
                   is the newer, so nothing is saved: name the copy to save with --from SYSTEM \
                   (vmconfigsync --check shows the differences)";
    for acting in [
        &["vmconfigsync", "quiet"][..],
        &["--sys", "b", "vmconfigsync", "quiet"],
    ] {
        kvm(&config)
            .args(acting)
            .assert()
            .code(5)
            .stderr(predicate::str::contains(refusal));
    }
    kvm(&config)
        .env("KVMGUESTCTL_SYS", "a")
        .args(["vmconfigsync", "quiet"])
        .assert()
        .code(5);
    // A cron job over every resource saves the others and leaves this one alone.
    let ran = run_json(kvm(&config).args(["vmconfigsync", "--all"]));
    assert_eq!(ran.code, 5, "{}", ran.stderr);
    let sources: Vec<(&str, &str)> = ran.doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["resource"].as_str().unwrap(),
                r["source"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(sources, [("only", "a"), ("same", "a")]);
    assert_eq!(ran.doc["errors"][0]["resource"], "quiet");
    assert_eq!(ran.doc["errors"][0]["exit_code"], 5);
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), newer);
    assert!(!sync.join("quiet01.xml.bak").exists());

    // The operator says a's is right after all: saved, b's kept as the backup.
    let ran = run_json(kvm(&config).args(["vmconfigsync", "quiet", "--from", "a"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(std::fs::read_to_string(&saved).unwrap().contains("131072"));
    assert_eq!(
        std::fs::read_to_string(sync.join("quiet01.xml.bak")).unwrap(),
        newer
    );

    kvm(&config)
        .args(["vmconfigsync", "only", "--from", "b"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "only01 is not defined on b: there is no copy to take from there",
        ));
}

#[test]
fn from_cannot_overrule_the_system_where_the_guest_runs() {
    let (_dir, config, sync) = setup();
    kvm(&config)
        .args(["vmconfigsync", "running", "--from", "b"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains(
            "running01 runs on a: the definition there is the current one, not b's",
        ));
    assert!(!sync.join("running01.xml").exists());
    let ran = run_json(kvm(&config).args(["vmconfigsync", "running", "--from", "a"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.doc["results"][0]["source"], "a");
}

#[test]
fn check_agrees_after_a_sync_and_shows_a_diff_when_a_copy_was_edited() {
    let (_dir, config, sync) = setup();
    kvm(&config)
        .args(["vmconfigsync", "running", "paused"])
        .assert()
        .success();
    let ran = run_json(kvm(&config).args(["vmconfigsync", "--check", "running"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let doc = ran.doc;
    let r = &doc["resources"][0];
    assert_eq!(r["consistent"], true, "{r}");
    let states: Vec<&str> = r["copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["reference", "agrees", "agrees"]);

    // An administrator edits the shared copy by hand: reordered attributes are no divergence,
    // a changed value is.
    let saved = sync.join("paused01.xml");
    let xml = std::fs::read_to_string(&saved).unwrap();
    let edited = xml.replace(
        "<memory unit='KiB'>131072</memory>",
        "<memory unit='KiB'>262144</memory>",
    );
    assert_ne!(
        xml, edited,
        "the fixture's memory line changed shape: {xml}"
    );
    std::fs::write(&saved, edited).unwrap();
    let out = kvm(&config)
        .args(["vmconfigsync", "--check", "paused"])
        .assert()
        .code(7);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("SyncDir  differs    differs from a"),
        "{text}"
    );
    assert!(
        text.contains("--- paused on a\n+++ paused on SyncDir\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "-  <memory unit=\"KiB\">131072</memory>\n+  <memory unit=\"KiB\">262144</memory>"
        ),
        "{text}"
    );
}

#[test]
fn check_reports_a_missing_shared_copy() {
    let (_dir, config, _sync) = setup();
    let ran = run_json(kvm(&config).args(["vmconfigsync", "--check", "running"]));
    assert_eq!(
        ran.code, 7,
        "a missing copy is a divergence: {}",
        ran.stderr
    );
    let doc = ran.doc;
    let copies = doc["resources"][0]["copies"].as_array().unwrap();
    assert_eq!(copies[2]["place"], "SyncDir");
    assert_eq!(copies[2]["state"], "missing");
    kvm(&config)
        .args(["vmconfigsync", "--check", "running"])
        .assert()
        .code(7);
}

/// `--check` and the save call the same copies the same: a copy reformatted by hand that
/// `--check` accepts is not rewritten, by vmconfigsync or by the save at every stop and clean,
/// and its backup stays the previous definition.
#[test]
fn a_reformatted_copy_that_check_accepts_is_left_alone() {
    let (_dir, config, sync) = setup();
    let saved = sync.join("running01.xml");
    std::fs::write(&saved, "<domain><name>running01</name></domain>").unwrap();
    kvm(&config)
        .args(["vmconfigsync", "running"])
        .assert()
        .success();
    let backup = sync.join("running01.xml.bak");
    let previous = std::fs::read_to_string(&backup).unwrap();
    let reformatted = format!(
        "<!-- tidied by hand -->\n{}",
        std::fs::read_to_string(&saved)
            .unwrap()
            .replace("<domain type='test'>", "<domain  type=\"test\" >")
            .replace("  <", "    <")
    );
    assert_ne!(reformatted, std::fs::read_to_string(&saved).unwrap());
    std::fs::write(&saved, &reformatted).unwrap();
    kvm(&config)
        .args(["vmconfigsync", "--check", "running"])
        .assert()
        .success();

    let ran = run_json(kvm(&config).args(["vmconfigsync", "running"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.doc["results"][0]["action"], "unchanged");
    assert_eq!(ran.doc["results"][0]["backup"], Value::Null);
    for command in ["stop", "clean"] {
        let ran = run_json(kvm(&config).args(["--sys", "a", "--yes", command, "running"]));
        assert_eq!(ran.code, 0, "{command}: {}", ran.stderr);
        assert_eq!(
            ran.doc["results"][0]["saved_definition"],
            saved.display().to_string()
        );
    }
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), reformatted);
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), previous);
}

/// The resource `r` on system a and on a system that cannot be reached.
fn with_unreachable(guest: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let sync = dir.path().join("sync");
    std::fs::create_dir(&sync).unwrap();
    let yaml = format!(
        "systems:\n  a: {{ uri: 'test://{}/node-a.xml' }}\n  gone: {{ uri: 'qemu+unix:///system?socket=/nonexistent/sock' }}\n\
         resources:\n  r: {{ type: KVMGuest, systems: [a, gone], GuestName: {guest}, SyncDir: sync }}\n",
        fixtures().display()
    );
    let path = dir.path().join("r.yaml");
    std::fs::write(&path, yaml).unwrap();
    (dir, path, sync)
}

#[test]
fn a_stale_copy_never_replaces_the_shared_one_while_the_runner_may_be_unreachable() {
    let (_dir, config, sync) = with_unreachable("shutoff01");
    std::fs::write(
        sync.join("shutoff01.xml"),
        "<domain><name>shutoff01</name></domain>",
    )
    .unwrap();
    kvm(&config)
        .args(["vmconfigsync", "r"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("gone could not be asked"))
        .stderr(predicate::str::contains(
            "so nothing is saved; --from SYSTEM names the copy to save",
        ));
    assert_eq!(
        std::fs::read_to_string(sync.join("shutoff01.xml")).unwrap(),
        "<domain><name>shutoff01</name></domain>"
    );
    // The operator knows a's copy is the right one.
    let ran = run_json(kvm(&config).args(["vmconfigsync", "r", "--from", "a"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.doc["results"][0]["action"], "saved");
    kvm(&config)
        .args(["vmconfigsync", "r", "--from", "gone"])
        .assert()
        .code(4);
}

#[test]
fn check_with_an_unreachable_system_exits_4_not_7() {
    let (_dir, config, _sync) = with_unreachable("running01");
    kvm(&config).args(["vmconfigsync", "r"]).assert().success();
    let out = kvm(&config)
        .args(["-o", "json", "vmconfigsync", "--check", "r"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let states: Vec<&str> = doc["resources"][0]["copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["reference", "unreadable", "agrees"]);
}
