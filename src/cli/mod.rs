//! The command line: one module per subcommand, each thin (parse, call the core, render).

mod clean;
mod completions;
mod devscan;
mod display;
mod encrypt;
mod evacuate;
mod install;
mod migrate;
pub mod names;
mod ocf;
mod rhev;
mod start;
mod status;
mod stop;
mod validate;
mod vcs;
mod vmconfigsync;
mod watch;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::agent::lock::Locks;
use crate::agent::{self, Hosts, Report};
use crate::backend::Backends;
use crate::error::{Error, Exit, Outcome, Result};
use crate::render::{Answer, ColorChoice, Confirmation, Failure, Format, Output};
use crate::resource::{self, Config, ConfigSource, Resource};

/// The exit codes every command but `ocf` and `vcs` (which answer in their frameworks' codes)
/// uses; also the man pages' EXIT STATUS.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the operation failed (the guest did not start, did not stop, ...)
  2  usage or configuration error (bad flags, bad YAML, validation errors)
  3  unknown resource, or guest not defined where it is needed
  4  a hypervisor could not be reached or did not answer within --timeout
  5  refused for safety (the guest runs elsewhere; confirmation missing or declined)
  6  concurrency violation: a guest runs on more than one system
  7  definitions differ or are missing (vmconfigsync --check)";

const EXAMPLES: &str = concat!(
    "Examples:\n",
    "  # The quickstart, on libvirt's test driver: no daemon, no guest needed\n",
    "  kvmguestctl --config examples/quickstart.yaml status --all\n",
    "  # Move every guest off node1 before maintenance\n",
    "  kvmguestctl evacuate --sys node1",
);

/// The heading of the options every subcommand takes, so that a subcommand's help lists its own
/// options first.
const GLOBAL: &str = "Global options";

/// Keep KVM guests highly available: start, stop, monitor and clean guests as the VCS KVMGuest
/// agent does, from a shell, cron, runbooks or a cluster engine.
#[derive(Debug, Parser)]
#[command(
    name = "kvmguestctl",
    version,
    after_help = EXAMPLES,
    after_long_help = format!("{EXAMPLES}\n\n{EXIT_CODES}")
)]
pub struct Cli {
    /// Resource definitions: a YAML file or a directory of *.yaml files
    /// [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]
    #[arg(long, global = true, help_heading = GLOBAL, env = "KVMGUESTCTL_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,

    /// The system to act on [default: this machine's host name]
    #[arg(
        long = "sys",
        global = true,
        help_heading = GLOBAL,
        env = "KVMGUESTCTL_SYS",
        value_name = "SYSTEM",
        add = names::systems()
    )]
    sys: Option<String>,

    /// Output format: table for people, tsv for awk and cut, json for programs
    #[arg(short, long, global = true, help_heading = GLOBAL, value_enum, default_value_t = Format::Table)]
    output: Format,

    /// Leave out the column names of table and tsv output
    #[arg(long, global = true, help_heading = GLOBAL)]
    no_headers: bool,

    /// Colour states in tables (FAULTED, UNKNOWN and a concurrency violation in red)
    #[arg(long, global = true, help_heading = GLOBAL, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    color: ColorChoice,

    /// Print no table and no progress: only the JSON document of -o json, and on stderr one line
    /// for each failure, refusal, unreachable system and warning; the exit code tells the result
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    quiet: bool,

    /// Log every hypervisor call and how long it took (on stderr)
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    verbose: bool,

    /// Answer yes to confirmations (required without a terminal: cron, runbooks)
    #[arg(short = 'y', long, global = true, help_heading = GLOBAL)]
    yes: bool,

    /// Seconds to wait for any single hypervisor call before giving up on that host
    #[arg(long, global = true, help_heading = GLOBAL, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,

    /// The RHEV engine's CA certificate (PEM), instead of RHEVMInfo.CAFile
    #[arg(long, global = true, help_heading = GLOBAL, env = "KVMGUESTCTL_CA_FILE", value_name = "PATH")]
    ca_file: Option<PathBuf>,

    /// The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)
    #[arg(long, global = true, help_heading = GLOBAL, env = "KVMGUESTCTL_KEY_FILE", value_name = "PATH",
          default_value = crate::secret::DEFAULT_KEY_FILE)]
    key_file: PathBuf,

    /// Where what one command leaves for the next is kept: watch's <RESOURCE>.migrated files,
    /// the monitor's <RESOURCE>.health memory of guest agents (GuestHealth)
    #[arg(long, global = true, help_heading = GLOBAL, env = "KVMGUESTCTL_STATE_DIR",
          value_name = "PATH", default_value = crate::agent::STATE_DIR)]
    state_dir: PathBuf,

    /// Where the guests' locks are: one command at a time changes a guest on this machine
    #[arg(long, global = true, help_heading = GLOBAL, env = "KVMGUESTCTL_LOCK_DIR",
          value_name = "PATH", default_value = crate::agent::lock::LOCK_DIR)]
    lock_dir: PathBuf,

    /// Seconds a command waits for a guest that another command is changing, then gives up
    /// (exit 5, naming the other command's pid and command line)
    #[arg(long, global = true, help_heading = GLOBAL, value_name = "SECONDS",
          default_value_t = crate::agent::lock::LOCK_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(0..=86400))]
    lock_timeout: u64,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Validate(validate::Args),
    Status(status::Args),
    Start(start::Args),
    Stop(stop::Args),
    Clean(clean::Args),
    Migrate(migrate::Args),
    Evacuate(evacuate::Args),
    Display(display::Args),
    Vmconfigsync(vmconfigsync::Args),
    Devscan(devscan::Args),
    Watch(watch::Args),
    Encrypt(encrypt::Args),
    Rhev(rhev::Args),
    Ocf(ocf::Args),
    Vcs(vcs::Args),
    Completions(completions::Args),
}

/// Resources named on the command line, or `--all`.
#[derive(Debug, Args)]
struct Selection {
    /// Resource names
    #[arg(value_name = "RESOURCE", required_unless_present = "all", add = names::resources())]
    names: Vec<String>,
    /// Every configured resource
    #[arg(long, conflicts_with = "names")]
    all: bool,
}

/// What every subcommand gets.
struct Context {
    output: Output,
    source: ConfigSource,
    sys: Option<String>,
    timeout: Duration,
    ca_file: Option<PathBuf>,
    key_file: PathBuf,
    state_dir: PathBuf,
    lock_dir: PathBuf,
    lock_timeout: Duration,
}

impl Context {
    fn config(&self) -> Result<Config> {
        resource::load(&self.source).map_err(|diagnostics| {
            Error::Config(
                diagnostics
                    .iter()
                    .map(resource::Diagnostic::under_error)
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })
    }

    /// The guests' locks, waited for at most `wait`.
    fn locks(&self, wait: Duration) -> Locks {
        Locks {
            dir: self.lock_dir.clone(),
            wait,
        }
    }

    fn backends(&self) -> Backends {
        Backends::new(self.timeout, self.ca_file.clone(), self.key_file.clone())
    }

    /// The setup of every command that asks hypervisors: the configuration, and its systems'
    /// hosts, each connected at most once for the whole command.
    fn with_hosts<T>(&self, run: impl FnOnce(&Config, &Hosts) -> Result<T>) -> Result<T> {
        let config = self.config()?;
        let connector = self.backends();
        let hosts = Hosts::new(&config, &connector)
            .remembering(self.state_dir.clone())
            .locking(self.locks(self.lock_timeout));
        run(&config, &hosts)
    }
}

/// The clap definition, for completions and man pages.
pub fn command() -> clap::Command {
    Cli::command()
}

pub fn main() -> ExitCode {
    names::answer_completion_request();
    // Pacemaker runs the agent through a link named after it, with the action as the only word.
    let mut argv = std::env::args_os();
    let invoked_as = argv.next().map(PathBuf::from);
    if invoked_as.as_deref().and_then(Path::file_name) == Some(OsStr::new(ocf::AGENT)) {
        crate::render::init_logging(false);
        let action = argv.next().map(|a| a.to_string_lossy().into_owned());
        return ocf::agent(action.as_deref());
    }
    // Run under an entry point's name (a link in a VCS agent directory), it is `vcs ENTRYPOINT`.
    let argv = vcs::argv(std::env::args_os());
    let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| usage_error(&argv, e));
    crate::render::init_logging(cli.verbose);
    let mut output = Output::new(cli.output, cli.quiet, cli.yes);
    output.headers = !cli.no_headers;
    output.color = cli.color.enabled();
    let context = Context {
        output,
        source: cli.config.map_or(ConfigSource::Default, ConfigSource::Path),
        sys: cli.sys,
        timeout: Duration::from_secs(cli.timeout),
        ca_file: cli.ca_file,
        key_file: cli.key_file,
        state_dir: cli.state_dir,
        lock_dir: cli.lock_dir,
        lock_timeout: Duration::from_secs(cli.lock_timeout),
    };
    let result = match &cli.command {
        Command::Validate(args) => validate::run(&context, args),
        Command::Status(args) => status::run(&context, args),
        Command::Start(args) => start::run(&context, args),
        Command::Stop(args) => stop::run(&context, args),
        Command::Clean(args) => clean::run(&context, args),
        Command::Migrate(args) => migrate::run(&context, args),
        Command::Evacuate(args) => evacuate::run(&context, args),
        Command::Display(args) => display::run(&context, args),
        Command::Vmconfigsync(args) => vmconfigsync::run(&context, args),
        Command::Devscan(args) => devscan::run(&context, args),
        Command::Watch(args) => watch::run(&context, args),
        Command::Encrypt(args) => encrypt::run(&context, args),
        Command::Rhev(args) => rhev::run(&context, args),
        // VCS reads its own exit codes (99..110, 200), not the CLI's.
        Command::Vcs(args) => return vcs::run(&context, args),
        Command::Completions(args) => completions::run(&context, args),
        Command::Ocf(args) => return ocf::run(&context, args),
    };
    let exit = result.unwrap_or_else(|e| {
        context.output.error(&e);
        e.exit()
    });
    ExitCode::from(exit.code())
}

/// A command line clap rejects: clap's message on stderr and exit 2, and with `-o json` also the
/// error document on stdout, which a script reads whatever went wrong. `--help` and `--version`
/// are clap's to print.
fn usage_error(argv: &[std::ffi::OsString], e: clap::Error) -> ! {
    if e.use_stderr() && asks_for_json(argv) {
        // clap's first paragraph is the problem; usage and hints follow.
        let text = e.to_string();
        let problem: Vec<&str> = text
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .map(str::trim)
            .collect();
        let error = Error::Usage(problem.join(" ").trim_start_matches("error: ").to_owned());
        crate::render::document(&format!(
            "{}\n",
            serde_json::json!({ "error": Failure::new(None, &error) })
        ));
    }
    e.exit()
}

/// Whether a command line that clap rejected asks for `-o json`: the rest of the line is not
/// valid, but its output option can still be read (`-o json`, `-ojson`, `-qo json`, `--output
/// json`, `--output=json`; the last one given counts, as for clap).
fn asks_for_json(argv: &[std::ffi::OsString]) -> bool {
    let words: Vec<String> = argv
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .take_while(|a| a != "--")
        .collect();
    let mut format = None;
    for (i, word) in words.iter().enumerate() {
        let next = || words.get(i + 1).map(String::as_str);
        let value = if let Some(long) = word.strip_prefix("--") {
            match long.split_once('=') {
                Some(("output", value)) => Some(value),
                None if long == "output" => next(),
                _ => None,
            }
        } else if let Some(short) = word.strip_prefix('-') {
            // Short flags run together; -o takes the rest of the word, or the next word.
            short.split_once('o').map(|(_, rest)| match rest {
                "" => next().unwrap_or_default(),
                rest => rest.strip_prefix('=').unwrap_or(rest),
            })
        } else {
            None
        };
        if value.is_some() {
            format = value;
        }
    }
    format == Some("json")
}

/// What a bulk command asks before it interrupts running guests: `title` heads the batch's one
/// question ("Shut down 3 guests"), `each` says what will happen to a guest that is live on the
/// system acted on.
struct Ask<'a> {
    title: &'a dyn Fn(usize) -> String,
    each: &'a dyn Fn(&Resource, &str, &agent::SystemStatus) -> Confirmation,
}

/// Run one entry point on each selected resource, on the local system, and report them all, in
/// the order named. One resource runs as it always did: steps printed as they happen, its own
/// question. Several run at most `parallel` at a time, so that their waits overlap; what `ask`
/// needs confirmed is asked once for the whole batch, from one survey, before any of it runs.
fn act(
    context: &Context,
    selection: &Selection,
    parallel: usize,
    ask: Option<Ask>,
    entry_point: impl Fn(&Hosts, &Resource, &str, &dyn agent::Console) -> Result<Report> + Sync,
) -> Result<Exit> {
    act_from(context, selection, parallel, ask, None, entry_point)
}

/// Where each resource's entry point acts: found by `locate` from the resource's status (migrate
/// without --sys: where its guest runs), all resources surveyed at once; else this system for all.
type Locate<'a> = Option<&'a (dyn Fn(&agent::ResourceStatus) -> Result<String> + Sync)>;

/// [`act`], with each resource's system found by `locate` when given.
fn act_from(
    context: &Context,
    selection: &Selection,
    parallel: usize,
    ask: Option<Ask>,
    locate: Locate,
    entry_point: impl Fn(&Hosts, &Resource, &str, &dyn agent::Console) -> Result<Report> + Sync,
) -> Result<Exit> {
    context.with_hosts(|config, hosts| {
        let resources = config.select(&selection.names, selection.all)?;
        // One look serves both who needs it: finding each guest, and the batch's question.
        let looked = if locate.is_some() || (resources.len() > 1 && ask.is_some()) {
            agent::monitor::look(hosts, &resources)
        } else {
            Vec::new()
        };
        let systems: Vec<Result<String>> = match locate {
            Some(locate) => looked.iter().map(locate).collect(),
            None => {
                let system = resource::local_system(config, context.sys.as_deref())?;
                resources.iter().map(|_| Ok(system.clone())).collect()
            }
        };
        let outcomes = match resources.as_slice() {
            [one] => {
                let console = context.output.console();
                Outcomes::each(context, [*one], |res| {
                    let system = systems[0].clone()?;
                    entry_point(hosts, res, &system, &console)
                })
            }
            several => {
                let answers = confirm_batch(context, &looked, several, &systems, ask)?;
                let names: Vec<&str> = several.iter().map(|r| r.name.as_str()).collect();
                let batch = context.output.batch(&names);
                let indexed: Vec<(usize, &Resource)> =
                    several.iter().copied().enumerate().collect();
                let results = agent::batch::bounded(&indexed, parallel, |&(i, res)| {
                    let console = batch.console(i, answers[i]);
                    let result = systems[i]
                        .clone()
                        .and_then(|system| entry_point(hosts, res, &system, &console));
                    console.done(result.as_ref().map(summary));
                    result
                });
                drop(batch);
                let mut outcomes = Outcomes::new();
                for (res, result) in several.iter().zip(results) {
                    outcomes.record(res, result);
                }
                outcomes
            }
        };
        if !outcomes.results.is_empty() || context.output.format == Format::Json {
            context.output.outcomes(&outcomes, &outcomes.results);
        }
        for r in &outcomes.results {
            if let Some(path) = &r.saved_definition {
                context.output.note(&format!(
                    "{}: definition saved to {}",
                    r.resource,
                    path.display()
                ));
            }
        }
        Ok(outcomes.exit())
    })
}

/// The batch's one question: the look at the resources (`looked`) says which guests are live on
/// `system` (and so would be interrupted); they are listed and asked about at once. The answer for
/// each resource, in order: `NotAsked` for those with nothing to ask.
fn confirm_batch(
    context: &Context,
    looked: &[agent::ResourceStatus],
    resources: &[&Resource],
    systems: &[Result<String>],
    ask: Option<Ask>,
) -> Result<Vec<Answer>> {
    let Some(ask) = ask else {
        return Ok(vec![Answer::NotAsked; resources.len()]);
    };
    let planned: Vec<Option<Confirmation>> = looked
        .iter()
        .zip(resources.iter().zip(systems))
        .map(|(status, (res, system))| {
            let system = system.as_deref().ok()?;
            status
                .on(system)
                .filter(|here| here.active && here.error.is_none())
                .map(|here| (ask.each)(res, system, here))
        })
        .collect();
    let listed: Vec<Confirmation> = planned.iter().flatten().cloned().collect();
    let answer = context
        .output
        .confirm_batch(&(ask.title)(listed.len()), &listed)?;
    Ok(planned
        .iter()
        .map(|p| {
            if p.is_some() {
                answer
            } else {
                Answer::NotAsked
            }
        })
        .collect())
}

/// A guest as the batch's question lists it: "web01 on node1 (running; ...)".
fn listed(res: &Resource, system: &str, here: &agent::SystemStatus, then: &str) -> String {
    format!(
        "{} on {system} ({}; {then})",
        res.guest_name,
        here.hypervisor_state.unwrap_or("live")
    )
}

/// A resource's result on its progress line, or its line on stderr without a terminal.
fn summary(r: &Report) -> String {
    format!(
        "{} ({} on {}, {:.1}s): {}",
        r.action, r.state, r.system, r.seconds, r.detail
    )
}

/// What a command gave for several resources, as the JSON document `{"results", "errors"}`:
/// every resource is tried, and the exit code follows [`Exit::of`].
#[derive(serde::Serialize)]
struct Outcomes<T> {
    results: Vec<T>,
    errors: Vec<Failure>,
}

impl<T: Outcome> Outcomes<T> {
    fn new() -> Self {
        Outcomes {
            results: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// `run` on each resource in turn.
    fn each<'r>(
        context: &Context,
        resources: impl IntoIterator<Item = &'r Resource>,
        mut run: impl FnMut(&Resource) -> Result<T>,
    ) -> Self {
        let mut outcomes = Outcomes::new();
        for res in resources {
            match run(res) {
                Ok(result) => outcomes.results.push(result),
                Err(e) => outcomes.fail(context, res, &e),
            }
        }
        outcomes
    }

    /// A resource's result whose failure was already said on stderr (a batch says each when
    /// its resource is done).
    fn record(&mut self, res: &Resource, result: Result<T>) {
        match result {
            Ok(result) => self.results.push(result),
            Err(e) => self.errors.push(Failure::new(Some(&res.name), &e)),
        }
    }

    /// A resource's failure: said on stderr at once, kept for the document and the exit code.
    fn fail(&mut self, context: &Context, res: &Resource, e: &Error) {
        context.output.error_text(e);
        self.errors.push(Failure::new(Some(&res.name), e));
    }

    fn exit(&self) -> Exit {
        Exit::of(
            self.results
                .iter()
                .map(Outcome::exit)
                .chain(self.errors.iter().map(|f| f.exit_code)),
        )
    }
}

/// The KVM (libvirt) resources of a selection, for commands that only they support: RHEV
/// resources named explicitly are an error (exit 2), those selected by --all are skipped with a
/// note saying `why`.
fn libvirt_only<'c>(
    context: &Context,
    selected: Vec<&'c Resource>,
    named: bool,
    why: &str,
) -> Result<Vec<&'c Resource>> {
    let (libvirt, managed): (Vec<_>, Vec<_>) = selected
        .into_iter()
        .partition(|r| r.environment == resource::Environment::Libvirt);
    if !managed.is_empty() {
        let names: Vec<&str> = managed.iter().map(|r| r.name.as_str()).collect();
        if named {
            return Err(Error::Usage(format!(
                "not for RHEV resources ({}): {why}",
                names.join(", ")
            )));
        }
        context
            .output
            .note(&format!("skipped (RHEV: {why}): {}", names.join(", ")));
    }
    if libvirt.is_empty() {
        return Err(Error::Usage(format!(
            "no KVM (libvirt) resource selected: {why}"
        )));
    }
    Ok(libvirt)
}

/// A cluster engine's own command (`crm_mon`, `hares`), given at most `limit`: its exit status,
/// stdout and stderr, or why there are none. Killed when late: an agent's answer must stay
/// inside its engine's timeout.
fn bounded_output(
    command: &mut std::process::Command,
    limit: Duration,
) -> std::result::Result<(std::process::ExitStatus, String, String), String> {
    use std::io::Read;
    use std::process::Stdio;
    use wait_timeout::ChildExt;
    let name = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {name}: {e}"))?;
    // Read on threads: a large output must not fill a pipe while the command is waited for.
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status = match child.wait_timeout(limit) {
        Ok(Some(status)) => status,
        Ok(None) | Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{name} did not answer within {} s",
                limit.as_secs()
            ));
        }
    };
    let text = |reader: std::thread::JoinHandle<String>| reader.join().unwrap_or_default();
    Ok((status, text(stdout), text(stderr)))
}
