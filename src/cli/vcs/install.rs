//! `vcs install`: an agent directory whose entry points are links to this binary.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Exit, Result};
use crate::vocabulary::vocabulary;

use super::{ACTIONS, ENTRY_POINTS};
use crate::cli::Context;

/// Beside the enterprise agents, not in the bundled KVMGuest agent's /opt/VRTSvcs/bin/KVMGuest,
/// whose files a VCS upgrade rewrites.
pub const DEFAULT_DIR: &str = "/opt/VRTSagents/ha/bin/KVMGuest";

/// Create a VCS agent directory whose entry points are links to this binary
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Create a VCS agent directory whose entry points (online, offline, monitor, \
clean, migrate, attr_changed, open, close, shutdown, action/guestmigrated, action/vmconfigsync, \
action/DevScan) are symbolic links to this binary, which runs each as `kvmguestctl vcs`. \
Idempotent: links already right are left alone, links to another binary are replaced \
atomically. A file that is not a link is never replaced (exit 5, nothing changed): it belongs to \
another agent. Point the KVMGuest type's AgentDirectory at the directory (see \
examples/vcs/KVMGuestTypes.cf)."
)]
pub struct Args {
    /// The agent directory (the type's AgentDirectory)
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DIR)]
    dir: PathBuf,
    /// The binary the links run [default: this one]
    #[arg(long, value_name = "PATH")]
    binary: Option<PathBuf>,
}

vocabulary! {
    /// What became of one link.
    pub enum LinkResult {
        Created = "created",
        Unchanged = "unchanged",
        Replaced = "replaced",
    }
}

#[derive(Debug, Serialize)]
struct Link {
    link: PathBuf,
    target: PathBuf,
    result: LinkResult,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    let binary = match &args.binary {
        Some(path) => std::path::absolute(path),
        None => std::env::current_exe(),
    }
    .map_err(|e| Error::Failed(format!("cannot tell which binary to link to: {e}")))?;
    if !binary.is_file() {
        return Err(Error::Usage(format!("{} is not a file", binary.display())));
    }
    let names = ENTRY_POINTS
        .iter()
        .map(|e| (*e).to_owned())
        .chain(ACTIONS.iter().map(|a| format!("action/{a}")));
    // Everything is looked at before anything changes: a directory holding another agent's
    // entry points is left as it was.
    let mut links = Vec::new();
    let mut foreign = Vec::new();
    for name in names {
        let link = args.dir.join(name);
        let result = match std::fs::symlink_metadata(&link) {
            Ok(meta) if meta.file_type().is_symlink() => {
                if std::fs::read_link(&link).is_ok_and(|t| t == binary) {
                    LinkResult::Unchanged
                } else {
                    LinkResult::Replaced
                }
            }
            Ok(_) => {
                foreign.push(link.display().to_string());
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => LinkResult::Created,
            Err(e) => return Err(Error::Failed(format!("{}: {e}", link.display()))),
        };
        links.push(Link {
            link,
            target: binary.clone(),
            result,
        });
    }
    if !foreign.is_empty() {
        return Err(Error::Refused(format!(
            "not links, so another agent's entry points: {}; nothing was changed (choose another \
             --dir)",
            foreign.join(", ")
        )));
    }
    let action_dir = args.dir.join("action");
    std::fs::create_dir_all(&action_dir)
        .map_err(|e| Error::Failed(format!("{}: {e}", action_dir.display())))?;
    for link in links.iter().filter(|l| l.result != LinkResult::Unchanged) {
        place(&link.link, &binary)?;
    }
    let rows = links
        .iter()
        .map(|l| {
            vec![
                l.link.display().to_string(),
                l.target.display().to_string(),
                l.result.to_string(),
            ]
        })
        .collect();
    #[derive(Serialize)]
    struct Installed<'a> {
        links: &'a [Link],
    }
    context.output.emit(
        &Installed { links: &links },
        &["LINK", "TARGET", "RESULT"],
        rows,
    );
    Ok(Exit::Success)
}

/// A link made beside its place and renamed over it, so that the framework, which may run an
/// entry point at any moment, finds either the old link or the new one, never none.
fn place(link: &Path, binary: &Path) -> Result<()> {
    let name = link.file_name().unwrap_or_default().to_string_lossy();
    let temporary = link.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let fail = |e: std::io::Error| Error::Failed(format!("{}: {e}", link.display()));
    std::os::unix::fs::symlink(binary, &temporary).map_err(fail)?;
    std::fs::rename(&temporary, link).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        fail(e)
    })
}
