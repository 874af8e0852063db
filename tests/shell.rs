//! The administrator's shell without a terminal (cron, pipes, awk): what `-q` still says, the
//! TSV and JSON for scripts, colours on request, and the small words of `start` and `display`.
//! tests/pty.rs has the same binary in a real terminal.

use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;
use common::{fixtures, kvm, run_json};

fn every_state() -> PathBuf {
    fixtures().join("every-state.yaml")
}

fn quickstart() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart.yaml")
}

/// Two resources sharing a system that cannot be reached.
fn one_system_unreachable() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resources.yaml");
    std::fs::write(
        &path,
        format!(
            "systems:\n  a: {{ uri: 'test://{}/node-a.xml' }}\n  \
             gone: {{ uri: 'qemu+unix:///system?socket=/nonexistent/libvirt-sock' }}\n\
             resources:\n  r: {{ type: KVMGuest, systems: [a, gone], GuestName: running01 }}\n  \
             s: {{ type: KVMGuest, systems: [a, gone], GuestName: paused01 }}\n",
            fixtures().display()
        ),
    )
    .unwrap();
    (dir, path)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn quiet_says_an_unreachable_system_once_on_stderr() {
    let (_dir, path) = one_system_unreachable();
    let out = kvm(&path).args(["-q", "status", "--all"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(text(&out.stdout), "");
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line for the one system: {stderr}");
    assert!(
        lines[0].starts_with("kvmguestctl: error: gone: cannot reach qemu+unix:///system"),
        "{stderr}"
    );
}

#[test]
fn quiet_never_suppresses_the_json_document() {
    let (_dir, path) = one_system_unreachable();
    let ran = run_json(kvm(&path).args(["-q", "status", "--all"]));
    assert_eq!(ran.code, 4);
    assert_eq!(ran.doc["resources"][1]["systems"][1]["state"], "UNKNOWN");
    assert!(ran.stderr.contains("gone: cannot reach"), "{}", ran.stderr);

    let ran = run_json(kvm(&every_state()).args(["-q", "status", "nosuch"]));
    assert_eq!(ran.code, 3);
    assert_eq!(ran.doc["error"]["kind"], "unknown");
}

#[test]
fn usage_errors_give_a_json_document_with_o_json() {
    for args in [
        &["-q", "stop"][..],
        &["status", "--bogus", "running"],
        &["--timeout", "0", "status", "running"],
    ] {
        let ran = run_json(kvm(&every_state()).args(args));
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert_eq!(ran.doc["error"]["kind"], "usage", "{args:?}");
        assert_eq!(ran.doc["error"]["exit_code"], 2);
        let message = ran.doc["error"]["message"].as_str().unwrap();
        assert!(
            !message.is_empty() && !message.starts_with("error"),
            "{message}"
        );
        assert!(
            ran.stderr.starts_with("error: "),
            "clap's own message: {}",
            ran.stderr
        );
    }
    // Help is not an error: clap prints it and nothing else.
    let out = kvm(&every_state())
        .args(["-o", "json", "status", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("Show where"));
}

#[test]
fn quiet_says_a_refusal_and_a_divergence_on_stderr() {
    let out = kvm(&every_state())
        .args(["-q", "--sys", "a", "stop", "running"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "kvmguestctl: refused: Shut down running01 on a: this needs confirmation and there is \
         no terminal to ask on: pass --yes\n"
    );

    let drifted = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/drifted.yaml");
    let out = kvm(&drifted)
        .args(["-q", "vmconfigsync", "--check", "web_vm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "kvmguestctl: error: web_vm: the definitions of web01 do not agree: node2 differs\n"
    );
}

#[test]
fn tsv_is_one_row_per_line_with_a_value_in_every_field() {
    let out = kvm(&every_state())
        .args(["-o", "tsv", "status", "--all"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "twice runs twice");
    let stdout = text(&out.stdout);
    let rows: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(
        rows[0],
        [
            "RESOURCE",
            "SYSTEM",
            "STATE",
            "CONFIDENCE",
            "HYPERVISOR",
            "WHY"
        ]
    );
    for row in &rows {
        assert_eq!(row.len(), 6, "{row:?}");
        assert!(row.iter().all(|f| !f.is_empty()), "{row:?}");
    }
    assert!(rows.contains(&vec![
        "crashed",
        "a",
        "FAULTED",
        "-",
        "crashed (unknown)",
        "-"
    ]));
    assert!(rows.contains(&vec![
        "elsewhere",
        "a",
        "INTENTIONAL OFFLINE",
        "-",
        "shut off (unknown)",
        "running on b"
    ]));
    assert!(!stdout.contains('\x1b'), "no colour into a pipe");

    let out = kvm(&every_state())
        .args(["-o", "tsv", "--no-headers", "status", "crashed"])
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout),
        "crashed\ta\tFAULTED\t-\tcrashed (unknown)\t-\n"
    );
}

#[test]
fn tables_show_a_dash_in_empty_cells_and_never_wrap_into_a_pipe() {
    let out = kvm(&every_state())
        .args(["--no-headers", "status", "crashed", "undefined"])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["crashed", "a", "FAULTED", "-", "crashed", "(unknown)", "-"],
            vec![
                "undefined",
                "a",
                "OFFLINE",
                "-",
                "-",
                "nowhere01",
                "is",
                "not",
                "defined",
                "here"
            ],
        ]
    );
}

#[test]
fn colour_on_request_and_never_by_default_into_a_pipe() {
    const RED: &str = "\x1b[38;5;9m";
    let status = |color: Option<&str>, no_color: bool| {
        let mut cmd = kvm(&every_state());
        cmd.env_remove("NO_COLOR");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        if let Some(when) = color {
            cmd.args(["--color", when]);
        }
        let out = cmd.args(["status", "crashed", "twice"]).output().unwrap();
        text(&out.stdout)
    };
    let always = status(Some("always"), false);
    assert!(always.contains(&format!("{RED}FAULTED")), "{always:?}");
    // A concurrency violation: its rows' states in bold red.
    assert!(
        always.contains(&format!("{RED}\x1b[1mONLINE")),
        "{always:?}"
    );
    // The flag is the user's latest word: it wins over NO_COLOR (no-color.org).
    assert!(status(Some("always"), true).contains(&format!("{RED}FAULTED")));
    for (color, no_color) in [(None, false), (Some("auto"), false), (Some("never"), false)] {
        let plain = status(color, no_color);
        assert!(!plain.contains('\x1b'), "{color:?}: {plain:?}");
        assert!(plain.contains("FAULTED"));
    }
}

#[test]
fn start_of_a_paused_guest_says_it_is_paused_and_how_to_resume_it() {
    let ran = run_json(kvm(&every_state()).args(["--sys", "a", "start", "paused"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let result = &ran.doc["results"][0];
    assert_eq!(result["action"], "already-online");
    assert_eq!(result["confidence"], 20);
    let detail = result["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("paused01 is paused on a (paused, "),
        "{detail}"
    );
    assert!(
        detail.ends_with(&format!(
            "resume it with `virsh -c 'test://{}/node-a.xml' resume paused01`",
            fixtures().display()
        )),
        "{detail}"
    );
    let ran = run_json(kvm(&every_state()).args(["--sys", "a", "start", "running"]));
    assert_eq!(
        ran.doc["results"][0]["detail"],
        "running01 already runs on a (running, unknown)"
    );
}

#[test]
fn display_shows_every_unset_value_as_none() {
    let out = kvm(&quickstart())
        .args(["-o", "tsv", "--no-headers", "display", "web_vm"])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    let values: Vec<(&str, &str)> = stdout
        .lines()
        .map(|l| {
            let fields: Vec<&str> = l.split('\t').collect();
            (fields[1], fields[2])
        })
        .collect();
    for name in [
        "SyncDir",
        "GuestConfigFilePath",
        "CEInfo.CESystem",
        "DROpts.IPAddress",
    ] {
        assert!(values.contains(&(name, "NONE")), "{name}: {stdout}");
    }
    assert!(
        values.iter().all(|(_, v)| !v.is_empty() && *v != "-"),
        "{stdout}"
    );
    let doc: Value = run_json(kvm(&quickstart()).args(["display", "web_vm"])).doc;
    assert_eq!(doc["resources"][0]["SyncDir"], Value::Null);
}
