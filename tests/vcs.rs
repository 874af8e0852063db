//! The VCS entry points through the binary, with the argument vectors VCS's script agent framework
//! passes (`kvmguestctl vcs ENTRYPOINT RESOURCE ARGLISTVALUES...`, and the binary run under an
//! entry point's name): V50 parsing and its errors, every entry point's exit code against libvirt's
//! test driver, a RHEV resource against the oVirt simulator, the agent directory's links, the
//! shipped type definition, and (`#[ignore]`d, run by scripts/test) real guests on the testbed.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

use common::fixtures;

/// Every setting an entry point reads from the environment, removed from the caller's.
const SETTINGS: &[&str] = &[
    "KVMGUESTCTL_SYS",
    "KVMGUESTCTL_CONFIG",
    "KVMGUESTCTL_VCS_URI",
    "KVMGUESTCTL_VCS_TARGET_URI",
    "KVMGUESTCTL_VCS_MIGRATION_URI",
    "KVMGUESTCTL_VCS_TIMEOUT",
    "KVMGUESTCTL_VCS_HARES",
    "KVMGUESTCTL_CA_FILE",
    "KVMGUESTCTL_KEY_FILE",
];

fn node_uri(system: &str) -> String {
    format!(
        "test://{}",
        fixtures().join(format!("node-{system}.xml")).display()
    )
}

/// A program with none of the caller's settings, this node `sys` on `uri`, and no hares.
fn program(path: &Path, sys: &str, uri: &str) -> Command {
    let mut cmd = Command::new(path);
    for var in SETTINGS {
        cmd.env_remove(var);
    }
    cmd.envs(common::own_dirs())
        .env("KVMGUESTCTL_SYS", sys)
        .env("KVMGUESTCTL_VCS_URI", uri)
        .env("KVMGUESTCTL_VCS_HARES", "/nonexistent/hares")
        .timeout(Duration::from_secs(120));
    cmd
}

/// `kvmguestctl vcs` on node `sys`.
fn vcs(sys: &str, uri: &str) -> Command {
    let mut cmd = program(&assert_cmd::cargo::cargo_bin("kvmguestctl"), sys, uri);
    cmd.arg("vcs");
    cmd
}

/// `kvmguestctl vcs` on system a of the test fixtures.
fn on_a() -> Command {
    vcs("a", &node_uri("a"))
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command, args: &[&str]) -> Ran {
    let out = cmd.args(args).output().unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

#[test]
fn monitor_exit_codes_for_every_libvirt_state() {
    for (guest, code) in [
        ("running01", 110),
        ("blocked01", 110),
        ("paused01", 102),
        ("shuttingdown01", 104),
        ("shutoff01", 100),
        ("crashed01", 100),
        ("pmsuspended01", 200),
        ("nowhere01", 100),
    ] {
        let args = ["monitor", "r", "GuestName", "1", guest];
        let ran = run(&mut on_a(), &args);
        assert_eq!(ran.code, code, "{guest}: {}", ran.stderr);
        assert_eq!(ran.stdout, "", "a monitor prints nothing on stdout");
        if guest == "crashed01" {
            assert_eq!(
                ran.stderr,
                "KVMGuest:r:monitor: WARNING: crashed01 is FAULTED on a (crashed, \
                 unknown): exit 100\n"
            );
        } else {
            assert_eq!(ran.stderr, "", "{guest}: the normal states go unlogged");
        }
    }
}

#[test]
fn an_unreachable_hypervisor_is_unknown() {
    let uri = "qemu+unix:///system?socket=/nonexistent/libvirt-sock";
    let ran = run(&mut vcs("a", uri), &words("monitor r GuestName 1 g"));
    assert_eq!(ran.code, 99, "{}", ran.stderr);
    assert!(
        ran.stderr
            .starts_with("KVMGuest:r:monitor: ERROR: a: cannot reach qemu+unix:///system"),
        "{}",
        ran.stderr
    );
    // clean cannot have cleaned: it fails, and VCS tries again after the next monitor.
    let ran = run(&mut vcs("a", uri), &words("clean r GuestName 1 g"));
    assert_eq!(ran.code, 1, "{}", ran.stderr);
}

/// The URI of a libvirtd that accepts and never answers.
fn hung_libvirtd(dir: &Path) -> String {
    let socket = common::hung_libvirtd(dir, "libvirt-sock");
    format!("qemu+unix:///system?socket={}", socket.display())
}

#[test]
fn a_hung_libvirtd_is_unknown_within_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let uri = hung_libvirtd(dir.path());
    let started = Instant::now();
    let ran = run(
        vcs("a", &uri).env("KVMGUESTCTL_VCS_TIMEOUT", "1"),
        &words("monitor r GuestName 1 g"),
    );
    assert_eq!(ran.code, 99, "{}", ran.stderr);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        ran.stderr.contains("did not answer within 1 s"),
        "{}",
        ran.stderr
    );
}

/// The README: 20 s per call by default, so a monitor of a hung libvirtd ends well within VCS's
/// default MonitorTimeout of 60 s.
#[test]
fn the_default_timeout_bounds_a_monitor_within_60_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let uri = hung_libvirtd(dir.path());
    let started = Instant::now();
    let ran = run(&mut vcs("a", &uri), &words("monitor r GuestName 1 g"));
    let took = started.elapsed();
    assert_eq!(ran.code, 99, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("did not answer within 20 s"),
        "{}",
        ran.stderr
    );
    assert!(
        took >= Duration::from_secs(20) && took < Duration::from_secs(45),
        "{took:?}"
    );
}

#[test]
fn argument_errors_name_the_resource_and_the_attribute() {
    for (args, message) in [
        (
            "GuestName 1 g Colour 1 red",
            "Colour: not a KVMGuest attribute (the ArgList is GuestName, DelayAfterGuestOnline, \
             DelayAfterGuestOffline, SyncDir, GuestConfigFilePath, CEInfo, RHEVMInfo, \
             ResyncVMCfg, DROpts)",
        ),
        ("GuestName 2 g h", "GuestName: a scalar's COUNT is 1, not 2"),
        (
            "GuestName 1 g DROpts 3 IPAddress 10.0.0.1 Netmask",
            "DROpts: an association's COUNT is twice its number of keys: 3 is odd",
        ),
        (
            "GuestName 1 g RHEVMInfo 4 Enabled 0",
            "RHEVMInfo: COUNT 4 announces 4 value(s), but only 2 follow",
        ),
        ("GuestName x g", "GuestName: COUNT 'x' is not a number"),
        (
            "DelayAfterGuestOnline 1 5",
            "GuestName is missing: the libvirt domain name is required",
        ),
        (
            "GuestName 1 NONE",
            "GuestName is empty: the libvirt domain name is required",
        ),
        (
            "GuestName 1 g DelayAfterGuestOffline 1 -5",
            "DelayAfterGuestOffline: '-5' is not a whole number from 0 to 4294967295",
        ),
        (
            "GuestName 1 g ResyncVMCfg 1 yes",
            "ResyncVMCfg: 'yes' is not a boolean (0 or 1)",
        ),
        (
            "GuestName 1 g SyncDir 1 shared/vmconfigs",
            "SyncDir: 'shared/vmconfigs' is not an absolute path",
        ),
        ("GuestName 1 g GuestName 1 h", "GuestName: given twice"),
        (
            "GuestName 1 g CEInfo 4 Enabled 0 Enabled 1",
            "CEInfo.Enabled: key given twice",
        ),
        (
            "GuestName 1 g RHEVMInfo 2 Colour red",
            "RHEVMInfo.Colour: unknown key `Colour`: expected one of Enabled, URL, User, \
             Password, Cluster, UseManualRHEVMFencing, PasswordFile, PasswordEnv, CAFile",
        ),
        (
            "GuestName 1 g RHEVMInfo 4 Enabled 1 URL NONE",
            "RHEVMInfo.Enabled = 1 needs RHEVMInfo.URL, RHEVMInfo.User, RHEVMInfo.Cluster",
        ),
        (
            "GuestName 1 g MigrateTimeout 1 0",
            "MigrateTimeout must be at least 1",
        ),
        (
            "GuestName 1 g DROpts 6 ConfigureNetwork 1 IPAddress 10.0.0.300 Netmask 24",
            "DROpts.IPAddress '10.0.0.300' is not an IPv4 or IPv6 address",
        ),
    ] {
        let mut argv = vec!["monitor", "web_vm"];
        argv.extend(words(args));
        let ran = run(&mut on_a(), &argv);
        assert_eq!(ran.code, 99, "{args}: {}", ran.stderr);
        let line = format!("KVMGuest:web_vm:monitor: ERROR: {message}\n");
        assert!(ran.stderr.contains(&line), "{args}:\n{}", ran.stderr);
    }
}

#[test]
fn bad_argument_vectors_exit_as_each_entry_point_must() {
    for (entry, code) in [
        ("monitor", 99),
        ("online", 0),
        ("offline", 0),
        ("clean", 1),
        ("migrate", 0),
        ("action/vmconfigsync", 1),
        ("attr_changed", 0),
        ("open", 0),
    ] {
        let ran = run(&mut on_a(), &[entry, "r", "GuestName", "2", "g", "h"]);
        assert_eq!(ran.code, code, "{entry}: {}", ran.stderr);
        assert!(
            ran.stderr.contains(&format!(
                "KVMGuest:r:{entry}: ERROR: GuestName: a scalar's COUNT is 1, not 2"
            )),
            "{entry}: {}",
            ran.stderr
        );
        let ran = run(&mut on_a(), &[entry]);
        assert_eq!(ran.code, code, "{entry} without a resource");
        assert!(
            ran.stderr.contains("ERROR: no resource name"),
            "{}",
            ran.stderr
        );
    }
    // hares -action's caller reads stdout only: the failure is said there too.
    let ran = run(&mut on_a(), &words("action/vmconfigsync r GuestName 2 g h"));
    assert_eq!(
        ran.stdout,
        "vmconfigsync failed: GuestName: a scalar's COUNT is 1, not 2\n"
    );
    let ran = run(&mut on_a(), &words("frobnicate r GuestName 1 g"));
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("unknown entry point 'frobnicate'"));
}

#[test]
fn settings_errors_are_the_resources_problems_too() {
    let ran = run(
        &mut vcs("a", "not-a-uri"),
        &words("monitor r GuestName 1 running01"),
    );
    assert_eq!(ran.code, 99);
    assert!(
        ran.stderr.contains(
            "KVMGuest:r:monitor: ERROR: KVMGUESTCTL_VCS_URI: system 'a': uri 'not-a-uri' is not a libvirt URI"
        ),
        "{}",
        ran.stderr
    );
    let ran = run(
        on_a()
            .env("KVMGUESTCTL_VCS_TARGET_URI", node_uri("{system}"))
            .env("KVMGUESTCTL_VCS_MIGRATION_URI", "{system}-mig"),
        &words("migrate r GuestName 1 running01 b"),
    );
    assert!(
        ran.stderr.contains(
            "ERROR: KVMGUESTCTL_VCS_MIGRATION_URI: system 'b': migration_uri 'b-mig' is not a \
             URI"
        ),
        "{}",
        ran.stderr
    );
    let ran = run(
        on_a().env("KVMGUESTCTL_VCS_TIMEOUT", "0"),
        &words("clean r GuestName 1 running01"),
    );
    assert_eq!(ran.code, 1);
    assert!(
        ran.stderr.contains(
            "ERROR: KVMGUESTCTL_VCS_TIMEOUT: '0' is not a number of seconds from 1 to 3600"
        ),
        "{}",
        ran.stderr
    );
}

#[test]
fn by_hand_sys_is_a_flag_and_no_yaml_is_read() {
    let mut cmd = Command::cargo_bin("kvmguestctl").unwrap();
    for var in SETTINGS {
        cmd.env_remove(var);
    }
    cmd.envs(common::own_dirs());
    cmd.env("KVMGUESTCTL_VCS_URI", node_uri("b")).args([
        "--config",
        "/nonexistent.yaml",
        "--sys",
        "b",
        "vcs",
    ]);
    let ran = run(&mut cmd, &words("monitor r GuestName 1 elsewhere01"));
    assert_eq!(ran.code, 110, "{}", ran.stderr);
}

#[test]
fn online_offline_and_clean_log_what_they_did() {
    let ran = run(
        &mut on_a(),
        &words("online r GuestName 1 shutoff01 DelayAfterGuestOnline 1 0"),
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.stdout, "");
    assert!(
        ran.stderr
            .contains("KVMGuest:r:online: INFO: started: shutoff01 is ONLINE 100 on a after"),
        "{}",
        ran.stderr
    );

    // A failed online is logged, and its code still asks for a monitor at once: the monitor
    // says the truth (OFFLINE), and VCS faults the resource.
    let ran = run(&mut on_a(), &words("online r GuestName 1 nowhere01"));
    assert_eq!(ran.code, 0);
    assert!(
        ran.stderr.contains(
            "KVMGuest:r:online: ERROR: nowhere01 is not defined on a, and r has no \
             GuestConfigFilePath to define it from"
        ),
        "{}",
        ran.stderr
    );

    let sync = tempfile::tempdir().unwrap();
    let dir = sync.path().display().to_string();
    let ran = run(
        &mut on_a(),
        &words(&format!(
            "offline r GuestName 1 running01 DelayAfterGuestOffline 1 5 SyncDir 1 {dir}"
        )),
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("KVMGuest:r:offline: INFO: stopped: running01 is OFFLINE on a after"),
        "{}",
        ran.stderr
    );
    assert!(sync.path().join("running01.xml").exists());

    let ran = run(&mut on_a(), &words("clean r GuestName 1 paused01"));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("KVMGuest:r:clean: INFO: cleaned: paused01 is OFFLINE on a after"),
        "{}",
        ran.stderr
    );
    let ran = run(&mut on_a(), &words("clean r GuestName 1 nowhere01"));
    assert_eq!(ran.code, 0, "nothing to clean is clean: {}", ran.stderr);
}

#[test]
fn migrate_takes_its_target_from_vcsinfo() {
    let template = node_uri("{system}");
    for tail in ["VCSInfo 2 TargetHost b", "TargetHost 1 b", "b"] {
        let ran = run(
            on_a().env("KVMGUESTCTL_VCS_TARGET_URI", &template),
            &words(&format!("migrate r GuestName 1 running01 {tail}")),
        );
        assert_eq!(ran.code, 0, "{tail}: {}", ran.stderr);
        // The test driver cannot migrate: the core tried, from a to b, and says where the guest is.
        assert!(
            ran.stderr
                .contains("KVMGuest:r:migrate: INFO: migrating running01 from a to b (live)"),
            "{tail}: {}",
            ran.stderr
        );
        assert!(
            ran.stderr.contains("running01 keeps running on a"),
            "{}",
            ran.stderr
        );
    }
    let ran = run(&mut on_a(), &words("migrate r GuestName 1 running01"));
    assert_eq!(ran.code, 0);
    assert!(
        ran.stderr
            .contains("KVMGuest:r:migrate: ERROR: VCSInfo: no migration target"),
        "{}",
        ran.stderr
    );
    let ran = run(
        &mut on_a(),
        &words("migrate r GuestName 1 running01 TargetHost 1 a"),
    );
    assert!(ran.stderr.contains("pick another target"), "{}", ran.stderr);
}

/// A stand-in for hares that records its arguments and exits `code`.
fn fake_hares(dir: &Path, code: i32) -> (PathBuf, PathBuf) {
    let record = dir.join("hares.args");
    let script = dir.join("hares");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" > {}\necho 'VCS WARNING V-16-1-0 refused' >&2\nexit {code}\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, record)
}

#[test]
fn guestmigrated_says_where_the_guest_is_and_has_vcs_probe() {
    let dir = tempfile::tempdir().unwrap();
    let (hares, record) = fake_hares(dir.path(), 0);
    let ran = run(
        on_a().env("KVMGUESTCTL_VCS_HARES", &hares),
        &words("action/guestmigrated web_vm GuestName 1 running01 0"),
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        ran.stdout,
        "running01 is ONLINE 100 on a\nasked VCS to probe web_vm on a (hares -probe)\n"
    );
    assert_eq!(
        std::fs::read_to_string(&record).unwrap(),
        "-probe web_vm -sys a\n"
    );

    let ran = run(
        &mut on_a(),
        &words("action/guestmigrated web_vm GuestName 1 elsewhere01 0"),
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        ran.stdout,
        "elsewhere01 is OFFLINE on a\n/nonexistent/hares not found: VCS sees the move at its \
         next monitor\n"
    );

    let ran = run(
        &mut vcs("a", "qemu+unix:///system?socket=/nonexistent/libvirt-sock"),
        &words("action/guestmigrated web_vm GuestName 1 running01"),
    );
    assert_eq!(ran.code, 1);
    assert!(
        ran.stdout
            .starts_with("guestmigrated failed: a: cannot reach qemu+unix:///system"),
        "{}",
        ran.stdout
    );

    let (failing, _) = fake_hares(dir.path(), 3);
    let ran = run(
        on_a().env("KVMGUESTCTL_VCS_HARES", &failing),
        &words("action/guestmigrated web_vm GuestName 1 running01"),
    );
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stdout.contains(
            "guestmigrated failed: hares -probe: exit status: 3: VCS WARNING V-16-1-0 refused"
        ),
        "{}",
        ran.stdout
    );
}

#[test]
fn vmconfigsync_saves_this_nodes_definition() {
    let sync = tempfile::tempdir().unwrap();
    let dir = sync.path().display().to_string();
    let args = format!("action/vmconfigsync r GuestName 1 running01 SyncDir 1 {dir} 0");
    let ran = run(&mut on_a(), &words(&args));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        ran.stdout,
        format!("saved {dir}/running01.xml (the definition of running01 on a)\n")
    );
    let ran = run(&mut on_a(), &words(&args));
    assert_eq!(
        ran.stdout,
        format!("unchanged {dir}/running01.xml (the definition of running01 on a)\n")
    );

    let ran = run(
        &mut on_a(),
        &words("action/vmconfigsync r GuestName 1 running01"),
    );
    assert_eq!(ran.code, 1);
    assert_eq!(
        ran.stdout,
        "vmconfigsync failed: r has no SyncDir to save its definition to\n"
    );
    let ran = run(
        &mut on_a(),
        &words(&format!("{args} extra").replace(" 0 extra", " 1 extra")),
    );
    assert_eq!(ran.code, 1);
    assert_eq!(ran.stdout, "vmconfigsync failed: takes no arguments\n");
}

#[test]
fn action_errors_go_to_stdout_and_exit_1() {
    for (args, out) in [
        (
            "action/DevScan r GuestName 1 running01 0",
            "DevScan failed: r: DevScan needs RHEVMInfo.Cluster (the local RHEV cluster)\n",
        ),
        (
            "action/vmconfigsync r GuestName 1 running01 2 a",
            "vmconfigsync failed: the action's argument COUNT is 2, but 1 argument(s) follow\n",
        ),
        (
            "action/DevScan r GuestName 1 running01 1 --dry-run",
            "DevScan failed: unknown argument '--dry-run' (dry-run, wait=SECONDS)\n",
        ),
        (
            "action/reboot r GuestName 1 running01",
            "reboot failed: unknown action (SupportedActions: guestmigrated, vmconfigsync, \
             DevScan)\n",
        ),
    ] {
        let ran = run(&mut on_a(), &words(args));
        assert_eq!(ran.code, 1, "{args}: {}", ran.stderr);
        assert_eq!(ran.stdout, out, "{args}");
    }
}

#[test]
fn attr_changed_and_open_check_and_never_fail() {
    // attr_changed's caller puts the changed attribute and its value before the ArgListValues.
    let ran = run(
        &mut on_a(),
        &words(
            "attr_changed r DelayAfterGuestOnline 2 GuestName 1 running01 \
             DelayAfterGuestOnline 1 2",
        ),
    );
    assert_eq!(ran.code, 0);
    assert_eq!(
        ran.stderr,
        "KVMGuest:r:attr_changed: WARNING: DelayAfterGuestOnline = 2 is below its default 5\n"
    );
    let ran = run(&mut on_a(), &words("open r GuestName 1 running01"));
    assert_eq!(ran.code, 0);
    assert_eq!(
        ran.stderr,
        "KVMGuest:r:open: INFO: running01 checked on a: no problems\n"
    );
    let ran = run(&mut on_a(), &words("open r GuestName 1 nowhere01"));
    assert_eq!(ran.code, 0);
    assert_eq!(
        ran.stderr,
        "KVMGuest:r:open: ERROR: nowhere01 is defined on none of a and \
         GuestConfigFilePath is not set\n"
    );
    for entry in ["close", "shutdown"] {
        let ran = run(&mut on_a(), &[entry, "r", "GuestName", "1", "running01"]);
        assert_eq!((ran.code, ran.stderr.as_str()), (0, ""), "{entry}");
    }
}

/// The agent directory's link names.
const LINKS: &[&str] = &[
    "online",
    "offline",
    "monitor",
    "clean",
    "migrate",
    "attr_changed",
    "open",
    "close",
    "shutdown",
    "action/guestmigrated",
    "action/vmconfigsync",
    "action/DevScan",
];

fn install(dir: &Path) -> (i32, Value, String) {
    let ran = common::run_json(
        Command::cargo_bin("kvmguestctl")
            .unwrap()
            .args(["vcs", "install", "--dir"])
            .arg(dir),
    );
    (ran.code, ran.doc, ran.stderr)
}

fn results(doc: &Value) -> Vec<(String, String)> {
    doc["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let link = l["link"].as_str().unwrap();
            (link.to_owned(), l["result"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn install_makes_the_links_once_and_they_run_the_entry_points() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("KVMGuest");
    let binary = std::fs::canonicalize(assert_cmd::cargo::cargo_bin("kvmguestctl")).unwrap();
    let (code, doc, err) = install(&dir);
    assert_eq!(code, 0, "{err}");
    let expected = |result: &str| -> Vec<(String, String)> {
        LINKS
            .iter()
            .map(|l| (dir.join(l).display().to_string(), result.to_owned()))
            .collect()
    };
    assert_eq!(results(&doc), expected("created"));
    for link in LINKS {
        assert_eq!(std::fs::read_link(dir.join(link)).unwrap(), binary);
    }
    let (code, doc, _) = install(&dir);
    assert_eq!(code, 0);
    assert_eq!(results(&doc), expected("unchanged"));

    // A link to another binary (an upgrade moved it) is replaced; a file is another agent's.
    std::fs::remove_file(dir.join("monitor")).unwrap();
    std::os::unix::fs::symlink("/usr/bin/true", dir.join("monitor")).unwrap();
    let (_, doc, _) = install(&dir);
    assert!(
        results(&doc).contains(&(dir.join("monitor").display().to_string(), "replaced".into()))
    );
    assert_eq!(std::fs::read_link(dir.join("monitor")).unwrap(), binary);
    std::fs::remove_file(dir.join("clean")).unwrap();
    std::fs::write(dir.join("clean"), "#!/bin/sh\n").unwrap();
    std::fs::remove_file(dir.join("online")).unwrap();
    let (code, doc, err) = install(&dir);
    assert_eq!(code, 5, "{err}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("not a link, so another agent's file: "),
        "{doc}"
    );
    assert!(!dir.join("online").exists(), "nothing was changed");
    assert_eq!(
        std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp"))
            .count(),
        0
    );

    // The links are the entry points: the framework runs them with no `vcs` and no flags.
    let ran = run(
        &mut program(&dir.join("monitor"), "a", &node_uri("a")),
        &words("r GuestName 1 paused01"),
    );
    assert_eq!(ran.code, 102, "{}", ran.stderr);
    let sync = tempfile::tempdir().unwrap();
    let ran = run(
        &mut program(&dir.join("action/vmconfigsync"), "a", &node_uri("a")),
        &["r", "GuestName", "1", "running01", "SyncDir", "1"],
    );
    assert_eq!(ran.code, 1, "a COUNT with no value: {}", ran.stdout);
    let ran = run(
        program(&dir.join("action/vmconfigsync"), "a", &node_uri("a")).args([
            "r",
            "GuestName",
            "1",
            "running01",
            "SyncDir",
            "1",
        ]),
        &[sync.path().to_str().unwrap(), "0"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.starts_with("saved "), "{}", ran.stdout);
}

#[test]
fn the_shipped_type_definition_is_what_the_agent_reads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let types = std::fs::read_to_string(root.join("examples/vcs/KVMGuestTypes.cf")).unwrap();
    let arglist = types
        .lines()
        .find_map(|l| l.trim().strip_prefix("static str ArgList[] = {"))
        .and_then(|l| l.strip_suffix('}'))
        .unwrap()
        .trim();
    let ran = run(&mut on_a(), &words("monitor r Colour 1 red"));
    assert!(
        ran.stderr.contains(&format!(
            "not a KVMGuest attribute (the ArgList is {arglist})"
        )),
        "{arglist}\n{}",
        ran.stderr
    );
    // AgentDirectory is where `vcs install` puts the links by default.
    let help = Command::cargo_bin("kvmguestctl")
        .unwrap()
        .args(["vcs", "install", "--help"])
        .output()
        .unwrap();
    let directory = types
        .lines()
        .find_map(|l| l.trim().strip_prefix("static str AgentDirectory = "))
        .unwrap()
        .trim_matches('"');
    assert!(
        String::from_utf8_lossy(&help.stdout).contains(&format!("[default: {directory}]")),
        "{directory}"
    );

    // main.cf's resource, as the framework would pass it: valid, and OFFLINE on a node that does
    // not have the guest.
    let main_cf = std::fs::read_to_string(root.join("examples/vcs/main.cf")).unwrap();
    let mut argv = vec!["monitor".to_owned(), "web_vm".to_owned()];
    let body = main_cf.split("KVMGuest web_vm (").nth(1).unwrap();
    for line in body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take_while(|l| *l != ")")
    {
        let (name, value) = line.split_once(" = ").unwrap();
        argv.extend([
            name.to_owned(),
            "1".to_owned(),
            value.trim_matches('"').to_owned(),
        ]);
    }
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let ran = run(&mut on_a(), &argv);
    assert_eq!(ran.code, 100, "{argv:?}: {}", ran.stderr);
}

// --- A RHEV resource, against the oVirt simulator ---

const PASSWORD_ENV: &str = "KVMGUESTCTL_TEST_VCS_RHEV_PASSWORD";
const PASSWORD: &str = "vcs s3cret";

/// The simulator, and what a resource needs to reach it.
struct Sim {
    /// Held for its life: dropping it stops the simulator.
    _sim: common::Simulator,
    url: String,
    ca_file: PathBuf,
}

impl Sim {
    fn start(scenario: &str) -> Sim {
        let sim = common::Simulator::start(scenario);
        Sim {
            url: sim.url(),
            ca_file: sim.ca_file(),
            _sim: sim,
        }
    }

    /// The framework's call on engine host `sys` for the resource whose VM is `vm`.
    fn entry(&self, sys: &str, entry: &str, vm: &str, tail: &[&str]) -> Ran {
        let ca_file = self.ca_file.to_str().unwrap();
        self.entry_with(sys, entry, vm, &["CAFile", ca_file], tail, &[])
    }

    /// [`Sim::entry`] with more RHEVMInfo keys instead of CAFile, and more settings.
    fn entry_with(
        &self,
        sys: &str,
        entry: &str,
        vm: &str,
        keys: &[&str],
        tail: &[&str],
        env: &[(&str, &Path)],
    ) -> Ran {
        let mut cmd = vcs(sys, "qemu:///unused");
        cmd.env(PASSWORD_ENV, PASSWORD);
        for (name, value) in env {
            cmd.env(name, value);
        }
        let mut rhevm_info = vec![
            "Enabled",
            "1",
            "URL",
            &self.url,
            "User",
            "admin@internal",
            "PasswordEnv",
            PASSWORD_ENV,
            "Cluster",
            "site-a",
        ];
        rhevm_info.extend(keys);
        let count = rhevm_info.len().to_string();
        let mut argv = vec![entry, "app_vm", "GuestName", "1", vm];
        argv.extend(["DelayAfterGuestOnline", "1", "1"]);
        argv.extend(["DelayAfterGuestOffline", "1", "5"]);
        argv.extend(["RHEVMInfo", &count]);
        argv.extend(rhevm_info);
        argv.extend(tail);
        run(&mut cmd, &argv)
    }
}

fn rhev_scenario(spm_on: &str) -> String {
    format!(
        "users:\n  - {{ name: admin@internal, password: '{PASSWORD}' }}\n\
         delays_ms: {{ wait_for_launch: 200, powering_up: 300, powering_down: 300, stop: 0, \
         migration: 400, host_maintenance: 200, host_activate: 200, spm_election: 300 }}\n\
         clusters:\n  - {{ name: site-a, data_center: DC1 }}\n  - {{ name: site-b, data_center: DC1 }}\n\
         hosts:\n  - {{ name: a1, cluster: site-a, spm: {} }}\n  - {{ name: a2, cluster: site-a }}\n  \
         - {{ name: b1, cluster: site-b, spm: {} }}\n\
         vms:\n  - {{ name: app1, cluster: site-a, status: down }}\n  \
         - {{ name: busy1, cluster: site-a, status: up, host: a2 }}\n",
        spm_on == "a1",
        spm_on == "b1",
    )
}

#[test]
fn a_rhev_resource_through_every_entry_point() {
    let sim = Sim::start(&rhev_scenario("a1"));
    assert_eq!(sim.entry("a1", "monitor", "app1", &[]).code, 100);

    let ran = sim.entry("a1", "online", "app1", &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("KVMGuest:app_vm:online: INFO: started: app1 is ONLINE 100 on a1"),
        "{}",
        ran.stderr
    );
    assert_eq!(sim.entry("a1", "monitor", "app1", &[]).code, 110);
    // The engine says where its VM runs: on a2 it is INTENTIONAL OFFLINE (running on a1), or
    // plain OFFLINE for an ArgList that adds IntentionalOffline = 0.
    assert_eq!(sim.entry("a2", "monitor", "app1", &[]).code, 200);
    let tail = ["IntentionalOffline", "1", "0"];
    assert_eq!(sim.entry("a2", "monitor", "app1", &tail).code, 100);
    // The CA from KVMGUESTCTL_CA_FILE, as for every command, instead of RHEVMInfo.CAFile.
    let ca = [("KVMGUESTCTL_CA_FILE", sim.ca_file.as_path())];
    let ran = sim.entry_with("a1", "monitor", "app1", &[], &[], &ca);
    assert_eq!(ran.code, 110, "{}", ran.stderr);

    let ran = sim.entry(
        "a1",
        "migrate",
        "app1",
        &["VCSInfo", "2", "TargetHost", "a2"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("KVMGuest:app_vm:migrate: INFO: migrated: app1 is ONLINE 100 on a2"),
        "{}",
        ran.stderr
    );
    assert_eq!(sim.entry("a2", "monitor", "app1", &[]).code, 110);

    let ran = sim.entry("a2", "offline", "app1", &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("KVMGuest:app_vm:offline: INFO: stopped: app1 is OFFLINE on a2"),
        "{}",
        ran.stderr
    );
    assert_eq!(sim.entry("a2", "monitor", "app1", &[]).code, 100);
    assert_eq!(sim.entry("a2", "clean", "app1", &[]).code, 0);

    // A VM up on another host is not started a second time here.
    let ran = sim.entry("a1", "online", "busy1", &[]);
    assert_eq!(ran.code, 0);
    assert!(
        ran.stderr
            .contains("ERROR: busy1 already runs on a2; refusing to start a second copy on a1"),
        "{}",
        ran.stderr
    );
    let ran = sim.entry("a1", "clean", "busy1", &[]);
    assert_eq!(
        ran.code, 0,
        "clean stops nothing that runs elsewhere: {}",
        ran.stderr
    );

    let ran = sim.entry("a1", "action/DevScan", "app1", &["1", "dry-run"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout
            .ends_with("SPM a1 -> a1 (dry run: nothing changed)\n"),
        "{}",
        ran.stdout
    );
    let ran = sim.entry("a1", "action/vmconfigsync", "app1", &["0"]);
    assert_eq!(ran.code, 1);
    assert_eq!(
        ran.stdout,
        "vmconfigsync failed: app_vm has no SyncDir to save its definition to\n"
    );
}

#[test]
fn devscan_moves_the_spm_home_and_prints_each_step() {
    let sim = Sim::start(&rhev_scenario("b1"));
    let ran = sim.entry("a1", "action/DevScan", "app1", &["1", "wait=30"]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let lines: Vec<&str> = ran.stdout.lines().collect();
    assert!(
        lines[0].starts_with("deactivate b1 (site-b): done: "),
        "{}",
        ran.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("activate b1 (site-b): done: "))
    );
    assert!(
        lines.last().unwrap().starts_with("SPM b1 -> a"),
        "{}",
        ran.stdout
    );
}

// --- Real guests on the testbed (tests/testbed/testbed.sh up) ---

/// One testbed guest `kvmgt-vcs-<name>` on hosts a and b, removed from both before and after.
struct Guest {
    name: String,
    a: String,
    b: String,
    xml: PathBuf,
    dir: tempfile::TempDir,
}

impl Guest {
    fn new(name: &str) -> Guest {
        let env = common::testbed_env();
        let name = format!("kvmgt-vcs-{name}");
        let dir = tempfile::tempdir().unwrap();
        let xml = dir.path().join(format!("{name}.xml"));
        std::fs::write(&xml, common::testbed(&["guest-xml", &name])).unwrap();
        let guest = Guest {
            name,
            a: env["TESTBED_A_URI"].clone(),
            b: env["TESTBED_B_URI"].clone(),
            xml,
            dir,
        };
        guest.remove();
        guest
    }

    fn remove(&self) {
        for uri in [&self.a, &self.b] {
            for verb in ["destroy", "undefine"] {
                // Bounded: a wedged libvirtd must not hang the run.
                let _ = Process::new("timeout")
                    .args(["120", "virsh", "-c", uri, verb, &self.name])
                    .output();
            }
        }
    }

    /// The resource's ArgListValues, as main.cf would give them.
    fn arglist(&self) -> Vec<String> {
        let sync = self.dir.path().display().to_string();
        let xml = self.xml.display().to_string();
        [
            ("GuestName", self.name.as_str()),
            ("DelayAfterGuestOnline", "1"),
            ("DelayAfterGuestOffline", "60"),
            ("SyncDir", &sync),
            ("GuestConfigFilePath", &xml),
        ]
        .into_iter()
        .flat_map(|(k, v)| [k.to_owned(), "1".to_owned(), v.to_owned()])
        .collect()
    }

    fn entry(&self, cmd: &mut Command, entry: &str, tail: &[&str]) -> Ran {
        let mut argv = vec![entry.to_owned(), "vm".to_owned()];
        argv.extend(self.arglist());
        argv.extend(tail.iter().map(|t| (*t).to_owned()));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        run(cmd, &argv)
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        self.remove();
    }
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn a_real_guest_through_the_agent_directorys_links() {
    let guest = Guest::new("life");
    let dir = guest.dir.path().join("agent");
    let (code, _, err) = install(&dir);
    assert_eq!(code, 0, "{err}");
    // The framework runs <agentdir>/ENTRYPOINT RESOURCE ARGLISTVALUES...
    let link = |entry: &str, tail: &[&str]| {
        let mut cmd = program(&dir.join(entry), "a", &guest.a);
        let mut argv = vec!["vm".to_owned()];
        argv.extend(guest.arglist());
        argv.extend(tail.iter().map(|t| (*t).to_owned()));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        run(&mut cmd, &argv)
    };

    assert_eq!(link("monitor", &[]).code, 100, "not defined yet");
    let ran = link("online", &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!(
            "KVMGuest:vm:online: INFO: defining {} on a from",
            guest.name
        )),
        "{}",
        ran.stderr
    );
    assert_eq!(link("monitor", &[]).code, 110);

    let ran = link("action/vmconfigsync", &["0"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.starts_with("saved "), "{}", ran.stdout);

    // Time to reach userland, where acpid hears the power button.
    std::thread::sleep(Duration::from_secs(3));
    let ran = link("offline", &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!(
            "KVMGuest:vm:offline: INFO: stopped: {} is OFFLINE on a",
            guest.name
        )),
        "shut down, not destroyed: {}",
        ran.stderr
    );
    assert_eq!(link("monitor", &[]).code, 100);

    assert_eq!(link("online", &[]).code, 0);
    let ran = link("clean", &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stderr.contains("cleaned"), "{}", ran.stderr);
    assert_eq!(link("monitor", &[]).code, 100);
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn a_real_live_migration_from_a_to_b() {
    let guest = Guest::new("mig");
    let ran = guest.entry(&mut vcs("a", &guest.a), "online", &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let mut migrate = vcs("a", &guest.a);
    migrate
        .env("KVMGUESTCTL_VCS_TARGET_URI", &guest.b)
        .env("KVMGUESTCTL_VCS_MIGRATION_URI", "tcp://127.0.0.1:49190");
    let ran = guest.entry(
        &mut migrate,
        "migrate",
        &["VCSInfo", "2", "TargetHost", "b"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!(
            "KVMGuest:vm:migrate: INFO: migrated: {} is ONLINE 100 on b",
            guest.name
        )),
        "{}",
        ran.stderr
    );
    assert_eq!(
        guest.entry(&mut vcs("b", &guest.b), "monitor", &[]).code,
        110
    );
    assert_eq!(
        guest.entry(&mut vcs("a", &guest.a), "monitor", &[]).code,
        100
    );
}

/// GuestHealth, added to the ArgList as VCS passes an association: a guest whose agent answered
/// once and then went silent is ONLINE with confidence 50 (105), then FAULTED, which VCS reads
/// as OFFLINE (100), each with the reason in the log. The test driver's agent never answers; its
/// earlier answer is the memory a monitor would have left in the state directory.
#[test]
fn guest_health_lowers_the_confidence_then_faults_a_guest_whose_agent_went_silent() {
    let dir = tempfile::tempdir().unwrap();
    let node = common::agent_guest_node(dir.path());
    let uri = format!("test://{}", node.display());
    let state = dir.path().join("state");
    let monitor = || {
        let mut cmd = vcs("a", &uri);
        cmd.env("KVMGUESTCTL_STATE_DIR", &state);
        run(
            &mut cmd,
            &words(
                "monitor r GuestName 1 ga01 GuestHealth 6 Enabled 1 DegradeAfter 1 FaultAfter 60",
            ),
        )
    };
    let memory_file = state.join("r.health");

    let never = monitor();
    assert_eq!(
        never.code, 110,
        "never answered: not held against it: {}",
        never.stderr
    );
    common::remember_a_silent_agent(&memory_file, 0);
    let silent = monitor();
    assert_eq!(silent.code, 105, "{}", silent.stderr);
    assert!(
        silent.stderr.contains(
            "WARNING: ga01 is ONLINE on a (running, unknown; the guest agent of ga01 on a did not \
             answer a ping within 2s"
        ),
        "{}",
        silent.stderr
    );
    common::remember_a_silent_agent(&memory_file, 100);
    let hung = monitor();
    assert_eq!(hung.code, 100, "{}", hung.stderr);
    assert!(
        hung.stderr.contains("ga01 is FAULTED on a") && hung.stderr.contains("taken as hung"),
        "{}",
        hung.stderr
    );
}
