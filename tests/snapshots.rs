//! What a user sees from each command, as snapshots a reviewer can read: exit code, stdout and
//! stderr, for the table and for the JSON, on the quickstart and, for the states the quickstart
//! has no guest in, on `tests/fixtures/every-state.yaml`. libvirt's test driver keeps its state
//! per process, so every run starts from the configuration's node files.
//!
//! Update with `INSTA_UPDATE=always cargo test --test snapshots`, then review the diff of
//! `tests/snapshots/`.

use std::path::Path;

mod common;
use common::kvm;

// Relative to the directory a command runs in, so that paths printed in messages are the same
// on every checkout.
const QUICKSTART: &str = "examples/quickstart.yaml";
const EVERY_STATE: &str = "tests/fixtures/every-state.yaml";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Snapshots, under `name`, what `kvmguestctl --config CONFIG ARGS` run in `dir` shows its user.
fn snapshot_in(dir: &Path, name: &str, config: &str, args: &[&str]) {
    // The settings --help shows when set ("[env: ...=VALUE]") are given as flags instead, and
    // COLUMNS sets its wrapping width.
    let [(lock_env, locks), (state_env, state)] = common::own_dirs();
    let out = kvm(Path::new(config))
        .current_dir(dir)
        .env_remove(lock_env)
        .env_remove(state_env)
        .env_remove("COLUMNS")
        .arg("--lock-dir")
        .arg(locks)
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .output()
        .unwrap();
    let seen = format!(
        "exit: {}\n=== stdout\n{}=== stderr\n{}",
        out.status
            .code()
            .map_or("none (killed)".to_owned(), |c| c.to_string()),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_description(format!("kvmguestctl --config {config} {}", args.join(" ")));
    // The expression would be `seen`, the same in every file; the description says what ran.
    settings.set_omit_expression(true);
    // Durations change from run to run; the placeholder keeps the table's columns aligned.
    settings.add_filter(r"\b\d+\.\ds\b", "#.#s");
    settings.add_filter(r#""seconds": \d+(\.\d+)?"#, r#""seconds": [seconds]"#);
    // The test driver makes up a UUID, anew in every process, for each guest whose node file
    // gives none (tests/fixtures/node-b.xml gives none).
    settings.add_filter(
        r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
        "[uuid]",
    );
    settings.bind(|| insta::assert_snapshot!(name, seen));
}

/// The table (the default output) as `NAME_table` and the JSON as `NAME_json`.
fn both_in(dir: &Path, name: &str, config: &str, args: &[&str]) {
    snapshot_in(dir, &format!("{name}_table"), config, args);
    snapshot_in(
        dir,
        &format!("{name}_json"),
        config,
        &[&["-o", "json"], args].concat(),
    );
}

fn both(name: &str, config: &str, args: &[&str]) {
    both_in(repo(), name, config, args);
}

#[test]
fn status_all() {
    both("status_all", QUICKSTART, &["status", "--all"]);
}

#[test]
fn status_one_resource() {
    both("status_web_vm", QUICKSTART, &["status", "web_vm"]);
}

/// Every libvirt state the test driver can hold, and a guest defined nowhere.
#[test]
fn status_every_state() {
    both(
        "status_every_state",
        EVERY_STATE,
        &[
            "status",
            "running",
            "blocked",
            "paused",
            "shuttingdown",
            "shutoff",
            "crashed",
            "pmsuspended",
            "elsewhere",
            "undefined",
        ],
    );
}

#[test]
fn status_concurrency_violation() {
    both("status_twice", EVERY_STATE, &["status", "twice"]);
}

#[test]
fn status_unknown_resource() {
    both("status_unknown_resource", QUICKSTART, &["status", "nosuch"]);
}

#[test]
fn status_help() {
    snapshot_in(repo(), "status_help", QUICKSTART, &["status", "--help"]);
}

#[test]
fn display() {
    both("display_web_vm", QUICKSTART, &["display", "web_vm"]);
}

#[test]
fn validate_clean() {
    both("validate", QUICKSTART, &["validate"]);
}

/// The quickstart is valid, so its table is empty: a configuration with two errors and a warning.
#[test]
fn validate_findings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("resources.yaml"),
        "systems:\n  node1: { uri: 'test:///default' }\nresources:\n  web_vm:\n    \
         type: KVMGuest\n    systems: [node1]\n    GuestName: web01\n    \
         DelayAfterGuestOnline: 2\n    DROpts: { ConfigureNetwork: 1, IPAddress: 10.0.0.300 }\n",
    )
    .unwrap();
    both_in(
        dir.path(),
        "validate_findings",
        "resources.yaml",
        &["validate"],
    );
}

#[test]
fn start() {
    both(
        "start_batch_vm",
        QUICKSTART,
        &["--sys", "node1", "start", "batch_vm"],
    );
}

#[test]
fn stop() {
    both(
        "stop_web_vm",
        QUICKSTART,
        &["--sys", "node1", "stop", "--yes", "web_vm"],
    );
}

#[test]
fn stop_without_yes_is_refused() {
    both(
        "stop_web_vm_without_yes",
        QUICKSTART,
        &["--sys", "node1", "stop", "web_vm"],
    );
}

#[test]
fn clean() {
    both(
        "clean_web_vm",
        QUICKSTART,
        &["--sys", "node1", "clean", "--yes", "web_vm"],
    );
}

#[test]
fn migrate_refused() {
    both(
        "migrate_web_vm_refused",
        QUICKSTART,
        &["--sys", "node2", "migrate", "web_vm", "--to", "node1"],
    );
}

#[test]
fn vmconfigsync_check() {
    both(
        "vmconfigsync_check_all",
        QUICKSTART,
        &["vmconfigsync", "--check", "--all"],
    );
    both(
        "vmconfigsync_check_drifted",
        "tests/fixtures/drifted.yaml",
        &["vmconfigsync", "--check", "--all"],
    );
}
