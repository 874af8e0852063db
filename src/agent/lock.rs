//! One actor per guest on this machine: every entry point that changes a guest (online, offline,
//! clean, migrate, and what is built on them) holds its lock, an exclusive `flock` on
//! `<lock-dir>/<GuestName>.lock`, for as long as it acts; a monitor never takes it.
//!
//! The lock is named after the guest, not the resource: it protects the hypervisor's domain, which
//! two configurations (a person's and the cluster engine's) may call by different resource names.
//! The kernel releases a `flock` when its holder exits, however it exits, so the lock of a process
//! that was killed never blocks anyone. The file keeps the holder's pid and command line, for the
//! message of whoever waits.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Console;
use crate::error::{Error, Result};
use crate::resource::Resource;

/// Where the locks are, unless told otherwise: a tmpfs, emptied at boot.
pub const LOCK_DIR: &str = "/run/kvmguestctl/lock";
/// How long a second actor waits for the lock, unless told otherwise: longer than a graceful
/// shutdown of the type's default DelayAfterGuestOffline.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a waiting actor tries the lock again.
const RETRY: Duration = Duration::from_millis(100);

thread_local! {
    /// The locks this thread holds: an entry point that calls another on the same guest (an
    /// offline migration's offline and online) already has the lock it would wait for.
    static HELD: RefCell<HashSet<PathBuf>> = RefCell::new(HashSet::new());
}

/// The locks of this machine's guests.
#[derive(Debug, Clone)]
pub struct Locks {
    pub dir: PathBuf,
    /// How long to wait for a lock another process holds.
    pub wait: Duration,
}

/// Who holds a lock, as its file says.
#[derive(Debug, Serialize, Deserialize)]
struct Holder {
    pid: u32,
    command: String,
    /// Seconds since the Unix epoch.
    since: u64,
}

/// A lock held until dropped.
#[derive(Debug)]
pub struct Held {
    /// `None` when this thread already held it: dropping the inner one releases nothing.
    taken: Option<(File, PathBuf)>,
    /// Another process held it first: what was seen of the guest before may have changed.
    pub waited: bool,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some((file, path)) = self.taken.take() {
            HELD.with(|held| held.borrow_mut().remove(&path));
            // Emptied before the unlock, so that nobody reads a holder that has let go.
            let _ = file.set_len(0);
            let _ = file.unlock();
        }
    }
}

impl Locks {
    /// Take the lock of the resource's guest, waiting up to `self.wait` for another holder.
    pub fn take(&self, res: &Resource, console: &dyn Console) -> Result<Held> {
        let path = self.dir.join(format!("{}.lock", res.guest_name));
        if HELD.with(|held| held.borrow().contains(&path)) {
            return Ok(Held {
                taken: None,
                waited: false,
            });
        }
        let failed = |what: &str, e: std::io::Error| {
            Error::Failed(format!(
                "the lock of {} ({}): {what}: {} (set --lock-dir or KVMGUESTCTL_LOCK_DIR to a \
                 directory this user may write)",
                res.guest_name,
                path.display(),
                crate::error::io(&e)
            ))
        };
        std::fs::create_dir_all(&self.dir).map_err(|e| failed("create its directory", e))?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| failed("open", e))?;
        let started = Instant::now();
        let mut said = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => return Err(failed("lock", e)),
            }
            // The holder is read when it is named: once as the wait begins, once as it ends.
            if started.elapsed() >= self.wait {
                return Err(Error::Refused(format!(
                    "{} is busy: {}; gave up after {}s (--lock-timeout)",
                    res.guest_name,
                    describe(holder(&path).as_ref()),
                    self.wait.as_secs()
                )));
            }
            if !said {
                console.step(&format!(
                    "waiting for {}: {}",
                    res.guest_name,
                    describe(holder(&path).as_ref())
                ));
                said = true;
            }
            std::thread::sleep(RETRY);
        }
        let me = Holder {
            pid: std::process::id(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            since: super::epoch_seconds(),
        };
        // The holder is information for whoever waits: failing to write it loses nothing else.
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| serde_json::to_writer(&file, &me).map_err(std::io::Error::other))
            .and_then(|()| file.flush());
        HELD.with(|held| held.borrow_mut().insert(path.clone()));
        Ok(Held {
            waited: said,
            taken: Some((file, path)),
        })
    }
}

fn holder(path: &Path) -> Option<Holder> {
    let text = crate::bounded::read_text(path, 64 * 1024, crate::bounded::Links::Refuse).ok()?;
    serde_json::from_str(&text).ok()
}

fn describe(holder: Option<&Holder>) -> String {
    match holder {
        Some(h) => {
            format!(
                "pid {} (`{}`) has acted on it for {}s",
                h.pid,
                h.command,
                super::epoch_seconds().saturating_sub(h.since)
            )
        }
        None => "another process acts on it".to_owned(),
    }
}
