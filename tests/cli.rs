//! The built binary against libvirt's test driver: table and JSON output, and every exit code.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

mod common;
use common::{fixtures, hung_libvirtd, kvm, run_json};

fn every_state() -> PathBuf {
    fixtures().join("every-state.yaml")
}

/// A configuration file written for one test, in its own directory.
fn config(yaml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resources.yaml");
    std::fs::write(
        &path,
        yaml.replace("FIXTURES", &fixtures().display().to_string()),
    )
    .unwrap();
    (dir, path)
}

#[test]
fn status_json_is_complete_and_typed() {
    let ran = run_json(kvm(&every_state()).args(["status", "paused", "elsewhere"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let doc = ran.doc;
    let resources = doc["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 2);
    let paused = &resources[0];
    assert_eq!(paused["resource"], "paused");
    assert_eq!(paused["guest"], "paused01");
    assert_eq!(paused["running_on"], serde_json::json!(["a"]));
    assert_eq!(paused["concurrency_violation"], false);
    let a = &paused["systems"][0];
    assert_eq!(a["system"], "a");
    assert_eq!(a["state"], "ONLINE");
    assert_eq!(a["confidence"], 20);
    assert_eq!(a["active"], true);
    assert_eq!(a["hypervisor_state"], "paused");
    assert_eq!(a["hypervisor_reason"], "unknown");
    assert_eq!(a["error"], Value::Null);
    let here = &resources[1]["systems"][0];
    assert_eq!(here["state"], "INTENTIONAL OFFLINE");
    assert_eq!(here["confidence"], Value::Null);
    assert_eq!(here["why"], "running on b");
}

#[test]
fn a_guest_running_on_two_systems_is_a_concurrency_violation() {
    kvm(&every_state())
        .args(["status", "twice"])
        .assert()
        .code(6)
        .stderr(predicate::str::contains(
            "CONCURRENCY VIOLATION: twice (twice01) runs on a and b at once",
        ));
    let ran = run_json(kvm(&every_state()).args(["status", "--all"]));
    assert_eq!(
        ran.code, 6,
        "the violation sets the exit code in JSON too: {}",
        ran.stderr
    );
    let doc = ran.doc;
    let twice = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "twice")
        .unwrap();
    assert_eq!(twice["concurrency_violation"], true);
    assert_eq!(twice["running_on"], serde_json::json!(["a", "b"]));
}

#[test]
fn intentional_offline_zero_reports_plain_offline() {
    let (_dir, path) = config(
        "systems:\n  a: { uri: 'test://FIXTURES/node-a.xml' }\n  b: { uri: 'test://FIXTURES/node-b.xml' }\n\
         resources:\n  e: { type: KVMGuest, systems: [a, b], GuestName: elsewhere01, IntentionalOffline: 0 }\n",
    );
    let ran = run_json(kvm(&path).args(["status", "e"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let doc = ran.doc;
    assert_eq!(doc["resources"][0]["systems"][0]["state"], "OFFLINE");
    assert_eq!(doc["resources"][0]["systems"][0]["why"], "running on b");
}

#[test]
fn an_unreachable_system_is_unknown_with_exit_4() {
    let (_dir, path) = config(
        "systems:\n  a: { uri: 'test://FIXTURES/node-a.xml' }\n  gone: { uri: 'qemu+unix:///system?socket=/nonexistent/libvirt-sock' }\n\
         resources:\n  r: { type: KVMGuest, systems: [a, gone], GuestName: running01 }\n",
    );
    let ran = run_json(kvm(&path).args(["status", "r"]));
    assert_eq!(ran.code, 4, "{}", ran.stderr);
    let doc = ran.doc;
    let gone = &doc["resources"][0]["systems"][1];
    assert_eq!(gone["state"], "UNKNOWN");
    assert!(
        gone["error"]
            .as_str()
            .unwrap()
            .starts_with("gone: cannot reach qemu+unix:///system"),
        "{gone}"
    );
    kvm(&path).args(["status", "r"]).assert().code(4);
}

#[test]
fn a_hung_libvirtd_gives_unknown_within_the_timeout_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let socket = hung_libvirtd(dir.path(), "libvirt-sock");
    let (_cfg, path) = config(&format!(
        "systems:\n  hung: {{ uri: 'qemu+unix:///system?socket={}' }}\n\
         resources:\n  r: {{ type: KVMGuest, systems: [hung], GuestName: g }}\n",
        socket.display()
    ));
    let started = Instant::now();
    kvm(&path)
        .args(["--timeout", "1", "status", "r"])
        .assert()
        .code(4)
        .stdout(predicate::str::contains("UNKNOWN"))
        .stdout(predicate::str::contains("did not answer within 1 s"));
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn unknown_resources_exit_3_and_usage_errors_exit_2() {
    kvm(&every_state())
        .args(["status", "nosuch"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no resource named 'nosuch'"));
    kvm(&every_state()).args(["stop"]).assert().code(2);
    kvm(&every_state())
        .args(["status", "--all", "running"])
        .assert()
        .code(2);
    kvm(&every_state())
        .args(["--sys", "nosuch", "start", "running"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("system 'nosuch' is not defined"));
}

#[test]
fn status_without_names_shows_every_resource_but_stop_requires_them() {
    let all = run_json(kvm(&every_state()).args(["status", "--all"]));
    let bare = run_json(kvm(&every_state()).args(["status"]));
    assert_eq!(bare.code, all.code, "{}", bare.stderr);
    let names = |doc: &Value| -> Vec<String> {
        doc["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["resource"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&bare.doc), names(&all.doc));
    assert_eq!(names(&bare.doc).len(), 10);
    for acting in ["start", "stop", "clean"] {
        kvm(&every_state())
            .args(["--sys", "a", "-y", acting])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "required arguments were not provided",
            ));
    }
}

#[test]
fn a_bad_configuration_exits_2_naming_file_line_and_column() {
    let (_dir, path) = config(
        "systems:\n  a: { uri: 'test:///default' }\nresources:\n  r: { type: KVMGuest, systems: [a, z], GuestName: g }\n",
    );
    kvm(&path)
        .args(["status", "--all"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "kvmguestctl: error: {}:4:37: system 'z' is not defined under systems (defined: a)",
            path.display()
        )));
}

#[test]
fn unknown_names_get_the_closest_ones_and_a_guest_name_its_resource() {
    kvm(&every_state())
        .args(["status", "runing"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "no resource named 'runing' (did you mean running?)",
        ));
    kvm(&every_state())
        .args(["status", "Running01"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "Running01 is the guest of running: name the resource",
        ));
    kvm(&every_state())
        .args(["--sys", "aa", "stop", "running"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "system 'aa' is not defined (did you mean a?)",
        ));
    // A long list is not printed whole when nothing is close.
    let resources: String = (0..150)
        .map(|i| format!("  res{i:03}: {{ type: KVMGuest, systems: [a], GuestName: g{i:03} }}\n"))
        .collect();
    let (_dir, path) = config(&format!(
        "systems:\n  a: {{ uri: 'test:///default' }}\nresources:\n{resources}"
    ));
    let out = kvm(&path).args(["status", "zzzz"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no resource named 'zzzz' (150 configured, none close)"),
        "{stderr}"
    );
    assert!(stderr.len() < 200, "{stderr}");
}

#[test]
fn every_yaml_error_of_a_file_is_reported_in_plain_words_once_each() {
    let (_dir, path) = config(
        "systems:\n  a: { uri: 'test:///default', zone: east }\nresources:\n  r:\n    type: KVMGuest\n    systems: [a]\n    GuestNmae: g\n    DelayAfterGuestOnline: ten\n",
    );
    let out = kvm(&path).args(["status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let file = path.display();
    let expected = format!(
        "kvmguestctl: error: {file}:2:32: unknown key `zone`: expected one of uri, site, migration_uri, rhev_host\n\
         kvmguestctl: error: {file}:7:5: unknown key `GuestNmae`: did you mean `GuestName`?\n\
         kvmguestctl: error: {file}:8:28: invalid type: string \"ten\", expected a whole number from 0 to 4294967295\n"
    );
    assert_eq!(stderr, expected);

    let (_dir, path) = config("systems:\n  a: { uri: 'test:///default'\nresources: {}\n");
    kvm(&path)
        .args(["status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            ":3:1: expected ',' or '}' here: a mapping opened with '{' is not closed",
        ))
        .stderr(predicate::str::contains("while parsing").not());

    let missing = Path::new("/nonexistent/kvmguestctl.yaml");
    kvm(missing)
        .args(["status"])
        .assert()
        .code(2)
        .stderr(predicate::str::diff(
            "kvmguestctl: error: /nonexistent/kvmguestctl.yaml: cannot read the configuration: No such file or directory\n",
        ));
}

#[test]
fn errors_are_json_documents_with_o_json() {
    let ran = run_json(kvm(&every_state()).args(["status", "nosuch"]));
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let doc = ran.doc;
    assert_eq!(doc["error"]["exit_code"], 3);
    assert_eq!(doc["error"]["kind"], "unknown");
}

#[test]
fn start_refuses_a_second_copy_with_exit_5() {
    kvm(&every_state())
        .args(["--sys", "a", "start", "elsewhere"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains(
            "elsewhere01 already runs on b; refusing to start a second copy on a",
        ));
}

/// `start r` on a is refused while `other` cannot be vouched for, with `why`, and goes ahead
/// once `--assume-stopped other` vouches for it.
fn refused_until_assumed_stopped(systems: &str, guest: &str, other: &str, why: &str) {
    let (_dir, path) = config(&format!(
        "systems:\n  a: {{ uri: 'test://FIXTURES/node-a.xml' }}\n  {systems}\n\
         resources:\n  r: {{ type: KVMGuest, systems: [a, {other}], GuestName: {guest}, DelayAfterGuestOnline: 0 }}\n"
    ));
    kvm(&path)
        .args(["--sys", "a", "start", "r"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains(format!(
            "cannot tell whether {guest} runs on {other}: {why}"
        )))
        .stderr(predicate::str::contains(format!(
            "--assume-stopped {other}"
        )));
    let ran = run_json(kvm(&path).args(["--sys", "a", "start", "r", "--assume-stopped", other]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let doc = ran.doc;
    assert_eq!(doc["results"][0]["action"], "started");
    assert_eq!(doc["results"][0]["state"], "ONLINE");
}

#[test]
fn start_refuses_when_another_system_cannot_be_asked_unless_assumed_stopped() {
    refused_until_assumed_stopped(
        "gone: { uri: 'qemu+unix:///system?socket=/nonexistent/sock' }",
        "shutoff01",
        "gone",
        "gone: cannot reach qemu+unix:///system",
    );
}

#[test]
fn start_refuses_while_another_system_reports_an_unknown_state() {
    refused_until_assumed_stopped(
        "b: { uri: 'test://FIXTURES/node-b.xml' }",
        "limbo01",
        "b",
        "its state there is UNKNOWN (no state)",
    );
}

#[test]
fn start_defines_from_guest_config_file_path_and_waits() {
    let (_dir, path) = config(
        "systems:\n  a: { uri: 'test://FIXTURES/node-a.xml' }\n\
         resources:\n  fresh: { type: KVMGuest, systems: [a], GuestName: fresh01, DelayAfterGuestOnline: 1, GuestConfigFilePath: FIXTURES/fresh01.xml }\n",
    );
    let started = Instant::now();
    let out = kvm(&path)
        .args(["--sys", "a", "start", "fresh", "-o", "json"])
        .assert()
        .success();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "DelayAfterGuestOnline was not waited"
    );
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("defining fresh01 on a from"), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(doc["results"][0]["action"], "started");
    assert_eq!(doc["results"][0]["confidence"], 100);
}

#[test]
fn stop_on_the_wrong_system_says_where_the_guest_runs() {
    let ran = run_json(kvm(&every_state()).args(["--sys", "a", "-y", "stop", "elsewhere"]));
    assert_eq!(
        ran.code, 0,
        "stopping a stopped guest is success: {}",
        ran.stderr
    );
    let report = &ran.doc["results"][0];
    assert_eq!(report["action"], "already-offline");
    assert_eq!(
        report["detail"],
        "elsewhere01 is not running on a; it runs on b"
    );
    // A system that cannot be asked does not fail the stop.
    let (_dir, path) = config(
        "systems:\n  a: { uri: 'test://FIXTURES/node-a.xml' }\n  z: { uri: 'test:///nonexistent/node.xml' }\n\
         resources:\n  r: { type: KVMGuest, systems: [a, z], GuestName: shutoff01 }\n",
    );
    let ran = run_json(kvm(&path).args(["--sys", "a", "-y", "stop", "r"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        ran.doc["results"][0]["detail"],
        "shutoff01 is not running on a"
    );
}

#[test]
fn start_rejects_a_config_file_for_another_guest() {
    let (_dir, path) = config(
        "systems:\n  a: { uri: 'test://FIXTURES/node-a.xml' }\n\
         resources:\n  r: { type: KVMGuest, systems: [a], GuestName: other01, GuestConfigFilePath: FIXTURES/fresh01.xml }\n",
    );
    kvm(&path)
        .args(["--sys", "a", "start", "r"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "defines guest 'fresh01', but the resource's GuestName is 'other01'",
        ));
}

#[test]
fn start_of_an_undefined_guest_without_config_file_exits_3() {
    kvm(&every_state())
        .args(["--sys", "a", "start", "undefined"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "nowhere01 is not defined on a, and undefined has no GuestConfigFilePath",
        ));
}

#[test]
fn stop_and_clean_of_a_running_guest_need_yes_without_a_terminal() {
    for command in ["stop", "clean"] {
        kvm(&every_state())
            .args(["--sys", "a", command, "running"])
            .write_stdin("")
            .assert()
            .code(5)
            .stderr(predicate::str::contains(
                "needs confirmation and there is no terminal to ask on: pass --yes",
            ));
    }
}

#[test]
fn stop_shuts_down_and_saves_the_definition_to_sync_dir() {
    let sync = tempfile::tempdir().unwrap();
    let (_dir, path) = config(&format!(
        "systems:\n  a: {{ uri: 'test://FIXTURES/node-a.xml' }}\n\
         resources:\n  r: {{ type: KVMGuest, systems: [a], GuestName: running01, SyncDir: {} }}\n",
        sync.path().display()
    ));
    let ran = run_json(kvm(&path).args(["--sys", "a", "--yes", "stop", "r"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let doc = ran.doc;
    let result = &doc["results"][0];
    assert_eq!(result["action"], "stopped");
    assert_eq!(result["state"], "OFFLINE");
    let saved = sync.path().join("running01.xml");
    assert_eq!(result["saved_definition"], saved.display().to_string());
    assert!(
        std::fs::read_to_string(saved)
            .unwrap()
            .contains("<name>running01</name>")
    );
}

#[test]
fn stop_of_a_stopped_guest_succeeds_without_asking() {
    // No --yes and no terminal: nothing to stop, so nothing to confirm.
    let ran = run_json(
        kvm(&every_state())
            .args(["--sys", "a", "stop", "shutoff"])
            .write_stdin(""),
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let doc = ran.doc;
    assert_eq!(doc["results"][0]["action"], "already-offline");
}

#[test]
fn clean_destroys_with_yes() {
    let ran =
        run_json(kvm(&every_state()).args(["--sys", "a", "--yes", "clean", "paused", "crashed"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let doc = ran.doc;
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        assert_eq!(r["action"], "cleaned", "{r}");
        assert_eq!(r["state"], "OFFLINE", "{r}");
    }
}

#[test]
fn display_fills_defaults_and_never_shows_the_password() {
    let (_dir, path) = config(
        "systems:\n  a: { uri: 'test:///default' }\n\
         resources:\n  r:\n    type: KVMGuest\n    systems: [a]\n    GuestName: g\n    \
         RHEVMInfo: { Enabled: 1, URL: 'https://engine.example.com', User: admin@internal, Password: 'enc:v1:czNjcmV0', Cluster: east }\n",
    );
    let out = kvm(&path)
        .args(["display", "r"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("enc:v1"));
    assert!(
        !text.contains("czNjcmV0"),
        "not even the encrypted text: {text}"
    );
    assert!(text.contains("RHEVMInfo.Password"));
    assert!(text.contains("********"));
    let ran = run_json(kvm(&path).args(["display", "r"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let doc = ran.doc;
    let r = &doc["resources"][0];
    assert_eq!(r["Resource"], "r");
    assert_eq!(r["DelayAfterGuestOnline"], 5);
    assert_eq!(r["DelayAfterGuestOffline"], 30);
    assert_eq!(r["MigrateTimeout"], 300);
    assert_eq!(r["MigrateWaitLimit"], 2);
    assert_eq!(r["IntentionalOffline"], 1);
    assert_eq!(r["ResyncVMCfg"], 0);
    assert_eq!(r["CEInfo"]["FaultOnHBLoss"], 1);
    assert_eq!(r["RHEVMInfo"]["Password"], "********");
    assert_eq!(r["DROpts"]["IPAddress"], Value::Null);
    assert!(!doc.to_string().contains("s3cret"));
    for hidden in ["enc:v1", "czNjcmV0"] {
        assert!(!doc.to_string().contains(hidden), "{hidden}: {doc}");
    }
}

#[test]
fn validate_warns_below_defaults_and_exits_0() {
    let (_dir, path) = config(
        "systems:\n  a: { uri: 'test:///default' }\n\
         resources:\n  r: { type: KVMGuest, systems: [a], GuestName: g, DelayAfterGuestOnline: 2, DelayAfterGuestOffline: 10 }\n",
    );
    let ran = run_json(kvm(&path).args(["validate"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let doc = ran.doc;
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["warnings"], 2);
    let first = &doc["diagnostics"][0];
    assert_eq!(first["severity"], "warning");
    assert_eq!(first["line"], 4);
    assert_eq!(
        first["message"],
        "DelayAfterGuestOnline = 2 is below its default 5"
    );
    kvm(&path).args(["validate"]).assert().success();
}

#[test]
fn validate_reports_every_error_and_exits_2() {
    let (_dir, path) = config(
        "systems:\n  a: { uri: 'test:///default' }\n\
         resources:\n  r:\n    type: KVMGuest\n    systems: [a]\n    DROpts: { ConfigureNetwork: 1, IPAddress: 10.0.0.300 }\n",
    );
    let ran = run_json(kvm(&path).args(["validate"]));
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    let doc = ran.doc;
    assert_eq!(doc["valid"], false);
    let messages: Vec<&str> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "GuestName is missing: the libvirt domain name is required",
            "DROpts.ConfigureNetwork = 1 needs DROpts.Netmask",
            "DROpts.IPAddress '10.0.0.300' is not an IPv4 or IPv6 address",
        ]
    );
    kvm(&path).args(["validate"]).assert().code(2);
}

#[test]
fn validate_connect_checks_hosts_guests_and_sync_dir() {
    let (_dir, path) = config(
        "systems:\n  a: { uri: 'test://FIXTURES/node-a.xml' }\n  gone: { uri: 'qemu+unix:///system?socket=/nonexistent/sock' }\n\
         resources:\n  ok: { type: KVMGuest, systems: [a], GuestName: running01 }\n  \
         missing: { type: KVMGuest, systems: [a], GuestName: nowhere01 }\n  \
         far: { type: KVMGuest, systems: [gone], GuestName: g, GuestConfigFilePath: FIXTURES/fresh01.xml }\n  \
         nosync: { type: KVMGuest, systems: [a], GuestName: shutoff01, SyncDir: /nonexistent/sync }\n",
    );
    kvm(&path)
        .args(["validate", "--connect", "ok"])
        .assert()
        .success();
    kvm(&path)
        .args(["validate", "--connect", "missing"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "nowhere01 is defined on none of a and GuestConfigFilePath is not set",
        ));
    kvm(&path)
        .args(["validate", "--connect", "far"])
        .assert()
        .code(4)
        .stdout(predicate::str::contains("gone: cannot reach"))
        .stdout(predicate::str::contains(
            "defines guest 'fresh01', but the resource's GuestName is 'g'",
        ));
    kvm(&path)
        .args(["validate", "--connect", "nosync"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "SyncDir /nonexistent/sync: does not exist or is not a directory",
        ));
}

#[test]
fn validate_connect_finds_what_breaks_a_failover_and_each_unreachable_system_once() {
    let (_dir, path) = config(
        "systems:\n  a: { uri: 'test://FIXTURES/node-a.xml' }\n  b: { uri: 'test://FIXTURES/node-b.xml' }\n  \
         gone: { uri: 'test:///nonexistent/node.xml' }\n\
         resources:\n  one: { type: KVMGuest, systems: [a, gone], GuestName: running01 }\n  \
         two: { type: KVMGuest, systems: [a, gone], GuestName: shutoff01 }\n  \
         half: { type: KVMGuest, systems: [a, b], GuestName: paused01 }\n  \
         file: { type: KVMGuest, systems: [a, b], GuestName: fresh01, GuestConfigFilePath: FIXTURES/fresh01.xml }\n",
    );
    let ran = run_json(kvm(&path).args(["validate", "--connect"]));
    assert_eq!(ran.code, 4, "{}", ran.stderr);
    assert_eq!(
        ran.stderr, "",
        "nothing of libvirt's or libxml2's on stderr"
    );
    let found: Vec<(u64, u64, String, String)> = ran.doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
                d["resource"].as_str().unwrap_or_default().to_owned(),
                d["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                4,
                16,
                String::new(),
                "gone: cannot reach test:///nonexistent/node.xml: cannot read \
                 /nonexistent/node.xml: No such file or directory"
                    .to_owned()
            ),
            (
                8,
                3,
                "half".to_owned(),
                "paused01 cannot start on b, so a failover there would fail: it is not defined \
                 there, and GuestConfigFilePath is not set (define it there: kvmguestctl \
                 vmconfigsync half --define-on b, or set GuestConfigFilePath)"
                    .to_owned()
            ),
        ]
    );
}

#[test]
fn quickstart_status_prints_every_resource_with_state_and_confidence() {
    let quickstart = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart.yaml");
    let ran = run_json(kvm(&quickstart).args(["status", "--all"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let doc = ran.doc;
    let resources = doc["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 4);
    for r in resources {
        for s in r["systems"].as_array().unwrap() {
            assert_ne!(s["state"], "UNKNOWN", "{s}");
        }
    }
    let web = resources
        .iter()
        .find(|r| r["resource"] == "web_vm")
        .unwrap();
    assert_eq!(web["systems"][0]["state"], "ONLINE");
    assert_eq!(web["systems"][0]["confidence"], 100);
}

#[test]
fn help_documents_the_exit_codes_and_completions_are_printed() {
    Command::cargo_bin("kvmguestctl")
        .unwrap()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("6  concurrency violation"));
    Command::cargo_bin("kvmguestctl")
        .unwrap()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("_kvmguestctl()"));
}

#[test]
fn quiet_prints_nothing_on_success_and_keeps_the_json_document() {
    kvm(&every_state())
        .args(["-q", "status", "running"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
    let ran = run_json(kvm(&every_state()).args(["-q", "status", "twice"]));
    assert_eq!(ran.code, 6);
    assert_eq!(ran.doc["resources"][0]["concurrency_violation"], true);
    assert!(
        ran.stderr.contains("CONCURRENCY VIOLATION"),
        "{}",
        ran.stderr
    );
}

/// Each failed resource of a document, with its exit code.
fn failed(doc: &Value) -> Vec<(&str, u64)> {
    doc["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["resource"].as_str().unwrap(),
                e["exit_code"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn status_of_many_resources_asks_each_system_once_per_look() {
    let out = kvm(&every_state())
        .args(["-v", "status", "--all"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let queries: Vec<&str> = log.lines().filter(|l| l.contains("libvirt")).collect();
    // One connect and one bulk query per system, whatever the number of resources; and one more
    // query of both, the second look that confirms the concurrency violation of `twice`.
    assert_eq!(queries.len(), 6, "{queries:#?}");
    for system in ["a", "b"] {
        let count = |what: &str| {
            queries
                .iter()
                .filter(|l| l.contains(&format!("libvirt {system}: {what}")))
                .count()
        };
        assert_eq!(
            (count("connect"), count("all domain states")),
            (1, 2),
            "{queries:#?}"
        );
    }
}

#[test]
fn verbose_logs_every_libvirt_call_with_its_duration() {
    kvm(&every_state())
        .args(["-v", "status", "running"])
        .assert()
        .success()
        .stderr(predicate::str::is_match(r"libvirt a: all domain states: [0-9.]+ ms").unwrap());
}

#[test]
fn the_shipped_systemd_unit_runs_the_watcher_and_stops_cleanly_on_sigterm() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let unit = std::fs::read_to_string(root.join("examples/kvmguestctl-watch.service")).unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    let mut args: Vec<String> = exec.split_whitespace().skip(1).map(str::to_owned).collect();
    let state = tempfile::tempdir().unwrap();
    let at = args.iter().position(|a| a == "--state-dir").unwrap();
    args[at + 1] = state.path().display().to_string();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kvmguestctl"))
        .args(&args)
        .env("KVMGUESTCTL_CONFIG", root.join("examples/quickstart.yaml"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once both systems are subscribed the watcher is in its loop, its signal handlers set.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        lines.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    assert!(lines.iter().all(|l| l["event"] == "connected"), "{lines:?}");
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn migrate_refuses_a_guest_not_running_here_and_says_where_a_failed_one_still_runs() {
    kvm(&every_state())
        .args(["--sys", "a", "migrate", "shutoff", "--to", "b"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "shutoff may run only on a; b is not one of its systems",
        ));
    kvm(&every_state())
        .args(["--sys", "b", "migrate", "running", "--to", "a"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains(
            "running01 already runs on a; nothing to migrate there",
        ));
    let (_dir, path) = config(
        "systems:\n  a: { uri: 'test://FIXTURES/node-a.xml' }\n  b: { uri: 'test://FIXTURES/node-b.xml' }\n\
         resources:\n  r: { type: KVMGuest, systems: [a, b], GuestName: shutoff01 }\n",
    );
    kvm(&path)
        .args(["--sys", "a", "migrate", "r", "--to", "b"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "shutoff01 is not running on a (OFFLINE, shut off): there is nothing to migrate",
        ));
    // libvirt's test driver cannot migrate: the failure says the guest stayed where it was.
    kvm(&every_state())
        .args(["--sys", "a", "migrate", "running", "--to", "b"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "virDomainMigrate3; running01 keeps running on a",
        ));
}

#[test]
fn several_resources_with_a_failure_give_one_json_document() {
    let out = kvm(&every_state())
        .args(["--sys", "a", "-o", "json", "stop", "shutoff", "running"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "the first failure's exit code");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("exactly one JSON document");
    assert_eq!(doc["results"][0]["resource"], "shutoff");
    assert_eq!(doc["results"][0]["action"], "already-offline");
    let error = &doc["errors"][0];
    assert_eq!(error["resource"], "running");
    assert_eq!(error["exit_code"], 5);
    assert_eq!(error["kind"], "refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs confirmation"));
}

/// Every resource is tried; the exit code is that of the first one that failed, in the order
/// named (undefined: 3; running elsewhere: 5).
#[test]
fn the_exit_code_is_the_first_failures() {
    for (names, code, first) in [
        (["undefined", "elsewhere"], 3, "undefined"),
        (["elsewhere", "undefined"], 5, "elsewhere"),
    ] {
        let out = kvm(&every_state())
            .args(["--sys", "a", "-o", "json", "start"])
            .args(names)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{names:?}");
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["errors"].as_array().unwrap().len(), 2, "{doc}");
        assert_eq!(doc["errors"][0]["resource"], first);
    }
}

/// Status asks every system at the same time: four hung hosts cost one timeout, not four.
#[test]
fn hung_systems_are_asked_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let systems: String = (1..=4)
        .map(|i| {
            let socket = hung_libvirtd(dir.path(), &format!("sock{i}"));
            format!(
                "  h{i}: {{ uri: 'qemu+unix:///system?socket={}' }}\n",
                socket.display()
            )
        })
        .collect();
    let (_cfg, path) = config(&format!(
        "systems:\n{systems}resources:\n  r: {{ type: KVMGuest, systems: [h1, h2, h3, h4], GuestName: g }}\n"
    ));
    let started = Instant::now();
    let doc = run_json(kvm(&path).args(["--timeout", "2", "status", "r"]));
    let elapsed = started.elapsed();
    assert_eq!(doc.code, 4);
    let systems = doc.doc["resources"][0]["systems"].as_array().unwrap();
    assert_eq!(systems.len(), 4);
    assert!(
        systems.iter().all(|s| s["state"] == "UNKNOWN"),
        "{systems:?}"
    );
    assert!(
        elapsed < Duration::from_secs(6),
        "one after the other would take 8 s: {elapsed:?}"
    );
}

/// `n` shut-off guests `g1..` on system a (a node file of their own), one resource `rN` each
/// with DelayAfterGuestOnline `delay`.
fn shut_off_guests(n: usize, delay: u32) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let domains: String = (1..=n)
        .map(|i| {
            format!(
                "  <domain type='test'><name>g{i}</name><memory>131072</memory>\
                 <os><type>hvm</type></os><test:runstate>5</test:runstate></domain>\n"
            )
        })
        .collect();
    std::fs::write(
        dir.path().join("node.xml"),
        format!(
            "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n{domains}</node>\n"
        ),
    )
    .unwrap();
    let resources: String = (1..=n)
        .map(|i| {
            format!(
                "  r{i}: {{ type: KVMGuest, systems: [a], GuestName: g{i}, DelayAfterGuestOnline: {delay} }}\n"
            )
        })
        .collect();
    let path = dir.path().join("resources.yaml");
    std::fs::write(
        &path,
        format!("systems:\n  a: {{ uri: 'test:node.xml' }}\nresources:\n{resources}"),
    )
    .unwrap();
    (dir, path)
}

/// Six starts that each wait DelayAfterGuestOnline 2 s overlap: the command takes well under
/// the 12 s they would take one after the other (a behaviour bound, not a speed claim). Every
/// resource is reported, in the order named, and without a terminal each says one line on
/// stderr when it is done.
#[test]
fn a_bulk_start_overlaps_the_waits_and_keeps_the_order_named() {
    let (_dir, path) = shut_off_guests(6, 2);
    let named = ["r4", "r1", "r6", "r2", "r5", "r3"];
    let started = Instant::now();
    let ran = run_json(kvm(&path).args(["--sys", "a", "start"]).args(named));
    let elapsed = started.elapsed();
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let results = ran.doc["results"].as_array().unwrap();
    let order: Vec<&str> = results
        .iter()
        .map(|r| r["resource"].as_str().unwrap())
        .collect();
    assert_eq!(order, named);
    for r in results {
        assert_eq!(
            (&r["action"], &r["state"]),
            (&"started".into(), &"ONLINE".into()),
            "{r}"
        );
        assert!(
            r["seconds"].as_f64().unwrap() >= 2.0,
            "each waited its delay: {r}"
        );
    }
    assert!(
        elapsed < Duration::from_secs(8),
        "one after the other would take 12 s: {elapsed:?}"
    );
    for name in named {
        let lines: Vec<&str> = ran
            .stderr
            .lines()
            .filter(|l| l.starts_with(&format!("{name}: ")))
            .collect();
        assert_eq!(lines.len(), 1, "{name}: {}", ran.stderr);
        assert!(
            lines[0].starts_with(&format!("{name}: started (ONLINE on a, ")),
            "{}",
            lines[0]
        );
    }
    // No step lines interleaved from several resources: only the result lines.
    assert_eq!(ran.stderr.lines().count(), named.len(), "{}", ran.stderr);
}

/// --parallel bounds the batch: 1 runs one resource after the other (three 1 s waits take 3 s).
#[test]
fn parallel_1_runs_the_resources_one_after_the_other() {
    let (_dir, path) = shut_off_guests(3, 1);
    let started = Instant::now();
    let ran = run_json(kvm(&path).args(["--sys", "a", "start", "--all", "--parallel", "1"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.doc["results"].as_array().unwrap().len(), 3);
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    kvm(&path)
        .args(["--sys", "a", "start", "--all", "--parallel", "0"])
        .assert()
        .code(2);
}

/// The per-resource checks hold in a batch: a guest live on another system is refused, an
/// undefined one is unknown, the rest start; each refusal is said on its own line, the document
/// keeps the order named and the exit code is the first failure's.
#[test]
fn a_bulk_start_refuses_per_resource() {
    let ran = run_json(kvm(&every_state()).args([
        "--sys",
        "a",
        "start",
        "elsewhere",
        "shutoff",
        "undefined",
        "running",
    ]));
    assert_eq!(ran.code, 5, "{}", ran.stderr);
    let results = common::actions(&ran.doc);
    assert_eq!(
        results,
        [("shutoff", "started"), ("running", "already-online")]
    );
    let errors = failed(&ran.doc);
    assert_eq!(errors, [("elsewhere", 5), ("undefined", 3)]);
    assert!(
        ran.stderr.contains(
            "kvmguestctl: refused: elsewhere01 already runs on b; refusing to start a second copy on a"
        ),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr
            .contains("kvmguestctl: error: nowhere01 is not defined on a"),
        "{}",
        ran.stderr
    ); // -q: the failures' lines only, not the started one's.
    let ran = run_json(kvm(&every_state()).args([
        "-q",
        "--sys",
        "a",
        "start",
        "elsewhere",
        "shutoff",
        "undefined",
    ]));
    let lines: Vec<&str> = ran.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", ran.stderr);
    assert!(
        lines.iter().all(|l| l.starts_with("kvmguestctl: ")),
        "{}",
        ran.stderr
    );
}

/// Without a terminal and without --yes, a bulk stop or clean refuses each guest it would
/// interrupt, naming what it would have done to it, and still does what needs no confirmation;
/// with --yes every guest is stopped, in the order named.
#[test]
fn a_bulk_stop_or_clean_without_yes_refuses_each_running_guest_and_does_the_rest() {
    for (command, running_action, paused_action) in [
        (
            "stop",
            "Shut down running01 on a",
            "Shut down paused01 on a",
        ),
        (
            "clean",
            "Destroy running01 on a at once, without a shutdown",
            "Destroy paused01 on a at once, without a shutdown",
        ),
    ] {
        let ran = run_json(
            kvm(&every_state())
                .args(["--sys", "a", command, "running", "shutoff", "paused"])
                .write_stdin(""),
        );
        assert_eq!(ran.code, 5, "{command}: {}", ran.stderr);
        assert_eq!(
            ran.doc["results"].as_array().unwrap().len(),
            1,
            "{}",
            ran.doc
        );
        assert_eq!(ran.doc["results"][0]["resource"], "shutoff");
        assert_eq!(ran.doc["results"][0]["action"], "already-offline");
        let refused: Vec<&str> = ran.doc["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"].as_str().unwrap())
            .collect();
        assert_eq!(refused, ["running", "paused"], "{command}");
        for action in [running_action, paused_action] {
            assert!(
                ran.stderr.contains(&format!(
                    "kvmguestctl: refused: {action}: this needs confirmation and there is no \
                     terminal to ask on: pass --yes"
                )),
                "{command}: {}",
                ran.stderr
            );
        }

        let ran = run_json(kvm(&every_state()).args([
            "--sys", "a", "--yes", command, "running", "shutoff", "paused",
        ]));
        assert_eq!(ran.code, 0, "{command}: {}", ran.stderr);
        let done = common::actions(&ran.doc);
        let acted = if command == "stop" {
            "stopped"
        } else {
            "cleaned"
        };
        assert_eq!(
            done,
            [
                ("running", acted),
                ("shutoff", "already-offline"),
                ("paused", acted)
            ],
            "{command}"
        );
    }
}

/// migrate takes several resources too: each is tried and reported in the order named (the
/// test driver cannot migrate; a guest live on the target is refused), and an offline
/// migration, which shuts guests down, needs --yes without a terminal, for each guest.
#[test]
fn a_bulk_migrate_reports_each_resource_and_an_offline_one_needs_yes() {
    let ran = run_json(kvm(&every_state()).args([
        "--sys",
        "a",
        "migrate",
        "--to",
        "b",
        "elsewhere",
        "running",
    ]));
    assert_eq!(ran.code, 5, "the first failure's: {}", ran.stderr);
    let errors = failed(&ran.doc);
    assert_eq!(errors, [("elsewhere", 5), ("running", 1)]);

    let ran = run_json(
        kvm(&every_state())
            .args([
                "--sys", "a", "migrate", "--to", "b", "--mode", "offline", "running", "twice",
            ])
            .write_stdin(""),
    );
    assert_eq!(ran.code, 5, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(
            "kvmguestctl: refused: Shut down running01 on a: this needs confirmation and there is \
             no terminal to ask on: pass --yes"
        ),
        "{}",
        ran.stderr
    );
}

/// `status --detail` of a running guest whose agent does not answer (the test driver has none):
/// nothing of the agent, and no address from the lease source either ("none"), in the JSON and
/// in the three columns of their own; without `--detail` there are no details at all.
#[test]
fn status_detail_of_a_guest_whose_agent_is_silent_has_no_details_to_show() {
    let dir = tempfile::tempdir().unwrap();
    let node = common::agent_guest_node(dir.path());
    let config = dir.path().join("r.yaml");
    std::fs::write(
        &config,
        format!(
            "systems:\n  a: {{ uri: 'test://{}' }}\nresources:\n  \
             g: {{ type: KVMGuest, systems: [a], GuestName: ga01 }}\n",
            node.display()
        ),
    )
    .unwrap();
    let ran = run_json(kvm(&config).args(["--sys", "a", "status", "g", "--detail"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let system = &ran.doc["resources"][0]["systems"][0];
    assert_eq!(system["state"], "ONLINE", "{}", ran.doc);
    assert_eq!(
        system["details"],
        serde_json::json!({
            "agent": "silent",
            "host_name": null,
            "os": null,
            "kernel": null,
            "address_source": "none",
            "interfaces": []
        }),
        "{}",
        ran.doc
    );
    let table = kvm(&config)
        .args(["--sys", "a", "status", "g", "--detail"])
        .output()
        .unwrap();
    let header = String::from_utf8_lossy(&table.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    assert_eq!(
        header,
        [
            "RESOURCE",
            "SYSTEM",
            "STATE",
            "CONFIDENCE",
            "HYPERVISOR",
            "HOSTNAME",
            "OS",
            "ADDRESSES",
            "WHY"
        ]
    );
    let plain = run_json(kvm(&config).args(["--sys", "a", "status", "g"]));
    assert!(
        plain.doc["resources"][0]["systems"][0]
            .get("details")
            .is_none(),
        "{}",
        plain.doc
    );
}
