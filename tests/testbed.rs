//! End-to-end tests on the real two-host testbed (tests/testbed/testbed.sh): real libvirtd
//! daemons, real QEMU guests that boot and obey ACPI, real live migration, across processes.
//!
//! They need root and the testbed up, so they are `#[ignore]`d for a plain `cargo test` (which
//! lists them as ignored); `scripts/test` brings the testbed up and runs them with
//! `--include-ignored`, or says loudly why it cannot.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::sync::{RwLock, mpsc};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

mod common;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_owned()
}

/// The two hosts' daemons, shared by every test of this binary. A test that stops or restarts a
/// daemon takes them exclusively, so no other test ever sees its fault, and brings them back up
/// before it lets go, also when it failed; the rest share them and run in parallel. So the
/// lock's poison (a test that panicked) says nothing about the hosts and is ignored.
static HOSTS: RwLock<()> = RwLock::new(());

/// One test's world: a guest named `kvmgt-<name>` on systems a and b, its own SyncDir and
/// migration port, and a clean slate on both hosts before and after.
struct Bed {
    guest: String,
    /// Guests of the resources added with [`Bed::also`], removed with the bed's own.
    others: Vec<String>,
    dir: tempfile::TempDir,
    config: PathBuf,
    env: HashMap<String, String>,
    /// This test may stop or restart the hosts' daemons: it makes them answer again when done.
    exclusive: bool,
    /// The shared or exclusive hold on `HOSTS`: released after the hosts are made whole and the
    /// guest is removed (fields drop after `Drop::drop`).
    _hosts: Box<dyn std::any::Any>,
}

impl Bed {
    /// `port` keeps concurrent tests' migrations apart; `attributes` are extra resource keys.
    fn new(name: &str, port: u16, attributes: &str, guest_xml_flags: &[&str]) -> Bed {
        let shared = HOSTS.read().unwrap_or_else(|e| e.into_inner());
        Bed::holding(
            false,
            Box::new(shared),
            name,
            port,
            attributes,
            guest_xml_flags,
        )
    }

    /// For a test that stops or restarts a host's daemon: it waits until no other test uses the
    /// hosts, and no other test starts until it is done and the hosts answer again.
    fn exclusive(name: &str, port: u16, attributes: &str, guest_xml_flags: &[&str]) -> Bed {
        let exclusive = HOSTS.write().unwrap_or_else(|e| e.into_inner());
        Bed::holding(
            true,
            Box::new(exclusive),
            name,
            port,
            attributes,
            guest_xml_flags,
        )
    }

    fn holding(
        exclusive: bool,
        hosts: Box<dyn std::any::Any>,
        name: &str,
        port: u16,
        attributes: &str,
        guest_xml_flags: &[&str],
    ) -> Bed {
        let env = common::testbed_env();
        let guest = format!("kvmgt-{name}");
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["guest-xml", guest.as_str()];
        args.extend_from_slice(guest_xml_flags);
        let xml_path = dir.path().join(format!("{guest}.xml"));
        std::fs::write(&xml_path, common::testbed(&args)).unwrap();
        std::fs::create_dir(dir.path().join("sync")).unwrap();
        // Delays unless the test sets its own: a short settle, and a generous shutdown wait because
        // the guest needs 4-5 s (up to 20 s on a loaded machine) before acpid hears the button.
        let mut attributes = attributes.to_owned();
        for (key, default) in [("DelayAfterGuestOnline", 1), ("DelayAfterGuestOffline", 60)] {
            if !attributes.contains(key) {
                attributes.push_str(&format!("    {key}: {default}\n"));
            }
        }
        let yaml = format!(
            "systems:\n  a: {{ uri: '{a}', site: east, migration_uri: 'tcp://127.0.0.1:{port}' }}\n  \
             b: {{ uri: '{b}', site: east, migration_uri: 'tcp://127.0.0.1:{port}' }}\n\
             resources:\n  r:\n    type: KVMGuest\n    systems: [a, b]\n    GuestName: {guest}\n    \
             GuestConfigFilePath: {xml}\n    SyncDir: sync\n{attributes}",
            a = env["TESTBED_A_URI"],
            b = env["TESTBED_B_URI"],
            xml = xml_path.display(),
        );
        let config = dir.path().join("r.yaml");
        std::fs::write(&config, yaml).unwrap();
        let bed = Bed {
            guest,
            others: Vec::new(),
            dir,
            config,
            env,
            exclusive,
            _hosts: hosts,
        };
        bed.remove_everywhere();
        bed
    }

    /// One more resource `name` on `systems` (YAML list), its guest `<bed's guest>-<name>` defined
    /// from its own GuestConfigFilePath (`testbed.sh guest-xml` with `flags`): for tests that need
    /// several guests at once.
    fn also(mut self, name: &str, systems: &str, flags: &[&str]) -> Bed {
        let guest = format!("{}-{name}", self.guest);
        let xml = self.dir.path().join(format!("{guest}.xml"));
        let mut args = vec!["guest-xml", guest.as_str()];
        args.extend_from_slice(flags);
        std::fs::write(&xml, common::testbed(&args)).unwrap();
        let mut yaml = std::fs::read_to_string(&self.config).unwrap();
        yaml.push_str(&format!(
            "  {name}:\n    type: KVMGuest\n    systems: {systems}\n    GuestName: {guest}\n    \
             GuestConfigFilePath: {}\n    DelayAfterGuestOnline: 1\n",
            xml.display()
        ));
        std::fs::write(&self.config, yaml).unwrap();
        self.others.push(guest);
        self.remove_everywhere();
        self
    }

    fn uri(&self, system: &str) -> &str {
        &self.env[&format!("TESTBED_{}_URI", system.to_uppercase())]
    }

    fn xml_path(&self) -> PathBuf {
        self.dir.path().join(format!("{}.xml", self.guest))
    }

    fn virsh(&self, system: &str, args: &[&str]) -> std::process::Output {
        virsh(self.uri(system)).args(args).output().unwrap()
    }

    fn remove_everywhere(&self) {
        for guest in std::iter::once(&self.guest).chain(&self.others) {
            for system in ["a", "b"] {
                let _ = self.virsh(system, &["destroy", guest]);
                let _ = self.virsh(system, &["undefine", guest]);
            }
        }
    }

    fn kvm(&self, sys: &str) -> Command {
        self.commands().on(sys)
    }

    /// What runs the binary on the bed, for threads (the bed itself holds the hosts' lock).
    fn commands(&self) -> Commands {
        Commands {
            config: self.config.clone(),
            state_dir: self.state_dir(),
            lock_dir: self.dir.path().join("lock"),
        }
    }

    /// The bed's own state directory (GuestHealth's memory, watch's files).
    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Run and parse: (exit code, JSON document, stderr); panics when stdout is not JSON.
    fn run(&self, sys: &str, args: &[&str]) -> (i32, Value, String) {
        let ran = common::run_json(self.kvm(sys).args(args));
        (ran.code, ran.doc, ran.stderr)
    }

    /// The resource's state on `system`, as `status` on a reports it.
    fn state_on(&self, system: &str) -> String {
        let (_, doc, err) = self.run("a", &["status", "r"]);
        let s = doc["resources"][0]["systems"]
            .as_array()
            .and_then(|systems| systems.iter().find(|s| s["system"] == system))
            .unwrap_or_else(|| panic!("no system {system} in the status: {doc}\n{err}"));
        s["state"]
            .as_str()
            .unwrap_or_else(|| panic!("no state for {system}: {s}"))
            .to_owned()
    }

    /// Whether libvirt on `system` knows the guest (running or defined); false only when virsh
    /// says it does not exist, any other virsh failure panics.
    fn defined_on(&self, system: &str) -> bool {
        let out = self.virsh(system, &["dominfo", &self.guest]);
        if out.status.success() {
            return true;
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("failed to get domain") || stderr.contains("Domain not found"),
            "virsh dominfo {} on {system} failed otherwise: {stderr}",
            self.guest
        );
        false
    }
}

/// The binary on a bed's configuration and state directory.
/// Its lock directory is the bed's own: the bed's commands meet at its guests' locks, and no
/// other test's.
struct Commands {
    config: PathBuf,
    state_dir: PathBuf,
    lock_dir: PathBuf,
}

impl Commands {
    /// The words every command on the bed begins with, after `--config`.
    fn flags<'a>(&'a self, sys: &'a str) -> [&'a std::ffi::OsStr; 7] {
        [
            "--sys".as_ref(),
            sys.as_ref(),
            "--yes".as_ref(),
            "--state-dir".as_ref(),
            self.state_dir.as_os_str(),
            "--lock-dir".as_ref(),
            self.lock_dir.as_os_str(),
        ]
    }

    fn on(&self, sys: &str) -> Command {
        let mut cmd = common::kvm(&self.config);
        cmd.args(self.flags(sys)).timeout(Duration::from_secs(120));
        cmd
    }

    /// [`Self::on`] as a child process, `-o json`, its stdout and stderr piped.
    fn spawn(&self, sys: &str, args: &[&str]) -> Child {
        let mut cmd = Process::new(assert_cmd::cargo::cargo_bin("kvmguestctl"));
        for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("KVMGUESTCTL_")) {
            cmd.env_remove(name);
        }
        cmd.arg("--config")
            .arg(&self.config)
            .args(self.flags(sys))
            .args(["-o", "json"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        // Before the guest is removed: a host whose daemon is down cannot remove it. Not a
        // panic (this may run while unwinding); the next test's own asserts say what is wrong.
        if self.exclusive {
            let up = Process::new(root().join("tests/testbed/testbed.sh"))
                .arg("up")
                .output();
            if !up.as_ref().is_ok_and(|o| o.status.success()) {
                eprintln!("testbed.sh up after an exclusive test failed: {up:?}");
            }
        }
        self.remove_everywhere();
    }
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn start_status_acpi_stop_and_clean_on_a_real_guest() {
    let bed = Bed::new("life", 49152, "", &[]);
    assert!(!bed.defined_on("a"));
    let (code, doc, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(doc["results"][0]["action"], "started");
    assert!(
        err.contains("defining kvmgt-life on a from"),
        "defined from GuestConfigFilePath: {err}"
    );
    assert_eq!(bed.state_on("a"), "ONLINE");
    assert_eq!(bed.state_on("b"), "INTENTIONAL OFFLINE");

    // Give the guest time to reach userland, where acpid handles the power button.
    std::thread::sleep(Duration::from_secs(3));
    let (code, doc, err) = bed.run("a", &["stop", "r", "--mode", "acpi"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        doc["results"][0]["action"], "stopped",
        "the guest powered itself off: {doc}"
    );
    assert!(
        doc["results"][0]["seconds"].as_f64().unwrap() < 15.0,
        "{doc}"
    );
    assert_eq!(bed.state_on("a"), "OFFLINE");
    assert!(
        bed.dir.path().join("sync/kvmgt-life.xml").exists(),
        "stop saved the definition"
    );

    let (code, doc, _) = bed.run("a", &["clean", "r"]);
    assert_eq!(
        (code, doc["results"][0]["action"].as_str()),
        (0, Some("already-offline"))
    );
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn a_guest_that_ignores_acpi_is_destroyed_after_the_delay_or_left_with_no_kill() {
    let bed = Bed::new(
        "deaf",
        49153,
        "    DelayAfterGuestOffline: 3\n",
        &["--no-kernel"],
    );

    let (code, _, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    let started = Instant::now();
    let (code, _, err) = bed.run("a", &["stop", "r", "--no-kill"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("left running because of --no-kill"), "{err}");
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert_eq!(bed.state_on("a"), "ONLINE");

    let (code, doc, err) = bed.run("a", &["stop", "r"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(doc["results"][0]["action"], "killed", "{doc}");
    assert_eq!(bed.state_on("a"), "OFFLINE");
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn a_stop_right_after_start_wins_because_the_request_is_sent_again() {
    let bed = Bed::new("early", 49154, "    DelayAfterGuestOnline: 0\n", &[]);
    let (code, _, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    // At once: the guest is still booting and cannot hear the first ACPI request.
    let (code, doc, err) = bed.run("a", &["stop", "r", "--mode", "acpi"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        doc["results"][0]["action"], "stopped",
        "a re-sent request stopped it, no kill: {doc} {err}"
    );
    assert!(
        err.contains("asked kvmgt-early to shut down (ACPI, request 2)"),
        "the request was sent again: {err}"
    );
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn start_is_refused_while_the_guest_runs_on_the_other_host_and_two_copies_are_a_violation() {
    let bed = Bed::new("twice", 49155, "", &[]);
    let (code, _, err) = bed.run("b", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("kvmgt-twice already runs on b; refusing to start a second copy on a"),
        "{err}"
    );

    // A second copy started behind the tool's back (this guest has no disk, so it is harmless).
    let xml = bed.xml_path();
    assert!(
        bed.virsh("a", &["create", xml.to_str().unwrap()])
            .status
            .success()
    );
    let (code, doc, err) = bed.run("a", &["status", "r"]);
    assert_eq!(code, 6, "{err}");
    assert_eq!(doc["resources"][0]["concurrency_violation"], true);
    assert!(
        err.contains("CONCURRENCY VIOLATION: r (kvmgt-twice) runs on a and b at once"),
        "{err}"
    );
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn live_migration_there_and_back() {
    let bed = Bed::new("mig", 49156, "", &[]);
    let (code, _, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    let (code, doc, err) = bed.run("a", &["-v", "migrate", "r", "--to", "b"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err.matches("libvirt b: connect:").count(),
        1,
        "the migration reaches b through the command's one connection: {err}"
    );
    let result = &doc["results"][0];
    assert_eq!(
        (result["action"].as_str(), result["system"].as_str()),
        (Some("migrated"), Some("b"))
    );
    assert!(
        result["detail"]
            .as_str()
            .unwrap()
            .starts_with("live migration a -> b in"),
        "{result}"
    );
    assert_eq!(bed.state_on("b"), "ONLINE");
    assert_eq!(bed.state_on("a"), "INTENTIONAL OFFLINE");
    assert!(!bed.defined_on("a"), "the definition left the source");
    let info = String::from_utf8(bed.virsh("b", &["dominfo", &bed.guest]).stdout).unwrap();
    let persistent = info
        .lines()
        .find(|l| l.starts_with("Persistent:"))
        .unwrap_or_default();
    assert_eq!(
        persistent.split_whitespace().last(),
        Some("yes"),
        "persistent on the target: {info}"
    );

    let (code, doc, err) = bed.run("b", &["migrate", "r", "--to", "a", "--mode", "pause"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        doc["results"][0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("pause migration b -> a")
    );
    assert_eq!(bed.state_on("a"), "ONLINE");

    let (code, _, err) = bed.run("a", &["migrate", "r", "--to", "c"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = bed.run("b", &["migrate", "r", "--to", "a"]);
    assert_eq!(code, 5, "already on the target: {err}");
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn a_migration_over_migrate_timeout_is_aborted_and_the_guest_stays() {
    let bed = Bed::new("slow", 49157, "    MigrateTimeout: 2\n", &[]);
    let (code, _, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    // 1 MiB/s: the guest's tens of MiB of non-zero memory cannot move within 2 s.
    assert!(
        bed.virsh("a", &["migrate-setspeed", &bed.guest, "1"])
            .status
            .success()
    );
    let started = Instant::now();
    let (code, _, err) = bed.run("a", &["migrate", "r", "--to", "b"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("did not finish within MigrateTimeout (2s) and was aborted"),
        "{err}"
    );
    assert!(err.contains("kvmgt-slow keeps running on a"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(bed.state_on("a"), "ONLINE");
    assert_ne!(bed.state_on("b"), "ONLINE");
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn a_dr_configured_guest_does_not_migrate_across_sites() {
    let bed = Bed::new(
        "dr",
        49158,
        "    DROpts: { ConfigureNetwork: 1, IPAddress: 10.1.0.5, Netmask: 24 }\n",
        &[],
    );
    let text =
        std::fs::read_to_string(&bed.config)
            .unwrap()
            .replacen("site: east", "site: west", 2);
    let text = text.replacen("site: west", "site: east", 1);
    std::fs::write(&bed.config, text).unwrap();
    let (code, _, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = bed.run("a", &["migrate", "r", "--to", "b"]);
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("cannot migrate across sites (a is at east, b at west)"),
        "{err}"
    );
}

/// Where each resource's guest runs, from one `status --all`.
fn running_on(bed: &Bed) -> HashMap<String, Value> {
    let (_, doc, err) = bed.run("a", &["status", "--all"]);
    doc["resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no status: {doc}\n{err}"))
        .iter()
        .map(|r| {
            (
                r["resource"].as_str().unwrap().to_owned(),
                r["running_on"].clone(),
            )
        })
        .collect()
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn evacuate_a_moves_two_guests_live_to_b_and_leaves_the_one_that_may_run_only_on_a() {
    let bed = Bed::new("evac-r", 49180, "", &[])
        .also("s", "[a, b]", &[])
        .also("pinned", "[a]", &[]);
    for res in ["r", "s", "pinned"] {
        let (code, _, err) = bed.run("a", &["start", res]);
        assert_eq!(code, 0, "{res}: {err}");
    }
    let (code, doc, err) = bed.run("a", &["evacuate", "--dry-run"]);
    assert_eq!(code, 5, "{err}");
    let actions = common::actions(&doc);
    assert_eq!(actions, [("pinned", "leave"), ("r", "move"), ("s", "move")]);
    assert_eq!(
        running_on(&bed)["r"],
        serde_json::json!(["a"]),
        "the dry run moved nothing"
    );

    let started = Instant::now();
    let (code, doc, err) = bed.run("a", &["evacuate"]);
    let took = started.elapsed();
    eprintln!("evacuation of 2 guests took {took:?}");
    assert_eq!(code, 5, "the guest left running is a refusal: {err}");
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results[0]["action"], "left", "{doc}");
    assert_eq!(
        results[0]["detail"], "no other system: pinned may run only on a",
        "{doc}"
    );
    for moved in &results[1..] {
        assert_eq!(
            (moved["action"].as_str(), moved["to"].as_str()),
            (Some("moved"), Some("b")),
            "{doc}\n{err}"
        );
        assert!(
            moved["detail"]
                .as_str()
                .unwrap()
                .starts_with("live migration a -> b in"),
            "{moved}"
        );
    }
    assert!(
        err.contains("kvmgt-evac-r-pinned (pinned) is left running on a"),
        "{err}"
    );
    let now = running_on(&bed);
    assert_eq!(now["r"], serde_json::json!(["b"]));
    assert_eq!(now["s"], serde_json::json!(["b"]));
    assert_eq!(now["pinned"], serde_json::json!(["a"]));
    assert!(took < Duration::from_secs(60), "took {took:?}");
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn migrate_to_b_without_sys_finds_the_guest_on_a_as_evacuate_does() {
    let bed = Bed::new("evac-find", 49181, "", &[]);
    let (code, _, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    let ran = common::run_json(
        common::kvm(&bed.config)
            .args(["migrate", "r", "--to", "b"])
            .timeout(Duration::from_secs(120)),
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let result = &ran.doc["results"][0];
    assert_eq!(result["system"], "b");
    assert!(
        result["detail"]
            .as_str()
            .unwrap()
            .starts_with("live migration a -> b in"),
        "{result}"
    );
    assert_eq!(bed.state_on("b"), "ONLINE");
    assert!(!bed.defined_on("a"), "the definition left the source");
}

/// The watcher as a child process, its JSON lines arriving on a channel.
struct Watcher {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl Watcher {
    /// `kvmguestctl --config BED -o json EXTRA... watch --state-dir STATE_DIR`.
    fn start(bed: &Bed, state_dir: &Path, extra: &[&str]) -> Watcher {
        let mut child = Process::new(env!("CARGO_BIN_EXE_kvmguestctl"))
            .arg("--config")
            .arg(&bed.config)
            .args(["-o", "json"])
            .args(extra)
            .args(["watch", "--state-dir"])
            .arg(state_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        Watcher { child, lines }
    }

    /// The first line matching `want` within `limit`.
    fn expect(&self, limit: Duration, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(v) if want(&v) => return v,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("no {what} within {limit:?}");
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn watch_detects_a_virsh_migration_within_2_seconds_and_survives_a_libvirtd_restart() {
    // It kills host B's libvirtd: no other test may use B meanwhile.
    let bed = Bed::exclusive("watch", 49159, "", &[]);
    let (code, _, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    let state_dir = bed.dir.path().join("state");
    let watcher = Watcher::start(&bed, &state_dir, &[]);
    let mut connected = std::collections::BTreeSet::new();
    while connected.len() < 2 {
        let line = watcher.expect(Duration::from_secs(20), "connected", |v| {
            v["event"] == "connected"
        });
        connected.insert(line["system"].as_str().unwrap_or_default().to_owned());
    }

    // Behind the tool's back, as an administrator with plain virsh would.
    let migrated = virsh(bed.uri("a"))
        .args([
            "migrate",
            "--live",
            "--persistent",
            "--undefinesource",
            &bed.guest,
            bed.uri("b"),
        ])
        .arg("tcp://127.0.0.1:49159")
        .output()
        .unwrap();
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let done = Instant::now();
    let line = watcher.expect(Duration::from_secs(10), "migrated", |v| {
        v["event"] == "migrated"
    });
    assert!(
        done.elapsed() < Duration::from_secs(2),
        "detected after {:?}",
        done.elapsed()
    );
    assert_eq!(
        (
            line["resource"].as_str(),
            line["to"].as_str(),
            line["from"].as_str()
        ),
        (Some("r"), Some("b"), Some("a"))
    );
    assert_eq!(line["state"], "ONLINE");
    let record: Value =
        serde_json::from_slice(&std::fs::read(state_dir.join("r.migrated")).unwrap()).unwrap();
    assert_eq!(
        (record["to"].as_str(), record["from"].as_str()),
        (Some("b"), Some("a"))
    );

    // Host B's libvirtd goes away and comes back: the watcher reconnects and keeps reporting.
    signal(&libvirtd_pid("b"), "-TERM");
    watcher.expect(Duration::from_secs(20), "disconnected", |v| {
        v["event"] == "disconnected" && v["system"] == "b"
    });
    common::testbed(&["up"]);
    watcher.expect(Duration::from_secs(30), "reconnected", |v| {
        v["event"] == "connected" && v["detail"] == "reconnected"
    });
    assert!(bed.virsh("b", &["destroy", &bed.guest]).status.success());
    let stopped = watcher.expect(Duration::from_secs(10), "stopped", |v| {
        v["event"] == "stopped" && v["system"] == "b"
    });
    assert_eq!(stopped["resource"], "r");

    let mut watcher = watcher;
    let status = watcher.terminate();
    assert_eq!(status.code(), Some(0), "SIGTERM stops the watcher cleanly");
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn vmconfigsync_saves_from_a_defines_on_b_and_b_starts_from_it() {
    let bed = Bed::new("sync", 49160, "", &[]);
    let (code, _, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    let (code, doc, err) = bed.run("a", &["vmconfigsync", "r", "--everywhere"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(doc["results"][0]["source"], "a");
    assert_eq!(doc["results"][0]["defined_on"][0]["result"], "defined");
    assert!(bed.defined_on("b"));
    let (code, doc, _) = bed.run("a", &["vmconfigsync", "--check", "r"]);
    assert_eq!(code, 0, "{doc}");

    // Fail over to b from the synced definition (GuestConfigFilePath is not needed any more).
    let (code, _, err) = bed.run("a", &["clean", "r"]);
    assert_eq!(code, 0, "{err}");
    let yaml = std::fs::read_to_string(&bed.config).unwrap();
    let without_file: String = yaml
        .lines()
        .filter(|l| !l.contains("GuestConfigFilePath"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&bed.config, without_file).unwrap();
    let (code, _, err) = bed.run("b", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(bed.state_on("b"), "ONLINE");

    // Someone edits a's copy: --check says so and shows the change.
    let dumped = bed
        .virsh("a", &["dumpxml", "--inactive", &bed.guest])
        .stdout;
    let edited = String::from_utf8(dumped).unwrap().replace(
        "<memory unit='KiB'>131072</memory>",
        "<memory unit='KiB'>262144</memory>",
    );
    let edited_path = bed.dir.path().join("edited.xml");
    std::fs::write(&edited_path, edited).unwrap();
    assert!(
        bed.virsh("a", &["define", edited_path.to_str().unwrap()])
            .status
            .success()
    );
    let out = bed
        .kvm("a")
        .args(["vmconfigsync", "--check", "r"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("+  <memory unit=\"KiB\">262144</memory>"),
        "{text}"
    );
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn resync_vm_cfg_redefines_from_the_file_before_every_start() {
    let bed = Bed::new("resync", 49161, "    ResyncVMCfg: 1\n", &[]);
    let (code, _, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    bed.run("a", &["clean", "r"]);
    // 192 MiB, which libvirt reports back as 196608 KiB.
    let xml = std::fs::read_to_string(bed.xml_path()).unwrap().replace(
        "<memory unit='MiB'>128</memory>",
        "<memory unit='MiB'>192</memory>",
    );
    assert!(
        xml.contains("'MiB'>192<"),
        "the testbed's guest XML changed shape"
    );
    std::fs::write(bed.xml_path(), xml).unwrap();
    let (code, _, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("(ResyncVMCfg = 1)"), "{err}");
    let dumped = String::from_utf8(
        bed.virsh("a", &["dumpxml", "--inactive", &bed.guest])
            .stdout,
    )
    .unwrap();
    assert!(dumped.contains("196608"), "{dumped}");
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn a_transient_guest_leaves_no_definition_on_either_host() {
    let bed = Bed::new("transient", 49162, "    Transient: 1\n", &[]);
    let (code, _, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("creating transient kvmgt-transient on a"),
        "{err}"
    );
    assert_eq!(bed.state_on("a"), "ONLINE");
    // The positive control for the check below: libvirt on a knows the running guest, as a
    // transient one.
    assert!(bed.defined_on("a"), "the running guest is known on a");
    let info = String::from_utf8(bed.virsh("a", &["dominfo", &bed.guest]).stdout).unwrap();
    let persistent = info
        .lines()
        .find(|l| l.starts_with("Persistent:"))
        .unwrap_or_default();
    assert_eq!(
        persistent.split_whitespace().last(),
        Some("no"),
        "transient on a: {info}"
    );
    std::thread::sleep(Duration::from_secs(3));
    let (code, doc, err) = bed.run("a", &["stop", "r"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(doc["results"][0]["action"], "stopped");
    assert!(
        !bed.defined_on("a") && !bed.defined_on("b"),
        "nothing defined anywhere"
    );
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn the_ocf_stop_of_a_guest_that_ignores_acpi_ends_inside_its_timeout() {
    // DelayAfterGuestOffline alone would wait two minutes; Pacemaker gives the stop 20 s.
    let bed = Bed::new(
        "ocf-deaf",
        49163,
        "    DelayAfterGuestOffline: 120\n",
        &["--no-kernel"],
    );
    let (code, _, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    let started = Instant::now();
    let out = Process::new(assert_cmd::cargo::cargo_bin("kvmguestctl"))
        .args(["ocf", "stop"])
        .env_remove("KVMGUESTCTL_CONFIG")
        .envs(common::own_dirs())
        .env("OCF_RESKEY_config", &bed.config)
        .env("OCF_RESOURCE_INSTANCE", "r")
        .env("OCF_RESKEY_CRM_meta_on_node", "a")
        .env("OCF_RESKEY_CRM_meta_timeout", "20000")
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(took < Duration::from_secs(20), "took {took:?}: {stderr}");
    assert!(
        stderr.contains("did not shut down within") && stderr.contains("destroying it"),
        "{stderr}"
    );
    assert_eq!(bed.state_on("a"), "OFFLINE");
}

/// Three tiny guests `kvmgt-bulk-1..3` on host A, one resource each (`b1..b3`), removed from
/// both hosts before and after.
struct Bulk {
    dir: tempfile::TempDir,
    guests: Vec<String>,
    env: HashMap<String, String>,
    _hosts: std::sync::RwLockReadGuard<'static, ()>,
}

impl Bulk {
    fn new() -> Bulk {
        let hosts = HOSTS.read().unwrap_or_else(|e| e.into_inner());
        let env = common::testbed_env();
        let dir = tempfile::tempdir().unwrap();
        let guests: Vec<String> = (1..=3).map(|i| format!("kvmgt-bulk-{i}")).collect();
        let mut resources = String::new();
        for (i, guest) in guests.iter().enumerate() {
            let xml = dir.path().join(format!("{guest}.xml"));
            std::fs::write(&xml, common::testbed(&["guest-xml", guest])).unwrap();
            resources.push_str(&format!(
                "  b{n}: {{ type: KVMGuest, systems: [a, b], GuestName: {guest}, \
                 GuestConfigFilePath: {xml}, DelayAfterGuestOnline: 1, DelayAfterGuestOffline: 60 }}\n",
                n = i + 1,
                xml = xml.display()
            ));
        }
        std::fs::write(
            dir.path().join("bulk.yaml"),
            format!(
                "systems:\n  a: {{ uri: '{a}', migration_uri: 'tcp://127.0.0.1:49164' }}\n  \
                 b: {{ uri: '{b}', migration_uri: 'tcp://127.0.0.1:49164' }}\nresources:\n{resources}",
                a = env["TESTBED_A_URI"],
                b = env["TESTBED_B_URI"],
            ),
        )
        .unwrap();
        let bulk = Bulk {
            dir,
            guests,
            env,
            _hosts: hosts,
        };
        bulk.remove_everywhere();
        bulk
    }

    fn remove_everywhere(&self) {
        for uri in [&self.env["TESTBED_A_URI"], &self.env["TESTBED_B_URI"]] {
            for guest in &self.guests {
                let virsh = |what: &str| virsh(uri).args([what, guest]).output();
                let _ = virsh("destroy");
                let _ = virsh("undefine");
            }
        }
    }

    /// Run on system a with --yes and -o json: (exit code, document, stderr).
    fn run(&self, args: &[&str]) -> (i32, Value, String) {
        let ran = common::run_json(
            common::kvm(&self.dir.path().join("bulk.yaml"))
                .args(["--sys", "a", "--yes"])
                .args(args)
                .timeout(Duration::from_secs(180)),
        );
        (ran.code, ran.doc, ran.stderr)
    }

    /// Each resource's (name, state on a), as `status` reports them.
    fn states_on_a(&self) -> Vec<(String, String)> {
        let (_, doc, err) = self.run(&["status", "--all"]);
        doc["resources"]
            .as_array()
            .unwrap_or_else(|| panic!("no status: {doc}\n{err}"))
            .iter()
            .map(|r| {
                let a = &r["systems"][0];
                assert_eq!(a["system"], "a", "{r}");
                (
                    r["resource"].as_str().unwrap().to_owned(),
                    a["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

impl Drop for Bulk {
    fn drop(&mut self) {
        self.remove_everywhere();
    }
}

/// Three real guests started at once, then shut down at once, through the binary: all ONLINE,
/// then all OFFLINE, every one reported in the order named.
#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn a_bulk_start_and_stop_of_three_real_guests() {
    let bulk = Bulk::new();
    let named = ["b2", "b3", "b1"];
    let (code, doc, err) = bulk.run(&[&["start"][..], &named].concat());
    assert_eq!(code, 0, "{err}\n{doc}");
    assert_eq!(
        common::actions(&doc),
        [("b2", "started"), ("b3", "started"), ("b1", "started")]
    );
    let online = |state: &str| {
        ["b1", "b2", "b3"]
            .map(|r| (r.to_owned(), state.to_owned()))
            .to_vec()
    };
    assert_eq!(bulk.states_on_a(), online("ONLINE"));

    // Give the guests time to reach userland, where acpid handles the power button.
    std::thread::sleep(Duration::from_secs(3));
    let (code, doc, err) = bulk.run(&["stop", "--all", "--mode", "acpi"]);
    assert_eq!(code, 0, "{err}\n{doc}");
    let reported = common::actions(&doc);
    assert_eq!(
        reported,
        [("b1", "stopped"), ("b2", "stopped"), ("b3", "stopped")]
    );
    assert_eq!(bulk.states_on_a(), online("OFFLINE"));
}

impl Bed {
    /// The guest's serial log (the testbed appends to it, so a test removes it before a start).
    fn serial_log(&self) -> PathBuf {
        Path::new(&self.env["TESTBED_LOG_DIR"]).join(format!("{}.log", self.guest))
    }

    /// Wait until qemu-ga in the agent guest has opened its port (libvirt's live XML says
    /// `state='connected'`, 2-5 s after the start). Before that the agent refuses a shutdown and
    /// `--mode auto` rightly falls back to ACPI, which is not what these tests are about.
    fn wait_for_the_agent(&self, system: &str) -> Duration {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            let xml =
                String::from_utf8_lossy(&self.virsh(system, &["dumpxml", &self.guest]).stdout)
                    .into_owned();
            if xml.contains("name='org.qemu.guest_agent.0' state='connected'") {
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "the guest agent of {} never connected; its serial log: {}",
            self.guest,
            std::fs::read_to_string(self.serial_log()).unwrap_or_default()
        );
    }

    /// Start the agent guest on a and wait for its agent.
    fn start_with_agent(&self) {
        let _ = std::fs::remove_file(self.serial_log());
        let (code, _, err) = self.run("a", &["start", "r"]);
        assert_eq!(code, 0, "{err}");
        self.wait_for_the_agent("a");
    }

    /// Have the agent guest's qemu-ga run busybox with `args` (guest-exec): how a test stops or
    /// freezes the agent from inside the guest.
    fn in_the_guest(&self, args: &[&str]) {
        let command = serde_json::json!({
            "execute": "guest-exec",
            "arguments": { "path": "/bin/busybox", "arg": args },
        });
        let exec = self.virsh(
            "a",
            &["qemu-agent-command", &self.guest, &command.to_string()],
        );
        assert!(
            exec.status.success(),
            "guest-exec {args:?}: {}",
            String::from_utf8_lossy(&exec.stderr)
        );
    }

    /// Whether the guest's own `/sbin/shutdown` (which only qemu-ga's guest-shutdown runs) ran.
    fn agent_shut_it_down(&self) -> bool {
        std::fs::read_to_string(self.serial_log())
            .unwrap_or_default()
            .contains("kvmgt-guest: shutdown -h -P +0")
    }
}

/// A stop in `mode` of the agent guest, which has no acpid: it must be the agent that stops it.
fn agent_stop(name: &str, port: u16, mode: &str) {
    let bed = Bed::new(name, port, "", &["--agent"]);
    bed.start_with_agent();
    let (code, doc, err) = bed.run("a", &["stop", "r", "--mode", mode]);
    assert_eq!(code, 0, "{err}");
    let result = &doc["results"][0];
    assert_eq!(result["action"], "stopped", "{doc}\n{err}");
    assert_eq!(
        result["detail"],
        format!("{} shut down (guest agent)", bed.guest),
        "{doc}\n{err}"
    );
    let took = result["seconds"].as_f64().unwrap();
    assert!(
        took < 10.0,
        "the agent takes about 3 s, this took {took}: {err}"
    );
    assert!(bed.agent_shut_it_down(), "qemu-ga ran /sbin/shutdown");
    assert_eq!(bed.state_on("a"), "OFFLINE");
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn ga_stop_mode_agent_shuts_the_agent_guest_down_through_its_agent() {
    agent_stop("ga-agent", 49200, "agent");
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn ga_stop_mode_auto_uses_the_agent_of_a_guest_with_the_channel() {
    agent_stop("ga-auto", 49201, "auto");
}

/// The control: the agent guest has no acpid, so an ACPI request is not heard and the guest is
/// destroyed after DelayAfterGuestOffline. So it is the agent, not ACPI, that stops it above.
#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn ga_stop_mode_acpi_is_not_heard_by_the_agent_guest_and_it_is_destroyed() {
    let bed = Bed::new(
        "ga-acpi",
        49202,
        "    DelayAfterGuestOffline: 3\n",
        &["--agent"],
    );
    bed.start_with_agent();
    let (code, doc, err) = bed.run("a", &["stop", "r", "--mode", "acpi"]);
    assert_eq!(code, 0, "{err}");
    let result = &doc["results"][0];
    assert_eq!(result["action"], "killed", "{doc}\n{err}");
    assert!(
        err.contains(&format!(
            "asked {} to shut down (ACPI, request 1)",
            bed.guest
        )),
        "{err}"
    );
    assert!(!bed.agent_shut_it_down(), "no agent shutdown was asked for");
    assert_eq!(bed.state_on("a"), "OFFLINE");
}

// The watcher and the QEMU guest agent.

impl Watcher {
    /// Stop it as systemd does (SIGTERM) and wait for its end.
    fn terminate(&mut self) -> std::process::ExitStatus {
        signal(&self.child.id().to_string(), "-TERM");
        self.child.wait().unwrap()
    }
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn ga_watch_reports_the_guest_agent_connecting_and_then_killed_inside_the_guest() {
    let bed = Bed::new("ga-watch", 49210, "", &["--agent"]);
    let state_dir = bed.dir.path().join("state");
    let mut watcher = Watcher::start(&bed, &state_dir, &[]);
    watcher.expect(Duration::from_secs(20), "connected on a", |v| {
        v["event"] == "connected" && v["system"] == "a"
    });
    bed.start_with_agent();
    let of_r =
        |v: &Value, event: &str| v["event"] == event && v["resource"] == "r" && v["system"] == "a";
    // libvirt reads the channel's state as it launches the guest, before "started" is said: no
    // agent yet.
    let launched = watcher.expect(
        Duration::from_secs(10),
        "agent-disconnected at launch",
        |v| of_r(v, "agent-disconnected"),
    );
    assert_eq!(launched["detail"], "the guest started", "{launched}");
    watcher.expect(Duration::from_secs(10), "started", |v| of_r(v, "started"));
    let connected = watcher.expect(Duration::from_secs(10), "agent-connected", |v| {
        of_r(v, "agent-connected")
    });
    assert_eq!(
        (connected["detail"].as_str(), connected["guest"].as_str()),
        (
            Some("the guest agent opened its channel"),
            Some(bed.guest.as_str())
        ),
        "{connected}"
    );

    // qemu-ga runs `killall qemu-ga` for us: it ends, and the guest closes its port.
    bed.in_the_guest(&["killall", "qemu-ga"]);
    let gone = watcher.expect(Duration::from_secs(10), "agent-disconnected", |v| {
        of_r(v, "agent-disconnected")
    });
    assert_eq!(
        gone["detail"], "the guest agent closed its channel",
        "{gone}"
    );
    assert!(
        !state_dir.join("r.migrated").exists(),
        "an agent's coming and going is no migration"
    );
    for line in [&launched, &connected, &gone] {
        eprintln!("{line}");
    }

    let status = watcher.terminate();
    assert_eq!(status.code(), Some(0), "SIGTERM stops the watcher cleanly");
}

// GuestHealth, status --detail and the agent's absence, against the real qemu-ga.

/// The resource's status on a, as JSON, and how long the status took.
fn status_on_a(bed: &Bed, extra: &[&str]) -> (Value, Duration) {
    let started = Instant::now();
    let mut args = vec!["status", "r"];
    args.extend_from_slice(extra);
    let (_, doc, err) = bed.run("a", &args);
    let took = started.elapsed();
    let a = doc["resources"][0]["systems"]
        .as_array()
        .and_then(|systems| systems.iter().find(|s| s["system"] == "a").cloned())
        .unwrap_or_else(|| panic!("no system a: {doc}\n{err}"));
    (a, took)
}

/// A system's state, confidence and guest agent answer, as one value to compare.
fn reading(system: &Value) -> Value {
    serde_json::json!([system["state"], system["confidence"], system["agent"]])
}

/// The OCF monitor of r on a, as Pacemaker 2.1 (OCF 1.1) calls it: its exit code and stderr.
fn ocf_monitor(bed: &Bed) -> (Option<i32>, String) {
    let out = Process::new(assert_cmd::cargo::cargo_bin("kvmguestctl"))
        .args(["ocf", "monitor"])
        .env_remove("KVMGUESTCTL_CONFIG")
        .env("OCF_RESKEY_config", &bed.config)
        .env("OCF_RESOURCE_INSTANCE", "r")
        .env("OCF_RESKEY_CRM_meta_on_node", "a")
        .env("OCF_RESKEY_CRM_meta_interval", "10000")
        .env("OCF_RESKEY_CRM_meta_timeout", "20000")
        .env("OCF_RA_VERSION_MAJOR", "1")
        .env("OCF_RA_VERSION_MINOR", "1")
        .env("KVMGUESTCTL_STATE_DIR", bed.state_dir())
        .env("KVMGUESTCTL_LOCK_DIR", bed.commands().lock_dir)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn ga_status_detail_shows_what_the_agent_says_and_start_waits_for_the_agent() {
    let bed = Bed::new(
        "ga-detail",
        49211,
        "    GuestHealth: { Enabled: 1 }\n",
        &["--agent", "--nic"],
    );
    let _ = std::fs::remove_file(bed.serial_log());
    let (code, doc, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    let detail = doc["results"][0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("its guest agent answered"),
        "start waits for the agent: {doc}\n{err}"
    );
    // The agent answered, so it was up: no wait of our own is needed before asking it.
    let (a, _) = status_on_a(&bed, &["--detail"]);
    assert_eq!(a["agent"], "answered", "{a}");
    let details = &a["details"];
    assert_eq!(details["host_name"], "kvmgt-agent-guest", "{a}");
    assert_eq!(details["os"], "kvmguestctl testbed agent guest", "{a}");
    assert_eq!(details["address_source"], "agent", "{a}");
    let eth0 = details["interfaces"]
        .as_array()
        .and_then(|i| i.iter().find(|i| i["name"] == "eth0"))
        .unwrap_or_else(|| panic!("no eth0: {a}"));
    assert!(
        eth0["addresses"]
            .as_array()
            .unwrap()
            .contains(&Value::from("192.0.2.50/24")),
        "the static address the guest's init set: {eth0}"
    );
    assert!(
        !details["interfaces"].to_string().contains("127.0.0.1"),
        "loopback is left out: {a}"
    );

    // The table has the same, in columns of its own.
    let out = bed
        .kvm("a")
        .args(["status", "r", "--detail"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    for column in [
        "HOSTNAME",
        "OS",
        "ADDRESSES",
        "kvmgt-agent-guest",
        "192.0.2.50/24 (eth0)",
    ] {
        assert!(table.contains(column), "{column} in:\n{table}");
    }
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn ga_a_frozen_agent_lowers_the_confidence_then_faults_the_resource_and_stop_uses_acpi() {
    let bed = Bed::new(
        "ga-frozen",
        49212,
        "    DelayAfterGuestOffline: 3\n    GuestHealth: { Enabled: 1, DegradeAfter: 2, FaultAfter: 15 }\n",
        &["--agent"],
    );
    bed.start_with_agent();
    let (a, _) = status_on_a(&bed, &[]);
    assert_eq!(
        reading(&a),
        serde_json::json!(["ONLINE", 100, "answered"]),
        "{a}"
    );
    assert_eq!(ocf_monitor(&bed).0, Some(0));

    // SIGSTOP: qemu-ga keeps its channel open and never answers, as under a hung kernel.
    // guest-exec returns before its command runs: wait until a ping goes unanswered.
    bed.in_the_guest(&["killall", "-STOP", "qemu-ga"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while bed
        .virsh(
            "a",
            &[
                "qemu-agent-command",
                "--timeout",
                "1",
                &bed.guest,
                r#"{"execute":"guest-ping"}"#,
            ],
        )
        .status
        .success()
    {
        assert!(Instant::now() < deadline, "qemu-ga was never stopped");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (first, took) = status_on_a(&bed, &[]);
    assert_eq!(
        reading(&first),
        serde_json::json!(["ONLINE", 100, "silent"]),
        "one miss does not count yet: {first}"
    );
    assert!(
        took < Duration::from_secs(8),
        "the ping is bounded by PingTimeout: {took:?}"
    );
    let (second, _) = status_on_a(&bed, &[]);
    assert_eq!(
        reading(&second),
        serde_json::json!(["ONLINE", 50, "silent"]),
        "{second}"
    );
    assert!(
        second["why"]
            .as_str()
            .unwrap()
            .contains("did not answer a ping within 2s"),
        "{second}"
    );
    let (rc, stderr) = ocf_monitor(&bed);
    assert_eq!(rc, Some(190), "degraded for OCF 1.1: {stderr}");
    assert!(
        stderr.contains("degraded while its guest agent does not answer"),
        "{stderr}"
    );

    let deadline = Instant::now() + Duration::from_secs(60);
    let faulted = loop {
        let (a, took) = status_on_a(&bed, &[]);
        assert!(took < Duration::from_secs(8), "{took:?}");
        if a["state"] == "FAULTED" {
            break a;
        }
        assert_eq!(a["state"], "ONLINE", "{a}");
        assert!(Instant::now() < deadline, "never FAULTED: {a}");
        std::thread::sleep(Duration::from_secs(2));
    };
    assert!(
        faulted["why"]
            .as_str()
            .unwrap()
            .contains("the guest OS is taken as hung"),
        "{faulted}"
    );
    assert_eq!(
        faulted["hypervisor_state"], "running",
        "QEMU still runs: {faulted}"
    );
    let (rc, stderr) = ocf_monitor(&bed);
    assert_eq!(rc, Some(1), "{stderr}");
    assert!(stderr.contains("the guest OS is taken as hung"), "{stderr}");

    // A stop does not wait on the silent agent (a guest-shutdown sent to it would hold libvirt's
    // agent job for 60 s): ACPI (which this guest does not hear), then the destroy after
    // DelayAfterGuestOffline. The bound leaves room for a loaded machine, not for that minute.
    let started = Instant::now();
    let (code, doc, err) = bed.run("a", &["stop", "r", "--mode", "auto"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("did not answer a ping within 2s; asking by ACPI"),
        "{err}"
    );
    assert_eq!(doc["results"][0]["action"], "killed", "{doc}");
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "{:?}",
        started.elapsed()
    );
    assert!(!bed.agent_shut_it_down());
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn ga_a_guest_without_an_agent_is_never_held_against_by_guest_health() {
    let bed = Bed::new(
        "ga-none",
        49213,
        "    GuestHealth: { Enabled: 1, DegradeAfter: 1, FaultAfter: 1 }\n",
        &[],
    );
    let started = Instant::now();
    let (code, doc, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        doc["results"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("GuestHealth has no agent to wait for"),
        "{doc}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "no wait for an agent it cannot have"
    );
    for _ in 0..3 {
        let (a, _) = status_on_a(&bed, &[]);
        assert_eq!(
            reading(&a),
            serde_json::json!(["ONLINE", 100, "no-channel"]),
            "{a}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn ga_stop_mode_auto_falls_back_to_acpi_when_no_agent_runs_and_mode_agent_refuses() {
    // The plain guest (acpid, no qemu-ga) with the agent's channel: nothing opens it.
    let bed = Bed::new("ga-noagent", 49214, "", &["--agent-channel"]);
    let (code, _, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");

    let (code, doc, err) = bed.run("a", &["stop", "r", "--mode", "agent"]);
    assert_eq!(code, 1, "{doc}\n{err}");
    assert!(
        err.contains("is not connected (qemu-ga is not running in the guest): --mode agent needs a guest agent that answers"),
        "{err}"
    );
    assert_eq!(bed.state_on("a"), "ONLINE", "nothing was sent");

    let (code, doc, err) = bed.run("a", &["stop", "r", "--mode", "auto"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("is not connected (qemu-ga is not running in the guest); asking by ACPI"),
        "{err}"
    );
    let result = &doc["results"][0];
    assert_eq!(result["action"], "stopped", "{doc}\n{err}");
    assert_eq!(
        result["detail"],
        format!("{} shut down (ACPI)", bed.guest),
        "{doc}\n{err}"
    );
}

// Across hosts: libvirt's lock manager (virtlockd, its lockspace on the shared /srv) and QEMU's
// image locks. Each kvmguestctl below gets a lock directory of its own, as on two machines, so
// that only the hosts' locks stand between the two starts.

/// `kvmguestctl --sys SYSTEM -o json EXTRA... ARGS...` on the bed's configuration, as a child
/// process whose stdout and stderr are piped.
fn spawn_kvm(bed: &Bed, system: &str, extra: &[&str], args: &[&str]) -> Child {
    bed.commands().spawn(system, &[extra, args].concat())
}

/// `kvmguestctl start RESOURCE` on `system` with the lock directory `locks`, as a child process.
fn start_apart(bed: &Bed, system: &str, resource: &str, locks: &Path) -> Child {
    let apart = Commands {
        lock_dir: locks.to_owned(),
        ..bed.commands()
    };
    apart.spawn(system, &["start", resource])
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn lease_a_second_guest_on_the_same_disk_is_refused_on_the_other_host() {
    let bed = Bed::new("lease", 49215, "", &["--disk=kvmgt-lease"]).also(
        "twin",
        "[b]",
        &["--disk=kvmgt-lease"],
    );
    let (code, _, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    // Another guest, that kvmguestctl cannot know shares the disk: the hosts refuse it.
    let (code, doc, err) = bed.run("b", &["start", "twin"]);
    assert_eq!(code, 5, "{doc}\n{err}");
    assert!(
        err.contains("b: the guest's disk is in use: ")
            && err.contains("kvmgt-lease.img")
            && err.contains("It runs (or is starting) elsewhere; nothing was started here"),
        "{err}"
    );
    assert!(
        !err.contains("qemu-system-x86_64:"),
        "no raw libvirt error: {err}"
    );
    assert_eq!(bed.state_on("a"), "ONLINE");
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn lease_two_starts_on_a_and_b_at_the_same_instant_end_with_one_guest() {
    let bed = Bed::new("race", 49216, "", &["--disk=kvmgt-race"]);
    // Defined on both beforehand, so that both starts go straight to libvirt.
    for system in ["a", "b"] {
        let define = bed.virsh(system, &["define", bed.xml_path().to_str().unwrap()]);
        assert!(define.status.success(), "{define:?}");
    }
    for round in 0..3 {
        let locks = bed.dir.path().join(format!("locks-{round}"));
        let (a, b) = (
            start_apart(&bed, "a", "r", &locks.join("a")),
            start_apart(&bed, "b", "r", &locks.join("b")),
        );
        let outputs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
        let codes: Vec<Option<i32>> = outputs.iter().map(|o| o.status.code()).collect();
        let said: Vec<String> = outputs
            .iter()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .collect();
        let running: Vec<&str> = ["a", "b"]
            .into_iter()
            .filter(|s| {
                String::from_utf8_lossy(&bed.virsh(s, &["domstate", &bed.guest]).stdout).trim()
                    == "running"
            })
            .collect();
        assert_eq!(running.len(), 1, "round {round}: {codes:?} {said:?}");
        let mut sorted = codes.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            [Some(0), Some(5)],
            "one start, one refusal: {said:?}"
        );
        let loser = &said[codes.iter().position(|c| *c == Some(5)).unwrap()];
        assert!(
            loser.contains("already runs on") || loser.contains("the guest's disk is in use"),
            "round {round}: {loser}"
        );
        eprintln!(
            "round {round}: running on {running:?}; the other said: {}",
            loser.trim()
        );
        let (code, _, err) = bed.run(running[0], &["clean", "r"]);
        assert_eq!(code, 0, "{err}");
    }
}

// Faults in the middle of an operation: a hypervisor daemon killed or frozen, kvmguestctl itself
// killed. Afterwards the guest runs on one host at most, its definition exists somewhere, the
// command said what it knew, and nothing is left blocked.

/// The testbed's watchdog for libvirt's deadlock after a fork (README, "One command at a time per
/// guest"): a single-threaded process called libvirtd that waits on a futex is killed after 10 s,
/// and the kill is logged; the two daemons are left alone.
#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn the_watchdog_kills_a_libvirtd_child_stuck_on_a_futex_and_logs_it() {
    use std::os::unix::process::ExitStatusExt;
    let _hosts = HOSTS.read().unwrap_or_else(|e| e.into_inner());
    let env = common::testbed_env();
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("libvirtd");
    std::fs::copy(std::fs::canonicalize("/usr/bin/python3").unwrap(), &fake).unwrap();
    // A lock taken twice: its one thread waits on a futex for ever, as the deadlocked child does.
    let mut stuck = Process::new(&fake)
        .args([
            "-c",
            "import threading; l = threading.Lock(); l.acquire(); l.acquire()",
        ])
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = stuck.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = stuck.kill();
            panic!("the watchdog left a stuck libvirtd for 30 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let took = started.elapsed();
    assert_eq!(status.signal(), Some(9), "{status}");
    assert!(
        took >= Duration::from_secs(9),
        "killed after {took:?}, before 10 s"
    );
    let log = std::fs::read_to_string(&env["TESTBED_WATCHDOG_LOG"]).unwrap();
    assert!(
        log.contains(&format!("killed libvirtd child {} ", stuck.id())),
        "{log}"
    );
    // Both daemons still answer (status fails otherwise).
    common::testbed(&["status"]);
}

/// virsh against a testbed host, bounded: a wedged libvirtd fails the test instead of hanging
/// the whole run (the testbed's watchdog unwedges libvirt's own deadlock within half a minute).
fn virsh(uri: &str) -> Process {
    let mut virsh = Process::new("timeout");
    virsh.args(["120", "virsh", "-c", uri]);
    virsh
}

/// The pid of a testbed host's libvirtd.
fn libvirtd_pid(system: &str) -> String {
    std::fs::read_to_string(format!("/run/kvmguestctl-testbed/{system}/libvirtd.pid"))
        .unwrap()
        .trim()
        .to_owned()
}

fn signal(pid: &str, signal: &str) {
    let sent = Process::new("kill").args([signal, pid]).status().unwrap();
    assert!(sent.success(), "kill {signal} {pid}");
}

/// A testbed host's libvirtd stopped (SIGSTOP) until this is dropped, whatever happens meanwhile
/// (a failed assert included): the tests after this one need the host.
struct Frozen(String);

impl Frozen {
    fn host(system: &str) -> Frozen {
        let pid = libvirtd_pid(system);
        signal(&pid, "-STOP");
        Frozen(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = Process::new("kill").args(["-CONT", &self.0]).status();
    }
}

/// How long a command with `--timeout 3` may take against a frozen host: a few of its calls.
const FROZEN_LIMIT: Duration = Duration::from_secs(30);

/// A child's exit code, once it has ended within `limit` (killed, and the test failed, if not).
fn ended_within(mut child: Child, limit: Duration) -> Option<i32> {
    use wait_timeout::ChildExt;
    match child.wait_timeout(limit).unwrap() {
        Some(status) => status.code(),
        None => {
            let _ = child.kill();
            panic!("still running after {limit:?}: a frozen host must not hang a command");
        }
    }
}

/// Wait until `system` has a migration job of the bed's guest under way.
fn wait_for_the_migration(bed: &Bed, system: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !String::from_utf8_lossy(&bed.virsh(system, &["domjobinfo", &bed.guest]).stdout)
        .contains("Unbounded")
    {
        assert!(
            Instant::now() < deadline,
            "no migration of {} on {system}",
            bed.guest
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child's end: its exit code and stderr.
fn ended(child: Child) -> (Option<i32>, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The guest runs on one host at most (a migration's target launched paused does not run) and is
/// defined on at least one, once both hosts answer (a host's libvirtd that came back settles its
/// guests first).
fn one_guest_at_most(bed: &Bed) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, doc, err) = bed.run("a", &["status", "r"]);
        let status = &doc["resources"][0];
        if code == 0 {
            let running = status["systems"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["hypervisor_state"] == "running")
                .count();
            assert!(
                running <= 1 && status["concurrency_violation"] == false,
                "one guest at most: {doc}"
            );
            assert!(
                bed.defined_on("a") || bed.defined_on("b"),
                "defined somewhere: {doc}"
            );
            return status.clone();
        }
        assert!(
            Instant::now() < deadline,
            "status never settled: {code} {doc} {err}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A live migration from a to b at 1 MiB/s (it takes minutes), running in the background.
fn a_slow_migration(bed: &Bed) -> Child {
    let (code, _, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        bed.virsh("a", &["migrate-setspeed", &bed.guest, "1"])
            .status
            .success()
    );
    let migration = spawn_kvm(
        bed,
        "a",
        &["--timeout", "5"],
        &["migrate", "r", "--to", "b"],
    );
    wait_for_the_migration(bed, "a");
    migration
}

/// The libvirtd of `killed` (a, the source, or b, the target) SIGKILLed during a live migration
/// from a to b, then restarted.
fn a_libvirtd_killed_mid_migration(name: &str, port: u16, killed: &str) {
    let bed = Bed::exclusive(name, port, "    MigrateTimeout: 120\n", &[]);
    let migration = a_slow_migration(&bed);
    signal(&libvirtd_pid(killed), "-KILL");
    let (code, err) = ended(migration);
    common::testbed(&["up"]);
    assert!(matches!(code, Some(1 | 4)), "{code:?}: {err}");
    assert!(
        err.contains("keeps running on a") || err.contains("is unknown"),
        "says what it knows: {err}"
    );
    let status = running_only_on_a(&bed);
    eprintln!("the migration said: {}\nafterwards: {status}", err.trim());
}

/// Once libvirt has settled what a failed migration left: the guest runs on a, and b holds no
/// copy or definition of it (the status then).
fn running_only_on_a(bed: &Bed) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = one_guest_at_most(bed);
        if status["running_on"] == serde_json::json!(["a"]) && !bed.defined_on("b") {
            return status;
        }
        assert!(Instant::now() < deadline, "{status}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn fault_the_source_libvirtd_killed_mid_migration() {
    a_libvirtd_killed_mid_migration("fault-src", 49217, "a");
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn fault_the_target_libvirtd_killed_mid_migration() {
    a_libvirtd_killed_mid_migration("fault-dst", 49218, "b");
}

/// Wait until a child's stderr (read on a thread into `seen`) has a line containing `what`.
fn wait_for_line(seen: &std::sync::Mutex<String>, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !seen.lock().unwrap().contains(what) {
        assert!(
            Instant::now() < deadline,
            "never said {what:?}: {}",
            seen.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child whose stderr is collected as it comes.
fn watched(mut child: Child) -> (Child, std::sync::Arc<std::sync::Mutex<String>>) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let stderr = child.stderr.take().unwrap();
    let into = seen.clone();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
            let mut seen = into.lock().unwrap();
            seen.push_str(&line);
            seen.push('\n');
        }
    });
    (child, seen)
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn fault_libvirtd_frozen_during_a_stop_and_during_a_start() {
    let bed = Bed::exclusive("fault-stop", 49219, "", &[]);
    let (code, _, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");

    // Frozen between the shutdown request and its verification.
    let (stop, seen) = watched(spawn_kvm(&bed, "a", &["--timeout", "3"], &["stop", "r"]));
    wait_for_line(&seen, "to shut down (ACPI, request 1)");
    let frozen = Frozen::host("a");
    let code = ended_within(stop, FROZEN_LIMIT);
    drop(frozen);
    let said = seen.lock().unwrap().clone();
    assert_eq!(code, Some(4), "{said}");
    assert!(
        said.contains("did not answer within 3 s")
            && said.contains(
                "a shutdown request may have reached it): check with status once a answers"
            ),
        "{said}"
    );
    one_guest_at_most(&bed);
    let (code, _, err) = bed.run("a", &["clean", "r", "--lock-timeout", "0"]);
    assert_eq!(code, 0, "nothing left blocked: {err}");

    // Frozen as the start is asked for.
    let (start, seen) = watched(spawn_kvm(&bed, "a", &["--timeout", "3"], &["start", "r"]));
    wait_for_line(&seen, &format!("starting {} on a", bed.guest));
    let frozen = Frozen::host("a");
    let code = ended_within(start, FROZEN_LIMIT);
    drop(frozen);
    let said = seen.lock().unwrap().clone();
    assert_eq!(code, Some(4), "{said}");
    assert!(
        said.contains("the start may still take effect once a answers: check with status")
            || said.contains("was started on a; whether it runs now is unknown"),
        "{said}"
    );
    let status = one_guest_at_most(&bed);
    let (code, _, err) = bed.run("a", &["clean", "r", "--lock-timeout", "0"]);
    assert_eq!(code, 0, "nothing left blocked: {err}");
    eprintln!("the start said: {}\nafterwards: {status}", said.trim());
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn fault_kvmguestctl_killed_mid_migration_and_mid_stop() {
    let bed = Bed::new(
        "fault-self",
        49220,
        "    MigrateTimeout: 120\n",
        &["--no-kernel"],
    );
    let mut migration = a_slow_migration(&bed);
    migration.kill().unwrap();
    migration.wait().unwrap();
    // libvirt ends a migration whose client went away; the guest stays where it was.
    let status = running_only_on_a(&bed);
    eprintln!("after the killed migration: {status}");

    // Killed while it waits for a guest that never hears ACPI (no kernel).
    let (stop, seen) = watched(spawn_kvm(&bed, "a", &[], &["stop", "r"]));
    wait_for_line(&seen, "to shut down (ACPI, request 1)");
    let mut stop = stop;
    stop.kill().unwrap();
    stop.wait().unwrap();
    assert_eq!(bed.state_on("a"), "ONLINE", "the status tells the truth");
    let (code, _, err) = bed.run("a", &["clean", "r", "--lock-timeout", "0"]);
    assert_eq!(code, 0, "the lock of the killed stop does not block: {err}");
    let left: Vec<String> = std::fs::read_dir(bed.dir.path().join("sync"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files in SyncDir: {left:?}");
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn fault_kvmguestctl_killed_during_vmconfigsync_leaves_a_whole_copy() {
    let bed = Bed::new("fault-sync", 49221, "", &["--no-kernel"]);
    let (code, _, err) = bed.run("a", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    let sync = bed.dir.path().join("sync");
    let copy = sync.join(format!("{}.xml", bed.guest));
    let xml = String::from_utf8(
        bed.virsh("a", &["dumpxml", "--inactive", "--migratable", &bed.guest])
            .stdout,
    )
    .unwrap();
    let define = |round: u32| {
        let changed = xml.replace(
            "</domain>",
            &format!("<description>round {round}</description></domain>"),
        );
        let file = bed.dir.path().join("round.xml");
        std::fs::write(&file, &changed).unwrap();
        assert!(
            bed.virsh("a", &["define", file.to_str().unwrap()])
                .status
                .success()
        );
    };
    // How long a whole sync takes here, timed as the killed ones run (a child process, under
    // whatever else the machine is doing): the slowest of three.
    let whole = (0..3u32)
        .map(|round| {
            define(100 + round);
            let started = Instant::now();
            let status = spawn_kvm(&bed, "a", &[], &["vmconfigsync", "r"])
                .wait()
                .unwrap();
            assert!(status.success(), "an unkilled sync failed: {status}");
            started.elapsed()
        })
        .max()
        .unwrap();
    // Each round changes the definition a little, so that every sync writes, and kills the sync
    // at its share of twice a whole sync's time: before, during or after its write. A loaded
    // machine can still slow every sync past that; then the kills go on, later each time, until
    // one lands after a write (at most 10 more).
    let mut saved = 0;
    let mut rounds = 0u32;
    while rounds < 20 || (saved == 0 && rounds < 30) {
        let round = rounds;
        rounds += 1;
        let after = if round < 20 {
            whole * round / 10
        } else {
            whole * 2 * (round - 18)
        };
        define(round);
        let mut child = spawn_kvm(&bed, "a", &[], &["vmconfigsync", "r"]);
        std::thread::sleep(after);
        let _ = child.kill();
        child.wait().unwrap();
        let text = std::fs::read_to_string(&copy).unwrap();
        assert!(
            text.trim_end().ends_with("</domain>") && text.contains(&bed.guest),
            "round {round}: a torn copy: {text}"
        );
        saved += u32::from(text.contains(&format!("round {round}<")));
    }
    eprintln!("a whole sync took {whole:?}; {saved} of {rounds} killed syncs had saved their copy");
    assert!(
        saved > 0 && saved < rounds,
        "the kills must fall both before and after a write: {saved} of {rounds} saved"
    );
    let (code, _, err) = bed.run("a", &["vmconfigsync", "r", "--lock-timeout", "0"]);
    assert_eq!(code, 0, "{err}");
    let names: Vec<String> = std::fs::read_dir(&sync)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains(".tmp")),
        "the next sync removes what killed ones left: {names:?}"
    );
    let last = format!("round {}<", rounds - 1);
    assert!(std::fs::read_to_string(&copy).unwrap().contains(&last));
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn fault_a_frozen_host_for_the_whole_command_status_and_watch_answer_for_the_other() {
    let bed = Bed::exclusive("fault-frozen", 49222, "", &["--no-kernel"]);
    let frozen = Frozen::host("b");

    let started = Instant::now();
    let (code, doc, err) = bed.run("a", &["--timeout", "3", "status", "r"]);
    assert_eq!(code, 4, "{doc}\n{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let systems = &doc["resources"][0]["systems"];
    assert_eq!(
        (&systems[0]["state"], &systems[1]["state"]),
        (&Value::from("OFFLINE"), &Value::from("UNKNOWN")),
        "{doc}"
    );
    let (code, _, err) = bed.run("a", &["--timeout", "3", "start", "r"]);
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("cannot tell whether") && err.contains("--assume-stopped b"),
        "{err}"
    );

    let watcher = Watcher::start(&bed, &bed.state_dir(), &["--timeout", "3"]);
    watcher.expect(Duration::from_secs(20), "connected on a", |v| {
        v["event"] == "connected" && v["system"] == "a"
    });
    let (code, _, err) = bed.run(
        "a",
        &["--timeout", "3", "start", "r", "--assume-stopped", "b"],
    );
    assert_eq!(code, 0, "{err}");
    watcher.expect(
        Duration::from_secs(10),
        "started on a while b is frozen",
        |v| v["event"] == "started" && v["system"] == "a" && v["resource"] == "r",
    );
    drop(frozen);
    watcher.expect(
        Duration::from_secs(60),
        "connected on b once it answers",
        |v| v["event"] == "connected" && v["system"] == "b",
    );
}

// Chaos: several actors at once, random operations on a few guests across both hosts, and a
// sampler that looks with virsh every 100 ms. KVMGUESTCTL_CHAOS_SEED replays a run (its seed is
// printed); KVMGUESTCTL_CHAOS_SECONDS sets its length (60 s unless set).

/// xorshift64*: enough randomness for picking operations, and reproducible from its seed.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % sides
    }
}

/// The guests `host` holds live (running or paused), and the reason of each paused one.
fn live_on(uri: &str) -> Vec<(String, String)> {
    let list = |state: &str| {
        let out = virsh(uri).args(["list", "--name", state]).output().unwrap();
        assert!(out.status.success(), "virsh list on {uri}: {out:?}");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("kvmgt-chaos"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let mut live: Vec<(String, String)> = list("--state-running")
        .into_iter()
        .map(|g| (g, "running".to_owned()))
        .collect();
    for guest in list("--state-paused") {
        let out = virsh(uri)
            .args(["domstate", "--reason", &guest])
            .output()
            .unwrap();
        live.push((
            guest,
            String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        ));
    }
    live
}

#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn chaos_random_operations_by_several_actors_never_run_a_guest_twice() {
    let seconds: u64 = std::env::var("KVMGUESTCTL_CHAOS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let seed: u64 = std::env::var("KVMGUESTCTL_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("chaos: seed {seed}, {seconds} s (KVMGUESTCTL_CHAOS_SEED={seed} replays it)");
    // Alone on the hosts: its load would make other tests' timings lie.
    let bed = Bed::exclusive("chaos", 49223, "    DelayAfterGuestOffline: 8\n", &[])
        .also("c1", "[a, b]", &[])
        .also("c2", "[a, b]", &[]);
    let resources = ["r", "c1", "c2"];
    let guests: Vec<String> = std::iter::once(bed.guest.clone())
        .chain(bed.others.iter().cloned())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let violations = std::sync::Mutex::new(Vec::<String>::new());
    let samples = std::sync::atomic::AtomicUsize::new(0);
    // By operation and exit code: how many, and the last line one of them said.
    let codes =
        std::sync::Mutex::new(std::collections::BTreeMap::<(String, i32), (usize, String)>::new());

    let (uri_a, uri_b) = (bed.uri("a").to_owned(), bed.uri("b").to_owned());
    // One lock directory for the actors on both hosts, as both testbed hosts are one machine
    // (its default /run/kvmguestctl/lock): two commands on one guest take turns here. Two starts
    // racing on two real machines are refused by the hosts' leases, which the lease tests show;
    // the chaos guests cannot have a lease's disk, since libvirt refuses to live-migrate a disk
    // on storage it does not know to be shared ("Migration without shared storage is unsafe").
    let commands = bed.commands();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            // The hosts are listed one after the other: a migration that ends between the two
            // lists shows the guest running on both, an instant that never was. A guest is a
            // violation when two samples in a row, 100 ms apart, show it live on both hosts.
            let mut suspects = std::collections::BTreeSet::<String>::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let on_a = live_on(&uri_a);
                let on_b = live_on(&uri_b);
                let mut seen = std::collections::BTreeSet::new();
                for (guest, state_a) in &on_a {
                    if let Some((_, state_b)) = on_b.iter().find(|(g, _)| g == guest) {
                        // Gone since it was listed, paused by a migration, or a migration's target
                        // launched paused before the memory flows: one guest, not two.
                        let in_transit = |s: &str| {
                            s.is_empty() || s.contains("migrat") || s.contains("starting up")
                        };
                        if !in_transit(state_a) && !in_transit(state_b) {
                            if suspects.contains(guest) {
                                violations
                                    .lock()
                                    .unwrap()
                                    .push(format!("{guest}: a {state_a}, b {state_b}"));
                            }
                            seen.insert(guest.clone());
                        }
                    }
                }
                suspects = seen;
                samples.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        for actor in 0..3u64 {
            let (commands, codes) = (&commands, &codes);
            scope.spawn(move || {
                let mut dice = Dice(seed ^ (actor + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                while Instant::now() < deadline {
                    let resource = resources[dice.roll(resources.len())];
                    let (here, there) = if dice.roll(2) == 0 {
                        ("a", "b")
                    } else {
                        ("b", "a")
                    };
                    let args: Vec<&str> = match dice.roll(6) {
                        0 | 1 => vec!["start", resource],
                        2 => vec!["stop", resource],
                        3 => vec!["clean", resource],
                        4 => vec!["migrate", resource, "--to", there],
                        _ => vec!["evacuate", "--to", there],
                    };
                    let out = commands
                        .on(here)
                        .args(["--timeout", "20", "--lock-timeout", "120"])
                        .args(&args)
                        .output()
                        .unwrap();
                    let code = out.status.code().unwrap_or(-1);
                    let said = String::from_utf8_lossy(&out.stderr);
                    let last = said.lines().last().unwrap_or_default().to_owned();
                    let mut codes = codes.lock().unwrap();
                    let seen = codes.entry((args[0].to_owned(), code)).or_default();
                    seen.0 += 1;
                    seen.1 = last;
                    drop(codes);
                    assert!(
                        matches!(code, 0 | 1 | 3 | 5),
                        "actor {actor}: {here} {args:?} exit {code}: {said}"
                    );
                }
            });
        }
        // The actors end by themselves at the deadline; then the sampler.
        while Instant::now() < deadline + Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });

    let codes = codes.into_inner().unwrap();
    let operations: usize = codes.values().map(|(n, _)| n).sum();
    let violations = violations.into_inner().unwrap();
    eprintln!(
        "chaos: seed {seed}: {operations} operations, {} samples, {} violations; exits {codes:#?}",
        samples.load(std::sync::atomic::Ordering::Relaxed),
        violations.len()
    );
    assert!(violations.is_empty(), "seed {seed}: {violations:?}");
    assert!(
        operations >= 10,
        "seed {seed}: only {operations} operations"
    );
    for guest in &guests {
        let defined = ["a", "b"]
            .iter()
            .any(|s| bed.virsh(s, &["dominfo", guest]).status.success());
        assert!(defined, "seed {seed}: {guest} is defined nowhere");
        if let Ok(copy) = std::fs::read_to_string(bed.dir.path().join(format!("sync/{guest}.xml")))
        {
            assert!(
                copy.contains(&format!("<name>{guest}</name>"))
                    && copy.trim_end().ends_with("</domain>"),
                "seed {seed}: SyncDir's copy of {guest} is not whole: {copy}"
            );
        }
    }
}

/// Found by the chaos test: a GuestConfigFilePath without `<uuid>` defined on each host made
/// libvirt give the guest a UUID of each host's own, and a migration to a host that held it under
/// the other failed ("domain already exists with uuid").
#[test]
#[ignore = "needs the real testbed: scripts/test runs it"]
fn a_guest_defined_from_a_file_without_uuid_has_one_uuid_on_both_hosts_and_migrates() {
    let bed = Bed::new("uuid", 49224, "", &[]);
    assert!(
        !std::fs::read_to_string(bed.xml_path())
            .unwrap()
            .contains("<uuid>")
    );
    for system in ["a", "b"] {
        let (code, _, err) = bed.run(system, &["start", "r"]);
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = bed.run(system, &["clean", "r"]);
        assert_eq!(code, 0, "{err}");
    }
    let uuid = |system: &str| {
        String::from_utf8_lossy(&bed.virsh(system, &["domuuid", &bed.guest]).stdout)
            .trim()
            .to_owned()
    };
    assert!(!uuid("a").is_empty());
    assert_eq!(uuid("a"), uuid("b"), "one guest, one UUID");
    let (code, _, err) = bed.run("b", &["start", "r"]);
    assert_eq!(code, 0, "{err}");
    let (code, doc, err) = bed.run("b", &["migrate", "r", "--to", "a"]);
    assert_eq!(code, 0, "{doc}\n{err}");
    assert_eq!(bed.state_on("a"), "ONLINE");
}
