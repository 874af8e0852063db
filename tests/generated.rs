//! completions/ and man/ are generated from the clap definition and checked in; this fails when
//! they are stale. Regenerate with `KVMGUESTCTL_BLESS=1 cargo test --test generated`.

use std::path::{Path, PathBuf};

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
    let command = kvmguestctl::cli::command();
    let mut pages = vec![(String::from("kvmguestctl"), command.clone())];
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        pages.push((
            format!("kvmguestctl-{}", sub.get_name()),
            sub.clone().name(format!("kvmguestctl-{}", sub.get_name())),
        ));
    }
    for (name, page) in pages {
        let mut buffer = Vec::new();
        clap_mangen::Man::new(page).render(&mut buffer).unwrap();
        files.push((root().join("man").join(format!("{name}.1")), buffer));
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
