//! Shell completion of resource and system names from the configuration in effect.
//!
//! The scripts in completions/ are clap_complete's dynamic registrations: at every TAB the shell
//! runs `kvmguestctl` with `KVMGUESTCTL_COMPLETE=SHELL` and the words typed so far, and the binary
//! answers from its own clap definition. So flags and subcommands always match the installed
//! binary, and the candidates for a RESOURCE or a SYSTEM are the names in the configuration that
//! the command being typed would read: its `--config`, else `KVMGUESTCTL_CONFIG`, else the
//! default paths.

use std::ffi::OsString;
use std::path::PathBuf;

use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::CompleteEnv;

use crate::resource::{self, Config, ConfigSource};

/// The variable that turns a run into a completion request. Not clap's default `COMPLETE`: a
/// variable of that common name, set for any other reason in a cron job's or a cluster agent's
/// environment, would turn every run of the agent into a failed completion request.
pub const VAR: &str = "KVMGUESTCTL_COMPLETE";

/// The command the scripts complete and run: found on PATH, so that the checked-in scripts name
/// no build or install directory.
const BIN: &str = "kvmguestctl";

/// Answer the shell and exit when this run is a completion request; return at once otherwise.
pub fn answer_completion_request() {
    CompleteEnv::with_factory(super::command)
        .var(VAR)
        .bin(BIN)
        .completer(BIN)
        .complete();
}

/// The script that registers completion in `shell` (one of clap_complete's shells).
pub fn registration(shell: &str) -> Option<String> {
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells.completer(shell)?;
    let mut buffer = Vec::new();
    completer
        .write_registration(VAR, BIN, BIN, BIN, &mut buffer)
        .ok()?;
    let mut script = String::from_utf8_lossy(&buffer).into_owned();
    if shell == "zsh" {
        // clap's zsh registration defines the completion function and binds it with compdef,
        // which works when the file is sourced. Installed as `_kvmguestctl` in $fpath, compinit
        // runs the file's body as the function itself at the first TAB: it must then also
        // complete, or the first TAB of every shell offers nothing.
        script.push_str(
            "if [[ $funcstack[1] == _kvmguestctl ]]; then\n    \
             _clap_dynamic_completer_kvmguestctl \"$@\"\nfi\n",
        );
    }
    Some(script)
}

/// Completes a RESOURCE: the resource names, each with its guest and systems as help.
pub fn resources() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        let Some(config) = config_in_effect() else {
            return Vec::new();
        };
        config
            .resources
            .values()
            .map(|r| {
                let help = format!("{} on {}", r.guest_name, r.systems.join(", "));
                CompletionCandidate::new(&r.name).help(Some(help.into()))
            })
            .collect()
    })
}

/// Completes a SYSTEM: the system names, each with its hypervisor URI as help.
pub fn systems() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        let Some(config) = config_in_effect() else {
            return Vec::new();
        };
        config
            .systems
            .values()
            .map(|s| {
                let help = s.uri.clone().or_else(|| s.rhev_host.clone());
                CompletionCandidate::new(&s.name).help(help.map(Into::into))
            })
            .collect()
    })
}

/// The configuration the command being completed would read, if it loads without errors. A
/// broken or missing configuration gives no candidates rather than a message in the middle of
/// the user's line.
fn config_in_effect() -> Option<Config> {
    let source = source(
        std::env::args_os(),
        std::env::var_os("KVMGUESTCTL_CONFIG"),
        std::env::var_os("HOME"),
    )?;
    resource::load(&source).ok()
}

/// Where the configuration comes from for a completion request: `args` are this process's
/// arguments (`kvmguestctl -- kvmguestctl WORDS...`, the words as typed). None when the path is
/// neither a regular file nor a directory: a FIFO or a terminal (`--config /dev/stdin`) would
/// block the shell at every TAB.
fn source(
    args: impl IntoIterator<Item = OsString>,
    env: Option<OsString>,
    home: Option<OsString>,
) -> Option<ConfigSource> {
    let typed = typed_config(args.into_iter().skip_while(|a| a != "--").skip(2));
    let path = match typed.or(env.filter(|v| !v.is_empty())) {
        Some(path) => expand(path, home),
        None => return Some(ConfigSource::Default),
    };
    let meta = std::fs::metadata(&path).ok()?;
    (meta.is_file() || meta.is_dir()).then_some(ConfigSource::Path(path))
}

/// The value of the last `--config PATH` or `--config=PATH` among the typed words, up to a `--`
/// that ends the options.
fn typed_config(words: impl Iterator<Item = OsString>) -> Option<OsString> {
    let mut found = None;
    let mut words = words.take_while(|w| w != "--");
    while let Some(word) = words.next() {
        let word = word.to_string_lossy().into_owned();
        if word == "--config" {
            // bash splits `--config=PATH` at the `=` (COMP_WORDBREAKS): `--config`, `=`, `PATH`.
            found = words.next().filter(|w| w != "=").or_else(|| words.next());
        } else if let Some(value) = word.strip_prefix("--config=") {
            found = Some(value.into());
        }
    }
    found
}

/// The path a shell would pass for a word as typed: bash and zsh give the completer the words
/// unexpanded, so quotes around the whole word and a leading `~/` are undone here.
fn expand(word: OsString, home: Option<OsString>) -> PathBuf {
    let text = word.to_string_lossy();
    let unquoted = ['"', '\'']
        .iter()
        .find_map(|q| {
            text.strip_prefix(*q)
                .and_then(|t| t.strip_suffix(*q))
                .filter(|_| text.len() >= 2)
        })
        .unwrap_or(&text);
    match (unquoted.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(unquoted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<OsString> {
        ["kvmguestctl", "--"]
            .into_iter()
            .chain(line.split(' '))
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn the_typed_config_wins_over_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let typed = dir.path().join("typed.yaml");
        std::fs::write(&typed, "").unwrap();
        let line = format!("kvmguestctl --config {} status w", typed.display());
        let got = source(words(&line), Some("/elsewhere.yaml".into()), None);
        assert!(matches!(got, Some(ConfigSource::Path(p)) if p == typed));
        let line = format!("kvmguestctl status --config={} w", typed.display());
        let got = source(words(&line), None, None);
        assert!(matches!(got, Some(ConfigSource::Path(p)) if p == typed));
        let line = format!("kvmguestctl --config = {} status w", typed.display());
        let got = source(words(&line), None, None);
        assert!(matches!(got, Some(ConfigSource::Path(p)) if p == typed));
    }

    #[test]
    fn without_a_typed_config_the_environment_then_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("env.yaml");
        std::fs::write(&env, "").unwrap();
        let got = source(
            words("kvmguestctl status w"),
            Some(env.clone().into()),
            None,
        );
        assert!(matches!(got, Some(ConfigSource::Path(p)) if p == env));
        let got = source(words("kvmguestctl status w"), Some("".into()), None);
        assert!(matches!(got, Some(ConfigSource::Default)));
    }

    #[test]
    fn words_after_a_double_dash_are_not_options() {
        let got = typed_config(
            words("kvmguestctl status -- --config x")
                .into_iter()
                .skip(3),
        );
        assert_eq!(got, None);
    }

    #[test]
    fn quotes_and_a_tilde_are_undone() {
        let home = Some(OsString::from("/home/admin"));
        assert_eq!(
            expand("'~/a b.yaml'".into(), home.clone()),
            PathBuf::from("/home/admin/a b.yaml")
        );
        assert_eq!(expand("\"x.yaml\"".into(), home), PathBuf::from("x.yaml"));
        assert_eq!(expand("'".into(), None), PathBuf::from("'"));
    }

    #[test]
    fn a_path_that_could_block_gives_nothing() {
        assert!(source(words("kvmguestctl --config /dev/null status w"), None, None).is_none());
        assert!(
            source(
                words("kvmguestctl --config /nonexistent status w"),
                None,
                None
            )
            .is_none()
        );
    }
}
