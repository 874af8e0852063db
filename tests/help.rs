//! Every subcommand's --help, through the binary: its own options before the global ones, and
//! examples that the command line accepts; those on the quickstart are run and must succeed.

use std::path::Path;
use std::process::Command;

mod common;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every command with a help of its own: the main command, each subcommand, `rhev fetch-ca`.
fn commands() -> Vec<Vec<String>> {
    let main = kvmguestctl::cli::command();
    let mut all = vec![Vec::new()];
    for sub in main.get_subcommands().filter(|s| s.get_name() != "help") {
        all.push(vec![sub.get_name().to_owned()]);
        for nested in sub.get_subcommands().filter(|s| s.get_name() != "help") {
            all.push(vec![
                sub.get_name().to_owned(),
                nested.get_name().to_owned(),
            ]);
        }
    }
    all
}

fn help(command: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kvmguestctl"))
        .args(command)
        .arg("--help")
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert!(out.status.success(), "{command:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The example command lines of a help, continuation lines joined.
fn examples(help: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut pending = String::new();
    let section = help
        .lines()
        .skip_while(|l| *l != "Examples:")
        .skip(1)
        .take_while(|l| l.starts_with(' ') || l.is_empty());
    for line in section {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(start) => pending.push_str(start),
            None => {
                pending.push_str(line);
                lines.push(std::mem::take(&mut pending));
            }
        }
    }
    lines
}

#[test]
fn every_command_has_examples() {
    for command in commands() {
        let help = help(&command);
        assert!(
            examples(&help).iter().any(|e| e.contains("kvmguestctl")),
            "{command:?} has no examples:\n{help}"
        );
    }
}

#[test]
fn own_options_come_before_the_global_ones() {
    for command in commands().into_iter().filter(|c| !c.is_empty()) {
        let help = help(&command);
        let global = help
            .find("\nGlobal options:\n")
            .unwrap_or_else(|| panic!("{command:?}: no global options heading:\n{help}"));
        let own = help.find("\nOptions:\n").unwrap();
        assert!(own < global, "{command:?}");
        assert!(
            help.find("--config <PATH>").unwrap() > global,
            "{command:?}"
        );
        assert!(help.find("--help").unwrap() < global, "{command:?}");
    }
    let stop = help(&["stop".to_owned()]);
    assert!(stop.find("--no-kill").unwrap() < stop.find("Global options:").unwrap());
    assert!(stop.contains("Usage: kvmguestctl stop [OPTIONS] RESOURCE...\n"));
}

/// Each example's kvmguestctl words (from `kvmguestctl` to a `;`, `|`, `||`, `<` or `>`) parse.
#[test]
fn every_example_parses() {
    for command in commands() {
        for example in examples(&help(&command)) {
            let mut words = Vec::new();
            for word in example
                .split_whitespace()
                .skip_while(|w| *w != "kvmguestctl")
            {
                if ["|", "||", "<", ">", ";"].contains(&word) {
                    break;
                }
                match word.strip_suffix(';') {
                    Some(last) => {
                        words.push(last);
                        break;
                    }
                    None => words.push(word),
                }
            }
            assert!(!words.is_empty(), "{example}");
            let parsed = kvmguestctl::cli::command().try_get_matches_from(&words);
            assert!(parsed.is_ok(), "{example}: {}", parsed.unwrap_err());
        }
    }
}

/// The examples on examples/quickstart.yaml (libvirt's test driver) run as printed, from the
/// checkout's root.
#[test]
fn quickstart_examples_succeed() {
    let path = common::path_with_the_binary();
    let mut ran = 0;
    for command in commands() {
        for example in examples(&help(&command)) {
            if !example.contains("examples/quickstart.yaml") {
                continue;
            }
            let out = Command::new("sh")
                .args(["-c", &example])
                .current_dir(root())
                .env("PATH", &path)
                .env_remove("KVMGUESTCTL_CONFIG")
                .env_remove("KVMGUESTCTL_SYS")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{example}: {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            ran += 1;
        }
    }
    assert!(ran >= 8, "only {ran} quickstart examples");
}
