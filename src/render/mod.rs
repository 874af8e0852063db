//! Everything kvmguestctl prints: tables or JSON on stdout, progress, questions, warnings and
//! errors on stderr. Nothing else in the crate writes to a terminal.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use comfy_table::{Table, presets};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::agent::Console;
use crate::error::{Error, Exit, Outcome, Result};

/// The `-o` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people (and `awk`).
    Table,
    /// One JSON document, documented and stable, for scripts.
    Json,
}

/// How this invocation prints.
#[derive(Debug, Clone)]
pub struct Output {
    pub format: Format,
    pub quiet: bool,
    /// `--yes`: questions are answered yes without asking.
    pub yes: bool,
    /// stderr is a terminal: progress is drawn there.
    pub progress: bool,
    /// stdin and stderr are a terminal: a person can be asked.
    pub interactive: bool,
}

impl Output {
    pub fn new(format: Format, quiet: bool, yes: bool) -> Output {
        let stderr_tty = std::io::stderr().is_terminal();
        Output {
            format,
            quiet,
            yes,
            progress: stderr_tty && !quiet,
            interactive: stderr_tty && std::io::stdin().is_terminal(),
        }
    }

    /// Print a result: `rows` as a table, or `value` as JSON.
    pub fn emit<T: Serialize>(&self, value: &T, header: &[&str], rows: Vec<Vec<String>>) {
        if self.quiet {
            return;
        }
        match self.format {
            Format::Json => self.json(value),
            Format::Table => {
                let mut table = Table::new();
                table.load_style(presets::NOTHING);
                table.set_header(header.to_vec());
                for row in rows {
                    table.add_row(row);
                }
                let text = table
                    .lines()
                    .map(|l| l.trim_end().to_owned())
                    .collect::<Vec<_>>()
                    .join("\n");
                self.raw(&format!("{text}\n"));
            }
        }
    }

    /// Print results: their rows as one table, or `document` (which holds them) as JSON.
    pub fn outcomes<T: Outcome>(&self, document: &impl Serialize, results: &[T]) {
        let rows = results.iter().flat_map(Outcome::rows).collect();
        self.emit(document, T::COLUMNS, rows);
    }

    fn json<T: Serialize>(&self, value: &T) {
        let text = serde_json::to_string_pretty(value)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        self.raw(&format!("{text}\n"));
    }

    /// One line of a stream (watch): compact JSON with `-o json`, else `text`; flushed at once so
    /// that log shippers and pipes see it immediately.
    pub fn line<T: Serialize>(&self, value: &T, text: &str) {
        if self.quiet {
            return;
        }
        let line = match self.format {
            Format::Json => {
                serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
            }
            Format::Table => text.to_owned(),
        };
        self.raw(&format!("{line}\n"));
    }

    /// Text that belongs to the result (a diff after its table), unless `-q`.
    pub fn text(&self, text: &str) {
        if !self.quiet {
            self.raw(text);
        }
    }

    /// Text that is already formatted (completion scripts).
    pub fn raw(&self, text: &str) {
        document(text);
    }

    /// A line for the person at the terminal, on stderr, unless `-q`.
    pub fn note(&self, message: &str) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }

    /// A warning, on stderr, even with `-q`: something is wrong and a person must know.
    pub fn warn(&self, message: &str) {
        eprintln!("kvmguestctl: warning: {message}");
    }

    /// A command's failure: on stderr always, and as the one JSON document on stdout with `-o json`.
    pub fn error(&self, e: &Error) {
        self.error_text(e);
        if self.format == Format::Json && !self.quiet {
            #[derive(Serialize)]
            struct Document {
                error: Failure,
            }
            self.json(&Document {
                error: Failure::new(None, e),
            });
        }
    }

    /// A failure on stderr only: for one resource of several, whose failure goes into the
    /// command's one JSON document as a [`Failure`].
    pub fn error_text(&self, e: &Error) {
        for line in e.to_string().lines() {
            eprintln!("kvmguestctl: error: {line}");
        }
    }

    /// A secret typed at the terminal (not echoed, asked twice), or the first line of stdin
    /// when it is not a terminal (for scripts: `... | kvmguestctl encrypt`).
    pub fn secret(&self, prompt: &str) -> Result<crate::secret::Secret> {
        use crate::secret::Secret;
        let value = if std::io::stdin().is_terminal() {
            dialoguer::Password::new()
                .with_prompt(prompt)
                .with_confirmation("Again", "The two entries differ")
                .interact()
                .map(Secret::new)
                .map_err(|e| Error::Failed(format!("cannot read the password: {e}")))?
        } else {
            // Kept in a Secret from the start, so that the buffer read into is wiped too.
            // Room enough that reading never moves (and so copies) the buffer.
            let mut line = Secret::new(String::with_capacity(4096));
            line.read_line_from(&mut std::io::stdin().lock())
                .map_err(|e| Error::Failed(format!("cannot read the password from stdin: {e}")))?;
            line.first_line()
        };
        if value.expose().is_empty() {
            return Err(Error::Usage("the password is empty".to_owned()));
        }
        Ok(value)
    }

    pub fn console(&self) -> TermConsole<'_> {
        TermConsole {
            output: self,
            bar: Mutex::new(None),
        }
    }
}

/// A failure as JSON: `{"resource", "exit_code", "kind", "message"}` (no resource for a command's
/// own failure).
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    pub exit_code: Exit,
    pub kind: &'static str,
    pub message: String,
}

impl Failure {
    pub fn new(resource: Option<&str>, e: &Error) -> Failure {
        Failure {
            resource: resource.map(str::to_owned),
            exit_code: e.exit(),
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// The core's [`Console`] on a terminal (or on a pipe, where it draws nothing and never asks).
pub struct TermConsole<'a> {
    output: &'a Output,
    bar: Mutex<Option<ProgressBar>>,
}

impl TermConsole<'_> {
    fn clear_bar(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for TermConsole<'_> {
    fn drop(&mut self) {
        self.clear_bar();
    }
}

impl Console for TermConsole<'_> {
    fn step(&self, message: &str) {
        self.clear_bar();
        self.output.note(message);
    }

    fn tick(&self, message: &str, elapsed: Duration, limit: Duration) {
        if !self.output.progress {
            return;
        }
        let mut bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        let bar = bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(limit.as_millis() as u64);
            let style = ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        bar.set_message(message.to_owned());
        bar.set_position(elapsed.as_millis() as u64);
    }

    fn transfer(&self, message: &str, done: u64, total: u64) {
        if !self.output.progress || total == 0 {
            return;
        }
        let mut bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        let bar = bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(total);
            let style =
                ProgressStyle::with_template("{spinner} [{bar:30}] {bytes}/{total_bytes} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        bar.set_length(total);
        bar.set_position(done);
        bar.set_message(message.to_owned());
    }

    fn confirm(&self, question: &str) -> Result<()> {
        if self.output.yes {
            return Ok(());
        }
        if !self.output.interactive {
            return Err(Error::Refused(format!(
                "{question} This needs confirmation and there is no terminal to ask on: pass --yes"
            )));
        }
        self.clear_bar();
        let answer = dialoguer::Confirm::new()
            .with_prompt(question)
            .default(false)
            .interact()
            .map_err(|e| Error::Refused(format!("{question} not confirmed: {e}")))?;
        if answer {
            Ok(())
        } else {
            Err(Error::Refused(format!("{question} declined")))
        }
    }
}

/// A document on stdout as it is (completion scripts, an agent's meta-data).
pub fn document(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// How the agent front ends speak to a cluster engine: one plain line per step on stderr, which
/// the engine keeps in its log (`KVMGuest(web)[4242]: INFO: starting web01 on a` for Pacemaker,
/// `KVMGuest:web:online: INFO: ...` for VCS); no prompts, no progress, no terminal codes. The
/// engine is the operator, so what a person would be asked to confirm is already decided.
pub struct AgentLog {
    tag: String,
}

impl AgentLog {
    /// `tag` begins every line: the agent and what it is acting on, in the engine's style.
    pub fn new(tag: String) -> AgentLog {
        AgentLog { tag }
    }

    pub fn info(&self, message: &str) {
        self.line("INFO", message);
    }

    pub fn warn(&self, message: &str) {
        self.line("WARNING", message);
    }

    pub fn error(&self, message: &str) {
        self.line("ERROR", message);
    }

    fn line(&self, level: &str, message: &str) {
        // A message may carry several lines (every YAML diagnostic): each is a log line of its own.
        for text in message.lines() {
            eprintln!("{}: {level}: {text}", self.tag);
        }
    }
}

impl Console for AgentLog {
    fn step(&self, message: &str) {
        self.info(message);
    }

    fn tick(&self, _: &str, _: Duration, _: Duration) {}

    fn confirm(&self, _: &str) -> Result<()> {
        Ok(())
    }

    fn transfer(&self, _: &str, _: u64, _: u64) {}
}

/// `-v`: every hypervisor call and its duration, on stderr.
pub fn init_logging(verbose: bool) {
    struct Stderr;
    impl log::Log for Stderr {
        fn enabled(&self, _: &log::Metadata) -> bool {
            true
        }
        fn log(&self, record: &log::Record) {
            if record.target().starts_with("kvmguestctl") {
                eprintln!(
                    "kvmguestctl: {}: {}",
                    record.level().as_str().to_lowercase(),
                    record.args()
                );
            }
        }
        fn flush(&self) {}
    }
    static LOGGER: Stderr = Stderr;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(if verbose {
            log::LevelFilter::Debug
        } else {
            log::LevelFilter::Warn
        });
    }
}
