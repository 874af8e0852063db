//! The corpus of bad configurations: every case under tests/bad-config/ must be rejected with
//! exactly the errors its expectation names, all of them, in order, located to the line and
//! column (one run reports every error of a file).
//!
//! A case is a file `NAME.yaml` whose first lines are `# expect: LINE:COLUMN: MESSAGE`, one per
//! error, or a directory (several files merged) holding `expect.txt` with one
//! `FILE:LINE:COLUMN: MESSAGE` per line. Paths inside messages are written relative to the case's
//! directory.

use std::path::{Path, PathBuf};

use kvmguestctl::resource::{ConfigSource, Diagnostic, Severity, load};

fn errors(source: &Path) -> Vec<Diagnostic> {
    load(&ConfigSource::Path(source.to_owned()))
        .expect_err(&format!("{} must be rejected", source.display()))
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
}

#[test]
fn every_bad_configuration_is_rejected_with_its_exact_locations_and_messages() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-config");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    let mut failures = Vec::new();
    for case in &cases {
        let (expected, base) = if case.is_dir() {
            let text = std::fs::read_to_string(case.join("expect.txt")).unwrap();
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            (lines, case.clone())
        } else {
            let text = std::fs::read_to_string(case).unwrap();
            let lines: Vec<String> = text
                .lines()
                .map_while(|l| l.strip_prefix("# expect: "))
                .map(str::to_owned)
                .collect();
            assert!(
                !lines.is_empty(),
                "{}: first line must be '# expect: ...'",
                case.display()
            );
            (lines, corpus.clone())
        };
        let prefix = format!("{}/", base.display());
        let got: Vec<String> = errors(case)
            .into_iter()
            .map(|d| {
                let message = d.message.replace(&prefix, "");
                let (line, column) = (d.origin.line, d.origin.column);
                if case.is_dir() {
                    let file = &d.origin.file;
                    let name = file
                        .strip_prefix(&base)
                        .unwrap_or(file)
                        .display()
                        .to_string();
                    format!("{name}:{line}:{column}: {message}")
                } else {
                    assert_eq!(&d.origin.file, case, "the error must name the file");
                    format!("{line}:{column}: {message}")
                }
            })
            .collect();
        if got != expected {
            failures.push(format!(
                "{}\n  expected: {}\n  got:      {}",
                case.display(),
                expected.join("\n            "),
                got.join("\n            ")
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert!(
        cases.len() >= 20,
        "the corpus must hold at least 20 cases, it holds {}",
        cases.len()
    );
}
