//! One actor per guest on a machine, through the binary: a command that changes a guest holds its
//! lock for as long as it acts; a second one waits (`--lock-timeout`) and then gives up naming the
//! holder; a monitor never waits; a killed holder never blocks. libvirt's test driver (whose state
//! is per process: the holder's start, which waits DelayAfterGuestOnline, is what takes time).

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{fixtures, kvm, run_json};

/// A configuration whose `slow` resource's start waits 4 s (DelayAfterGuestOnline), its `other`
/// resource another guest; and a lock directory of the test's own.
struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("r.yaml");
        std::fs::write(
            &config,
            format!(
                "systems:\n  a: {{ uri: 'test://{}' }}\nresources:\n  \
                 slow: {{ type: KVMGuest, systems: [a], GuestName: shutoff01, \
                 DelayAfterGuestOnline: 4 }}\n  \
                 other: {{ type: KVMGuest, systems: [a], GuestName: running01 }}\n",
                fixtures().join("node-a.xml").display()
            ),
        )
        .unwrap();
        Setup { dir, config }
    }

    fn locks(&self) -> PathBuf {
        self.dir.path().join("lock")
    }

    /// `kvmguestctl --sys a --yes --lock-dir LOCKS ARGS...`, as a test command.
    fn kvm(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = kvm(&self.config);
        cmd.args(["--sys", "a", "--yes", "--lock-dir"])
            .arg(self.locks())
            .args(args);
        cmd
    }

    /// `kvmguestctl ARGS` as a cluster engine runs it, with the settings of its environment: none
    /// of the caller's, directories of its own but the holder's lock directory, the OCF agent's
    /// and the VCS agent's view of the `slow` resource on system a, and `env`. Its exit code,
    /// stderr and how long it took.
    fn engine(&self, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, Duration) {
        let uri = format!("test://{}", fixtures().join("node-a.xml").display());
        let started = Instant::now();
        let out = Process::new(assert_cmd::cargo::cargo_bin("kvmguestctl"))
            .args(args)
            .env_remove("KVMGUESTCTL_CONFIG")
            .envs(common::own_dirs())
            .env("KVMGUESTCTL_LOCK_DIR", self.locks())
            .env("OCF_RESKEY_config", &self.config)
            .env("OCF_RESOURCE_INSTANCE", "slow")
            .env("OCF_RESKEY_CRM_meta_on_node", "a")
            .env("KVMGUESTCTL_SYS", "a")
            .env("KVMGUESTCTL_VCS_URI", uri)
            .env("KVMGUESTCTL_VCS_HARES", "/nonexistent/hares")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            started.elapsed(),
        )
    }

    /// The slow start, in the background, once it holds the lock.
    fn holder(&self) -> Child {
        let child = Process::new(assert_cmd::cargo::cargo_bin("kvmguestctl"))
            .env_remove("KVMGUESTCTL_CONFIG")
            .envs(common::own_dirs())
            .arg("--config")
            .arg(&self.config)
            .args(["--sys", "a", "--yes", "--lock-dir"])
            .arg(self.locks())
            .args(["start", "slow"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_holder(&self.locks().join("shutoff01.lock"), child.id());
        child
    }
}

/// Wait until the lock file names `pid` as its holder.
fn wait_for_holder(path: &Path, pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(path)
        .unwrap_or_default()
        .contains(&format!("\"pid\":{pid}"))
    {
        assert!(
            Instant::now() < deadline,
            "{} never held by {pid}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_second_command_on_the_same_guest_gives_up_naming_the_holder() {
    let setup = Setup::new();
    let mut holder = setup.holder();
    let started = Instant::now();
    let ran = run_json(&mut setup.kvm(&["clean", "slow", "--lock-timeout", "1"]));
    let took = started.elapsed();
    assert_eq!(ran.code, 5, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!(
            "shutoff01 is busy: pid {} (`{}",
            holder.id(),
            assert_cmd::cargo::cargo_bin("kvmguestctl").display()
        )) && ran.stderr.contains("start slow`) has acted on it for")
            && ran.stderr.contains("gave up after 1s (--lock-timeout)"),
        "{}",
        ran.stderr
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(holder.wait().unwrap().success());
}

#[test]
fn a_second_command_waits_for_the_holder_and_then_acts() {
    let setup = Setup::new();
    let mut holder = setup.holder();
    let ran = run_json(&mut setup.kvm(&["clean", "slow", "--lock-timeout", "30"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains(&format!("waiting for shutoff01: pid {}", holder.id())),
        "{}",
        ran.stderr
    );
    assert!(holder.wait().unwrap().success());
}

#[test]
fn status_and_other_guests_never_wait_for_a_lock() {
    let setup = Setup::new();
    let mut holder = setup.holder();
    let started = Instant::now();
    let status = run_json(&mut setup.kvm(&["status", "slow"]));
    assert_eq!(status.code, 0, "{}", status.stderr);
    let other = run_json(&mut setup.kvm(&["clean", "other", "--lock-timeout", "0"]));
    assert_eq!(other.code, 0, "{}", other.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(holder.wait().unwrap().success());
}

#[test]
fn the_lock_of_a_killed_holder_never_blocks() {
    let setup = Setup::new();
    let mut holder = setup.holder();
    holder.kill().unwrap();
    holder.wait().unwrap();
    // With no time to wait, a lock still held would be exit 5 at once.
    let ran = run_json(&mut setup.kvm(&["clean", "slow", "--lock-timeout", "0"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

#[test]
fn a_lock_directory_that_cannot_be_made_is_a_clear_error() {
    let setup = Setup::new();
    let file = setup.dir.path().join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    let ran = run_json(
        kvm(&setup.config)
            .args(["--sys", "a", "--yes", "--lock-dir"])
            .arg(file.join("lock"))
            .args(["clean", "slow"]),
    );
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("the lock of shutoff01")
            && ran
                .stderr
                .contains("set --lock-dir or KVMGUESTCTL_LOCK_DIR"),
        "{}",
        ran.stderr
    );
}

/// A cluster engine's operation waits for a person's command at most a quarter of its timeout:
/// the rest is its own.
#[test]
fn an_ocf_operation_waits_a_quarter_of_its_timeout_for_the_lock() {
    let setup = Setup::new();
    let mut holder = setup.holder();
    let (code, stderr, took) =
        setup.engine(&["ocf", "stop"], &[("OCF_RESKEY_CRM_meta_timeout", "4000")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("shutoff01 is busy") && stderr.contains("gave up after 1s"),
        "{stderr}"
    );
    assert!(
        took < Duration::from_secs(3),
        "a quarter of 4 s, then the answer: {took:?}"
    );
    assert!(holder.wait().unwrap().success());
}

/// A VCS entry point waits its call timeout (KVMGUESTCTL_VCS_TIMEOUT) for the lock, then logs why
/// it did nothing; the OCF and VCS monitors never wait for it.
#[test]
fn a_vcs_entry_point_waits_its_call_timeout_and_the_monitors_never_wait() {
    let setup = Setup::new();
    let mut holder = setup.holder();
    let vcs = |entry: &str| {
        setup.engine(
            &["vcs", entry, "slow_vm", "GuestName", "1", "shutoff01"],
            &[("KVMGUESTCTL_VCS_TIMEOUT", "1")],
        )
    };
    // First, while the holder has most of its 4 s to go (a monitor that waited would take them):
    // in its own process the test driver's shutoff01 is off, and each monitor says so at once.
    let (code, stderr, took) = vcs("monitor");
    assert_eq!(code, Some(100), "{stderr}");
    assert!(
        took < Duration::from_secs(2),
        "the VCS monitor waited: {took:?}"
    );
    let (code, stderr, took) = setup.engine(&["ocf", "monitor"], &[]);
    assert_eq!(code, Some(7), "{stderr}");
    assert!(
        took < Duration::from_secs(2),
        "the OCF monitor waited: {took:?}"
    );

    let (code, stderr, took) = vcs("offline");
    // VCS ignores offline's exit code: what it did is in the log.
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("KVMGuest:slow_vm:offline: ERROR: shutoff01 is busy")
            && stderr.contains("gave up after 1s"),
        "{stderr}"
    );
    assert!(
        took < Duration::from_secs(4),
        "one second, then the answer: {took:?}"
    );
    assert!(holder.wait().unwrap().success());
}

/// A day at the most: a larger `--lock-timeout` is a usage error, as the README says.
#[test]
fn the_lock_timeout_is_at_most_a_day() {
    let setup = Setup::new();
    let ran = run_json(&mut setup.kvm(&["--lock-timeout", "86401", "clean", "other"]));
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("86401 is not in 0..=86400"),
        "{}",
        ran.stderr
    );
    let ran = run_json(&mut setup.kvm(&["--lock-timeout", "86400", "clean", "other"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}
