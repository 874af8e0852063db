//! The OCF agent proven on real Pacemaker: `ocf-tester` and `crm_resource --force-*` run it
//! directly, and a real one-node cluster (tests/pacemaker/cluster.sh: corosync + pacemakerd,
//! stonith disabled) drives an `ocf:kvmguestctl:KVMGuest` resource whose YAML resource has two
//! systems: the cluster node `a` (testbed host A) and `b` (testbed host B, outside the cluster).
//! A two-node cluster (node `b` in network and mount namespaces of its own, its agent reaching
//! host B) live-migrates the guest through migrate_to and migrate_from.
//!
//! They need root, the testbed up (tests/testbed/testbed.sh) and Pacemaker's packages (the
//! harness installs what is missing), so they are `#[ignore]`d for a plain `cargo test`;
//! `scripts/test` runs them as root with `--include-ignored`.

mod common;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde::Deserialize;

/// Every test here shares the cluster, the agent's link in /usr/lib/ocf and host A, and one of
/// them SIGSTOPs host A's libvirtd: they run one at a time. A test that panicked has cleaned up
/// after itself (its guards), so the lock's poison says nothing and is ignored.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_owned()
}

/// Run a script of the test harness; panics with its stderr when it fails.
fn script(path: &str, args: &[&str]) -> String {
    let out = Process::new(root().join(path)).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{path} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Where Pacemaker looks for provider kvmguestctl's agents.
const OCF_DIR: &str = "/usr/lib/ocf/resource.d/kvmguestctl";

/// The agent as Pacemaker finds it: `OCF_DIR/KVMGuest`, made by `kvmguestctl ocf install`.
/// Pacemaker (and ocf-tester) run `meta-data` as an unprivileged user, so the binary and every
/// directory above it must be open to others; a checkout under a private home is not, and then
/// the binary is copied to a world-readable directory first. The link goes with the guard.
struct Agent {
    binary: PathBuf,
    link: PathBuf,
    _copy: Option<tempfile::TempDir>,
}

impl Agent {
    fn install() -> Agent {
        script("tests/pacemaker/cluster.sh", &["install"]);
        let built = std::fs::canonicalize(env!("CARGO_BIN_EXE_kvmguestctl")).unwrap();
        let (binary, copy) = if open_to_others(&built) {
            (built, None)
        } else {
            let dir = tempfile::tempdir().unwrap();
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            let binary = dir.path().join("kvmguestctl");
            std::fs::copy(&built, &binary).unwrap();
            std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
            assert!(
                open_to_others(&binary),
                "{} is not reachable by others",
                binary.display()
            );
            (binary, Some(dir))
        };
        let out = Process::new(&binary)
            .args(["ocf", "install"])
            .output()
            .unwrap();
        assert!(out.status.success(), "ocf install: {}", text(&out));
        let link = Path::new(OCF_DIR).join("KVMGuest");
        assert_eq!(
            std::fs::read_link(&link).ok().as_deref(),
            Some(binary.as_path()),
            "ocf install links {} to the binary that ran it",
            link.display()
        );
        Agent {
            binary,
            link,
            _copy: copy,
        }
    }
}

/// Whether a user other than the owner can run `path`: the file readable and executable, and
/// every directory above it searchable.
fn open_to_others(path: &Path) -> bool {
    let mode = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.permissions().mode());
    mode(path) & 0o005 == 0o005
        && path
            .ancestors()
            .skip(1)
            .all(|dir| mode(dir) & 0o001 == 0o001)
}

impl Drop for Agent {
    fn drop(&mut self) {
        // Only our own link: another checkout's install may have replaced it meanwhile.
        if std::fs::read_link(&self.link).ok().as_deref() == Some(self.binary.as_path()) {
            let _ = std::fs::remove_file(&self.link);
            let _ = std::fs::remove_dir(OCF_DIR); // only when empty
        }
    }
}

/// A testbed guest `kvmgt-pcmk-<name>` and its YAML resource `r` on systems a (host A) and b
/// (host B); removed from both hosts before and after.
struct Guest {
    name: String,
    dir: tempfile::TempDir,
    config: PathBuf,
    env: HashMap<String, String>,
}

/// The YAML resource's delays: a short settle after start, and a shutdown wait that covers the
/// 5-20 s a freshly booted tiny guest needs before its acpid hears the power button.
const DELAY_ONLINE: u64 = 1;
const DELAY_OFFLINE: u64 = 45;

impl Guest {
    fn new(name: &str, port: u16) -> Guest {
        let env = common::testbed_env();
        let name = format!("kvmgt-pcmk-{name}");
        let dir = tempfile::tempdir().unwrap();
        let xml = dir.path().join(format!("{name}.xml"));
        std::fs::write(&xml, common::testbed(&["guest-xml", &name])).unwrap();
        std::fs::create_dir(dir.path().join("sync")).unwrap();
        let yaml = format!(
            "systems:\n  a: {{ uri: '{a}', site: east, migration_uri: 'tcp://127.0.0.1:{port}' }}\n  \
             b: {{ uri: '{b}', site: east, migration_uri: 'tcp://127.0.0.1:{port}' }}\n\
             resources:\n  r:\n    type: KVMGuest\n    systems: [a, b]\n    GuestName: {name}\n    \
             GuestConfigFilePath: {xml}\n    SyncDir: sync\n    \
             DelayAfterGuestOnline: {DELAY_ONLINE}\n    DelayAfterGuestOffline: {DELAY_OFFLINE}\n",
            a = env["TESTBED_A_URI"],
            b = env["TESTBED_B_URI"],
            xml = xml.display(),
        );
        let config = dir.path().join("r.yaml");
        std::fs::write(&config, yaml).unwrap();
        let guest = Guest {
            name,
            dir,
            config,
            env,
        };
        guest.remove_everywhere();
        // Its serial log is appended to across boots and hosts: begin with none.
        let _ = std::fs::remove_file(guest.serial_log());
        guest
    }

    fn uri(&self, system: &str) -> &str {
        &self.env[&format!("TESTBED_{}_URI", system.to_uppercase())]
    }

    fn xml(&self) -> PathBuf {
        self.dir.path().join(format!("{}.xml", self.name))
    }

    fn serial_log(&self) -> PathBuf {
        Path::new(&self.env["TESTBED_LOG_DIR"]).join(format!("{}.log", self.name))
    }

    /// Whether the guest reached userland (where acpid listens) since its serial log was last
    /// removed.
    fn reached_userland(&self) -> bool {
        std::fs::read_to_string(self.serial_log())
            .unwrap_or_default()
            .contains("kvmgt-guest: userland up")
    }

    fn virsh(&self, system: &str, args: &[&str]) -> Output {
        Process::new("timeout")
            .args(["30", "virsh", "-c", self.uri(system)])
            .args(args)
            .output()
            .unwrap()
    }

    /// virsh's state of the guest on `system` ("running", "shut off", ...), None when the host
    /// does not know it.
    fn state(&self, system: &str) -> Option<String> {
        let out = self.virsh(system, &["domstate", &self.name]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    fn state_and_reason(&self, system: &str) -> String {
        let out = self.virsh(system, &["domstate", "--reason", &self.name]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn runs_on(&self, system: &str) -> bool {
        self.state(system).as_deref() == Some("running")
    }

    /// Start the guest with plain virsh, behind the cluster's back.
    fn create_on(&self, system: &str) {
        let out = self.virsh(system, &["create", self.xml().to_str().unwrap()]);
        assert!(
            out.status.success(),
            "virsh create on {system}: {}",
            text(&out)
        );
    }

    fn remove_everywhere(&self) {
        for system in ["a", "b"] {
            let _ = self.virsh(system, &["destroy", &self.name]);
            let _ = self.virsh(system, &["undefine", &self.name]);
        }
    }

    /// The QEMU processes of this guest on the machine, whichever libvirtd started them. This
    /// is the judge of "never twice": it needs no answer from a hypervisor, and both testbed
    /// hosts run on this one machine.
    fn copies(&self) -> usize {
        let wanted = format!("guest={}", self.name);
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return 0;
        };
        procs
            .filter_map(Result::ok)
            .filter_map(|p| std::fs::read(p.path().join("cmdline")).ok())
            .filter(|cmdline| {
                cmdline.split(|b| *b == 0).any(|arg| {
                    let arg = String::from_utf8_lossy(arg);
                    arg == wanted || arg.starts_with(&format!("{wanted},"))
                })
            })
            .count()
    }

    fn assert_at_most_one_copy(&self, when: &str) {
        let copies = self.copies();
        assert!(
            copies <= 1,
            "{when}: {copies} QEMU processes of {} run at once (A: {:?}, B: {:?})",
            self.name,
            self.state("a"),
            self.state("b")
        );
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        self.remove_everywhere();
    }
}

/// A step of a scenario: its name and start, for timings in every message.
struct Step {
    name: &'static str,
    started: Instant,
}

impl Step {
    fn new(name: &'static str) -> Step {
        eprintln!("[{name}] begins");
        Step {
            name,
            started: Instant::now(),
        }
    }

    fn at(&self) -> String {
        format!("[{}] at {:.1?}", self.name, self.started.elapsed())
    }

    /// Poll `check` every 500 ms until it gives a value, for at most `limit`; `check` says what
    /// it saw when it is not yet satisfied. Panics with the last observation and crm_mon's view.
    fn wait<T>(
        &self,
        what: &str,
        limit: Duration,
        mut check: impl FnMut() -> Result<T, String>,
    ) -> T {
        let since = Instant::now();
        loop {
            match check() {
                Ok(v) => {
                    eprintln!("{}: {what} (after {:.1?})", self.at(), since.elapsed());
                    return v;
                }
                Err(seen) if since.elapsed() >= limit => panic!(
                    "{}: {what}: not within {limit:?}; last seen: {seen}\ncrm_mon:\n{}",
                    self.at(),
                    crm_mon_text()
                ),
                Err(_) => std::thread::sleep(Duration::from_millis(500)),
            }
        }
    }
}

/// The part of `crm_mon --output-as xml` the tests read.
#[derive(Debug, Default, Deserialize)]
struct Mon {
    #[serde(default)]
    resources: Resources,
    #[serde(default)]
    node_history: NodeHistory,
    #[serde(default)]
    failures: Failures,
}

#[derive(Debug, Default, Deserialize)]
struct Resources {
    #[serde(default)]
    resource: Vec<MonResource>,
}

#[derive(Debug, Deserialize)]
struct MonResource {
    #[serde(rename = "@id")]
    id: String,
    #[serde(rename = "@role")]
    role: String,
    #[serde(rename = "@active")]
    active: bool,
    #[serde(rename = "@blocked")]
    blocked: bool,
    #[serde(default)]
    node: Vec<Named>,
}

#[derive(Debug, Deserialize)]
struct Named {
    #[serde(rename = "@name")]
    name: String,
}

#[derive(Debug, Default, Deserialize)]
struct NodeHistory {
    #[serde(default)]
    node: Vec<HistoryNode>,
}

#[derive(Debug, Deserialize)]
struct HistoryNode {
    #[serde(rename = "@name")]
    name: String,
    #[serde(default)]
    resource_history: Vec<ResourceHistory>,
}

#[derive(Debug, Deserialize)]
struct ResourceHistory {
    #[serde(rename = "@id")]
    id: String,
    #[serde(rename = "@fail-count")]
    fail_count: Option<String>,
    #[serde(default)]
    operation_history: Vec<OpHistory>,
}

#[derive(Debug, Deserialize)]
struct OpHistory {
    #[serde(rename = "@task")]
    task: String,
    #[serde(rename = "@interval")]
    interval: Option<String>,
    #[serde(rename = "@rc")]
    rc: i32,
}

#[derive(Debug, Default, Deserialize)]
struct Failures {
    #[serde(default)]
    failure: Vec<Failure>,
}

#[derive(Debug, Clone, Deserialize)]
struct Failure {
    #[serde(rename = "@op_key")]
    op_key: String,
    #[serde(rename = "@node")]
    node: String,
    #[serde(rename = "@exitcode")]
    exitcode: i32,
    /// "complete", or "Timed Out" when Pacemaker had to kill the agent.
    #[serde(rename = "@status")]
    status: String,
}

fn crm_mon() -> Result<Mon, String> {
    let out = Process::new("timeout")
        .args(["10", "crm_mon", "-1", "--inactive", "--output-as", "xml"])
        .output()
        .map_err(|e| e.to_string())?;
    let xml = String::from_utf8_lossy(&out.stdout);
    quick_xml::de::from_str(&xml).map_err(|e| format!("crm_mon: {e}: {}", text(&out)))
}

fn crm_mon_text() -> String {
    let out = Process::new("timeout")
        .args(["10", "crm_mon", "-1", "--inactive"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Mon {
    fn resource(&self, id: &str) -> Option<&MonResource> {
        self.resources.resource.iter().find(|r| r.id == id)
    }

    /// Started on `node`, per Pacemaker.
    fn started_on(&self, id: &str, node: &str) -> bool {
        self.resource(id).is_some_and(|r| {
            r.active && r.role == "Started" && r.node.iter().any(|n| n.name == node)
        })
    }

    fn active(&self, id: &str) -> bool {
        self.resource(id).is_some_and(|r| r.active)
    }

    /// The recorded failure of operation `op` (as in Pacemaker's op keys: `start_0`,
    /// `monitor_5000`, `stop_0`) of resource `id`.
    fn failure(&self, id: &str, op: &str) -> Option<Failure> {
        let key = format!("{id}_{op}");
        self.failures
            .failure
            .iter()
            .find(|f| f.op_key == key && f.node == "a")
            .cloned()
    }

    /// The resource's operation history on `node`.
    fn history(&self, id: &str, node: &str) -> Option<&ResourceHistory> {
        self.node_history
            .node
            .iter()
            .filter(|n| n.name == node)
            .flat_map(|n| &n.resource_history)
            .find(|h| h.id == id)
    }

    /// Whether `node` recorded operation `task` of the resource with code 0.
    fn succeeded(&self, id: &str, node: &str, task: &str) -> bool {
        self.history(id, node).is_some_and(|h| {
            h.operation_history
                .iter()
                .any(|op| op.task == task && op.rc == 0)
        })
    }

    fn fail_count(&self, id: &str) -> String {
        self.history(id, "a")
            .and_then(|h| h.fail_count.clone())
            .unwrap_or_else(|| "0".to_owned())
    }
}

/// The cluster, nodes `a` (and `b`): up when made, down (its resources stopped and deleted
/// through the agent, then pacemakerd and corosync stopped) when dropped, also after a panic.
struct Cluster;

impl Cluster {
    fn up(nodes: &[&str]) -> Cluster {
        // The guard first: a bring-up that fails half way is taken down too.
        let cluster = Cluster;
        let started = Instant::now();
        let mut args = vec!["up"];
        args.extend_from_slice(nodes);
        script("tests/pacemaker/cluster.sh", &args);
        eprintln!(
            "cluster up (nodes {nodes:?} online, DC elected) in {:.1?}",
            started.elapsed()
        );
        cluster
    }

    fn create(&self, scope: &str, xml: &str) {
        let out = Process::new("cibadmin")
            .args(["--create", "--scope", scope, "--xml-text", xml])
            .output()
            .unwrap();
        assert!(out.status.success(), "cibadmin --create: {}", text(&out));
    }

    fn set_target_role(&self, id: &str, role: &str) {
        let out = Process::new("crm_resource")
            .args(["--resource", id, "--meta", "--set-parameter", "target-role"])
            .args(["--parameter-value", role])
            .output()
            .unwrap();
        assert!(out.status.success(), "target-role {role}: {}", text(&out));
    }

    /// Forget the resource's failures and fail-count: Pacemaker probes it again.
    fn cleanup(&self, id: &str) {
        let out = Process::new("crm_resource")
            .args(["--cleanup", "--resource", id])
            .output()
            .unwrap();
        assert!(out.status.success(), "cleanup {id}: {}", text(&out));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let started = Instant::now();
        let down = Process::new(root().join("tests/pacemaker/cluster.sh"))
            .arg("down")
            .output();
        match down {
            Ok(out) if out.status.success() => {
                eprintln!("cluster down in {:.1?}", started.elapsed());
            }
            // Not a panic: this may run while unwinding. scripts/test takes it down again.
            other => eprintln!("cluster.sh down failed: {other:?}"),
        }
    }
}

/// The resource: the agent's parameters `config` and `resource` (its `system` comes from the
/// node name), a 5 s recurring monitor, and timeouts that hold the YAML delays: a start waits
/// DelayAfterGuestOnline, a stop up to DelayAfterGuestOffline before it destroys. A migratable
/// one has `allow-migrate` and the two migrate operations, migrate_to with the meta-data's
/// advice (MigrateTimeout's 300 s and a minute).
fn primitive(id: &str, config: &Path, target_role: &str, migratable: bool) -> String {
    let (allow, migrate_ops) = if migratable {
        (
            format!(r#"<nvpair id="{id}-allow-migrate" name="allow-migrate" value="true"/>"#),
            format!(
                r#"<op id="{id}-migrate-to" name="migrate_to" interval="0s" timeout="360s"/>
    <op id="{id}-migrate-from" name="migrate_from" interval="0s" timeout="60s"/>"#
            ),
        )
    } else {
        (String::new(), String::new())
    };
    format!(
        r#"<primitive id="{id}" class="ocf" provider="kvmguestctl" type="KVMGuest">
  <instance_attributes id="{id}-params">
    <nvpair id="{id}-config" name="config" value="{config}"/>
    <nvpair id="{id}-resource" name="resource" value="r"/>
  </instance_attributes>
  <meta_attributes id="{id}-meta">
    <nvpair id="{id}-target-role" name="target-role" value="{target_role}"/>
    {allow}
  </meta_attributes>
  <operations>
    <op id="{id}-start" name="start" interval="0s" timeout="{START}s"/>
    <op id="{id}-stop" name="stop" interval="0s" timeout="{STOP}s"/>
    <op id="{id}-monitor" name="monitor" interval="5s" timeout="{MONITOR}s"/>
    {migrate_ops}
  </operations>
</primitive>"#,
        config = config.display(),
    )
}

const START: u64 = 60;
const STOP: u64 = DELAY_OFFLINE + 45;
const MONITOR: u64 = 20;

#[test]
#[ignore = "needs root and the testbed: scripts/test runs it"]
fn ocf_tester_passes_against_a_testbed_guest() {
    let _serial = serial();
    let agent = Agent::install();
    let guest = Guest::new("tester", 49170);
    let started = Instant::now();
    // ocf-tester enforces no timeout of its own; the agent bounds every action (20 s default).
    let out = Command::new("ocf-tester")
        .args(["-n", "kvmgt-pcmk-tester"])
        .arg("-o")
        .arg(format!("config={}", guest.config.display()))
        .args(["-o", "resource=r", "-o", "system=a"])
        .arg(&agent.link)
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "ocf-tester after {took:.1?}: {}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("passed all tests"),
        "{}",
        text(&out)
    );
    eprintln!("ocf-tester passed in {took:.1?}");
    assert!(
        guest.state("a").as_deref() != Some("running") && guest.state("b").is_none(),
        "ocf-tester ends with a stop: A {:?}, B {:?}",
        guest.state("a"),
        guest.state("b")
    );
}

/// `crm_resource --force-*` / `--validate` on the agent, with every parameter given (it passes no
/// node name). It answers with the agent's own OCF code as its exit code.
fn crm_resource(guest: &Guest, action: &str) -> Output {
    let out = Command::new("crm_resource")
        .arg(action)
        .args(["--class", "ocf", "--provider", "kvmguestctl", "--agent"])
        .arg("KVMGuest")
        .arg("--option")
        .arg(format!("config={}", guest.config.display()))
        .args(["--option", "resource=r", "--option", "system=a"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    eprintln!("crm_resource {action}: {}", text(&out));
    out
}

#[test]
#[ignore = "needs root and the testbed: scripts/test runs it"]
fn crm_resource_runs_the_agent_directly() {
    let _serial = serial();
    let _agent = Agent::install();
    let guest = Guest::new("direct", 49171);
    let expect = |action: &str, code: i32, says: &str| {
        let out = crm_resource(&guest, action);
        assert_eq!(out.status.code(), Some(code), "{action}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(says),
            "{action}: {}",
            text(&out)
        );
    };

    expect("--validate", 0, "returned 0 (ok)");
    expect("--force-check", 7, "returned 7 (not running)");
    expect("--force-start", 0, "returned 0 (ok)");
    assert!(guest.runs_on("a"), "started on A: {:?}", guest.state("a"));
    expect("--force-check", 0, "returned 0 (ok)");
    expect("--force-stop", 0, "returned 0 (ok)");
    assert_eq!(guest.state("a").as_deref(), Some("shut off"));
    expect("--force-check", 7, "returned 7 (not running)");

    // The guest runs on B, behind the agent's back: a start on A is refused.
    guest.create_on("b");
    // crm_resource shows the agent's exit reason with the code.
    expect(
        "--force-start",
        1,
        &format!(
            "returned 1 (error: {} already runs on b; refusing to start a second copy on a)",
            guest.name
        ),
    );
    assert!(!guest.runs_on("a"), "no second copy on A");
    assert!(guest.runs_on("b"), "B's copy untouched");
    // On A it is not running: a stop there has nothing to do and leaves B's copy alone.
    expect("--force-check", 7, "returned 7 (not running)");
    expect("--force-stop", 0, "returned 0 (ok)");
    assert!(guest.runs_on("b"), "B's copy untouched by A's stop");
    assert_eq!(guest.copies(), 1);
}

/// libvirtd of host A stopped with SIGSTOP until dropped; the drop continues it, also when the
/// test panicked, and waits until A answers again, so that no other test meets a hung host.
struct Sigstopped {
    pid: String,
    uri: String,
}

impl Sigstopped {
    fn host_a(uri: &str) -> Sigstopped {
        let pid = std::fs::read_to_string("/run/kvmguestctl-testbed/a/libvirtd.pid")
            .unwrap()
            .trim()
            .to_owned();
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        assert_eq!(comm.trim(), "libvirtd", "pid {pid} is host A's libvirtd");
        let stopped = Sigstopped {
            pid,
            uri: uri.to_owned(),
        };
        assert!(signal("STOP", &stopped.pid), "SIGSTOP {}", stopped.pid);
        stopped
    }
}

fn signal(name: &str, pid: &str) -> bool {
    Process::new("kill")
        .args([&format!("-{name}"), pid])
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the hypervisor at `uri` answers a real round trip within 5 s.
fn answers(uri: &str) -> bool {
    Process::new("timeout")
        .args(["5", "virsh", "-c", uri, "version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

impl Drop for Sigstopped {
    fn drop(&mut self) {
        if !signal("CONT", &self.pid) {
            eprintln!("SIGCONT to host A's libvirtd ({}) failed", self.pid);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while !answers(&self.uri) {
            if Instant::now() > deadline {
                // Not a panic: this may run while unwinding; the caller asserts it again.
                eprintln!("host A does not answer 30 s after SIGCONT");
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

#[test]
#[ignore = "needs root and the testbed: scripts/test runs it"]
fn a_real_cluster_recovers_the_guest_refuses_a_second_copy_and_rides_out_a_hung_libvirtd() {
    let _serial = serial();
    // Dropped in reverse: the cluster goes down first (its resource stopped through the agent,
    // which must still be installed), then the guest is removed from both hosts, then the link.
    let _agent = Agent::install();
    let guest = Guest::new("ha", 49172);
    let cluster = Cluster::up(&["a"]);
    let id = "kvmgt-pcmk-ha";

    starts_monitors_recovers_and_stops_gracefully(&cluster, &guest, id);
    refuses_to_start_while_the_guest_runs_on_b(&cluster, &guest, id);
    rides_out_a_hung_libvirtd_on_a(&cluster, &guest, id);
}

/// Pacemaker starts the guest on A, monitors it every 5 s, restarts it after a `virsh destroy`
/// behind its back, and stops it with an ACPI shutdown when its target-role is Stopped.
fn starts_monitors_recovers_and_stops_gracefully(cluster: &Cluster, guest: &Guest, id: &str) {
    let step = Step::new("start, monitor, recover, stop");
    cluster.create("resources", &primitive(id, &guest.config, "Started", false));
    step.wait(
        "Started on a, running on host A",
        Duration::from_secs(START + 30),
        || {
            let mon = crm_mon()?;
            guest.assert_at_most_one_copy(&step.at());
            match (mon.started_on(id, "a"), guest.state("a")) {
                (true, Some(s)) if s == "running" => Ok(()),
                seen => Err(format!("{seen:?}")),
            }
        },
    );
    step.wait(
        "the 5 s recurring monitor answered 0",
        Duration::from_secs(15),
        || {
            let mon = crm_mon()?;
            let history = mon.history(id, "a").ok_or("no history")?;
            history
                .operation_history
                .iter()
                .find(|op| {
                    op.task == "monitor" && op.interval.as_deref() == Some("5000ms") && op.rc == 0
                })
                .map(|_| ())
                .ok_or_else(|| format!("{:?}", history.operation_history))
        },
    );

    let out = guest.virsh("a", &["destroy", &guest.name]);
    assert!(out.status.success(), "virsh destroy: {}", text(&out));
    let destroyed = Instant::now();
    // The next boot's log only: the first boot may have been destroyed before its userland.
    let _ = std::fs::remove_file(guest.serial_log());
    let failure = step.wait(
        "the monitor found the guest gone (7)",
        Duration::from_secs(5 + MONITOR + 10),
        || {
            crm_mon()?
                .failure(id, "monitor_5000")
                .ok_or_else(|| "no failure".to_owned())
        },
    );
    let noticed = destroyed.elapsed();
    assert_eq!(failure.exitcode, 7, "{} {failure:?}", step.at());
    // One 5 s interval, the monitor's own run time and crm_mon's polling.
    assert!(
        noticed < Duration::from_secs(12),
        "{}: noticed {noticed:.1?} after the destroy",
        step.at()
    );
    step.wait(
        "recovered: Started on a and running again",
        Duration::from_secs(STOP + START + 30),
        || {
            let mon = crm_mon()?;
            guest.assert_at_most_one_copy(&step.at());
            match (mon.started_on(id, "a"), guest.state("a")) {
                (true, Some(s)) if s == "running" => Ok(()),
                seen => Err(format!("{seen:?}")),
            }
        },
    );
    eprintln!(
        "{}: recovered {:.1?} after the destroy (noticed after {noticed:.1?})",
        step.at(),
        destroyed.elapsed()
    );
    assert_eq!(crm_mon().unwrap().fail_count(id), "1", "{}", step.at());

    // ACPI is heard only once the guest's acpid runs: wait for the recovered boot's userland.
    step.wait(
        "the recovered guest reached userland",
        Duration::from_secs(60),
        || {
            guest
                .reached_userland()
                .then_some(())
                .ok_or_else(|| "not yet".to_owned())
        },
    );
    cluster.set_target_role(id, "Stopped");
    let stopping = Instant::now();
    step.wait(
        "target-role Stopped: stopped, shut off on A",
        Duration::from_secs(STOP + 10),
        || {
            let mon = crm_mon()?;
            match (mon.active(id), guest.state("a")) {
                (false, Some(s)) if s == "shut off" => Ok(()),
                seen => Err(format!("{seen:?}")),
            }
        },
    );
    let stop_took = stopping.elapsed();
    assert_eq!(
        guest.state_and_reason("a"),
        "shut off (shutdown)",
        "{}: a graceful shutdown, not a destroy, in {stop_took:.1?}",
        step.at()
    );
    assert!(
        stop_took < Duration::from_secs(DELAY_OFFLINE),
        "{}: the guest obeyed ACPI in {stop_took:.1?}",
        step.at()
    );
    assert!(
        std::fs::read_to_string(guest.serial_log())
            .unwrap_or_default()
            .contains("ACPI power button, powering off"),
        "{}: the guest heard the power button",
        step.at()
    );
}

/// With the guest started on host B behind the cluster's back, Pacemaker's start on A is refused
/// by the agent, no second copy ever runs, and crm_mon shows the failed start.
fn refuses_to_start_while_the_guest_runs_on_b(cluster: &Cluster, guest: &Guest, id: &str) {
    let step = Step::new("start refused while the guest runs on B");
    cluster.cleanup(id);
    step.wait("history clean", Duration::from_secs(20), || {
        let mon = crm_mon()?;
        match mon.failures.failure.len() {
            0 => Ok(()),
            n => Err(format!("{n} failures")),
        }
    });
    guest.create_on("b");
    assert!(guest.runs_on("b"), "{}", step.at());
    let log_from = pacemaker_log_len();

    cluster.set_target_role(id, "Started");
    let no_copy_on_a = |mon: &Mon| {
        guest.assert_at_most_one_copy(&step.at());
        assert!(
            !guest.runs_on("a"),
            "{}: a second copy runs on A; crm_mon: {:?}",
            step.at(),
            mon.resource(id)
        );
    };
    let failure = step.wait(
        "the start on a failed",
        Duration::from_secs(START + 30),
        || {
            let mon = crm_mon()?;
            no_copy_on_a(&mon);
            mon.failure(id, "start_0")
                .ok_or_else(|| format!("{:?}", mon.resource(id)))
        },
    );
    assert_eq!(failure.exitcode, 1, "{}: {failure:?}", step.at());
    step.wait(
        "Pacemaker gave up on a: stopped, fail-count INFINITY",
        Duration::from_secs(STOP + 10),
        || {
            let mon = crm_mon()?;
            no_copy_on_a(&mon);
            // crm_mon's XML gives INFINITY as its value, 1000000.
            match (mon.active(id), mon.fail_count(id)) {
                (false, count) if count == "1000000" => Ok(()),
                seen => Err(format!("{seen:?}")),
            }
        },
    );
    // Long enough for Pacemaker to have retried if it meant to: two monitor intervals.
    let watch = Instant::now();
    while watch.elapsed() < Duration::from_secs(10) {
        no_copy_on_a(&crm_mon().unwrap());
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        guest.runs_on("b"),
        "{}: B's copy untouched by A's stop",
        step.at()
    );
    let shown = crm_mon_text();
    assert!(
        shown.contains("Failed Resource Actions") && shown.contains(&format!("{id} start on a")),
        "{}: crm_mon shows the failed start:\n{shown}",
        step.at()
    );
    let log = pacemaker_log_since(log_from);
    assert!(
        log.contains(&format!("{} already runs on b", guest.name)),
        "{}: the agent's reason is in Pacemaker's log:\n{log}",
        step.at()
    );

    cluster.set_target_role(id, "Stopped");
    let out = guest.virsh("b", &["destroy", &guest.name]);
    assert!(out.status.success(), "{}", text(&out));
    cluster.cleanup(id);
}

const PACEMAKER_LOG: &str = "/var/log/pacemaker/pacemaker.log";

fn pacemaker_log_len() -> u64 {
    std::fs::metadata(PACEMAKER_LOG).map_or(0, |m| m.len())
}

fn pacemaker_log_since(offset: u64) -> String {
    let all = std::fs::read(PACEMAKER_LOG).unwrap_or_default();
    let from = usize::try_from(offset).unwrap_or(0).min(all.len());
    String::from_utf8_lossy(&all[from..]).into_owned()
}

/// Host A's libvirtd hangs (SIGSTOP) under a running guest: the monitor answers 1 inside its
/// timeout rather than being killed by Pacemaker, the stop that recovery asks for fails (the
/// guest may still run), and the guest never runs twice. After SIGCONT and a cleanup, Pacemaker
/// finds the one guest still running on A.
fn rides_out_a_hung_libvirtd_on_a(cluster: &Cluster, guest: &Guest, id: &str) {
    let step = Step::new("hung libvirtd on A");
    step.wait("clean after the refusal", Duration::from_secs(20), || {
        let mon = crm_mon()?;
        match (mon.failures.failure.len(), mon.active(id)) {
            (0, false) => Ok(()),
            seen => Err(format!("{seen:?}")),
        }
    });
    cluster.set_target_role(id, "Started");
    step.wait(
        "Started on a, running on host A",
        Duration::from_secs(START + 30),
        || {
            let mon = crm_mon()?;
            match (mon.started_on(id, "a"), guest.state("a")) {
                (true, Some(s)) if s == "running" => Ok(()),
                seen => Err(format!("{seen:?}")),
            }
        },
    );

    let uri_a = guest.uri("a").to_owned();
    let log_from = pacemaker_log_len();
    let stopped = Sigstopped::host_a(&uri_a);
    let hung = Instant::now();
    let failure = step.wait(
        "the monitor reported the hung hypervisor",
        Duration::from_secs(5 + MONITOR + 10),
        || {
            guest.assert_at_most_one_copy(&step.at());
            crm_mon()?
                .failure(id, "monitor_5000")
                .ok_or_else(|| "no failure".to_owned())
        },
    );
    assert_eq!(
        (failure.exitcode, failure.status.as_str()),
        (1, "complete"),
        "{}: the monitor answered 1 itself, not killed at its timeout: {failure:?}",
        step.at()
    );
    let noticed = hung.elapsed();
    // Each hypervisor call gets a quarter of the operation's timeout: the agent gave up on A's
    // connection itself, well inside the 20 s Pacemaker would have killed it at.
    let log = pacemaker_log_since(log_from);
    assert!(
        log.contains("did not answer within 5 s"),
        "{}: the agent's reason is in Pacemaker's log:\n{log}",
        step.at()
    );
    assert!(
        noticed < Duration::from_secs(5 + MONITOR),
        "{}: reported {noticed:.1?} after the SIGSTOP",
        step.at()
    );
    // Recovery begins with a stop on A, which cannot know whether the guest is gone.
    let stop = step.wait(
        "the recovery's stop on a failed",
        Duration::from_secs(STOP + 10),
        || {
            guest.assert_at_most_one_copy(&step.at());
            assert!(!guest.runs_on("b"), "{}: a copy on B", step.at());
            crm_mon()?
                .failure(id, "stop_0")
                .ok_or_else(|| "no failed stop".to_owned())
        },
    );
    assert_eq!(
        (stop.exitcode, stop.status.as_str()),
        (1, "complete"),
        "{}: {stop:?}",
        step.at()
    );
    let mon = crm_mon().unwrap();
    assert!(
        mon.resource(id).is_some_and(|r| r.blocked),
        "{}: without fencing, a failed stop blocks the resource: {:?}",
        step.at(),
        mon.resource(id)
    );
    guest.assert_at_most_one_copy(&step.at());

    drop(stopped);
    assert!(
        answers(&uri_a),
        "{}: host A answers after SIGCONT",
        step.at()
    );
    assert!(
        guest.runs_on("a") && !guest.runs_on("b"),
        "{}: the guest ran on through the hang",
        step.at()
    );
    cluster.cleanup(id);
    step.wait(
        "after cleanup Pacemaker finds the one guest Started on a",
        Duration::from_secs(START + 30),
        || {
            let mon = crm_mon()?;
            guest.assert_at_most_one_copy(&step.at());
            match (mon.started_on(id, "a"), mon.failures.failure.len()) {
                (true, 0) => Ok(()),
                seen => Err(format!("{seen:?}")),
            }
        },
    );
    assert_eq!(guest.copies(), 1, "{}", step.at());
}

#[test]
#[ignore = "needs root and the testbed: scripts/test runs it"]
fn a_two_node_cluster_live_migrates_the_guest_on_crm_resource_move() {
    let _serial = serial();
    let _agent = Agent::install();
    let guest = Guest::new("mig", 49173);
    // Node b: its own network and mount namespaces; its agent reaches testbed host B.
    let cluster = Cluster::up(&["a", "b"]);
    let id = "kvmgt-pcmk-mig";
    let step = Step::new("live migration by crm_resource --move");

    // Stopped until it prefers a: with no preference Pacemaker may place it on either node.
    cluster.create("resources", &primitive(id, &guest.config, "Stopped", true));
    cluster.create(
        "constraints",
        &format!(r#"<rsc_location id="{id}-prefers-a" rsc="{id}" node="a" score="100"/>"#),
    );
    cluster.set_target_role(id, "Started");
    step.wait(
        "Started on a, running on host A",
        Duration::from_secs(START + 30),
        || {
            let mon = crm_mon()?;
            match (mon.started_on(id, "a"), guest.state("a")) {
                (true, Some(s)) if s == "running" => Ok(()),
                seen => Err(format!("{seen:?}")),
            }
        },
    );
    // A booted guest, so that a restart instead of a migration would show as a second boot.
    step.wait(
        "the guest reached userland",
        Duration::from_secs(60),
        || {
            guest
                .reached_userland()
                .then_some(())
                .ok_or_else(|| "not yet".to_owned())
        },
    );
    let booted = std::fs::read_to_string(guest.serial_log()).unwrap();

    let out = Process::new("crm_resource")
        .args(["--resource", id, "--move", "--node", "b"])
        .output()
        .unwrap();
    assert!(out.status.success(), "crm_resource --move: {}", text(&out));
    let moving = Instant::now();
    step.wait(
        "Started on b, running on host B, gone from A",
        Duration::from_secs(360 + 60),
        || {
            // Two QEMU processes belong to a live migration (the incoming one paused until the
            // switch-over), but never two running guests.
            let (a, b) = (guest.state("a"), guest.state("b"));
            assert!(
                !(a.as_deref() == Some("running") && b.as_deref() == Some("running")),
                "{}: running on A and on B at once",
                step.at()
            );
            let mon = crm_mon()?;
            match (mon.started_on(id, "b"), b, a) {
                (true, Some(b), None) if b == "running" => Ok(()),
                seen => Err(format!("{seen:?}")),
            }
        },
    );
    let moved = moving.elapsed();
    step.wait(
        "the source's QEMU has exited",
        Duration::from_secs(10),
        || match guest.copies() {
            1 => Ok(()),
            n => Err(format!("{n} QEMU processes")),
        },
    );
    let mon = crm_mon().unwrap();
    assert!(
        mon.succeeded(id, "a", "migrate_to") && mon.succeeded(id, "b", "migrate_from"),
        "{}: moved through migrate_to on a and migrate_from on b: {:?} {:?}",
        step.at(),
        mon.history(id, "a"),
        mon.history(id, "b")
    );
    assert!(
        !mon.succeeded(id, "b", "start"),
        "{}: no start on b: {:?}",
        step.at(),
        mon.history(id, "b")
    );
    // The same guest kept running: no second boot since the move, and a heartbeat after it.
    let arrived = std::fs::metadata(guest.serial_log()).map_or(0, |m| m.len());
    step.wait(
        "the guest's heartbeat goes on from B",
        Duration::from_secs(20),
        || {
            let log = std::fs::read(guest.serial_log()).unwrap_or_default();
            let since =
                |offset: usize| String::from_utf8_lossy(&log[offset.min(log.len())..]).into_owned();
            let since_move = since(booted.len());
            assert!(
                !since_move.contains("userland up"),
                "{}: the guest booted again:\n{since_move}",
                step.at()
            );
            since(usize::try_from(arrived).unwrap())
                .contains("kvmgt-guest: alive")
                .then_some(())
                .ok_or_else(|| "no heartbeat yet".to_owned())
        },
    );
    eprintln!(
        "{}: live-migrated a -> b by Pacemaker in {moved:.1?}",
        step.at()
    );

    let out = Process::new("crm_resource")
        .args(["--resource", id, "--clear"])
        .output()
        .unwrap();
    assert!(out.status.success(), "crm_resource --clear: {}", text(&out));
}
