//! Completion of resource and system names, through the checked-in scripts of completions/ in the
//! real shells: bash's programmable completion, zsh's completion system on a pseudo-terminal, and
//! fish's `complete -C`. Each shell runs the built binary found on PATH, as an installed one is.
//! The shells come from scripts/setup.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use wait_timeout::ChildExt;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[derive(Clone, Copy, Debug)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// Two configurations: `typed.yaml`, given with --config, and `env.yaml`, given through
/// KVMGUESTCTL_CONFIG, with names of their own so that each answer shows which one was read.
struct Configs {
    dir: tempfile::TempDir,
}

impl Configs {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("typed.yaml"),
            "systems:\n  node1: { uri: \"test:///default\" }\n  node2: { uri: \"test:///default\" }\n\
             resources:\n  web_vm: { type: KVMGuest, systems: [node1, node2], GuestName: web01 }\n  \
             wiki_vm: { type: KVMGuest, systems: [node2], GuestName: wiki01 }\n  \
             db_vm: { type: KVMGuest, systems: [node1, node2], GuestName: db01 }\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("env.yaml"),
            "systems:\n  east1: { uri: \"test:///default\" }\n  west1: { uri: \"test:///default\" }\n\
             resources:\n  wsus_vm: { type: KVMGuest, systems: [east1, west1], GuestName: wsus01 }\n",
        )
        .unwrap();
        // Not valid: a resource on a system that is not defined.
        std::fs::write(
            dir.path().join("broken.yaml"),
            "resources:\n  web_vm: { type: KVMGuest, systems: [nowhere], GuestName: web01 }\n",
        )
        .unwrap();
        Configs { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// The candidates `shell` offers on a TAB at the end of `line`, with KVMGUESTCTL_CONFIG set to
/// `env_config` (or unset).
fn complete(shell: Shell, line: &str, env_config: Option<&str>) -> Vec<String> {
    let path = common::path_with_the_binary();
    let scripts = root().join("completions");
    let harness = root().join("tests/completion");
    let mut command = match shell {
        Shell::Bash => {
            let mut c = Command::new("bash");
            c.args(["--norc", "--noprofile"])
                .arg(harness.join("capture.bash"))
                .arg(scripts.join("kvmguestctl.bash"))
                .arg(line);
            c
        }
        Shell::Zsh => {
            let mut c = Command::new("zsh");
            c.arg("-f")
                .arg(harness.join("capture.zsh"))
                .arg(&scripts)
                .arg(line);
            c
        }
        Shell::Fish => {
            let script = scripts.join("kvmguestctl.fish");
            let mut c = Command::new("fish");
            c.args(["--no-config", "-c"])
                .arg("source $argv[1]; complete -C $argv[2]")
                .arg(script)
                .arg(line);
            c
        }
    };
    command
        .env("PATH", path)
        .env("HOME", std::env::temp_dir())
        .env_remove("KVMGUESTCTL_CONFIG")
        .env_remove("KVMGUESTCTL_SYS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(config) = env_config {
        command.env("KVMGUESTCTL_CONFIG", config);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("{shell:?} cannot run ({e}): run scripts/setup"));
    // The pipes are small: read them while the shell runs, and give up on a shell that hangs.
    let stdout = std::thread::spawn({
        let mut out = child.stdout.take().unwrap();
        move || {
            let mut buffer = Vec::new();
            std::io::Read::read_to_end(&mut out, &mut buffer).unwrap();
            buffer
        }
    });
    let Some(status) = child.wait_timeout(Duration::from_secs(30)).unwrap() else {
        child.kill().unwrap();
        panic!("{shell:?} did not finish completing {line:?}");
    };
    let out = stdout.join().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        status.success(),
        "{shell:?} on {line:?}: {status}: {stderr}"
    );
    let out = String::from_utf8_lossy(&out);
    let mut candidates: Vec<String> = match shell {
        Shell::Bash => out.lines().map(str::to_owned).collect(),
        // Everything the terminal echoed, with the matches between 0x01 and 0x02.
        Shell::Zsh => out
            .split('\u{1}')
            .skip(1)
            .filter_map(|piece| piece.split_once('\u{2}').map(|(m, _)| m.to_owned()))
            .collect(),
        // `value<TAB>description`
        Shell::Fish => out
            .lines()
            .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
            .collect(),
    };
    candidates.sort();
    candidates.dedup();
    candidates
}

fn names(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

#[test]
fn resource_names_come_from_the_typed_config_before_the_environment() {
    let configs = Configs::new();
    let typed = configs.path("typed.yaml");
    let env = configs.path("env.yaml");
    for shell in SHELLS {
        let line = format!("kvmguestctl --config {typed} status w");
        assert_eq!(
            complete(shell, &line, Some(&env)),
            names(&["web_vm", "wiki_vm"]),
            "{shell:?}: {line}"
        );
        // --config after the subcommand (it is a global option) counts as well.
        let line = format!("kvmguestctl stop --config {typed} d");
        assert_eq!(
            complete(shell, &line, Some(&env)),
            names(&["db_vm"]),
            "{shell:?}"
        );
    }
}

#[test]
fn resource_names_come_from_kvmguestctl_config_without_a_typed_config() {
    let configs = Configs::new();
    let env = configs.path("env.yaml");
    for shell in SHELLS {
        assert_eq!(
            complete(shell, "kvmguestctl status w", Some(&env)),
            names(&["wsus_vm"]),
            "{shell:?}"
        );
    }
}

#[test]
fn system_names_after_sys_and_to() {
    let configs = Configs::new();
    let typed = configs.path("typed.yaml");
    let env = configs.path("env.yaml");
    for shell in SHELLS {
        for line in [
            format!("kvmguestctl --config {typed} --sys "),
            format!("kvmguestctl --config {typed} status --sys "),
            format!("kvmguestctl --config {typed} migrate web_vm --to "),
        ] {
            assert_eq!(
                complete(shell, &line, None),
                names(&["node1", "node2"]),
                "{shell:?}: {line}"
            );
        }
        assert_eq!(
            complete(shell, "kvmguestctl migrate wsus_vm --to w", Some(&env)),
            names(&["west1"]),
            "{shell:?}"
        );
    }
}

/// Every argument that takes a resource or a system name, in one shell (the same engine answers
/// for all three).
#[test]
fn every_resource_and_system_argument_completes_in_bash() {
    let configs = Configs::new();
    let typed = configs.path("typed.yaml");
    let resources = names(&["db_vm", "web_vm", "wiki_vm"]);
    let systems = names(&["node1", "node2"]);
    for command in [
        "status",
        "start",
        "stop",
        "clean",
        "migrate --to node2",
        "display",
        "vmconfigsync",
        "devscan",
        "watch",
        "validate",
    ] {
        let line = format!("kvmguestctl --config {typed} {command} ");
        let got = complete(Shell::Bash, &line, None);
        for name in &resources {
            assert!(got.contains(name), "{line}: {got:?}");
        }
    }
    for option in [
        "start web_vm --assume-stopped",
        "vmconfigsync web_vm --define-on",
        "migrate web_vm --to",
        "display --sys",
    ] {
        let line = format!("kvmguestctl --config {typed} {option} ");
        assert_eq!(complete(Shell::Bash, &line, None), systems, "{line}");
    }
}

#[test]
fn subcommands_and_options_still_complete() {
    for shell in SHELLS {
        assert_eq!(
            complete(shell, "kvmguestctl st", None),
            names(&["start", "status", "stop"]),
            "{shell:?}"
        );
        let got = complete(shell, "kvmguestctl stop --", None);
        for option in ["--mode", "--no-kill", "--all", "--config", "--sys", "--yes"] {
            assert!(got.iter().any(|o| o == option), "{shell:?}: {got:?}");
        }
    }
}

#[test]
fn a_broken_or_missing_config_offers_nothing_at_once() {
    let configs = Configs::new();
    let broken = configs.path("broken.yaml");
    for shell in SHELLS {
        for line in [
            format!("kvmguestctl --config {broken} status "),
            format!("kvmguestctl --config {broken} --sys "),
            "kvmguestctl --config /nonexistent/resources.yaml status ".to_owned(),
            // A FIFO would block the shell: it is never opened.
            "kvmguestctl --config /dev/stdin status ".to_owned(),
        ] {
            let started = Instant::now();
            let got = complete(shell, &line, None);
            assert!(
                got.iter().all(|c| c.starts_with('-')),
                "{shell:?}: {line}: {got:?}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{shell:?}: {line}"
            );
        }
    }
}

/// The scripts README tells users to install are what the binary prints.
#[test]
fn the_installed_scripts_are_what_completions_prints() {
    for (shell, file) in [
        ("bash", "kvmguestctl.bash"),
        ("zsh", "_kvmguestctl"),
        ("fish", "kvmguestctl.fish"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_kvmguestctl"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        let installed: PathBuf = root().join("completions").join(file);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(&installed).unwrap(),
            "{shell}"
        );
    }
}
