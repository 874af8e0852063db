//! The man pages of man/ as man(1) shows them: rendered by groff without warnings, with the
//! sections an administrator looks for, and kvmguestctl.yaml(5) naming every configuration key.
//! (tests/generated.rs keeps the generated pages in step with the command definition.)

use std::path::{Path, PathBuf};
use std::process::Command;

fn man_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("man")
}

fn pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(man_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    pages
}

/// The page as text, as man(1) would format it (no bold or underline).
fn rendered(page: &Path) -> String {
    let out = Command::new("groff")
        .args(["-ww", "-man", "-Tascii", "-P-cbou"])
        .arg(page)
        .output()
        .expect("groff cannot run: run scripts/setup");
    assert!(out.status.success(), "{}", page.display());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_page_renders_without_warnings() {
    assert!(pages().len() > 10);
    for page in pages() {
        let out = Command::new("groff")
            .args(["-ww", "-man", "-z"])
            .arg(&page)
            .output()
            .expect("groff cannot run: run scripts/setup");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}: {}",
            page.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_command_page_has_the_usual_sections() {
    for page in pages()
        .iter()
        .filter(|p| p.extension() == Some("1".as_ref()))
    {
        let text = rendered(page);
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "EXAMPLES",
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "SEE ALSO",
        ] {
            assert!(
                text.lines().any(|l| l == section),
                "{}: no {section}",
                page.display()
            );
        }
    }
}

#[test]
fn synopses_read_as_the_command_is_typed() {
    let text = rendered(&man_dir().join("kvmguestctl-stop.1"));
    let synopsis: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "SYNOPSIS")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(
        synopsis,
        [
            "kvmguestctl stop [OPTIONS] RESOURCE...",
            "kvmguestctl stop [OPTIONS] --all"
        ]
    );
    let text = rendered(&man_dir().join("kvmguestctl-migrate.1"));
    assert!(text.contains("kvmguestctl migrate [OPTIONS] --to SYSTEM RESOURCE..."));
}

/// The configuration page is written by hand: it must still name every key the loader accepts.
#[test]
fn the_configuration_page_names_every_key_of_the_yaml() {
    let raw =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/resource/raw.rs"))
            .unwrap();
    let mut keys = vec![
        "type".to_owned(),
        "systems".to_owned(),
        "resources".to_owned(),
    ];
    let mut in_raw_struct = false;
    for line in raw.lines() {
        if line.starts_with("pub(super) struct Raw") {
            in_raw_struct = true;
        } else if line.starts_with('}') {
            in_raw_struct = false;
        } else if let Some(field) = line.trim().strip_prefix("pub ").filter(|_| in_raw_struct) {
            keys.push(field.split(':').next().unwrap().to_owned());
        }
    }
    assert!(keys.len() > 30, "{keys:?}");
    let page = std::fs::read_to_string(man_dir().join("kvmguestctl.yaml.5")).unwrap();
    let bold: Vec<&str> = page
        .lines()
        .filter_map(|l| l.strip_prefix(".B ").or_else(|| l.strip_prefix(".BR ")))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    for key in &keys {
        assert!(
            bold.contains(&key.as_str()),
            "kvmguestctl.yaml.5 does not describe {key}"
        );
    }
}
