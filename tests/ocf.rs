//! The OCF resource agent through the binary, as Pacemaker runs it: parameters in OCF_RESKEY_*
//! variables, the action as the only word, the answer in the exit code, logs on stderr. Against
//! libvirt's test driver (every libvirt state in tests/fixtures) and sockets that never answer.

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use assert_cmd::Command;

mod common;
use common::{fixtures, hung_libvirtd};

/// What one action gave.
struct Answer {
    rc: i32,
    stdout: String,
    stderr: String,
}

/// `kvmguestctl ocf ACTION` with only the given OCF variables (none of the caller's).
fn ocf(action: &str, vars: &[(&str, &str)]) -> Answer {
    let mut cmd = Command::cargo_bin("kvmguestctl").unwrap();
    cmd.arg("ocf").arg(action);
    answer(&mut cmd, vars)
}

fn answer(cmd: &mut Command, vars: &[(&str, &str)]) -> Answer {
    for (name, _) in std::env::vars() {
        if name.starts_with("OCF_") || name.starts_with("KVMGUESTCTL_") {
            cmd.env_remove(name);
        }
    }
    cmd.envs(common::own_dirs());
    cmd.envs(vars.iter().copied())
        .timeout(Duration::from_secs(60));
    let out = cmd.output().unwrap();
    Answer {
        rc: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn every_state() -> String {
    fixtures().join("every-state.yaml").display().to_string()
}

/// An action on a resource of tests/fixtures/every-state.yaml, on system a.
fn on_a(action: &str, resource: &str, extra: &[(&str, &str)]) -> Answer {
    let config = every_state();
    let mut vars = vec![
        ("OCF_RESKEY_config", config.as_str()),
        ("OCF_RESKEY_resource", resource),
        ("OCF_RESKEY_CRM_meta_on_node", "a"),
    ];
    vars.extend_from_slice(extra);
    ocf(action, &vars)
}

fn write_config(dir: &Path, yaml: &str) -> String {
    let path = dir.join("resources.yaml");
    std::fs::write(&path, yaml).unwrap();
    path.display().to_string()
}

#[test]
fn meta_data_is_valid_against_the_ocf_dtd_and_documents_every_parameter() {
    let md = ocf("meta-data", &[]);
    assert_eq!(md.rc, 0, "{}", md.stderr);
    assert_eq!(md.stderr, "");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("meta-data.xml");
    std::fs::write(&file, &md.stdout).unwrap();
    // From the Debian package resource-agents, which scripts/setup installs.
    let dtd = Path::new("/usr/share/resource-agents/ra-api-1.dtd");
    assert!(
        dtd.exists(),
        "{} is missing: run scripts/setup",
        dtd.display()
    );
    let lint = Process::new("xmllint")
        .arg("--noout")
        .arg("--dtdvalid")
        .arg(dtd)
        .arg(&file)
        .output()
        .expect("xmllint (Debian package libxml2-utils; scripts/setup installs it)");
    assert!(
        lint.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&lint.stderr),
        md.stdout
    );
    for parameter in ["config", "resource", "system"] {
        assert!(
            md.stdout
                .contains(&format!("<parameter name=\"{parameter}\"")),
            "{parameter}"
        );
    }
    // The default timeouts cover the KVMGuest defaults' waits: 5 s online, 30 s offline, 300 s
    // migration, each with a minute for the hypervisor calls around it.
    for action in [
        "<action name=\"start\" timeout=\"65s\" />",
        "<action name=\"stop\" timeout=\"90s\" />",
        "<action name=\"migrate_to\" timeout=\"360s\" />",
    ] {
        assert!(md.stdout.contains(action), "{action}\n{}", md.stdout);
    }
}

/// The README's table, row by row: the resource state on this node and the OCF answer.
#[test]
fn monitor_answers_every_resource_state_as_the_readme_says() {
    let rows: &[(&str, i32, &str)] = &[
        ("running", 0, "ONLINE 100: running"),
        ("blocked", 0, "ONLINE 100: blocked"),
        (
            "paused",
            0,
            "ONLINE 20: paused by a person is still running",
        ),
        ("shuttingdown", 0, "ONLINE 40: shutting down"),
        ("shutoff", 7, "OFFLINE"),
        ("undefined", 7, "not defined here is OFFLINE"),
        (
            "pmsuspended",
            7,
            "INTENTIONAL OFFLINE (suspended by the guest)",
        ),
        ("elsewhere", 7, "INTENTIONAL OFFLINE: runs on b, not here"),
        ("crashed", 1, "FAULTED"),
        ("twice", 1, "live here and on b: a concurrency violation"),
    ];
    for (resource, want, why) in rows {
        let got = on_a(
            "monitor",
            resource,
            &[("OCF_RESKEY_CRM_meta_interval", "5000")],
        );
        assert_eq!(got.rc, *want, "{resource} ({why}): {}", got.stderr);
        assert_eq!(got.stdout, "", "{resource}: nothing on stdout");
        let probe = on_a("monitor", resource, &[]);
        assert_eq!(
            probe.rc, *want,
            "{resource} probe ({why}): {}",
            probe.stderr
        );
        let status = on_a("status", resource, &[]);
        assert_eq!(status.rc, *want, "{resource} status: {}", status.stderr);
    }
    let twice = on_a("monitor", "twice", &[]);
    assert!(
        twice
            .stderr
            .contains("ERROR: CONCURRENCY VIOLATION: twice01 runs on a and b at once"),
        "{}",
        twice.stderr
    );
    let crashed = on_a("monitor", "crashed", &[]);
    assert!(
        crashed.stderr.contains("crashed01 is FAULTED here"),
        "{}",
        crashed.stderr
    );
}

#[test]
fn a_paused_guest_is_degraded_to_a_caller_that_speaks_ocf_1_1_and_transitions_are_not() {
    let ocf_1_1 = [("OCF_RA_VERSION_MAJOR", "1"), ("OCF_RA_VERSION_MINOR", "1")];
    let paused = on_a("monitor", "paused", &ocf_1_1);
    assert_eq!(paused.rc, 190, "{}", paused.stderr);
    assert!(
        paused.stderr.contains(
            "WARNING: paused01 is ONLINE here (paused, unknown): degraded until it is resumed"
        ),
        "{}",
        paused.stderr
    );
    assert_eq!(on_a("migrate_from", "paused", &ocf_1_1).rc, 190);
    for resource in ["running", "blocked", "shuttingdown"] {
        assert_eq!(on_a("monitor", resource, &ocf_1_1).rc, 0, "{resource}");
    }
}

#[test]
fn a_failure_gives_pacemaker_its_reason_for_crm_mon() {
    let refused = on_a("start", "elsewhere", &[]);
    assert!(
        refused.stderr.lines().any(|l| l
            == "ocf-exit-reason:elsewhere01 already runs on b; refusing to start a second copy on a"),
        "{}",
        refused.stderr
    );
    let marked = on_a(
        "monitor",
        "crashed",
        &[("OCF_EXIT_REASON_PREFIX", "reason=")],
    );
    assert!(
        marked
            .stderr
            .contains("\nreason=crashed01 is FAULTED here (crashed, unknown)"),
        "{}",
        marked.stderr
    );
    assert!(
        !on_a("monitor", "running", &[])
            .stderr
            .contains("ocf-exit-reason:")
    );
}

#[test]
fn a_hung_libvirtd_gives_a_failure_well_inside_the_timeout_never_not_running() {
    let dir = tempfile::tempdir().unwrap();
    let socket = hung_libvirtd(dir.path(), "libvirt-sock");
    let config = write_config(
        dir.path(),
        &format!(
            "systems:\n  a: {{ uri: 'qemu+unix:///system?socket={}' }}\n\
             resources:\n  r: {{ type: KVMGuest, systems: [a], GuestName: g }}\n",
            socket.display()
        ),
    );
    // A 4 s operation timeout: each hypervisor call gets a quarter of it.
    for action in ["monitor", "stop", "start"] {
        let started = Instant::now();
        let got = ocf(
            action,
            &[
                ("OCF_RESKEY_config", &config),
                ("OCF_RESOURCE_INSTANCE", "r"),
                ("OCF_RESKEY_CRM_meta_on_node", "a"),
                ("OCF_RESKEY_CRM_meta_timeout", "4000"),
            ],
        );
        let took = started.elapsed();
        assert_eq!(got.rc, 1, "{action}: {}", got.stderr);
        assert!(took < Duration::from_secs(4), "{action} took {took:?}");
        assert!(
            got.stderr.contains("did not answer within 1 s"),
            "{action}: {}",
            got.stderr
        );
    }
}

#[test]
fn an_unreachable_hypervisor_is_a_failure_for_monitor_and_stop() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "systems:\n  a: {{ uri: 'qemu+unix:///system?socket={}/gone' }}\n\
             resources:\n  r: {{ type: KVMGuest, systems: [a], GuestName: g }}\n",
            dir.path().display()
        ),
    );
    for action in ["monitor", "stop"] {
        let got = ocf(
            action,
            &[
                ("OCF_RESKEY_config", config.as_str()),
                ("OCF_RESKEY_resource", "r"),
                ("OCF_RESKEY_system", "a"),
            ],
        );
        assert_eq!(got.rc, 1, "{action}: {}", got.stderr);
        assert!(got.stderr.contains("cannot reach"), "{}", got.stderr);
    }
}

#[test]
fn start_is_refused_while_the_guest_runs_on_another_system() {
    let got = on_a("start", "elsewhere", &[]);
    assert_eq!(got.rc, 1, "{}", got.stderr);
    assert!(
        got.stderr
            .contains("ERROR: elsewhere01 already runs on b; refusing to start a second copy on a"),
        "{}",
        got.stderr
    );
}

#[test]
fn start_of_a_running_guest_and_stop_of_a_stopped_or_undefined_one_succeed() {
    for (action, resource) in [
        ("start", "running"),
        ("stop", "shutoff"),
        ("stop", "undefined"),
        ("stop", "elsewhere"),
    ] {
        let got = on_a(action, resource, &[]);
        assert_eq!(got.rc, 0, "{action} {resource}: {}", got.stderr);
        assert_eq!(got.stdout, "");
    }
    let got = on_a("start", "running", &[]);
    assert!(
        got.stderr.contains("INFO: already-online"),
        "{}",
        got.stderr
    );
}

#[test]
fn start_and_stop_act_on_the_guest() {
    // libvirt's test driver forgets between processes: each action starts from the fixture.
    let started = on_a("start", "shutoff", &[]);
    assert_eq!(started.rc, 0, "{}", started.stderr);
    assert!(
        started.stderr.contains("INFO: starting shutoff01 on a"),
        "{}",
        started.stderr
    );
    let stopped = on_a("stop", "running", &[]);
    assert_eq!(stopped.rc, 0, "{}", stopped.stderr);
    assert!(
        stopped
            .stderr
            .contains("INFO: asked running01 to shut down"),
        "{}",
        stopped.stderr
    );
}

#[test]
fn the_recovery_of_a_faulted_guest_destroys_it_at_once_and_its_start_says_why_not() {
    let stop = on_a(
        "stop",
        "crashed",
        &[("OCF_RESKEY_CRM_meta_timeout", "90000")],
    );
    assert_eq!(stop.rc, 0, "{}", stop.stderr);
    assert!(
        stop.stderr.contains(
            "INFO: killed: crashed01 was FAULTED (crashed, unknown) and was destroyed without a \
             shutdown request"
        ),
        "{}",
        stop.stderr
    );
    let start = on_a("start", "crashed", &[]);
    assert_eq!(start.rc, 1);
    assert!(
        start
            .stderr
            .contains("crashed01 is FAULTED on a (crashed, unknown): it holds a live instance"),
        "{}",
        start.stderr
    );
}

#[test]
fn a_guest_this_node_cannot_have_sends_the_resource_elsewhere() {
    let got = on_a("start", "undefined", &[]);
    assert_eq!(got.rc, 5, "{}", got.stderr);
    assert!(
        got.stderr.contains("nowhere01 is not defined on a"),
        "{}",
        got.stderr
    );
}

#[test]
fn a_missing_configuration_stops_and_probes_as_not_running_and_fails_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.yaml").display().to_string();
    let vars = [
        ("OCF_RESKEY_config", missing.as_str()),
        ("OCF_RESKEY_resource", "r"),
    ];
    assert_eq!(ocf("stop", &vars).rc, 0);
    assert_eq!(ocf("monitor", &vars).rc, 7);
    let mut recurring = vars.to_vec();
    recurring.push(("OCF_RESKEY_CRM_meta_interval", "10000"));
    let recurring = ocf("monitor", &recurring);
    assert_eq!(recurring.rc, 5, "{}", recurring.stderr);
    let start = ocf("start", &vars);
    assert_eq!(start.rc, 5);
    assert!(
        start
            .stderr
            .contains(&format!("ERROR: no configuration at {missing}")),
        "{}",
        start.stderr
    );
    assert_eq!(ocf("validate-all", &vars).rc, 5);
}

#[test]
fn a_broken_configuration_is_said_with_its_location_and_bans_this_node() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "systems:\n  a: { uri: 'test:///default' }\nresources:\n  r: { type: KVMGuest, systems: [a], GuestName: g, DelayAfterGuestOnline: soon }\n",
    );
    let vars = [
        ("OCF_RESKEY_config", config.as_str()),
        ("OCF_RESKEY_resource", "r"),
        ("OCF_RESKEY_system", "a"),
    ];
    for action in ["validate-all", "start", "stop", "monitor"] {
        let got = ocf(action, &vars);
        assert_eq!(got.rc, 2, "{action}: {}", got.stderr);
        assert!(
            got.stderr.contains(&format!("{config}:4:")),
            "{action}: {}",
            got.stderr
        );
    }
}

#[test]
fn parameters_default_to_the_pacemaker_names() {
    // The resource from the instance name, without a clone suffix; the system from the node.
    let config = every_state();
    let got = ocf(
        "monitor",
        &[
            ("OCF_RESKEY_config", config.as_str()),
            ("OCF_RESOURCE_INSTANCE", "running:1"),
            ("OCF_RESKEY_CRM_meta_on_node", "a"),
        ],
    );
    assert_eq!(got.rc, 0, "{}", got.stderr);
    // `system` wins over the node name: on b, running01 is shut off.
    let got = ocf(
        "monitor",
        &[
            ("OCF_RESKEY_config", config.as_str()),
            ("OCF_RESOURCE_INSTANCE", "running"),
            ("OCF_RESKEY_CRM_meta_on_node", "a"),
            ("OCF_RESKEY_system", "b"),
        ],
    );
    assert_eq!(got.rc, 7, "{}", got.stderr);
    let got = ocf("validate-all", &[("OCF_RESKEY_config", config.as_str())]);
    assert_eq!(got.rc, 6, "{}", got.stderr);
    assert!(got.stderr.contains("no resource"), "{}", got.stderr);
    let got = on_a("validate-all", "nosuch", &[]);
    assert_eq!(got.rc, 2, "{}", got.stderr);
}

#[test]
fn a_node_that_is_not_one_of_the_resources_systems_never_has_it() {
    // `paused` may run only on a.
    let on_b = |action: &str| {
        let config = every_state();
        ocf(
            action,
            &[
                ("OCF_RESKEY_config", config.as_str()),
                ("OCF_RESKEY_resource", "paused"),
                ("OCF_RESKEY_CRM_meta_on_node", "b"),
            ],
        )
    };
    assert_eq!(on_b("monitor").rc, 7);
    assert_eq!(on_b("stop").rc, 0);
    let start = on_b("start");
    assert_eq!(start.rc, 2);
    assert!(
        start.stderr.contains("paused may run only on a, not on b"),
        "{}",
        start.stderr
    );
}

#[test]
fn migrate_from_confirms_the_guest_online_here_and_migrate_to_needs_a_target() {
    assert_eq!(on_a("migrate_from", "running", &[]).rc, 0);
    let absent = on_a("migrate_from", "shutoff", &[]);
    assert_eq!(absent.rc, 1);
    assert!(
        absent.stderr.contains("the migration did not arrive"),
        "{}",
        absent.stderr
    );
    let untargeted = on_a("migrate_to", "running", &[]);
    assert_eq!(untargeted.rc, 2);
    assert!(
        untargeted
            .stderr
            .contains("OCF_RESKEY_CRM_meta_migrate_target"),
        "{}",
        untargeted.stderr
    );
}

#[test]
fn unknown_and_unimplemented_actions_answer_3_and_no_action_is_a_usage_error() {
    for action in ["notify", "promote", "demote", "reload", "frobnicate"] {
        let got = on_a(action, "running", &[]);
        assert_eq!(got.rc, 3, "{action}");
        assert!(got.stderr.contains("is not implemented"), "{}", got.stderr);
        assert_eq!(got.stdout, "");
    }
    let mut bare = Command::cargo_bin("kvmguestctl").unwrap();
    bare.arg("ocf");
    let got = answer(&mut bare, &[]);
    assert_eq!(got.rc, 2);
    assert!(got.stderr.contains("usage: KVMGuest"), "{}", got.stderr);
    let usage = ocf("usage", &[]);
    assert_eq!((usage.rc, usage.stdout.as_str()), (0, ""));
}

#[test]
fn install_links_the_binary_as_kvmguest_and_the_link_is_the_agent() {
    let dir = tempfile::tempdir().unwrap();
    let agents = dir.path().join("resource.d/kvmguestctl");
    for _ in 0..2 {
        let mut install = Command::cargo_bin("kvmguestctl").unwrap();
        install.args(["ocf", "install", "--dir"]).arg(&agents);
        let got = answer(&mut install, &[]);
        assert_eq!(got.rc, 0, "{}", got.stderr);
    }
    let link = agents.join("KVMGuest");
    let target = std::fs::read_link(&link).unwrap();
    assert_eq!(
        target,
        std::fs::canonicalize(assert_cmd::cargo::cargo_bin("kvmguestctl")).unwrap()
    );
    // Pacemaker runs the link with the action as its only argument.
    let config = every_state();
    let mut agent = Command::new(&link);
    agent.arg("monitor");
    let got = answer(
        &mut agent,
        &[
            ("OCF_RESKEY_config", config.as_str()),
            ("OCF_RESOURCE_INSTANCE", "shutoff"),
            ("OCF_RESKEY_CRM_meta_on_node", "a"),
        ],
    );
    assert_eq!(got.rc, 7, "{}", got.stderr);
    let mut agent = Command::new(&link);
    agent.arg("meta-data");
    assert!(
        answer(&mut agent, &[])
            .stdout
            .contains("<resource-agent name=\"KVMGuest\"")
    );

    // A file that is not a link is someone else's.
    let other: PathBuf = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("KVMGuest"), "#!/bin/sh\n").unwrap();
    let mut install = Command::cargo_bin("kvmguestctl").unwrap();
    install.args(["ocf", "install", "--dir"]).arg(&other);
    let got = answer(&mut install, &[]);
    assert_eq!(got.rc, 5, "{}", got.stderr);
    assert!(
        got.stderr.contains("not a link, so another agent's file"),
        "{}",
        got.stderr
    );
}

/// A `crm_mon` that reports node b in the given state, first on a PATH of its own.
fn crm_mon_saying(dir: &Path, b_online: bool, b_unclean: bool) -> String {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join(format!("bin-{b_online}-{b_unclean}"));
    std::fs::create_dir(&bin).unwrap();
    let script = bin.join("crm_mon");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncat <<'XML'\n<pacemaker-result api-version=\"2.25\">\n  <nodes>\n    \
             <node name=\"a\" id=\"1\" online=\"true\" unclean=\"false\"/>\n    \
             <node name=\"b\" id=\"2\" online=\"{b_online}\" unclean=\"{b_unclean}\"/>\n  \
             </nodes>\n</pacemaker-result>\nXML\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn start_fails_over_from_a_node_pacemaker_fenced_but_not_from_one_it_cannot_vouch_for() {
    let dir = tempfile::tempdir().unwrap();
    // b's hypervisor cannot be asked: its node is powered off, or its libvirtd is down.
    let config = write_config(
        dir.path(),
        &format!(
            "systems:\n  a: {{ uri: 'test://{}' }}\n  b: {{ uri: 'qemu+unix:///system?socket={}/gone' }}\n\
             resources:\n  r: {{ type: KVMGuest, systems: [a, b], GuestName: shutoff01, DelayAfterGuestOnline: 0 }}\n",
            fixtures().join("node-a.xml").display(),
            dir.path().display()
        ),
    );
    let start = |path: Option<&str>| {
        let mut vars = vec![
            ("OCF_RESKEY_config", config.as_str()),
            ("OCF_RESOURCE_INSTANCE", "r"),
            ("OCF_RESKEY_CRM_meta_on_node", "a"),
        ];
        // A PATH where no crm_mon is: the agent needs no other program.
        let nowhere = dir.path().join("empty").display().to_string();
        vars.push(("PATH", path.unwrap_or(&nowhere)));
        ocf("start", &vars)
    };
    // Fenced, or shut down cleanly: Pacemaker vouches that nothing runs there.
    let fenced = start(Some(&crm_mon_saying(dir.path(), false, false)));
    assert_eq!(fenced.rc, 0, "{}", fenced.stderr);
    assert!(
        fenced
            .stderr
            .contains("INFO: Pacemaker reports b out of the cluster and clean"),
        "{}",
        fenced.stderr
    );
    // Still a member, or lost but not yet fenced: in doubt, refused.
    for (online, unclean) in [(true, false), (false, true)] {
        let doubt = start(Some(&crm_mon_saying(dir.path(), online, unclean)));
        assert_eq!(
            doubt.rc, 1,
            "online={online} unclean={unclean}: {}",
            doubt.stderr
        );
        assert!(
            doubt
                .stderr
                .contains("ERROR: cannot tell whether shutoff01 runs on b"),
            "{}",
            doubt.stderr
        );
    }
    // No cluster to ask (crm_resource --force-start on a bare node): refused as well.
    let alone = start(None);
    assert_eq!(alone.rc, 1);
    assert!(
        alone
            .stderr
            .contains("ERROR: cannot tell whether shutoff01 runs on b"),
        "{}",
        alone.stderr
    );
}

#[test]
fn the_engines_ca_comes_from_kvmguestctl_ca_file_as_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "systems:\n  a: {}\nresources:\n  r:\n    type: KVMGuest\n    systems: [a]\n    \
         GuestName: g\n    RHEVMInfo: { Enabled: 1, URL: 'https://127.0.0.1:9', User: admin@internal, \
         PasswordEnv: KVMGUESTCTL_TEST_OCF_PW, Cluster: c }\n",
    );
    let ca = dir.path().join("missing-ca.pem").display().to_string();
    let got = ocf(
        "monitor",
        &[
            ("OCF_RESKEY_config", config.as_str()),
            ("OCF_RESKEY_resource", "r"),
            ("OCF_RESKEY_system", "a"),
            ("KVMGUESTCTL_CA_FILE", ca.as_str()),
            ("KVMGUESTCTL_TEST_OCF_PW", "x"),
        ],
    );
    assert_eq!(got.rc, 1, "{}", got.stderr);
    assert!(
        got.stderr
            .contains(&format!("cannot read the CA file {ca}")),
        "{}",
        got.stderr
    );
}

/// GuestHealth through the OCF monitor: a guest whose agent answered once and then stopped
/// answering is degraded (190 to an OCF 1.1 caller, 0 with a warning before), then FAULTED (1).
/// The test driver's agent never answers (it has none), so the agent's earlier answer is the
/// memory the state directory keeps, written here as a monitor would have.
#[test]
fn guest_health_maps_a_silent_agent_to_degraded_then_to_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    common::agent_guest_node(dir.path());
    let config = write_config(
        dir.path(),
        "systems:\n  a: { uri: 'test:node.xml' }\nresources:\n  ga_vm:\n    type: KVMGuest\n    \
         systems: [a]\n    GuestName: ga01\n    \
         GuestHealth: { Enabled: 1, DegradeAfter: 1, FaultAfter: 60 }\n",
    );
    let state = dir.path().join("state");
    let monitor = |ocf_1_1: bool| {
        let minor = if ocf_1_1 { "1" } else { "0" };
        ocf(
            "monitor",
            &[
                ("OCF_RESKEY_config", config.as_str()),
                ("OCF_RESOURCE_INSTANCE", "ga_vm"),
                ("OCF_RESKEY_CRM_meta_on_node", "a"),
                ("OCF_RESKEY_CRM_meta_interval", "10000"),
                ("OCF_RA_VERSION_MAJOR", "1"),
                ("OCF_RA_VERSION_MINOR", minor),
                ("KVMGUESTCTL_STATE_DIR", state.to_str().unwrap()),
            ],
        )
    };
    let memory_file = state.join("ga_vm.health");

    let never = monitor(true);
    assert_eq!(
        never.rc, 0,
        "an agent that never answered counts for nothing: {}",
        never.stderr
    );
    assert_eq!(never.stderr, "");

    common::remember_a_silent_agent(&memory_file, 0);
    let old = monitor(false);
    assert_eq!(old.rc, 0, "{}", old.stderr);
    assert!(
        old.stderr.contains("WARNING: ga01 is ONLINE here (running, unknown): the guest agent of ga01 on a did not answer a ping within 2s"),
        "{}",
        old.stderr
    );
    let new = monitor(true);
    assert_eq!(new.rc, 190, "{}", new.stderr);
    assert!(
        new.stderr
            .contains("degraded while its guest agent does not answer"),
        "{}",
        new.stderr
    );

    common::remember_a_silent_agent(&memory_file, 100);
    let hung = monitor(true);
    assert_eq!(hung.rc, 1, "{}", hung.stderr);
    assert!(
        hung.stderr
            .contains("ga01 is FAULTED here (running, unknown)"),
        "{}",
        hung.stderr
    );
    assert!(
        hung.stderr.contains("the guest OS is taken as hung"),
        "{}",
        hung.stderr
    );
}
