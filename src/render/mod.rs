//! Everything kvmguestctl prints: tables or JSON on stdout, progress, questions, warnings and
//! errors on stderr. Nothing else in the crate writes to a terminal.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use comfy_table::{
    Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table, Width, presets,
};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::agent::Console;
use crate::error::{Error, Exit, Outcome, Result};

/// The `-o` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people, fitted to the terminal's width
    Table,
    /// One JSON document, documented and stable, for scripts
    Json,
    /// The table's columns separated by tabs, one row per line, never wrapped, for awk and cut
    Tsv,
}

/// The `--color` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal and NO_COLOR is unset or empty
    Auto,
    /// Always, also into a pipe or file, and whatever NO_COLOR says
    Always,
    /// Never
    Never,
}

impl ColorChoice {
    /// Whether tables on stdout are coloured.
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => {
                // A flag on the command line is the user's latest word (no-color.org).
                crossterm::style::Colored::set_ansi_color_disabled(false);
                true
            }
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// What a table cell shows when it has nothing to say: an empty cell would shift every later
/// field of the line for `awk` or `read`, and looks like a rendering fault to a person.
const EMPTY: &str = "-";

/// How this invocation prints.
pub struct Output {
    pub format: Format,
    pub quiet: bool,
    /// `--yes`: questions are answered yes without asking.
    pub yes: bool,
    /// stderr is a terminal: progress is drawn there.
    pub progress: bool,
    /// stdin and stderr are a terminal: a person can be asked.
    pub interactive: bool,
    /// Tables and TSV begin with their column names (`--no-headers` turns that off).
    pub headers: bool,
    /// States in tables are coloured (see [`ColorChoice::enabled`]).
    pub color: bool,
    /// The progress bar on stderr, if one is drawn. Kept here rather than in a console so that
    /// anything printed, on stdout or stderr, first takes it off the screen: a bar left under a
    /// table or an error stays there as a stale, unfinished frame.
    bar: Mutex<Option<ProgressBar>>,
    /// A batch's progress lines, one per resource, while it runs (see [`Output::batch`]): what is
    /// printed meanwhile goes above them, and they stay.
    lines: Mutex<Option<MultiProgress>>,
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
            headers: true,
            color: false,
            bar: Mutex::new(None),
            lines: Mutex::new(None),
        }
    }

    /// Print a result: `rows` as a table, or `value` as JSON.
    pub fn emit<T: Serialize>(&self, value: &T, header: &[&str], rows: Vec<Vec<String>>) {
        let rows = rows.into_iter().map(|row| (row, false)).collect();
        self.emit_marked(value, header, rows);
    }

    /// [`Output::emit`], with rows marked as alarming (shown in red on a terminal). `-q` leaves
    /// out the table, never the JSON document: a script that asked for it reads stdout.
    fn emit_marked<T: Serialize>(
        &self,
        value: &T,
        header: &[&str],
        rows: Vec<(Vec<String>, bool)>,
    ) {
        match self.format {
            Format::Json => self.json(value),
            _ if self.quiet => {}
            Format::Tsv => {
                let mut text = String::new();
                let header = header.iter().map(|h| (*h).to_owned()).collect();
                let lines = self.headers.then_some(header).into_iter();
                for row in lines.chain(rows.into_iter().map(|(row, _)| row)) {
                    let fields: Vec<String> = row.iter().map(|c| tsv_field(c)).collect();
                    text.push_str(&fields.join("\t"));
                    text.push('\n');
                }
                self.raw(&text);
            }
            Format::Table => {
                let text = self.table(header, rows);
                self.raw(&text);
            }
        }
    }

    fn table(&self, header: &[&str], rows: Vec<(Vec<String>, bool)>) -> String {
        let mut table = Table::new();
        table.load_style(presets::NOTHING);
        if self.color {
            // comfy-table styles only on a terminal unless told; `--color always` is told.
            table.enforce_styling();
            // The colour on the word, not on the column's padding.
            table.style_text_only();
        }
        if self.headers {
            table.set_header(header.to_vec());
        }
        let state = header.iter().position(|h| *h == "STATE");
        for (row, alarm) in rows {
            let cells = row.into_iter().enumerate().map(|(i, text)| {
                // A name from a configuration may hold control characters: shown escaped, as
                // messages show them, never sent to the terminal as they are.
                let text = crate::error::one_line(&text);
                let cell = Cell::new(if text.is_empty() { EMPTY } else { &text });
                match (self.color && state == Some(i), alarm) {
                    (false, _) => cell,
                    (true, true) => cell.fg(Color::Red).add_attribute(Attribute::Bold),
                    (true, false) => {
                        use crate::agent::ResourceState::{Faulted, Online, Unknown};
                        if [Faulted, Unknown].iter().any(|s| s.as_str() == text) {
                            cell.fg(Color::Red)
                        } else if Online.as_str() == text {
                            cell.fg(Color::Green)
                        } else {
                            cell
                        }
                    }
                }
            });
            table.add_row(cells.collect::<Vec<_>>());
        }
        // Into a pipe or file, a row is one line however long.
        if std::io::stdout().is_terminal() {
            fit_to_terminal(&mut table);
        }
        let mut text = table
            .lines()
            .map(|l| l.trim_end().to_owned())
            .collect::<Vec<_>>()
            .join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        text
    }

    /// Print results: their rows as one table, or `document` (which holds them) as JSON; then,
    /// on stderr and also with `-q`, one line for each cause of a non-zero exit that the results
    /// hold (said once, however many results share it).
    pub fn outcomes<T: Outcome>(&self, document: &impl Serialize, results: &[T]) {
        let rows = results
            .iter()
            .flat_map(|r| {
                let alarm = r.alarm();
                r.rows().into_iter().map(move |row| (row, alarm))
            })
            .collect();
        self.emit_marked(document, T::COLUMNS, rows);
        let mut said = std::collections::BTreeSet::new();
        for alert in results.iter().flat_map(Outcome::alerts) {
            if said.insert(alert.clone()) {
                self.say(|| eprintln!("kvmguestctl: error: {alert}"));
            }
        }
    }

    fn json<T: Serialize>(&self, value: &T) {
        let text = serde_json::to_string_pretty(value)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        self.raw(&format!("{text}\n"));
    }

    /// One line of a stream (watch): compact JSON with `-o json` (also with `-q`: it is what the
    /// script asked for), the JSON object's values separated by tabs with `-o tsv`, else `text`;
    /// flushed at once so that log shippers and pipes see it immediately.
    pub fn line<T: Serialize>(&self, value: &T, text: &str) {
        let line = match self.format {
            Format::Json => {
                serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
            }
            _ if self.quiet => return,
            Format::Tsv => match serde_json::to_value(value) {
                Ok(serde_json::Value::Object(fields)) => fields
                    .values()
                    .map(|v| match v {
                        serde_json::Value::String(s) => tsv_field(s),
                        serde_json::Value::Null => EMPTY.to_owned(),
                        other => tsv_field(&other.to_string()),
                    })
                    .collect::<Vec<_>>()
                    .join("\t"),
                _ => tsv_field(text),
            },
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
        self.say(|| document(text));
    }

    /// A line for the person at the terminal, on stderr, unless `-q`.
    pub fn note(&self, message: &str) {
        if !self.quiet {
            self.say(|| eprintln!("{message}"));
        }
    }

    /// A warning, on stderr, even with `-q`: something is wrong and a person must know.
    pub fn warn(&self, message: &str) {
        self.say(|| eprintln!("kvmguestctl: warning: {message}"));
    }

    /// A command's failure: on stderr always, and as the one JSON document on stdout with
    /// `-o json` (also with `-q`).
    pub fn error(&self, e: &Error) {
        self.error_text(e);
        if self.format == Format::Json {
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
    /// command's one JSON document as a [`Failure`]. A refusal is not an error of the command or
    /// of the hypervisor but a decision made for safety, and says so.
    pub fn error_text(&self, e: &Error) {
        let label = match e {
            Error::Refused(_) => "refused",
            _ => "error",
        };
        self.say(|| {
            for line in e.to_string().lines() {
                eprintln!("kvmguestctl: {label}: {line}");
            }
        });
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
        TermConsole { output: self }
    }

    /// Print with `print`, after taking the progress bar off the screen; during a batch, above
    /// its progress lines, which are drawn again below.
    fn say(&self, print: impl FnOnce()) {
        self.clear_bar();
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match lines {
            Some(lines) => lines.suspend(print),
            None => print(),
        }
    }

    /// Take the progress bar off the screen, if one is drawn.
    fn clear_bar(&self) {
        if let Some(bar) = self.bar().take() {
            bar.finish_and_clear();
        }
    }

    fn bar(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        // A poisoned lock only means a thread panicked while drawing; the bar is still sound.
        self.bar.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ask `question` on the terminal until the answer is yes or no; true for yes. A line is
    /// read, so that a `yes` typed in full is not cut after its `y` with the rest left to the
    /// shell; end of input (Ctrl-D) is no. The terminal is never put in raw mode and the cursor
    /// never hidden, so Ctrl-C (which ends the command) leaves the terminal as it was.
    fn ask(&self, question: &str) -> Result<bool> {
        let stdin = std::io::stdin();
        loop {
            eprint!("{question} [y/n] ");
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            let read = stdin
                .lock()
                .read_line(&mut answer)
                .map_err(|e| Error::Refused(format!("cannot read the answer: {e}")))?;
            if read == 0 {
                eprintln!();
                return Ok(false);
            }
            match answer.trim().to_ascii_lowercase().as_str() {
                "y" | "yes" => return Ok(true),
                "n" | "no" => return Ok(false),
                _ => eprintln!("Please answer yes or no."),
            }
        }
    }

    /// The one question of a batch, asked before any of it runs: for one action its entry
    /// point's own question, for several `title`, the list and "Go ahead?". Nothing to ask, or
    /// `--yes`, or no terminal to ask on: no question (each resource's console then answers as
    /// it would alone: yes with `--yes`, refused without a terminal).
    pub fn confirm_batch(&self, title: &str, actions: &[Confirmation]) -> Result<Answer> {
        if actions.is_empty() || self.yes || !self.interactive {
            return Ok(if self.yes {
                Answer::Yes
            } else {
                Answer::NotAsked
            });
        }
        let question = match actions {
            [one] => one.question.clone(),
            several => {
                let list: Vec<String> = several.iter().map(|a| format!("  {}", a.line)).collect();
                format!("{title}:\n{}\nGo ahead?", list.join("\n"))
            }
        };
        self.clear_bar();
        Ok(if self.ask(&question)? {
            Answer::Yes
        } else {
            Answer::No
        })
    }

    /// The progress of a batch of resources, named in order: on a terminal one line each, under
    /// whatever is printed meanwhile; elsewhere nothing until each is done (see
    /// [`LineConsole::done`]).
    pub fn batch(&self, resources: &[&str]) -> Batch<'_> {
        let width = resources
            .iter()
            .map(|r| r.chars().count())
            .max()
            .unwrap_or(0);
        let bars = if self.progress {
            let lines = MultiProgress::new();
            let style = ProgressStyle::with_template(&format!(
                "{{spinner}} {{prefix:{width}}}  {{wide_msg}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let bars = resources
                .iter()
                .map(|r| {
                    let bar = lines.add(ProgressBar::new_spinner());
                    bar.set_style(style.clone());
                    bar.set_prefix((*r).to_owned());
                    bar.set_message("queued");
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                })
                .collect();
            *self.lines.lock().unwrap_or_else(|p| p.into_inner()) = Some(lines);
            bars
        } else {
            Vec::new()
        };
        Batch {
            output: self,
            resources: resources.iter().map(|r| (*r).to_owned()).collect(),
            bars,
        }
    }
}

/// On a terminal, columns wrap at spaces to keep the table within its width (comfy-table asks
/// the terminal), and never inside a word: a column is never narrower than its longest word. When
/// even that is too wide, the columns close up to one space apart; a table still wider than the
/// terminal is left to it to wrap, words intact.
fn fit_to_terminal(table: &mut Table) {
    table.set_content_arrangement(ContentArrangement::Dynamic);
    let longest_words: Vec<u16> = (0..table.column_count())
        .map(|i| {
            let header = table.header().and_then(|h| h.cell_iter().nth(i));
            header
                .into_iter()
                .chain(table.column_cells_iter(i).flatten())
                .flat_map(|cell| {
                    cell.content()
                        .split_whitespace()
                        .map(str::chars)
                        .map(Iterator::count)
                        .collect::<Vec<_>>()
                })
                .max()
                .map_or(1, |w| u16::try_from(w).unwrap_or(u16::MAX))
        })
        .collect();
    let padded: u32 = longest_words.iter().map(|w| u32::from(*w) + 2).sum();
    let tight = table.width().is_some_and(|room| padded > u32::from(room));
    let padding = if tight { (0, 1) } else { (1, 1) };
    for (column, longest) in table.column_iter_mut().zip(longest_words) {
        column.set_padding(padding);
        column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(
            longest.saturating_add(padding.0 + padding.1),
        )));
    }
}

/// A TSV field: tabs and line breaks inside a value would split it into several, so they become
/// spaces; an empty value is [`EMPTY`].
fn tsv_field(text: &str) -> String {
    if text.is_empty() {
        return EMPTY.to_owned();
    }
    text.replace(['\t', '\n', '\r'], " ")
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
}

impl Drop for TermConsole<'_> {
    fn drop(&mut self) {
        self.output.clear_bar();
    }
}

impl Console for TermConsole<'_> {
    fn step(&self, message: &str) {
        self.output.note(message);
    }

    fn tick(&self, message: &str, elapsed: Duration, limit: Duration) {
        if !self.output.progress {
            return;
        }
        let mut bar = self.output.bar();
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
        let mut bar = self.output.bar();
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
            return Err(refusal(question, NO_TERMINAL));
        }
        self.output.clear_bar();
        if self.output.ask(question)? {
            Ok(())
        } else {
            Err(refusal(question, ANSWERED_NO))
        }
    }
}

const NO_TERMINAL: &str = "this needs confirmation and there is no terminal to ask on: pass --yes";
const ANSWERED_NO: &str = "not done, the answer was no";

/// A confirmation not given, as a refusal of the question's action (its first sentence; the rest
/// says what follows it).
fn refusal(question: &str, why: &str) -> Error {
    let action = question
        .split_once('?')
        .map_or(question, |(action, _)| action);
    Error::Refused(format!("{action}: {why}"))
}

/// One action of a batch that interrupts a running guest, as its entry point would ask about it
/// alone (`question`) and as a line of the batch's one question (`line`).
#[derive(Debug, Clone)]
pub struct Confirmation {
    pub question: String,
    pub line: String,
}

/// What the one question of a batch decided for one resource's actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Yes (or `--yes`).
    Yes,
    /// No: the resource's action is refused.
    No,
    /// Not in the question: nothing was to be asked about it when the batch was surveyed, or
    /// there is no terminal.
    NotAsked,
}

/// A batch's progress lines while it runs; dropped, they leave the screen.
pub struct Batch<'a> {
    output: &'a Output,
    resources: Vec<String>,
    bars: Vec<ProgressBar>,
}

impl Batch<'_> {
    /// The console of the `index`th resource, whose confirmations `answer` decides.
    pub fn console(&self, index: usize, answer: Answer) -> LineConsole<'_> {
        LineConsole {
            output: self.output,
            resource: self.resources.get(index).cloned().unwrap_or_default(),
            bar: self.bars.get(index).cloned(),
            answer,
            phase: Mutex::new(String::new()),
        }
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        let lines = self
            .output
            .lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(lines) = lines {
            // Off the screen before the results are printed, as the single bar is.
            let _ = lines.clear();
        }
    }
}

/// The [`Console`] of one resource of a batch, on its own thread: its phase on its progress line
/// (a terminal), nothing until it is done otherwise, and confirmations decided beforehand by the
/// batch's one question, since several threads cannot ask one person at once.
pub struct LineConsole<'a> {
    output: &'a Output,
    resource: String,
    bar: Option<ProgressBar>,
    answer: Answer,
    /// The last step, which a wait or a transfer adds its count to.
    phase: Mutex<String>,
}

impl LineConsole<'_> {
    fn phase(&self) -> std::sync::MutexGuard<'_, String> {
        self.phase.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn show(&self, message: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(message);
        }
    }

    /// The resource is done: its result (a summary) on its line, or as one line on stderr
    /// without a terminal (unless `-q`); a failure as the command's error line, always.
    pub fn done(&self, result: std::result::Result<String, &Error>) {
        let ok = result.is_ok();
        let line = match result {
            Ok(summary) => summary,
            Err(e) => {
                self.output.error_text(e);
                let first = e.to_string();
                format!("{}: {}", e.kind(), first.lines().next().unwrap_or_default())
            }
        };
        match &self.bar {
            Some(bar) => bar.finish_with_message(line),
            None if ok => self.output.note(&format!("{}: {line}", self.resource)),
            None => {}
        }
    }
}

impl Console for LineConsole<'_> {
    fn step(&self, message: &str) {
        message.clone_into(&mut self.phase());
        self.show(message.to_owned());
    }

    fn tick(&self, _: &str, elapsed: Duration, limit: Duration) {
        let phase = self.phase().clone();
        self.show(format!(
            "{phase}: waiting {}/{} s",
            elapsed.as_secs(),
            limit.as_secs()
        ));
    }

    fn transfer(&self, _: &str, done: u64, total: u64) {
        const MIB: u64 = 1024 * 1024;
        let phase = self.phase().clone();
        self.show(format!("{phase}: {}/{} MiB", done / MIB, total / MIB));
    }

    fn confirm(&self, question: &str) -> Result<()> {
        match self.answer {
            Answer::Yes => Ok(()),
            Answer::NotAsked if self.output.yes => Ok(()),
            Answer::No => Err(refusal(question, ANSWERED_NO)),
            Answer::NotAsked if !self.output.interactive => Err(refusal(question, NO_TERMINAL)),
            // The guest began to run after the batch was surveyed: nobody was asked about it.
            Answer::NotAsked => Err(refusal(
                question,
                "not done, it was not running when the batch was confirmed: run the command again",
            )),
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
    /// The engine's marker for the line that says why an action failed (Pacemaker shows it with
    /// the failed action in `crm_mon`).
    reason_prefix: Option<String>,
}

impl AgentLog {
    /// `tag` begins every line: the agent and what it is acting on, in the engine's style.
    pub fn new(tag: String) -> AgentLog {
        AgentLog {
            tag,
            reason_prefix: None,
        }
    }

    /// Every error is also said once more after `prefix`, as the engine's failure reason.
    pub fn with_reasons(self, prefix: String) -> AgentLog {
        AgentLog {
            reason_prefix: Some(prefix),
            ..self
        }
    }

    pub fn info(&self, message: &str) {
        self.line("INFO", message);
    }

    pub fn warn(&self, message: &str) {
        self.line("WARNING", message);
    }

    pub fn error(&self, message: &str) {
        self.line("ERROR", message);
        if let Some(prefix) = &self.reason_prefix {
            // One line: the engine keeps the last reason line as the action's reason.
            eprintln!("{prefix}{}", message.lines().collect::<Vec<_>>().join("; "));
        }
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
