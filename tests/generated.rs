//! completions/ and man/ are generated from the clap definition and checked in; this fails when
//! they are stale. Regenerate with `KVMGUESTCTL_BLESS=1 cargo test --test generated`.

use std::path::{Path, PathBuf};

use roff::{Roff, bold, roman};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_owned()
}

/// Every generated file: its path under the project and its current content.
fn generated() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for (shell, name) in [
        ("bash", "kvmguestctl.bash"),
        ("zsh", "_kvmguestctl"),
        ("fish", "kvmguestctl.fish"),
    ] {
        let script = kvmguestctl::cli::names::registration(shell).unwrap();
        files.push((root().join("completions").join(name), script.into_bytes()));
    }
    let mut command = kvmguestctl::cli::command();
    // Built, the subcommands carry the global options and their bin name (`kvmguestctl stop`).
    command.build();
    files.push((
        root().join("man/kvmguestctl.1"),
        man_page(&command, "kvmguestctl"),
    ));
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let page = format!("kvmguestctl-{}", sub.get_name());
        files.push((
            root().join("man").join(format!("{page}.1")),
            man_page(sub, &page),
        ));
    }
    files
}

#[test]
fn completions_and_man_pages_are_up_to_date() {
    let bless = std::env::var_os("KVMGUESTCTL_BLESS").is_some();
    let mut stale = Vec::new();
    for (path, content) in generated() {
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &content).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(content.as_slice()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files (run KVMGUESTCTL_BLESS=1 cargo test --test generated): {stale:?}"
    );
}

/// The page of `cmd`, named `page` (`kvmguestctl-stop`): clap_mangen's NAME, SYNOPSIS,
/// DESCRIPTION, OPTIONS and SUBCOMMANDS, then EXAMPLES (the help's examples), EXIT STATUS,
/// ENVIRONMENT, FILES and SEE ALSO.
fn man_page(cmd: &clap::Command, page: &str) -> Vec<u8> {
    let mut cmd = cmd.clone().display_name(page);
    // The synopsis as the help's usage says it, in the form man pages use (`RESOURCE...`, not
    // `<RESOURCE>...`): clap_mangen's own lists every option and loses `--all`'s alternative.
    let usage = cmd.render_usage().to_string();
    let usage = usage.trim_start_matches("Usage: ").replace(['<', '>'], "");
    let cmd = cmd.override_usage(usage);
    let man = clap_mangen::Man::new(cmd.clone())
        .source(format!("kvmguestctl {}", env!("CARGO_PKG_VERSION")));
    let mut out = Vec::new();
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    man.render_synopsis_section(&mut out).unwrap();
    man.render_description_section(&mut out).unwrap();
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out).unwrap();
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut out).unwrap();
    }
    let mut roff = Roff::new();
    examples(&mut roff, &cmd);
    exit_status(&mut roff, &cmd);
    environment(&mut roff, &cmd, page == "kvmguestctl");
    files(&mut roff);
    roff.control("SH", ["SEE ALSO"]);
    let mut see = Vec::new();
    if page != "kvmguestctl" {
        see.push("kvmguestctl(1)");
    }
    see.extend(["kvmguestctl.yaml(5)", "virsh(1)"]);
    roff.text([roman(see.join(", "))]);
    out.extend(roff.render().into_bytes());
    out
}

/// The examples of the help (`# what it does` above each command line), each command set apart.
fn examples(roff: &mut Roff, cmd: &clap::Command) {
    let Some(help) = cmd.get_after_help() else {
        return;
    };
    roff.control("SH", ["EXAMPLES"]);
    let mut command = Vec::new();
    let flush = |roff: &mut Roff, command: &mut Vec<String>| {
        if !command.is_empty() {
            roff.control("RS", ["4"]).control("nf", []);
            for line in command.drain(..) {
                roff.text([roman(line)]);
            }
            roff.control("fi", []).control("RE", []);
        }
    };
    for line in help
        .to_string()
        .lines()
        .skip_while(|l| *l != "Examples:")
        .skip(1)
    {
        let line = line.strip_prefix("  ").unwrap_or(line);
        if let Some(what) = line.strip_prefix("# ") {
            flush(roff, &mut command);
            roff.control("PP", []).text([roman(what)]);
        } else {
            command.push(line.to_owned());
        }
    }
    flush(roff, &mut command);
}

fn exit_status(roff: &mut Roff, cmd: &clap::Command) {
    roff.control("SH", ["EXIT STATUS"]);
    match cmd.get_name() {
        "ocf" => {
            roff.text([roman(
                "The OCF return codes that Pacemaker reads: see DESCRIPTION and the README.",
            )]);
        }
        "vcs" => {
            roff.text([roman(
                "The codes the VCS agent framework reads: see DESCRIPTION and the README.",
            )]);
        }
        _ => {
            for line in kvmguestctl::cli::EXIT_CODES.lines().skip(1) {
                let (code, meaning) = line.trim().split_once(' ').unwrap();
                roff.control("TP", [])
                    .text([bold(code)])
                    .text([roman(meaning.trim())]);
            }
        }
    }
}

/// Every variable that sets an option of this command, and on the main page the one the
/// completion scripts set.
fn environment(roff: &mut Roff, cmd: &clap::Command, main: bool) {
    roff.control("SH", ["ENVIRONMENT"]);
    for arg in cmd.get_arguments() {
        if let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) {
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            roff.control("TP", [])
                .text([bold(env.to_string_lossy())])
                .text([roman(format!("As --{long}: {help}"))]);
        }
    }
    if main {
        roff.control("TP", [])
            .text([bold(kvmguestctl::cli::names::VAR)])
            .text([roman(
                "Set by the completion scripts when they ask the binary for candidates \
                 (bash, zsh, fish, elvish, powershell); never set it otherwise.",
            )]);
    }
}

fn files(roff: &mut Roff) {
    roff.control("SH", ["FILES"]);
    for (file, what) in [
        (
            "/etc/kvmguestctl/resources.yaml",
            "The configuration without --config or KVMGUESTCTL_CONFIG: systems and resources, \
             see kvmguestctl.yaml(5).",
        ),
        (
            "/etc/kvmguestctl/resources.d/*.yaml",
            "Merged with it, in name order.",
        ),
        (
            kvmguestctl::secret::DEFAULT_KEY_FILE,
            "The key of encrypted RHEV passwords (--key-file), mode 0600; the same on every system.",
        ),
        (
            "/var/lib/kvmguestctl/RESOURCE.migrated",
            "Written by watch when it sees a guest arrive by migration (--state-dir).",
        ),
    ] {
        roff.control("TP", [])
            .text([bold(file)])
            .text([roman(what)]);
    }
}
