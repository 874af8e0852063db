//! The corpus of bad configurations: every case under tests/bad-config/ must be rejected with
//! exactly the first error its expectation names, located to the line and column.
//!
//! A case is a file `NAME.yaml` whose first line is `# expect: LINE:COLUMN: MESSAGE`, or a
//! directory (several files merged) holding `expect.txt` with `FILE:LINE:COLUMN: MESSAGE`.
//! Paths inside messages are written relative to the case's directory.

use std::path::{Path, PathBuf};

use kvmguestctl::resource::{ConfigSource, Severity, load};

fn first_error(source: &Path) -> (PathBuf, u64, u64, String) {
    let diagnostics = load(&ConfigSource::Path(source.to_owned()))
        .expect_err(&format!("{} must be rejected", source.display()));
    let first = diagnostics
        .into_iter()
        .find(|d| d.severity == Severity::Error)
        .expect("at least one error");
    (
        first.origin.file,
        first.origin.line,
        first.origin.column,
        first.message,
    )
}

#[test]
fn every_bad_configuration_is_rejected_with_its_exact_location_and_message() {
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
            (text.trim().to_owned(), case.clone())
        } else {
            let text = std::fs::read_to_string(case).unwrap();
            let first = text.lines().next().unwrap_or_default();
            let expected = first.strip_prefix("# expect: ").unwrap_or_else(|| {
                panic!("{}: first line must be '# expect: ...'", case.display())
            });
            (expected.to_owned(), corpus.clone())
        };
        let (file, line, column, message) = first_error(case);
        let prefix = format!("{}/", base.display());
        let message = message.replace(&prefix, "");
        let got = if case.is_dir() {
            let name = file
                .strip_prefix(&base)
                .unwrap_or(&file)
                .display()
                .to_string();
            format!("{name}:{line}:{column}: {message}")
        } else {
            assert_eq!(&file, case, "the error must name the file");
            format!("{line}:{column}: {message}")
        };
        if got != expected {
            failures.push(format!(
                "{}\n  expected: {expected}\n  got:      {got}",
                case.display()
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
