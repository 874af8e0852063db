//! Installing a cluster agent: links to this binary where the cluster engine looks for its
//! agents (`ocf install`, `vcs install`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Exit, Result};
use crate::vocabulary::vocabulary;

use super::Context;

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

/// Make each of `names` (paths under `dir`, which may hold a subdirectory) a link to `binary`, or
/// to this binary. Idempotent: links already right are left alone, links to another binary are
/// replaced atomically. A file that is not a link belongs to another agent: then nothing changes
/// and the answer is exit 5.
pub fn links(
    context: &Context,
    dir: &Path,
    names: impl IntoIterator<Item = String>,
    binary: Option<&Path>,
) -> Result<Exit> {
    let binary = match binary {
        Some(path) => std::path::absolute(path),
        None => std::env::current_exe(),
    }
    .map_err(|e| Error::Failed(format!("cannot tell which binary to link to: {e}")))?;
    if !binary.is_file() {
        return Err(Error::Usage(format!("{} is not a file", binary.display())));
    }
    // Everything is looked at before anything changes: a directory holding another agent's
    // entry points is left as it was.
    let mut links = Vec::new();
    let mut foreign = Vec::new();
    for name in names {
        let link = dir.join(name);
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
            "not a link, so another agent's file: {}; nothing was changed (choose another --dir)",
            foreign.join(", ")
        )));
    }
    for link in links.iter().filter(|l| l.result != LinkResult::Unchanged) {
        if let Some(parent) = link.link.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::Failed(format!("{}: {e}", parent.display())))?;
        }
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
