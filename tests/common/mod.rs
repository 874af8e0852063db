//! Helpers shared by the integration tests that run the binary.
#![allow(dead_code)] // each test crate uses the part it needs

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command as Process, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The binary with a given configuration, none of the caller's KVMGUESTCTL_* settings, and
/// lock and state directories of its own ([`own_dirs`]).
pub fn kvm(config: &Path) -> Command {
    let mut cmd = Command::cargo_bin("kvmguestctl").unwrap();
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("KVMGUESTCTL_")) {
        cmd.env_remove(name);
    }
    cmd.envs(own_dirs())
        .arg("--config")
        .arg(config)
        .timeout(Duration::from_secs(60));
    cmd
}

/// `KVMGUESTCTL_LOCK_DIR` and `KVMGUESTCTL_STATE_DIR` of a directory no other command of the
/// tests uses, under cargo's scratch directory: the test driver's guests live in one process
/// each, so two tests' guests of one name are not one guest to lock; and no test writes the
/// machine's /run/kvmguestctl or /var/lib/kvmguestctl (nor needs root to). A test that wants
/// two commands to meet at one lock gives them the same `--lock-dir`, which wins.
pub fn own_dirs() -> [(&'static str, PathBuf); 2] {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("kvmguestctl-{}-{n}", std::process::id()));
    [
        ("KVMGUESTCTL_LOCK_DIR", dir.join("lock")),
        ("KVMGUESTCTL_STATE_DIR", dir.join("state")),
    ]
}

/// One run with `-o json`: its exit code, the JSON document on stdout, and stderr.
pub struct Ran {
    pub code: i32,
    pub doc: Value,
    pub stderr: String,
}

/// Run with `-o json` and parse stdout; panics with stdout and stderr when stdout is not JSON.
pub fn run_json(cmd: &mut Command) -> Ran {
    let out = cmd.arg("-o").arg("json").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    Ran {
        code: out.status.code().unwrap_or(-1),
        doc,
        stderr,
    }
}

/// Run with `-o json` and parse stdout (the exit code is not looked at).
pub fn json(cmd: &mut Command) -> Value {
    run_json(cmd).doc
}

/// A socket that accepts and never answers: what a wedged libvirtd looks like from a client.
pub fn hung_libvirtd(dir: &Path, name: &str) -> PathBuf {
    let socket = dir.join(name);
    let listener = UnixListener::bind(&socket).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    socket
}

/// The simulator's binary, built once if `cargo test` did not build the workspace.
pub fn sim_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            // tests run from target/<profile>/deps; the workspace's binaries are one level up.
            let exe = std::env::current_exe().unwrap();
            let dir = exe.parent().and_then(Path::parent).unwrap().to_owned();
            let bin = dir.join("ovirt-sim");
            if !bin.exists() {
                let status = Process::new(env!("CARGO"))
                    .args(["build", "-p", "ovirt-sim"])
                    .current_dir(env!("CARGO_MANIFEST_DIR"))
                    .status()
                    .unwrap();
                assert!(status.success(), "cargo build -p ovirt-sim failed");
            }
            bin
        })
        .clone()
}

/// PATH with the built kvmguestctl first: what a user who installed it has.
pub fn path_with_the_binary() -> std::ffi::OsString {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_kvmguestctl"))
        .parent()
        .unwrap();
    std::env::join_paths(
        std::iter::once(bin_dir.to_owned()).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )),
    )
    .unwrap()
}

/// Each result's (resource, action), in the order of the JSON document's `results`.
pub fn actions(doc: &Value) -> Vec<(&str, &str)> {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["resource"].as_str().unwrap(),
                r["action"].as_str().unwrap(),
            )
        })
        .collect()
}

/// A running oVirt simulator (`ovirt-sim`) with a scenario of its own, in a directory of its own.
/// It stops when dropped: its stdin closes, so it exits and removes its CA directory; it is
/// killed only if it has not exited within 3 s.
pub struct Simulator {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The simulator's ready line: `url`, `http_url`, `ca_file`, `control`.
    pub ready: Value,
    /// Where the scenario is, and room for a test's own files.
    pub dir: tempfile::TempDir,
}

impl Simulator {
    pub fn start(scenario: &str) -> Simulator {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("scenario.yaml");
        std::fs::write(&file, scenario).unwrap();
        let mut child = Process::new(sim_binary())
            .arg("--scenario")
            .arg(&file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ovirt-sim");
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready = serde_json::from_str(&line).expect("the simulator's ready line");
        Simulator {
            child,
            stdin,
            ready,
            dir,
        }
    }

    pub fn url(&self) -> String {
        self.ready["url"].as_str().unwrap().to_owned()
    }

    pub fn ca_file(&self) -> PathBuf {
        PathBuf::from(self.ready["ca_file"].as_str().unwrap())
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stdin = None;
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tests/testbed/testbed.sh ARGS` (the real two-host testbed); panics with its stderr when it
/// fails.
pub fn testbed(args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testbed/testbed.sh");
    let out = Process::new(script).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "testbed.sh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The testbed's `NAME=value` settings (`testbed.sh env`): its hosts' URIs and files.
pub fn testbed_env() -> std::collections::HashMap<String, String> {
    testbed(&["env"])
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A test-driver node file in `dir` with one running guest, `ga01`, that has the QEMU guest
/// agent's channel: the test driver has no agent, so every ping of it goes unanswered.
pub fn agent_guest_node(dir: &Path) -> PathBuf {
    let node = dir.join("node.xml");
    std::fs::write(
        &node,
        "<node><domain type='test'><name>ga01</name><memory>131072</memory>\
         <os><type>hvm</type></os><devices><channel type='unix'>\
         <target type='virtio' name='org.qemu.guest_agent.0'/></channel></devices>\
         </domain></node>",
    )
    .unwrap();
    node
}

/// Rewrite GuestHealth's memory (`<state>/<resource>.health`, left by a first monitor) as if the
/// agent had answered in this run and then been silent for `silent_for` seconds.
pub fn remember_a_silent_agent(memory_file: &Path, silent_for: u64) {
    let mut memory: Value = serde_json::from_slice(&std::fs::read(memory_file).unwrap()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    memory["answered"] = true.into();
    memory["silent_since"] = (now - silent_for).into();
    std::fs::write(memory_file, memory.to_string()).unwrap();
}
