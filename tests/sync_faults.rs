//! SyncDir on broken storage: a full and a read-only file system (real tmpfs mounts, so these
//! need root: they are `#[ignore]`d for a plain `cargo test`, and `scripts/test` runs them as
//! root with `--include-ignored`; run that way, a failed mount fails the test).
//! Whatever fails, the previous copy of the definition stays intact.

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Duration;

mod common;
use predicates::prelude::*;

/// A tmpfs mounted for one test, unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, options: &str) -> Mount {
        let out = Process::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot mount a tmpfs on {} (these fault tests need root): {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Mount(dir.to_owned())
    }

    fn remount(&self, options: &str) {
        let status = Process::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Process::new("umount").arg(&self.0).status();
    }
}

/// A configuration whose `running` resource saves to `sync`, and the previous copy there.
fn setup(sync: &Path) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let yaml = format!(
        "systems:\n  a: {{ uri: 'test://{}/node-a.xml' }}\n\
         resources:\n  running: {{ type: KVMGuest, systems: [a], GuestName: running01, SyncDir: {} }}\n",
        fixtures.display(),
        sync.display()
    );
    let config = dir.path().join("r.yaml");
    std::fs::write(&config, yaml).unwrap();
    let previous = sync.join("running01.xml");
    std::fs::write(
        &previous,
        "<domain><name>running01</name><!-- previous --></domain>",
    )
    .unwrap();
    (dir, config, previous)
}

fn clean(config: &Path) -> assert_cmd::assert::Assert {
    common::kvm(config)
        .args(["--sys", "a", "--yes", "clean", "running"])
        .timeout(Duration::from_secs(60))
        .assert()
}

fn assert_previous_intact(previous: &Path) {
    let text = std::fs::read_to_string(previous).unwrap();
    assert_eq!(
        text,
        "<domain><name>running01</name><!-- previous --></domain>"
    );
    let leftovers: Vec<_> = std::fs::read_dir(previous.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
#[ignore = "needs root to mount tmpfs; scripts/test runs them"]
fn a_full_sync_dir_fails_clearly_and_keeps_the_previous_copy() {
    let mountpoint = tempfile::tempdir().unwrap();
    let _mount = Mount::tmpfs(mountpoint.path(), "size=64k");
    let (_dir, config, previous) = setup(mountpoint.path());
    // Fill the file system: the new copy (and its backup) cannot be written.
    let filler = vec![0u8; 64 * 1024];
    let _ = std::fs::write(mountpoint.path().join("filler"), &filler);
    clean(&config)
        .code(1)
        .stderr(predicate::str::contains(
            "saving the definition of running01 to",
        ))
        .stderr(predicate::str::contains("No space left on device"));
    assert_previous_intact(&previous);
}

#[test]
#[ignore = "needs root to mount tmpfs; scripts/test runs them"]
fn a_read_only_sync_dir_fails_clearly_and_keeps_the_previous_copy() {
    let mountpoint = tempfile::tempdir().unwrap();
    let mount = Mount::tmpfs(mountpoint.path(), "size=1m");
    let (_dir, config, previous) = setup(mountpoint.path());
    mount.remount("ro");
    clean(&config)
        .code(1)
        .stderr(predicate::str::contains("Read-only file system"));
    assert_previous_intact(&previous);
}
