//! The libvirt backend: the C API through the `virt` crate, never virsh.
//!
//! libvirt calls block without a limit of their own (a hung libvirtd never answers), so each one
//! runs on a worker thread that the caller waits for at most `timeout`. A call that misses its
//! deadline is abandoned: its thread stays blocked until the process exits, which for a command
//! line tool is the right trade (the command ends, with UNKNOWN and a clear error).

mod agent;
mod events;
pub mod states;

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use virt::connect::Connect;
use virt::error::{Error as VirtError, ErrorNumber};
use virt::sys;

use super::{
    AgentAnswer, AgentCheck, Definitions, Guest, GuestDetails, Host, HostEvent, Keeper,
    MigrationDone, MigrationProgress, MigrationRequest, ShutdownAsked, ShutdownMode, SurveyId,
    Transfer,
};
use crate::error::{Error, Result};
use crate::resource::System;

/// Connects to libvirt with a time limit on every call.
pub struct Libvirt {
    timeout: Duration,
    connections: Connections,
}

/// The open connections by URI, shared by the hosts that use them: a migration reaches its target
/// through the connection its command already has, not a second one. Held weakly: a connection
/// closes with the last host using it, so a later look (the watcher's, after a libvirtd restart)
/// connects afresh instead of reusing a dead one.
type Connections = Arc<Mutex<HashMap<String, Weak<Connect>>>>;

impl Libvirt {
    pub fn new(timeout: Duration) -> Self {
        // libvirt's default handler prints every error to stderr; we report errors ourselves.
        virt::error::clear_error_callback();
        Libvirt {
            timeout,
            connections: Connections::default(),
        }
    }
}

impl Libvirt {
    pub fn connect(&self, system: &System) -> Result<Arc<dyn Host>> {
        Ok(Arc::new(LibvirtHost::open(
            system,
            self.timeout,
            &self.connections,
        )?))
    }

    pub fn watch(
        &self,
        systems: &[System],
        sink: mpsc::Sender<HostEvent>,
        stop: Arc<AtomicBool>,
    ) -> Result<()> {
        events::watch(systems.to_vec(), self.timeout, sink, stop).map_err(Error::Failed)
    }
}

struct LibvirtHost {
    place: Place,
    conn: Arc<Connect>,
    timeout: Duration,
    connections: Connections,
}

/// Which system a call goes to, and at which URI: what every error names.
struct Place {
    system: String,
    uri: String,
}

/// Open a connection to the place's URI, bounded in time; any libvirt failure to open is the
/// host being unreachable, whatever number libvirt gives it.
fn open(place: &Place, timeout: Duration) -> Result<Connect> {
    test_driver_file(place)?;
    let uri = place.uri.clone();
    bounded_with(
        place,
        "connect",
        timeout,
        move || Connect::open(Some(&uri)),
        |place, e| Error::Unreachable {
            system: place.system.clone(),
            uri: place.uri.clone(),
            // libxml2's report of a malformed file goes on with the line and a caret: the first
            // line says it all, and a table cell holds one line.
            detail: e.message().lines().next().unwrap_or_default().to_owned(),
        },
    )
}

/// The test driver (`test:///path/node.xml`) reads its node file in this process, through
/// libxml2, which prints "I/O warning : failed to load external entity" on stderr past every error
/// handler when the file cannot be read. So the file is tried here first, and a missing one is
/// the host being unreachable, in our words.
fn test_driver_file(place: &Place) -> Result<()> {
    let Some(path) = place.uri.strip_prefix("test://") else {
        return Ok(());
    };
    let path = path.split('?').next().unwrap_or_default();
    if !path.starts_with('/') || path == "/default" {
        return Ok(());
    }
    std::fs::File::open(path)
        .map(drop)
        .map_err(|e| Error::Unreachable {
            system: place.system.clone(),
            uri: place.uri.clone(),
            detail: format!("cannot read {path}: {}", crate::error::io(&e)),
        })
}

/// Run one libvirt call on a worker thread and wait for it at most `timeout`.
fn bounded<T: Send + 'static>(
    place: &Place,
    what: &str,
    timeout: Duration,
    call: impl FnOnce() -> std::result::Result<T, VirtError> + Send + 'static,
) -> Result<T> {
    bounded_with(place, what, timeout, call, classify)
}

/// [`bounded`], with the caller's sorting of libvirt's errors.
fn bounded_with<T: Send + 'static>(
    place: &Place,
    what: &str,
    timeout: Duration,
    call: impl FnOnce() -> std::result::Result<T, VirtError> + Send + 'static,
    sort: fn(&Place, &VirtError) -> Error,
) -> Result<T> {
    let system = place.system.as_str();
    let (tx, rx) = mpsc::sync_channel(1);
    let started = Instant::now();
    let spawned = std::thread::Builder::new()
        .name(format!("libvirt {what}"))
        .spawn(move || {
            let _ = tx.send(call());
        });
    if let Err(e) = spawned {
        return Err(Error::Failed(format!(
            "{system}: {what}: cannot start a thread: {e}"
        )));
    }
    let answer = rx.recv_timeout(timeout);
    log::debug!(
        "libvirt {system}: {what}: {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    match answer {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(sort(place, &e)),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(Error::Timeout {
            system: system.to_owned(),
            what: what.to_owned(),
            seconds: timeout.as_secs(),
            then: String::new(),
        }),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error::Failed(format!(
            "{system}: {what}: the libvirt call panicked"
        ))),
    }
}

fn lock(connections: &Connections) -> std::sync::MutexGuard<'_, HashMap<String, Weak<Connect>>> {
    // A poisoned map only means another thread panicked mid-insert; the map is still sound.
    connections.lock().unwrap_or_else(|p| p.into_inner())
}

fn is(e: &VirtError, number: ErrorNumber) -> bool {
    e.code() == virt::enumutil::Enum::Known(number)
}

/// A start refused because another guest holds the disk: a lease of libvirt's lock manager
/// (virtlockd, sanlock: "resource busy"), or QEMU's own lock on the image file, which refuses
/// first when both guests' QEMU run on one kernel. Their words, one line.
fn disk_in_use(e: &VirtError) -> Option<String> {
    let message = e.message();
    if is(e, ErrorNumber::ResourceBusy) {
        return Some(format!(
            "libvirt's lock manager holds its lease elsewhere ({})",
            message.lines().next().unwrap_or_default()
        ));
    }
    if !message.contains("Failed to get \"write\" lock") {
        return None;
    }
    let image = message
        .lines()
        .find_map(|l| l.strip_prefix("Is another process using the image "))
        .map(|i| i.trim_matches(|c| matches!(c, '[' | ']' | '?')));
    Some(match image {
        Some(image) => format!("QEMU could not lock its image {image}"),
        None => "QEMU could not lock its image".to_owned(),
    })
}

/// libvirt's error numbers, sorted into the classes the exit codes distinguish.
fn classify(place: &Place, e: &VirtError) -> Error {
    let detail = format!("{}: {}", place.system, e.message());
    if is(e, ErrorNumber::NoDomain) {
        Error::Unknown(detail)
    } else if is(e, ErrorNumber::NoConnect)
        || is(e, ErrorNumber::Rpc)
        || is(e, ErrorNumber::AuthFailed)
    {
        Error::Unreachable {
            system: place.system.clone(),
            uri: place.uri.clone(),
            detail: e.message().to_owned(),
        }
    } else {
        Error::Failed(detail)
    }
}

impl LibvirtHost {
    fn open(system: &System, timeout: Duration, connections: &Connections) -> Result<LibvirtHost> {
        let uri = system.uri.clone().ok_or_else(|| {
            Error::Config(format!(
                "system '{}' has no uri: a KVM (libvirt) resource needs one",
                system.name
            ))
        })?;
        let place = Place {
            system: system.name.clone(),
            uri,
        };
        let known = lock(connections).get(&place.uri).and_then(Weak::upgrade);
        let conn = match known {
            Some(conn) => conn,
            // Connected without the lock held: the hosts of a survey connect all at once.
            None => {
                let conn = Arc::new(open(&place, timeout)?);
                let mut pool = lock(connections);
                match pool.get(&place.uri).and_then(Weak::upgrade) {
                    Some(first) => first,
                    None => {
                        pool.insert(place.uri.clone(), Arc::downgrade(&conn));
                        conn
                    }
                }
            }
        };
        Ok(LibvirtHost {
            place,
            conn,
            timeout,
            connections: connections.clone(),
        })
    }

    /// A call on one named guest: look it up, then act, on the worker thread.
    fn on_guest<T: Send + 'static>(
        &self,
        name: &str,
        what: &str,
        call: impl FnOnce(&virt::domain::Domain) -> std::result::Result<T, VirtError> + Send + 'static,
    ) -> Result<T> {
        self.on_guest_for(name, what, self.timeout, call)
    }

    /// [`Self::on_guest`] for calls that wait on the guest itself (its agent) up to `limit`.
    fn on_guest_for<T: Send + 'static>(
        &self,
        name: &str,
        what: &str,
        limit: Duration,
        call: impl FnOnce(&virt::domain::Domain) -> std::result::Result<T, VirtError> + Send + 'static,
    ) -> Result<T> {
        let conn = self.conn.clone();
        let guest = name.to_owned();
        bounded(&self.place, &format!("{what} {name}"), limit, move || {
            let dom = conn.lookup_domain_by_name(&guest)?;
            call(&dom)
        })
    }
}

impl Host for LibvirtHost {
    fn guests(&self, _survey: SurveyId) -> Result<Vec<Guest>> {
        let conn = self.conn.clone();
        bounded(&self.place, "all domain states", self.timeout, move || {
            ffi::all_states(&conn)
        })
    }

    fn guest(&self, name: &str) -> Result<Option<Guest>> {
        // A transient guest that stops between the lookup and the state query vanishes: the
        // NoDomain of either call (classified Unknown) means the same thing, not defined here.
        match self.on_guest(name, "state", ffi::state) {
            Ok(state) => Ok(Some(Guest {
                name: name.to_owned(),
                state,
            })),
            Err(Error::Unknown(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn start(&self, name: &str) -> Result<()> {
        let conn = self.conn.clone();
        let guest = name.to_owned();
        bounded_with(
            &self.place,
            &format!("start {name}"),
            self.timeout,
            move || conn.lookup_domain_by_name(&guest)?.create().map(drop),
            |place, e| match disk_in_use(e) {
                Some(why) => Error::Refused(format!(
                    "{}: the guest's disk is in use: {why}. It runs (or is starting) elsewhere; \
                     nothing was started here",
                    place.system
                )),
                None => classify(place, e),
            },
        )
    }

    fn shutdown(&self, name: &str, mode: ShutdownMode) -> Result<ShutdownAsked> {
        let flags = match mode {
            ShutdownMode::Agent => sys::VIR_DOMAIN_SHUTDOWN_GUEST_AGENT,
            ShutdownMode::Acpi => sys::VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN,
        };
        let system = self.place.system.clone();
        self.on_guest(name, "shutdown", move |dom| match dom.shutdown_flags(flags) {
            // Drivers that cannot choose the method (libvirt's test driver) reject the flag;
            // their default method is the only one there is.
            Err(e) if is(&e, ErrorNumber::InvalidArg) && e.message().contains("unsupported flags") => {
                log::debug!("libvirt {system}: shutdown method not selectable, using the driver's default");
                dom.shutdown().map(drop)
            }
            other => other.map(drop),
        })
        .map(|()| ShutdownAsked::Delivered(mode))
    }

    fn destroy(&self, name: &str) -> Result<()> {
        self.on_guest(name, "destroy", |dom| dom.destroy().map(drop))
    }

    /// Managed (client-driven) migration: this process holds both connections, as `virsh migrate`
    /// without `--p2p` does, so no libvirtd-to-libvirtd credentials are needed. The call blocks,
    /// so it runs on its own thread while this one polls the job statistics and enforces the limit.
    fn migrate(
        &self,
        name: &str,
        target: &System,
        request: &MigrationRequest,
        progress: &dyn Fn(&MigrationProgress),
    ) -> Result<MigrationDone> {
        let target = LibvirtHost::open(target, self.timeout, &self.connections)?;
        let dom = self.on_guest(name, "look up", |dom| Ok(dom.clone()))?;
        let mut flags = sys::VIR_MIGRATE_ABORT_ON_ERROR;
        if request.transfer == Transfer::Live {
            flags |= sys::VIR_MIGRATE_LIVE;
        }
        if request.move_definition {
            flags |= sys::VIR_MIGRATE_PERSIST_DEST | sys::VIR_MIGRATE_UNDEFINE_SOURCE;
        }
        let params = virt::domain::MigrateParameters {
            uri: request.uri.clone(),
            ..Default::default()
        };
        let (tx, rx) = mpsc::sync_channel(1);
        let (source, dconn) = (dom.clone(), target.conn.clone());
        std::thread::Builder::new()
            .name(format!("libvirt migrate {name}"))
            .spawn(move || {
                let _ = tx.send(source.migrate3(&dconn, params, flags));
            })
            .map_err(|e| {
                Error::Failed(format!("{}: cannot start a thread: {e}", self.place.system))
            })?;

        let started = Instant::now();
        let mut aborted = false;
        let migrated = loop {
            match rx.recv_timeout(Duration::from_millis(500)) {
                Ok(result) => break result,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(Error::Failed(format!(
                        "{}: the migration call panicked",
                        self.place.system
                    )));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if aborted {
                // An aborted job should end promptly. If it does not, the migration may still
                // complete: say that its outcome is unknown rather than guess where the guest is.
                if started.elapsed() > request.limit + self.timeout {
                    return Err(Error::Failed(format!(
                        "the migration of {name} passed MigrateTimeout ({}s) and did not stop \
                         within {}s of being aborted: where the guest ends up is unknown, check \
                         with status",
                        request.limit.as_secs(),
                        self.timeout.as_secs()
                    )));
                }
                continue;
            }
            if started.elapsed() >= request.limit {
                let dom = dom.clone();
                // A refused abort (the job is already in its last phase) is not the end: the
                // migration call still tells how it ended.
                if let Err(e) = bounded(
                    &self.place,
                    &format!("abort migration of {name}"),
                    self.timeout,
                    move || ffi::abort_job(&dom),
                ) {
                    log::warn!(
                        "{}: aborting the migration of {name}: {e}",
                        self.place.system
                    );
                }
                aborted = true;
                continue;
            }
            let poll = dom.clone();
            if let Ok(job) = bounded(&self.place, "job stats", self.timeout, move || {
                ffi::job_stats(&poll, 0)
            }) {
                use sys::*;
                let either = |memory, data| job.get(memory).or(job.get(data)).unwrap_or(0);
                progress(&MigrationProgress {
                    processed_bytes: either(
                        VIR_DOMAIN_JOB_MEMORY_PROCESSED,
                        VIR_DOMAIN_JOB_DATA_PROCESSED,
                    ),
                    total_bytes: either(VIR_DOMAIN_JOB_MEMORY_TOTAL, VIR_DOMAIN_JOB_DATA_TOTAL),
                    remaining_bytes: either(
                        VIR_DOMAIN_JOB_MEMORY_REMAINING,
                        VIR_DOMAIN_JOB_DATA_REMAINING,
                    ),
                    bytes_per_second: job.get(VIR_DOMAIN_JOB_MEMORY_BPS).unwrap_or(0),
                    dirty_pages_per_second: job.get(VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE).unwrap_or(0),
                });
            }
        };
        let elapsed = started.elapsed();
        match migrated {
            Ok(arrived) => {
                // The target keeps the statistics of the migration it completed.
                let downtime = bounded(
                    &target.place,
                    "completed job stats",
                    self.timeout,
                    move || ffi::job_stats(&arrived, sys::VIR_DOMAIN_JOB_STATS_COMPLETED),
                )
                .ok()
                .and_then(|job| job.get(sys::VIR_DOMAIN_JOB_DOWNTIME))
                .map(Duration::from_millis);
                Ok(MigrationDone { elapsed, downtime })
            }
            Err(_) if aborted => Err(Error::Failed(format!(
                "the migration of {name} did not finish within MigrateTimeout ({}s) and was aborted",
                request.limit.as_secs()
            ))),
            Err(e) => Err(classify(&self.place, &e)),
        }
    }

    fn agent(&self, name: &str, within: Duration) -> Result<AgentCheck> {
        // Two calls, each with its own bound: a libvirtd slow to give the live XML is a host that
        // does not answer (--timeout), not an agent that is silent (PingTimeout).
        let (answer, run) = self.on_guest(name, "agent channel of", agent::unpingable)?;
        if let Some(answer) = answer {
            return Ok(AgentCheck {
                answer,
                run,
                detail: None,
            });
        }
        // After one silence libvirt first resynchronises with the agent, for a fixed 5 s: the
        // answer is not waited for beyond `within` (and a second for the call itself).
        let ping = self.on_guest_for(
            name,
            "ping the guest agent of",
            within + Duration::from_secs(1),
            move |dom| agent::guest_ping(dom, within),
        );
        let (answer, detail) = match ping {
            Ok(None) => (AgentAnswer::Answered, None),
            Ok(Some(why)) => (AgentAnswer::Silent, Some(why)),
            Err(Error::Timeout { .. }) => (AgentAnswer::Silent, None),
            Err(e) => return Err(e),
        };
        Ok(AgentCheck {
            answer,
            run,
            detail,
        })
    }

    fn details(&self, name: &str, agent: AgentAnswer, within: Duration) -> Result<GuestDetails> {
        // The host name, the OS and the addresses: three agent calls at most.
        self.on_guest_for(name, "details of", self.timeout + within * 3, move |dom| {
            agent::details(dom, agent, within)
        })
    }

    fn keeper(&self) -> Keeper<'_> {
        Keeper::Hypervisor(self)
    }
}

impl Definitions for LibvirtHost {
    fn definition(&self, name: &str) -> Result<String> {
        self.on_guest(name, "definition of", |dom| {
            dom.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE | sys::VIR_DOMAIN_XML_MIGRATABLE)
        })
    }

    fn define(&self, xml: &str) -> Result<()> {
        let conn = self.conn.clone();
        let xml = xml.to_owned();
        bounded(&self.place, "define", self.timeout, move || {
            conn.define_domain_xml(&xml).map(drop)
        })
    }

    fn create_transient(&self, xml: &str) -> Result<()> {
        let conn = self.conn.clone();
        let xml = xml.to_owned();
        bounded(&self.place, "create transient", self.timeout, move || {
            conn.create_domain_xml(&xml, 0).map(drop)
        })
    }

    fn undefine(&self, name: &str) -> Result<()> {
        self.on_guest(name, "undefine", |dom| dom.undefine().map(drop))
    }
}

/// The calls the `virt` crate does not wrap, or not safely: the bulk state query (its wrapper
/// never frees the records), a state query that reports failure (its `state()` swallows errors),
/// a job's statistics (its `job_stats()` hands libvirt's allocation to Rust's allocator, and
/// aborts on the null list libvirt returns once the job has ended), and aborting a job.
mod ffi {
    use std::collections::HashMap;
    use std::ffi::CStr;
    use std::os::raw::c_int;

    use virt::connect::Connect;
    use virt::domain::Domain;
    use virt::error::Error as VirtError;
    use virt::sys;

    use super::states::guest_state;
    use crate::backend::{Guest, GuestState};

    /// Every domain's state and reason in one RPC (`virConnectGetAllDomainStats`).
    pub fn all_states(conn: &Connect) -> Result<Vec<Guest>, VirtError> {
        let mut records: *mut sys::virDomainStatsRecordPtr = std::ptr::null_mut();
        // SAFETY: conn is a live connection; on success libvirt hands us `count` records that we
        // own until virDomainStatsRecordListFree, which we call on every path below.
        let count = unsafe {
            sys::virConnectGetAllDomainStats(
                conn.as_ptr(),
                sys::VIR_DOMAIN_STATS_STATE,
                &mut records,
                0,
            )
        };
        if count < 0 {
            return Err(VirtError::last_error());
        }
        let mut guests = Vec::with_capacity(count as usize);
        for i in 0..count as usize {
            // SAFETY: i < count, so the record pointer and its fields are valid.
            unsafe {
                let record = *records.add(i);
                let name = CStr::from_ptr(sys::virDomainGetName((*record).dom))
                    .to_string_lossy()
                    .into_owned();
                let int = |key: &CStr| {
                    let mut value: c_int = -1;
                    sys::virTypedParamsGetInt(
                        (*record).params,
                        (*record).nparams,
                        key.as_ptr(),
                        &mut value,
                    );
                    value
                };
                let state = int(sys::VIR_DOMAIN_STATS_STATE_STATE);
                let reason = int(sys::VIR_DOMAIN_STATS_STATE_REASON);
                guests.push(Guest {
                    name,
                    state: guest_state(state.max(0) as u32, reason),
                });
            }
        }
        // SAFETY: records came from virConnectGetAllDomainStats and are freed exactly once.
        unsafe { sys::virDomainStatsRecordListFree(records) };
        Ok(guests)
    }

    /// The unsigned numbers of a domain's job statistics, by their libvirt names.
    pub struct Job(HashMap<String, u64>);

    impl Job {
        pub fn get(&self, key: &CStr) -> Option<u64> {
            self.0.get(key.to_str().ok()?).copied()
        }
    }

    /// `virDomainGetJobStats`: no job (an empty list) is an empty [`Job`].
    pub fn job_stats(dom: &Domain, flags: u32) -> Result<Job, VirtError> {
        let mut kind: c_int = 0;
        let mut params: sys::virTypedParameterPtr = std::ptr::null_mut();
        let mut count: c_int = 0;
        // SAFETY: dom is a live domain; on success libvirt hands us `count` parameters (or a null
        // list) that we own until virTypedParamsFree, called below.
        let rc = unsafe {
            sys::virDomainGetJobStats(dom.as_ptr(), &mut kind, &mut params, &mut count, flags)
        };
        if rc < 0 {
            return Err(VirtError::last_error());
        }
        let mut numbers = HashMap::new();
        for i in 0..count.max(0) as usize {
            // SAFETY: params is non-null when count > 0, and i < count.
            unsafe {
                let param = &*params.add(i);
                if param.type_ as u32 == sys::VIR_TYPED_PARAM_ULLONG {
                    let name = CStr::from_ptr(param.field.as_ptr())
                        .to_string_lossy()
                        .into_owned();
                    numbers.insert(name, param.value.ul);
                }
            }
        }
        if !params.is_null() {
            // SAFETY: params came from virDomainGetJobStats and is freed exactly once.
            unsafe { sys::virTypedParamsFree(params, count) };
        }
        Ok(Job(numbers))
    }

    /// Abort the domain's current job (a migration), which the crate does not wrap.
    pub fn abort_job(dom: &Domain) -> Result<(), VirtError> {
        // SAFETY: dom is a live domain.
        if unsafe { sys::virDomainAbortJob(dom.as_ptr()) } < 0 {
            return Err(VirtError::last_error());
        }
        Ok(())
    }

    /// One domain's state and reason (`virDomainGetState`), failing when libvirt fails.
    pub fn state(dom: &Domain) -> Result<GuestState, VirtError> {
        let (mut state, mut reason): (c_int, c_int) = (-1, -1);
        // SAFETY: dom is a live domain; the out-pointers point at locals.
        let rc = unsafe { sys::virDomainGetState(dom.as_ptr(), &mut state, &mut reason, 0) };
        if rc < 0 {
            return Err(VirtError::last_error());
        }
        Ok(guest_state(state.max(0) as u32, reason))
    }
}
