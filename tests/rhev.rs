//! RHEV resources through the binary, against the project's oVirt API simulator (`ovirt-sim`):
//! status of every VM status, start with and without the DR payload, stop with escalation,
//! migrate allowed and refused, DevScan in every SPM situation, authentication, TLS, token
//! expiry, passwords, and the request count of a 1,000-VM survey.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

const PASSWORD_ENV: &str = "KVMGUESTCTL_TEST_RHEV_PASSWORD";
const PASSWORD: &str = "s3cret & +more";

/// The simulator, with a client for its control API.
struct Sim {
    /// Held for its life: dropping it stops the simulator.
    _sim: common::Simulator,
    url: String,
    http_url: String,
    ca_file: PathBuf,
    control: String,
    client: reqwest::blocking::Client,
    dir: PathBuf,
}

impl Sim {
    fn start(scenario: &str) -> Sim {
        let sim = common::Simulator::start(scenario);
        let ca_file = sim.ca_file();
        let pem = std::fs::read(&ca_file).unwrap();
        let tls = kvmguestctl::backend::rhev::tls_trusting(&pem, &ca_file).unwrap();
        let client = reqwest::blocking::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        Sim {
            url: sim.url(),
            http_url: sim.ready["http_url"].as_str().unwrap().to_owned(),
            control: sim.ready["control"].as_str().unwrap().to_owned(),
            ca_file,
            client,
            dir: sim.dir.path().to_owned(),
            _sim: sim,
        }
    }

    fn get(&self, path: &str) -> Value {
        self.client
            .get(format!("{}{path}", self.control))
            .send()
            .and_then(|r| r.text())
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap()
    }

    fn post(&self, path: &str, body: &str) -> Value {
        self.client
            .post(format!("{}{path}", self.control))
            .body(body.to_owned())
            .send()
            .and_then(|r| r.text())
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap()
    }

    fn clear_requests(&self) {
        self.client
            .delete(format!("{}/requests", self.control))
            .send()
            .unwrap();
    }

    /// How many requests matched `METHOD /path` (the simulator's per-route counters).
    fn count(&self, requests: &Value, route: &str) -> u64 {
        requests["routes"][route].as_u64().unwrap_or(0)
    }

    /// A configuration beside the scenario: `systems` YAML and resources with RHEVMInfo filled in.
    fn config(&self, systems: &str, resources: &[(impl AsRef<str>, impl AsRef<str>)]) -> PathBuf {
        let mut yaml = format!("systems:\n{systems}resources:\n");
        for (name, attributes) in resources {
            let (name, attributes) = (name.as_ref(), attributes.as_ref());
            yaml.push_str(&format!(
                "  {name}:\n    type: KVMGuest\n    {attributes}\n    RHEVMInfo:\n      Enabled: 1\n      \
                 URL: {}\n      User: admin@internal\n      PasswordEnv: {PASSWORD_ENV}\n      \
                 Cluster: site-a\n      CAFile: {}\n",
                self.url,
                self.ca_file.display()
            ));
        }
        let path = self.dir.join("resources.yaml");
        std::fs::write(&path, yaml).unwrap();
        path
    }

    fn kvm(&self, config: &Path, sys: &str) -> Command {
        let mut cmd = common::kvm(config);
        cmd.env(PASSWORD_ENV, PASSWORD)
            .env_remove("KVMGUESTCTL_CA_FILE")
            .env_remove("KVMGUESTCTL_KEY_FILE")
            .args(["--sys", sys, "--yes"]);
        cmd
    }
}

const SITES: &str =
    "  a1: { rhev_host: a1, site: primary }\n  a2: { site: primary }\n  b1: { site: dr }\n";

/// Two sites of one data center, short delays, the engine's user with this test's password.
fn scenario(vms: &str) -> String {
    format!(
        "users:\n  - {{ name: admin@internal, password: '{PASSWORD}' }}\n\
         delays_ms: {{ wait_for_launch: 200, powering_up: 300, powering_down: 300, stop: 0, \
         migration: 400, host_maintenance: 300, host_activate: 300, spm_election: 500 }}\n\
         clusters:\n  - {{ name: site-a, data_center: DC1 }}\n  - {{ name: site-b, data_center: DC1 }}\n\
         hosts:\n  - {{ name: a1, cluster: site-a, spm: true }}\n  - {{ name: a2, cluster: site-a }}\n  \
         - {{ name: b1, cluster: site-b }}\n\
         vms:{}",
        if vms.is_empty() {
            " []\n".to_owned()
        } else {
            format!("\n{vms}")
        }
    )
}

/// (document, exit code, stderr) of a run with `-o json`.
fn json_of(cmd: &mut Command) -> (Value, i32, String) {
    let ran = common::run_json(cmd);
    (ran.doc, ran.code, ran.stderr)
}

/// Every VM status the engine has, on a1, as seen from a1 and a2.
#[test]
fn status_of_every_vm_status() {
    // (status, on a host, expected state on a1, confidence on a1)
    let table: &[(&str, bool, &str, Option<u64>)] = &[
        ("wait_for_launch", true, "ONLINE", Some(10)),
        ("powering_up", true, "ONLINE", Some(60)),
        ("up", true, "ONLINE", Some(100)),
        ("powering_down", true, "ONLINE", Some(40)),
        ("paused", true, "ONLINE", Some(20)),
        ("restoring_state", true, "ONLINE", Some(50)),
        ("down", false, "OFFLINE", None),
        ("saving_state", true, "INTENTIONAL OFFLINE", None),
        ("suspended", false, "INTENTIONAL OFFLINE", None),
        ("migrating", true, "INTENTIONAL OFFLINE", None),
        ("reboot_in_progress", true, "INTENTIONAL OFFLINE", None),
        ("image_locked", false, "UNKNOWN", None),
        ("unknown", true, "UNKNOWN", None),
        ("not_responding", true, "UNKNOWN", None),
        ("unassigned", true, "UNKNOWN", None),
    ];
    let vms: String = table
        .iter()
        .map(|(status, hosted, _, _)| {
            let host = if *hosted { ", host: a1" } else { "" };
            format!("  - {{ name: vm-{status}, cluster: site-a, status: {status}{host} }}\n")
        })
        .collect();
    let sim = Sim::start(&scenario(&vms));
    let resources: Vec<(String, String)> = table
        .iter()
        .map(|(status, ..)| {
            (
                format!("r-{status}"),
                format!("systems: [a1, a2]\n    GuestName: vm-{status}"),
            )
        })
        .collect();
    let config = sim.config(SITES, &resources);
    let (status, code, stderr) = json_of(sim.kvm(&config, "a1").args(["status", "--all"]));
    assert_eq!(code, 0, "{stderr}");
    for (name, hosted, state, confidence) in table {
        let r = status["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["guest"] == format!("vm-{name}"))
            .unwrap_or_else(|| panic!("vm-{name} missing: {status}"));
        let a1 = &r["systems"][0];
        assert_eq!(a1["system"], "a1");
        assert_eq!(a1["state"], *state, "{name}: {a1}");
        assert_eq!(a1["confidence"].as_u64(), *confidence, "{name}");
        assert_eq!(a1["hypervisor_state"], *name, "{name}");
        assert_eq!(a1["active"], *hosted, "{name}");
        // From a2 the VM runs elsewhere (when it has a host): INTENTIONAL OFFLINE there.
        let a2 = &r["systems"][1];
        let expected_a2 = if *hosted {
            "INTENTIONAL OFFLINE"
        } else {
            *state
        };
        assert_eq!(a2["state"], expected_a2, "{name} on a2: {a2}");
        let running_on: Vec<&str> = r["running_on"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            running_on,
            if *hosted { vec!["a1"] } else { vec![] },
            "{name}"
        );
    }
}

#[test]
fn a_vm_on_a_host_outside_the_resources_systems_blocks_its_start() {
    let sim = Sim::start(&scenario(
        "  - { name: app1, cluster: site-b, status: up, host: b1 }\n",
    ));
    let config = sim.config(SITES, &[("app", "systems: [a1, a2]\n    GuestName: app1")]);
    let (status, _, _) = json_of(sim.kvm(&config, "a1").args(["status", "app"]));
    assert_eq!(status["resources"][0]["running_on"][0], "b1");
    assert_eq!(
        status["resources"][0]["systems"][0]["state"],
        "INTENTIONAL OFFLINE"
    );
    let out = sim
        .kvm(&config, "a1")
        .args(["start", "app"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("app1 already runs on b1"));
}

#[test]
fn start_without_and_with_the_dr_payload() {
    let sim = Sim::start(&scenario(
        "  - { name: plain1, cluster: site-a, status: down }\n  - { name: dr1, cluster: site-a, status: down }\n",
    ));
    let dr = "systems: [a1, a2]\n    GuestName: dr1\n    DelayAfterGuestOnline: 1\n    \
              DROpts: { ConfigureNetwork: 1, IPAddress: 192.0.2.10, Netmask: 255.255.255.0, \
              Gateway: 192.0.2.1, DNSServers: 192.0.2.53 192.0.2.54, DNSSearchPath: example.com, \
              Device: eth0 }";
    let config = sim.config(
        SITES,
        &[
            (
                "plain",
                "systems: [a1, a2]\n    GuestName: plain1\n    DelayAfterGuestOnline: 1",
            ),
            ("dr", dr),
        ],
    );

    let (report, code, stderr) = json_of(sim.kvm(&config, "a2").args(["start", "plain"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["results"][0]["action"], "started");
    assert_eq!(report["results"][0]["state"], "ONLINE");
    let vm = sim.get("/vms/plain1");
    assert_eq!(vm["status"], "up");
    assert_eq!(vm["host"], "a2", "started on the system asked for: {vm}");
    assert_eq!(
        vm["last_payload"],
        Value::Null,
        "no payload without DROpts: {vm}"
    );

    let (report, code, stderr) = json_of(sim.kvm(&config, "a1").args(["start", "dr"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["results"][0]["state"], "ONLINE");
    let vm = sim.get("/vms/dr1");
    assert_eq!(vm["host"], "a1");
    let payload = &vm["payloads"][0];
    assert_eq!(payload["type"], "cdrom", "{vm}");
    assert_eq!(payload["files"][0]["name"], "kvmguestctl-dr.conf");
    assert_eq!(
        payload["files"][0]["content"],
        "# kvmguestctl disaster-recovery network settings for resource dr (site primary)\n\
         FORMAT=kvmguestctl-dr/1\nDEVICE=eth0\nIPADDRESS=192.0.2.10\nNETMASK=255.255.255.0\n\
         GATEWAY=192.0.2.1\nDNSSERVERS=192.0.2.53 192.0.2.54\nDNSSEARCHPATH=example.com\n"
    );
    // The payload was set before the start: the engine ignores payloads given to start.
    let actions = verbs(&vm);
    let update = actions.iter().position(|a| a == "update").expect("update");
    let start = actions.iter().position(|a| a == "start").expect("start");
    assert!(update < start, "{actions:?}");

    // Starting it again is a no-op that says so.
    let (report, code, _) = json_of(sim.kvm(&config, "a1").args(["start", "dr"]));
    assert_eq!(
        (code, report["results"][0]["action"].as_str()),
        (0, Some("already-online"))
    );
}

#[test]
fn stop_escalates_to_stop_after_the_delay_unless_no_kill() {
    let sim = Sim::start(&scenario(
        "  - { name: good1, cluster: site-a, status: up, host: a1 }\n  \
         - { name: deaf1, cluster: site-a, status: up, host: a1, ignores_shutdown: true }\n",
    ));
    let config = sim.config(
        SITES,
        &[
            (
                "good",
                "systems: [a1, a2]\n    GuestName: good1\n    DelayAfterGuestOffline: 10",
            ),
            (
                "deaf",
                "systems: [a1, a2]\n    GuestName: deaf1\n    DelayAfterGuestOffline: 2",
            ),
        ],
    );
    let (report, code, stderr) = json_of(sim.kvm(&config, "a1").args(["stop", "good"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["results"][0]["action"], "stopped");
    assert_eq!(sim.get("/vms/good1")["status"], "down");

    let out = sim
        .kvm(&config, "a1")
        .args(["stop", "deaf", "--no-kill"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("left running because of --no-kill"));
    assert_eq!(sim.get("/vms/deaf1")["status"], "up");

    let (report, code, stderr) = json_of(sim.kvm(&config, "a1").args(["stop", "deaf"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["results"][0]["action"], "killed");
    let vm = sim.get("/vms/deaf1");
    assert_eq!(vm["status"], "down");
    let actions = verbs(&vm);
    assert!(
        actions.iter().any(|a| a == "shutdown")
            && actions.last().map(String::as_str) == Some("stop"),
        "{actions:?}"
    );

    // Clean is the engine's stop, at once.
    sim.post("/vms/good1", r#"{"status": "up", "host": "a1"}"#);
    let (report, code, _) = json_of(sim.kvm(&config, "a1").args(["clean", "good"]));
    assert_eq!(
        (code, report["results"][0]["action"].as_str()),
        (0, Some("cleaned"))
    );
    assert_eq!(sim.get("/vms/good1")["status"], "down");
}

#[test]
fn migrate_allowed_and_refused() {
    let sim = Sim::start(&scenario(
        "  - { name: mover, cluster: site-a, status: up, host: a1 }\n  \
         - { name: pin, cluster: site-a, status: up, host: a1, placement_policy: { affinity: pinned, hosts: [a1] } }\n  \
         - { name: user, cluster: site-a, status: up, host: a1, placement_policy: { affinity: user_migratable } }\n  \
         - { name: drvm, cluster: site-a, status: up, host: a1 }\n",
    ));
    let config = sim.config(
        SITES,
        &[
            ("mover", "systems: [a1, a2]\n    GuestName: mover"),
            ("pin", "systems: [a1, a2]\n    GuestName: pin"),
            ("user", "systems: [a1, a2]\n    GuestName: user"),
            (
                "drvm",
                "systems: [a1, b1]\n    GuestName: drvm\n    DROpts: { ConfigureNetwork: 1, IPAddress: 192.0.2.10, Netmask: 24 }",
            ),
        ],
    );
    sim.clear_requests();
    let (report, code, stderr) = json_of(
        sim.kvm(&config, "a1")
            .args(["migrate", "mover", "--to", "a2"]),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["results"][0]["action"], "migrated");
    assert_eq!(report["results"][0]["system"], "a2");
    assert_eq!(sim.get("/vms/mover")["host"], "a2");
    // The positive control for the refusals' zero below: an allowed migration is one request.
    let requests = sim.get("/requests");
    assert_eq!(
        sim.count(&requests, "POST /ovirt-engine/api/vms/{id}/migrate"),
        1,
        "{requests}"
    );

    for (res, reason) in [
        ("pin", "VM is pinned to Host"),
        ("user", "user did not specify the force-migration flag"),
    ] {
        sim.clear_requests();
        let out = sim
            .kvm(&config, "a1")
            .args(["migrate", res, "--to", "a2"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(5), "{res}: {stderr}");
        assert!(stderr.contains(reason), "{res}: {stderr}");
        let requests = sim.get("/requests");
        assert_eq!(
            sim.count(&requests, "POST /ovirt-engine/api/vms/{id}/migrate"),
            0,
            "refused before asking the engine: {requests}"
        );
        assert_eq!(sim.get(&format!("/vms/{res}"))["host"], "a1");
    }

    let out = sim
        .kvm(&config, "a1")
        .args(["migrate", "drvm", "--to", "b1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot migrate across sites"));

    let out = sim
        .kvm(&config, "a2")
        .args(["migrate", "mover", "--to", "a1", "--mode", "pause"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("live only"));
}

/// DR layout: the SPM on the other site (b1), a non_responsive host there.
fn devscan_scenario(spm_on: &str, b2_status: &str) -> String {
    format!(
        "users:\n  - {{ name: admin@internal, password: '{PASSWORD}' }}\n\
         delays_ms: {{ host_maintenance: 200, host_activate: 200, spm_election: 300 }}\n\
         clusters:\n  - {{ name: site-a, data_center: DC1 }}\n  - {{ name: site-b, data_center: DC1 }}\n\
         hosts:\n  - {{ name: a1, cluster: site-a, spm: {} }}\n  - {{ name: a2, cluster: site-a }}\n  \
         - {{ name: b1, cluster: site-b, spm: {} }}\n  - {{ name: b2, cluster: site-b, status: {b2_status}, spm: {} }}\n\
         vms:\n  - {{ name: app1, cluster: site-a, status: down }}\n",
        spm_on == "a1",
        spm_on == "b1",
        spm_on == "b2",
    )
}

fn devscan(sim: &Sim, fencing: u8, extra: &[&str]) -> (Value, i32, String) {
    let systems = "  a1: {}\n  a2: {}\n";
    let config = sim.config(
        systems,
        &[("app", "systems: [a1, a2]\n    GuestName: app1")],
    );
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "Cluster: site-a",
        &format!("Cluster: site-a\n      UseManualRHEVMFencing: {fencing}"),
    );
    std::fs::write(&config, text).unwrap();
    json_of(sim.kvm(&config, "a1").arg("devscan").arg("app").args(extra))
}

fn steps(report: &Value) -> Vec<String> {
    report["results"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {} {}",
                s["step"].as_str().unwrap(),
                s["host"].as_str().unwrap_or("-"),
                s["outcome"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn devscan_with_the_spm_on_the_other_site() {
    let sim = Sim::start(&devscan_scenario("b1", "up"));
    let (plan, code, stderr) = devscan(&sim, 0, &["--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        steps(&plan),
        [
            "deactivate b1 planned",
            "deactivate b2 planned",
            "wait-spm - planned",
            "activate b1 planned",
            "activate b2 planned",
            "refresh a1 planned",
            "refresh a2 planned",
        ]
    );
    let dcs = sim.get("/datacenters");
    assert!(
        dcs.to_string().contains("b1"),
        "the dry run changed nothing: {dcs}"
    );
    let dc1 = dcs
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "DC1")
        .unwrap_or_else(|| panic!("no DC1: {dcs}"));
    assert_eq!(dc1["spm_host"], "b1", "the SPM did not move: {dcs}");
    for b in ["b1", "b2"] {
        assert!(
            verbs(&sim.get(&format!("/hosts/{b}"))).is_empty(),
            "the dry run sent {b} no action"
        );
    }

    let (report, code, stderr) = devscan(&sim, 0, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        steps(&report),
        [
            "deactivate b1 done",
            "deactivate b2 done",
            "wait-spm - done",
            "activate b1 done",
            "activate b2 done",
            "refresh a1 done",
            "refresh a2 done",
        ]
    );
    assert_eq!(report["results"][0]["spm_before"], "b1");
    let after = report["results"][0]["spm_after"].as_str().unwrap();
    assert!(after == "a1" || after == "a2", "{report}");
    assert_eq!(sim.get("/hosts/a1")["refresh_count"], 1);
    assert_eq!(sim.get("/hosts/a2")["refresh_count"], 1);
    // The other site is given back (activated) after the move.
    for b in ["b1", "b2"] {
        assert_eq!(
            verbs(&sim.get(&format!("/hosts/{b}"))),
            ["deactivate", "activate"],
            "{b}"
        );
    }
}

/// The verbs of the actions a VM or host received, in order.
fn verbs(object: &Value) -> Vec<String> {
    object["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["verb"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn devscan_gives_the_other_site_back_when_a_deactivation_fails() {
    let sim = Sim::start(&devscan_scenario("b1", "up"));
    sim.post(
        "/faults",
        r#"{"method": "POST", "path": "/ovirt-engine/api/hosts/*/deactivate", "status": 500, "skip": 1, "times": 1}"#,
    );
    let (report, code, stderr) = devscan(&sim, 0, &[]);
    assert_eq!(code, 1, "{stderr}\n{report}");
    assert_eq!(verbs(&sim.get("/hosts/b1")), ["deactivate", "activate"]);
    // The injected 500 answers before the engine acts: b2 was never taken out.
    assert!(verbs(&sim.get("/hosts/b2")).is_empty());
    assert_eq!(report["errors"][0]["exit_code"], 1);
    assert_eq!(sim.get("/hosts/a1")["refresh_count"], 0);
}

#[test]
fn devscan_with_the_spm_already_here_only_refreshes() {
    let sim = Sim::start(&devscan_scenario("a1", "up"));
    let (report, code, stderr) = devscan(&sim, 0, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        steps(&report),
        ["check-spm - done", "refresh a1 done", "refresh a2 done"]
    );
    assert_eq!(sim.get("/hosts/b1")["refresh_count"], 0);
}

#[test]
fn devscan_with_a_non_responsive_spm_needs_manual_fencing() {
    let sim = Sim::start(&devscan_scenario("b2", "non_responsive"));
    let (report, code, stderr) = devscan(&sim, 0, &[]);
    assert_eq!(code, 5, "{stderr}");
    assert!(
        stderr.contains("non_responsive") && stderr.contains("UseManualRHEVMFencing"),
        "{stderr}"
    );
    assert_eq!(report["errors"][0]["exit_code"], 5);
    assert_eq!(sim.get("/hosts/b2")["manual_fence_count"], 0);

    // With manual fencing: b2 is confirmed fenced, the role goes to an up host, and when that is
    // b1 (the other site) it is moved here as well.
    let (report, code, stderr) = devscan(&sim, 1, &[]);
    assert_eq!(code, 0, "{stderr}\n{report}");
    let steps = steps(&report);
    assert_eq!(steps[0], "confirm-fenced b2 done", "{steps:?}");
    assert_eq!(steps[1], "wait-spm - done", "{steps:?}");
    assert!(
        steps.ends_with(&["refresh a1 done".to_owned(), "refresh a2 done".to_owned()]),
        "{steps:?}"
    );
    assert_eq!(sim.get("/hosts/b2")["manual_fence_count"], 1);
    let after = report["results"][0]["spm_after"].as_str().unwrap();
    assert!(after == "a1" || after == "a2", "{report}");
}

#[test]
fn wrong_password_wrong_ca_and_missing_ca_are_clear_errors() {
    let sim = Sim::start(&scenario(
        "  - { name: app1, cluster: site-a, status: down }\n",
    ));
    let config = sim.config(SITES, &[("app", "systems: [a1]\n    GuestName: app1")]);

    let out = sim
        .kvm(&config, "a1")
        .env(PASSWORD_ENV, "wrong")
        .args(["status", "app"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a refused login is a configuration error"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("access_denied"), "{stdout}");
    assert!(
        stdout.contains("check RHEVMInfo.User and the password"),
        "{stdout}"
    );

    // A CA that did not sign the engine's certificate: TLS refuses, nothing is sent.
    let other = Sim::start(&scenario(""));
    sim.clear_requests();
    let out = sim
        .kvm(&config, "a1")
        .args(["--ca-file"])
        .arg(&other.ca_file)
        .args(["start", "app"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    let requests = sim.get("/requests");
    assert_eq!(
        sim.count(&requests, "POST /ovirt-engine/api/vms/{id}/start"),
        0,
        "{requests}"
    );
    assert_eq!(
        requests["total"], 0,
        "no request at all reaches the engine: {requests}"
    );

    let text = std::fs::read_to_string(&config).unwrap();
    let without_ca: String = text
        .lines()
        .filter(|l| !l.contains("CAFile"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&config, without_ca).unwrap();
    let out = sim
        .kvm(&config, "a1")
        .args(["start", "app"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("rhev fetch-ca"), "{stderr}");
}

#[test]
fn an_expired_token_mid_command_is_renewed_once() {
    let sim = Sim::start(&scenario(
        "  - { name: app1, cluster: site-a, status: down }\n",
    ));
    let config = sim.config(
        SITES,
        &[(
            "app",
            "systems: [a1, a2]\n    GuestName: app1\n    DelayAfterGuestOnline: 1",
        )],
    );
    // Every token expires when the start action arrives; that request gets the 401.
    sim.post(
        "/faults",
        r#"{"method": "POST", "path": "/ovirt-engine/api/vms/*/start", "expire_tokens": true, "times": 1}"#,
    );
    sim.clear_requests();
    let (report, code, stderr) = json_of(sim.kvm(&config, "a1").args(["start", "app"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["results"][0]["state"], "ONLINE");
    let requests = sim.get("/requests");
    assert_eq!(
        sim.count(&requests, "POST /ovirt-engine/sso/oauth/token"),
        2,
        "{requests}"
    );
    assert_eq!(
        sim.count(&requests, "POST /ovirt-engine/api/vms/{id}/start"),
        2,
        "{requests}"
    );
    // Both sessions are closed: the replaced one at once, the last one at the end.
    assert_eq!(
        sim.count(&requests, "POST /ovirt-engine/services/sso-logout"),
        2,
        "{requests}"
    );
}

#[test]
fn status_of_a_thousand_vms_in_a_bounded_number_of_requests() {
    let sim = Sim::start(&format!(
        "{}vm_sets:\n  - {{ count: 1000, name_prefix: bulk-, cluster: site-a, status: up, host: a1 }}\n",
        scenario("  - { name: app1, cluster: site-a, status: down }\n")
    ));
    let names: Vec<(String, String)> = (1..=1000)
        .map(|i| {
            (
                format!("r{i:04}"),
                format!("systems: [a1, a2]\n    GuestName: bulk-{i:04}"),
            )
        })
        .collect();
    let config = sim.config(SITES, &names);
    sim.clear_requests();
    let (status, code, stderr) = json_of(sim.kvm(&config, "a1").args(["status", "--all"]));
    assert_eq!(code, 0, "{stderr}");
    let resources = status["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1000);
    assert!(
        resources
            .iter()
            .all(|r| r["systems"][0]["state"] == "ONLINE"
                && r["systems"][1]["state"] == "INTENTIONAL OFFLINE")
    );
    let requests = sim.get("/requests");
    // One login, one host list, three pages of at most 500 (1,001 VMs: 500, 500 and the last
    // one), one logout.
    assert_eq!(
        sim.count(&requests, "GET /ovirt-engine/api/vms"),
        3,
        "{requests}"
    );
    assert_eq!(requests["total"], 6, "{requests}");
    let pages: Vec<&str> = requests["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["method"] == "GET" && e["path"] == "/ovirt-engine/api/vms")
        .map(|e| e["query"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    for query in &pages {
        assert!(
            query.split('&').any(|p| p == "max=500"),
            "every page asks for 500: {pages:?}"
        );
    }
}

#[test]
fn passwords_encrypted_in_a_file_or_in_the_environment_never_printed() {
    let sim = Sim::start(&scenario(
        "  - { name: app1, cluster: site-a, status: down }\n",
    ));
    let config = sim.config(SITES, &[("app", "systems: [a1]\n    GuestName: app1")]);
    let key = sim.dir.join("keys/secret.key");

    // encrypt reads the password from stdin (no terminal) and creates the key.
    let out = common::kvm(&config)
        .args(["encrypt", "--key-file"])
        .arg(&key)
        .write_stdin(format!("{PASSWORD}\n"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let encrypted = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(encrypted.starts_with("enc:v1:"), "{encrypted}");
    assert!(!encrypted.contains(PASSWORD));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let text = std::fs::read_to_string(&config).unwrap();
    let with_encrypted = text.replace(
        &format!("PasswordEnv: {PASSWORD_ENV}"),
        &format!("Password: '{encrypted}'"),
    );
    std::fs::write(&config, &with_encrypted).unwrap();
    // The logout fails once, so the run's token stays listed by the simulator afterwards.
    sim.post(
        "/faults",
        r#"{"method": "POST", "path": "/ovirt-engine/services/sso-logout", "status": 500, "times": 1}"#,
    );
    let out = sim
        .kvm(&config, "a1")
        .env_remove(PASSWORD_ENV)
        .args(["-v", "--key-file"])
        .arg(&key)
        .args(["status", "app", "-o", "json"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("\"state\": \"OFFLINE\""), "{stdout}");
    assert!(
        stderr.contains("GET /ovirt-engine/api/vms"),
        "-v logs the requests: {stderr}"
    );
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains(PASSWORD) && !text.contains("s3cret"),
            "{text}"
        );
    }
    // -v never logs the SSO token.
    let tokens = sim.get("/tokens");
    let tokens: Vec<&str> = tokens
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["token"].as_str().unwrap())
        .collect();
    assert!(!tokens.is_empty(), "the run's token is still listed");
    for token in &tokens {
        for text in [&stdout, &stderr] {
            assert!(!text.contains(token), "token {token} printed: {text}");
        }
    }

    // display masks it as well.
    let out = sim
        .kvm(&config, "a1")
        .args(["display", "app"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("********") && !stdout.contains("enc:v1"),
        "{stdout}"
    );

    // A password file must be private.
    let file = sim.dir.join("pw");
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let with_file = text.replace(
        &format!("PasswordEnv: {PASSWORD_ENV}"),
        &format!("PasswordFile: {}", file.display()),
    );
    std::fs::write(&config, &with_file).unwrap();
    let out = sim
        .kvm(&config, "a1")
        .args(["status", "app"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("chmod 600"));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (status, code, stderr) = json_of(sim.kvm(&config, "a1").args(["status", "app"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(status["resources"][0]["systems"][0]["state"], "OFFLINE");

    // A clear-text password in the YAML is a configuration error, located.
    let clear = text.replace(
        &format!("PasswordEnv: {PASSWORD_ENV}"),
        "Password: plaintext",
    );
    std::fs::write(&config, &clear).unwrap();
    let out = sim.kvm(&config, "a1").args(["validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("RHEVMInfo.Password is not encrypted"),
        "{stdout}"
    );
    assert!(stdout.contains("resources.yaml:"), "{stdout}");
}

#[test]
fn fetch_ca_prints_the_fingerprint_openssl_prints() {
    let sim = Sim::start(&scenario(""));
    let out = Process::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(&sim.ca_file)
        .output()
        .expect("openssl is installed by scripts/setup");
    let expected = String::from_utf8_lossy(&out.stdout)
        .trim()
        .split('=')
        .nth(1)
        .unwrap()
        .to_owned();
    let target = sim.dir.join("engine-ca.pem");
    let config = sim.config(SITES, &[("app", "systems: [a1]\n    GuestName: app1")]);
    let (fetched, code, stderr) = json_of(
        sim.kvm(&config, "a1")
            .args(["rhev", "fetch-ca", &sim.http_url, "--save"])
            .arg(&target),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(fetched["sha256_fingerprints"][0], expected);
    assert!(
        stderr.contains(&format!("SHA256 Fingerprint={expected}")),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&target).unwrap(),
        std::fs::read(&sim.ca_file).unwrap()
    );

    // Without a terminal and without --yes nothing is written.
    std::fs::remove_file(&target).unwrap();
    let out = common::kvm(&config)
        .args(["rhev", "fetch-ca", &sim.http_url, "--save"])
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(!target.exists());

    let out = common::kvm(&config)
        .args(["rhev", "fetch-ca", &sim.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("plain http"));
}

/// examples/rhev/resources.yaml, pointed at the simulator's two-site scenario, works as written.
#[test]
fn the_rhev_example_runs_against_the_two_site_scenario() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenario =
        std::fs::read_to_string(root.join("ovirt-sim/scenarios/two-sites.yaml")).unwrap();
    let sim = Sim::start(&scenario);
    let password = sim.dir.join("rhevm.password");
    std::fs::write(&password, "secret\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600)).unwrap();
    let example = std::fs::read_to_string(root.join("examples/rhev/resources.yaml"))
        .unwrap()
        .replace("https://rhevm.example.com", &sim.url)
        .replace(
            "/etc/kvmguestctl/rhevm-ca.pem",
            &sim.ca_file.display().to_string(),
        )
        .replace(
            "/etc/kvmguestctl/rhevm.password",
            &password.display().to_string(),
        );
    let config = sim.dir.join("example.yaml");
    std::fs::write(&config, example).unwrap();

    let (status, code, stderr) = json_of(sim.kvm(&config, "node1").args(["status", "--all"]));
    assert_eq!(code, 0, "{stderr}");
    let states: Vec<(String, String)> = status["resources"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["systems"].as_array().unwrap().iter().map(move |s| {
                (
                    format!(
                        "{} {}",
                        r["resource"].as_str().unwrap(),
                        s["system"].as_str().unwrap()
                    ),
                    s["state"].as_str().unwrap().to_owned(),
                )
            })
        })
        .collect();
    let expected = [
        ("app_dr_vm node1", "ONLINE"),
        ("app_dr_vm node2", "INTENTIONAL OFFLINE"),
        ("app_vm node1", "OFFLINE"),
        ("app_vm node2", "OFFLINE"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(states, expected);
    // The engine names host a1; the resource knows it as system node1 (rhev_host).
    let dr = &status["resources"][0];
    assert_eq!(dr["running_on"], serde_json::json!(["node1"]));
    assert_eq!(dr["systems"][1]["why"], "running on node1");

    let (report, code, stderr) = json_of(sim.kvm(&config, "node2").args(["start", "app_vm"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["results"][0]["state"], "ONLINE");
    assert_eq!(sim.get("/vms/app1")["host"], "a2");
    let (report, code, stderr) = json_of(
        sim.kvm(&config, "node2")
            .args(["migrate", "app_vm", "--to", "node1"]),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["results"][0]["system"], "node1");
    assert_eq!(sim.get("/vms/app1")["host"], "a1");
}

/// The engine powers off a VM that is not up when asked to shut it down: the request re-sent
/// while the guest is powering down must not reach it.
#[test]
fn a_slow_shutdown_is_not_cut_short_by_the_repeated_request() {
    let sim = Sim::start(
        &scenario("  - { name: slow1, cluster: site-a, status: up, host: a1 }\n")
            .replace("powering_down: 300", "powering_down: 7000"),
    );
    let config = sim.config(
        SITES,
        &[(
            "slow",
            "systems: [a1, a2]\n    GuestName: slow1\n    DelayAfterGuestOffline: 30",
        )],
    );
    let (report, code, stderr) = json_of(sim.kvm(&config, "a1").args(["stop", "slow"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["results"][0]["action"], "stopped");
    assert!(
        report["results"][0]["seconds"].as_f64().unwrap() >= 6.5,
        "{report}"
    );
    assert_eq!(verbs(&sim.get("/vms/slow1")), ["shutdown"]);
}

#[test]
fn a_migration_past_migrate_timeout_is_cancelled() {
    let sim = Sim::start(
        &scenario("  - { name: big1, cluster: site-a, status: up, host: a1 }\n")
            .replace("migration: 400", "migration: 6000"),
    );
    let config = sim.config(
        SITES,
        &[(
            "big",
            "systems: [a1, a2]\n    GuestName: big1\n    MigrateTimeout: 1",
        )],
    );
    let out = sim
        .kvm(&config, "a1")
        .args(["migrate", "big", "--to", "a2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("MigrateTimeout") && stderr.contains("cancelled"),
        "{stderr}"
    );
    assert!(stderr.contains("keeps running on a1"), "{stderr}");
    let vm = sim.get("/vms/big1");
    assert_eq!(verbs(&vm), ["migrate", "cancelmigration"]);
    assert_eq!(
        (vm["status"].as_str(), vm["host"].as_str()),
        (Some("up"), Some("a1"))
    );
}

/// An engine that does not answer costs one --timeout per status, however many systems ask.
#[test]
fn a_hung_engine_gives_unknown_within_one_timeout() {
    let sim = Sim::start(&scenario(
        "  - { name: app1, cluster: site-a, status: up, host: a1 }\n",
    ));
    let config = sim.config(
        SITES,
        &[("app", "systems: [a1, a2, b1]\n    GuestName: app1")],
    );
    sim.post(
        "/faults",
        r#"{"method": "GET", "path": "/ovirt-engine/api/vms", "delay_ms": 20000}"#,
    );
    let started = std::time::Instant::now();
    let (status, code, _) =
        json_of(
            sim.kvm(&config, "a1")
                .args(["--timeout", "2", "status", "app"]),
        );
    let elapsed = started.elapsed();
    assert_eq!(code, 4);
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
    let systems = status["resources"][0]["systems"].as_array().unwrap();
    assert_eq!(systems.len(), 3, "{status}");
    for s in systems {
        assert_eq!(s["state"], "UNKNOWN", "{s}");
        assert!(
            s["error"]
                .as_str()
                .unwrap()
                .contains("did not answer within 2 s"),
            "{s}"
        );
    }
}

#[test]
fn commands_for_libvirt_definitions_refuse_rhev_resources() {
    let sim = Sim::start(&scenario(
        "  - { name: app1, cluster: site-a, status: down }\n",
    ));
    let config = sim.config(SITES, &[("app", "systems: [a1]\n    GuestName: app1")]);
    for args in [
        &["vmconfigsync", "app"][..],
        &["vmconfigsync", "--check", "app"],
        &["watch", "app"],
    ] {
        let out = sim.kvm(&config, "a1").args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("not for RHEV resources (app)"),
            "{args:?}: {stderr}"
        );
    }
}

/// An engine's HTTP errors keep their class: 503 is unreachable (4), 404 unknown (3), 409
/// refused (5); each answered request did reach the engine's route.
#[test]
fn engine_errors_map_to_their_exit_codes() {
    let sim = Sim::start(&scenario(
        "  - { name: app1, cluster: site-a, status: down }\n",
    ));
    let config = sim.config(
        SITES,
        &[(
            "app",
            "systems: [a1, a2]\n    GuestName: app1\n    DelayAfterGuestOnline: 1",
        )],
    );
    // (method, path glob, status, command, exit code, route that must have been asked)
    let table: &[(&str, &str, u16, &str, i32, &str)] = &[
        (
            "GET",
            "/ovirt-engine/api/vms*",
            503,
            "status",
            4,
            "GET /ovirt-engine/api/vms",
        ),
        (
            "POST",
            "/ovirt-engine/api/vms/*/start",
            404,
            "start",
            3,
            "POST /ovirt-engine/api/vms/{id}/start",
        ),
        (
            "POST",
            "/ovirt-engine/api/vms/*/start",
            409,
            "start",
            5,
            "POST /ovirt-engine/api/vms/{id}/start",
        ),
    ];
    for (method, path, status, command, exit, route) in table {
        sim.post("/reset", "");
        sim.post(
            "/faults",
            &serde_json::json!({"method": method, "path": path, "status": status}).to_string(),
        );
        let out = sim
            .kvm(&config, "a1")
            .args([command, "app"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(*exit),
            "{status} on {method} {path}: {stderr}"
        );
        let requests = sim.get("/requests");
        assert!(
            sim.count(&requests, route) >= 1,
            "{status}: the fault was met: {requests}"
        );
        assert_eq!(
            sim.get("/vms/app1")["status"],
            "down",
            "{status}: nothing started"
        );
    }
}

/// `vmconfigsync --check --all` skips the RHEV resources with a note and checks the others.
#[test]
fn vmconfigsync_check_all_skips_rhev_resources_and_checks_the_kvm_ones() {
    let sim = Sim::start(&scenario(
        "  - { name: app1, cluster: site-a, status: down }\n",
    ));
    let systems = format!("{SITES}  k: {{ uri: 'test:///default' }}\n");
    let config = sim.config(&systems, &[("app", "systems: [a1]\n    GuestName: app1")]);
    let sync = sim.dir.join("sync");
    std::fs::create_dir(&sync).unwrap();
    let mut yaml = std::fs::read_to_string(&config).unwrap();
    yaml.push_str(&format!(
        "  kvm:\n    type: KVMGuest\n    systems: [k]\n    GuestName: test\n    SyncDir: {}\n",
        sync.display()
    ));
    std::fs::write(&config, yaml).unwrap();
    sim.clear_requests();
    let ran = common::run_json(common::kvm(&config).env(PASSWORD_ENV, PASSWORD).args([
        "vmconfigsync",
        "--check",
        "--all",
    ]));
    assert!(
        ran.stderr.contains("skipped (RHEV") && ran.stderr.contains("app"),
        "{}",
        ran.stderr
    );
    let checked: Vec<&str> = ran.doc["resources"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", ran.doc))
        .iter()
        .map(|r| r["resource"].as_str().unwrap())
        .collect();
    assert_eq!(checked, ["kvm"], "{}", ran.doc);
    let copies = &ran.doc["resources"][0]["copies"];
    assert_eq!(copies[0]["place"], "k", "{copies}");
    assert_eq!(copies[0]["state"], "reference", "{copies}");
    assert_eq!(copies[1]["place"], "SyncDir", "{copies}");
    assert_eq!(copies[1]["state"], "missing", "{copies}");
    assert_eq!(ran.code, 7, "the missing shared copy: {}", ran.stderr);
    assert_eq!(sim.get("/requests")["total"], 0, "the engine is not asked");
}

/// A token the engine said expires soon is renewed before it does: no request is answered 401.
#[test]
fn a_token_is_renewed_before_its_exp() {
    let sim = Sim::start(&format!(
        "token_ttl_secs: 6\n{}",
        scenario("  - { name: app1, cluster: site-a, status: down }\n")
    ));
    let config = sim.config(
        SITES,
        &[(
            "app",
            "systems: [a1, a2]\n    GuestName: app1\n    DelayAfterGuestOnline: 3",
        )],
    );
    sim.clear_requests();
    let (report, code, stderr) = json_of(sim.kvm(&config, "a1").args(["start", "app"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["results"][0]["state"], "ONLINE");
    let requests = sim.get("/requests");
    assert!(
        sim.count(&requests, "POST /ovirt-engine/sso/oauth/token") >= 2,
        "renewed during the 3 s wait: {requests}"
    );
    let refused: Vec<&Value> = requests["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["status"] == 401)
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
}

/// Offline migration of a RHEV VM: shut down here, started on the target; no migrate action.
#[test]
fn an_offline_migration_stops_and_starts_on_the_target() {
    let sim = Sim::start(&scenario(
        "  - { name: mover, cluster: site-a, status: up, host: a1 }\n",
    ));
    let config = sim.config(
        SITES,
        &[(
            "mover",
            "systems: [a1, a2]\n    GuestName: mover\n    DelayAfterGuestOnline: 1",
        )],
    );
    let (report, code, stderr) = json_of(
        sim.kvm(&config, "a1")
            .args(["migrate", "mover", "--to", "a2", "--mode", "offline"]),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["results"][0]["action"], "migrated");
    assert_eq!(report["results"][0]["system"], "a2");
    let vm = sim.get("/vms/mover");
    assert_eq!(
        (vm["status"].as_str(), vm["host"].as_str()),
        (Some("up"), Some("a2"))
    );
    assert_eq!(verbs(&vm), ["shutdown", "start"]);
}

/// Evacuation through the engine: two VMs migrate (the engine's migrate action, two at a time),
/// a pinned one is left with the engine's reason before anything is asked of it, and a dry run
/// sends no action at all.
#[test]
fn evacuate_migrates_through_the_engine_and_leaves_a_pinned_vm() {
    let sim = Sim::start(&scenario(
        "  - { name: one, cluster: site-a, status: up, host: a1 }\n  \
         - { name: two, cluster: site-a, status: up, host: a1 }\n  \
         - { name: pin, cluster: site-a, status: up, host: a1, placement_policy: { affinity: pinned, hosts: [a1] } }\n  \
         - { name: idle, cluster: site-a, status: down }\n",
    ));
    let config = sim.config(
        SITES,
        &[
            ("one", "systems: [a1, a2]\n    GuestName: one"),
            ("two", "systems: [b1, a1, a2]\n    GuestName: two"),
            ("pin", "systems: [a1, a2]\n    GuestName: pin"),
            ("idle", "systems: [a1, a2]\n    GuestName: idle"),
        ],
    );
    let migrations = |sim: &Sim| {
        let requests = sim.get("/requests");
        sim.count(&requests, "POST /ovirt-engine/api/vms/{id}/migrate")
    };
    let plan = |report: &Value| -> Vec<(String, String, Value)> {
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["resource"].as_str().unwrap().to_owned(),
                    r["action"].as_str().unwrap().to_owned(),
                    r["to"].clone(),
                )
            })
            .collect()
    };
    sim.clear_requests();
    let (report, code, stderr) = json_of(sim.kvm(&config, "a1").args(["evacuate", "--dry-run"]));
    assert_eq!(code, 5, "{stderr}");
    assert_eq!(
        plan(&report),
        [
            ("one".into(), "move".into(), "a2".into()),
            ("pin".into(), "leave".into(), Value::Null),
            // After a1 in [b1, a1, a2] comes a2, before wrapping to b1.
            ("two".into(), "move".into(), "a2".into()),
        ]
    );
    assert_eq!(
        report["results"][1]["detail"],
        "cannot migrate pin: VM is pinned to Host"
    );
    assert_eq!(migrations(&sim), 0, "a dry run asks the engine nothing");

    let (report, code, stderr) = json_of(sim.kvm(&config, "a1").args(["evacuate"]));
    assert_eq!(code, 5, "{stderr}");
    assert_eq!(
        plan(&report),
        [
            ("one".into(), "moved".into(), "a2".into()),
            ("pin".into(), "left".into(), Value::Null),
            ("two".into(), "moved".into(), "a2".into()),
        ],
        "{stderr}"
    );
    assert_eq!(migrations(&sim), 2);
    for (vm, host) in [("one", "a2"), ("two", "a2"), ("pin", "a1")] {
        assert_eq!(sim.get(&format!("/vms/{vm}"))["host"], host, "{vm}");
    }
}

#[test]
fn status_detail_does_not_ask_an_engines_vm_and_says_so() {
    let sim = Sim::start(&scenario(
        "  - { name: app1, cluster: site-a, status: up, host: a1 }\n",
    ));
    let config = sim.config(SITES, &[("app", "systems: [a1, a2]\n    GuestName: app1")]);
    let (status, code, stderr) =
        json_of(sim.kvm(&config, "a1").args(["status", "app", "--detail"]));
    assert_eq!(code, 0, "{stderr}");
    let a1 = &status["resources"][0]["systems"][0];
    assert_eq!(
        (&a1["state"], &a1["details"]),
        (&Value::from("ONLINE"), &Value::Null),
        "{status}"
    );
    assert!(
        stderr.contains("warning: details of app1 on a1: app1 is a RHEV VM: its engine talks to the guest agent itself"),
        "{stderr}"
    );
}
