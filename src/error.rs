//! Errors of the core, the exit codes they map to, and the one rule that decides a command's
//! exit code from its results.

use serde::Serialize;

/// The documented exit codes. Scripts and cluster engines depend on these numbers: never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: the command did what was asked.
    Success = 0,
    /// 1: the operation was tried and failed (the guest did not come online, did not stop, ...).
    Failed = 1,
    /// 2: bad command line or bad configuration (YAML, validation errors).
    Usage = 2,
    /// 3: a resource name that is not configured, or a guest that is not defined where needed.
    Unknown = 3,
    /// 4: a hypervisor could not be reached or did not answer in time.
    Unreachable = 4,
    /// 5: refused for safety (the guest runs elsewhere, confirmation missing or declined).
    Refused = 5,
    /// 6: a guest runs on more than one system at once (concurrency violation).
    Concurrency = 6,
    /// 7: a guest's definitions differ between systems or SyncDir (`vmconfigsync --check`).
    Diverged = 7,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The one rule for a command over several resources (each is tried whatever the others
    /// gave): a concurrency violation (6), then a divergence (7), found anywhere, is the worst
    /// news and is said first; otherwise the first failure, in the order the resources were
    /// named; success when nothing failed.
    pub fn of(exits: impl IntoIterator<Item = Exit>) -> Exit {
        let failures: Vec<Exit> = exits.into_iter().filter(|e| *e != Exit::Success).collect();
        [Exit::Concurrency, Exit::Diverged]
            .into_iter()
            .find(|worst| failures.contains(worst))
            .or_else(|| failures.first().copied())
            .unwrap_or(Exit::Success)
    }
}

/// In JSON, an exit code is its number.
impl Serialize for Exit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

/// A result of the core as a command shows it: rows of a table, and the exit code it implies on
/// its own (a concurrency violation, a divergence, a system that could not be asked).
pub trait Outcome {
    /// The table's column names.
    const COLUMNS: &'static [&'static str];
    fn rows(&self) -> Vec<Vec<String>>;
    fn exit(&self) -> Exit {
        Exit::Success
    }
    /// One line for each cause of a non-zero [`Outcome::exit`] (a system that could not be asked,
    /// copies that differ): said on stderr also under `-q`, so that cron never mails an exit code
    /// alone.
    fn alerts(&self) -> Vec<String> {
        Vec::new()
    }
    /// The result as a whole is alarming (a guest running twice): its rows stand out on a
    /// terminal.
    fn alarm(&self) -> bool {
        false
    }
}

/// One error type for the core; every variant knows its exit code.
#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// Configuration problems; the message already carries file, line and column.
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Unknown(String),
    #[error("{system}: cannot reach {uri}: {detail}")]
    Unreachable {
        system: String,
        uri: String,
        detail: String,
    },
    #[error(
        "{system}: {what} did not answer within {seconds} s (is the hypervisor or engine hung?){then}"
    )]
    Timeout {
        system: String,
        what: String,
        seconds: u64,
        /// What was learnt afterwards ("; ..."), or nothing.
        then: String,
    },
    #[error("{0}")]
    Refused(String),
    /// A guest found running on more than one system.
    #[error("{0}")]
    Concurrency(String),
    #[error("{0}")]
    Failed(String),
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::Config(_) | Error::Usage(_) => Exit::Usage,
            Error::Unknown(_) => Exit::Unknown,
            Error::Unreachable { .. } | Error::Timeout { .. } => Exit::Unreachable,
            Error::Refused(_) => Exit::Refused,
            Error::Concurrency(_) => Exit::Concurrency,
            Error::Failed(_) => Exit::Failed,
        }
    }

    /// The same error, its message followed by `more` (what the caller learnt since).
    pub fn amended(self, more: &str) -> Error {
        let add = |s: String| format!("{s}; {more}");
        match self {
            Error::Config(s) => Error::Config(add(s)),
            Error::Usage(s) => Error::Usage(add(s)),
            Error::Unknown(s) => Error::Unknown(add(s)),
            Error::Unreachable {
                system,
                uri,
                detail,
            } => Error::Unreachable {
                system,
                uri,
                detail: add(detail),
            },
            Error::Timeout {
                system,
                what,
                seconds,
                then,
            } => Error::Timeout {
                system,
                what,
                seconds,
                then: add(then),
            },
            Error::Refused(s) => Error::Refused(add(s)),
            Error::Concurrency(s) => Error::Concurrency(add(s)),
            Error::Failed(s) => Error::Failed(add(s)),
        }
    }

    /// A short stable name of the error's class, for JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Usage(_) => "usage",
            Error::Unknown(_) => "unknown",
            Error::Unreachable { .. } => "unreachable",
            Error::Timeout { .. } => "timeout",
            Error::Refused(_) => "refused",
            Error::Concurrency(_) => "concurrency",
            Error::Failed(_) => "failed",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An I/O error in the system's words, without Rust's " (os error N)" tail, which tells an
/// administrator nothing the words do not.
pub fn io(e: &std::io::Error) -> String {
    let text = e.to_string();
    match (text.rfind(" (os error "), text.ends_with(')')) {
        (Some(tail), true) => text[..tail].to_owned(),
        _ => text,
    }
}

/// How much of a message about someone else's text is kept: such messages quote that text (a
/// mismatched end tag quotes everything up to the next `>`, an unknown key is quoted whole), which
/// can be megabytes. The longest message of our own is about half of this.
const MESSAGE_LIMIT: usize = 500;

/// A message about text from outside (a configuration, a definition, an engine's answer) as one
/// line that stays readable in a log and in a cluster engine's one-line reason: line breaks and
/// other control characters escaped, cut after [`MESSAGE_LIMIT`] characters.
pub fn one_line(message: &str) -> String {
    let mut line = String::new();
    for (n, c) in message.chars().enumerate() {
        if n == MESSAGE_LIMIT {
            line.push_str("...");
            break;
        }
        if c.is_control() {
            line.extend(c.escape_default());
        } else {
            line.push(c);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::Exit::*;
    use super::*;

    #[test]
    fn a_quoted_message_is_one_bounded_line() {
        assert_eq!(
            one_line("expected `</a>`, found `</\nb\0>`"),
            "expected `</a>`, found `</\\nb\\u{0}>`"
        );
        let long = one_line(&"é".repeat(10_000));
        assert_eq!(long.chars().count(), MESSAGE_LIMIT + 3);
        assert!(long.ends_with("éé..."));
    }

    #[test]
    fn io_errors_lose_their_os_error_tail() {
        let missing = std::fs::read("/nonexistent/kvmguestctl").unwrap_err();
        assert_eq!(io(&missing), "No such file or directory");
        let custom = std::io::Error::other("short write (os error nowhere");
        assert_eq!(io(&custom), "short write (os error nowhere");
    }

    #[test]
    fn the_exit_rule() {
        assert_eq!(Exit::of([]), Success);
        assert_eq!(Exit::of([Success, Success]), Success);
        assert_eq!(Exit::of([Success, Unreachable, Refused]), Unreachable);
        assert_eq!(Exit::of([Refused, Failed]), Refused);
        assert_eq!(Exit::of([Unreachable, Diverged]), Diverged);
        assert_eq!(Exit::of([Failed, Diverged, Concurrency]), Concurrency);
    }
}
