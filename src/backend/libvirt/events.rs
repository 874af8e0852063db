//! Domain and guest agent lifecycle events from libvirt's event loop, one connection per system,
//! reconnected whenever its libvirtd goes away (restart, crash). The callbacks have no safe wrapper in the
//! `virt` crate, so this module registers them through the C API; each callback only forwards
//! what it received into a channel.

use std::ffi::CStr;
use std::os::raw::{c_int, c_uint, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use virt::connect::Connect;
use virt::sys;

use crate::backend::{HostEvent, Lifecycle, LifecycleEvent};
use crate::resource::System;

/// How long to wait before connecting again after a failure (doubles up to `MAX_BACKOFF`).
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Keepalive: a libvirtd that stops answering is declared gone after about 3 × 2 s.
const KEEPALIVE_INTERVAL: i32 = 2;
const KEEPALIVE_COUNT: u32 = 3;

/// libvirt's default event loop, started once per process on its own thread.
fn start_event_loop() -> Result<(), String> {
    static STARTED: OnceLock<Result<(), String>> = OnceLock::new();
    STARTED
        .get_or_init(|| {
            virt::event::event_register_default_impl().map_err(|e| e.message().to_owned())?;
            std::thread::Builder::new()
                .name("libvirt events".into())
                .spawn(|| {
                    loop {
                        if let Err(e) = virt::event::event_run_default_impl() {
                            log::warn!("libvirt event loop: {}", e.message());
                        }
                    }
                })
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .clone()
}

/// Watch every system until `stop` is set, sending what happens into `sink`.
pub fn watch(
    systems: Vec<System>,
    timeout: Duration,
    sink: Sender<HostEvent>,
    stop: Arc<AtomicBool>,
) -> Result<(), String> {
    start_event_loop()?;
    for system in systems {
        let (sink, stop) = (sink.clone(), stop.clone());
        std::thread::Builder::new()
            .name(format!("watch {}", system.name))
            .spawn(move || supervise(&system, timeout, &sink, &stop))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Keep one system subscribed: connect, register, wait for the connection to close, start over.
fn supervise(system: &System, timeout: Duration, sink: &Sender<HostEvent>, stop: &AtomicBool) {
    let mut backoff = FIRST_BACKOFF;
    while !stop.load(Ordering::Relaxed) {
        match subscribe(system, timeout, sink) {
            Ok(subscription) => {
                backoff = FIRST_BACKOFF;
                let _ = sink.send(HostEvent::Connected {
                    system: system.name.clone(),
                });
                while !stop.load(Ordering::Relaxed) && !subscription.closed.load(Ordering::Relaxed)
                {
                    std::thread::sleep(Duration::from_millis(100));
                }
                if !stop.load(Ordering::Relaxed) {
                    let reason = "the connection to libvirtd closed".to_owned();
                    let _ = sink.send(HostEvent::Disconnected {
                        system: system.name.clone(),
                        reason,
                    });
                }
            }
            Err(reason) => {
                let _ = sink.send(HostEvent::Disconnected {
                    system: system.name.clone(),
                    reason,
                });
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// A registered connection; dropping it deregisters its event callbacks.
struct Subscription {
    conn: Connect,
    callbacks: Vec<c_int>,
    closed: Arc<AtomicBool>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        for &callback in &self.callbacks {
            // SAFETY: callback was returned by virConnectDomainEventRegisterAny on this connection.
            // On a closed connection this fails harmlessly; libvirt frees the callback data either
            // way.
            unsafe { sys::virConnectDomainEventDeregisterAny(self.conn.as_ptr(), callback) };
        }
    }
}

impl Subscription {
    /// Register `callback` for the events `id` of every guest, with its own `EventData`; false
    /// when libvirt refuses it.
    ///
    /// # Safety
    /// `callback` is a function of the signature libvirt calls for `id`, cast to the generic type
    /// (the C API's VIR_DOMAIN_EVENT_CALLBACK cast), that reads its opaque argument as `EventData`.
    unsafe fn register(
        &mut self,
        id: sys::virDomainEventID,
        callback: sys::virConnectDomainEventGenericCallback,
        system: &System,
        sink: &Sender<HostEvent>,
    ) -> bool {
        let data = Box::into_raw(Box::new(EventData {
            system: system.name.clone(),
            sink: sink.clone(),
        })) as *mut c_void;
        // SAFETY: callback fits id (the caller's promise); data is owned by libvirt until
        // free_event_data.
        let registered = unsafe {
            sys::virConnectDomainEventRegisterAny(
                self.conn.as_ptr(),
                std::ptr::null_mut(),
                id as c_int,
                callback,
                data,
                Some(free_event_data),
            )
        };
        if registered < 0 {
            // SAFETY: registration failed, so libvirt did not take ownership of data.
            unsafe { free_event_data(data) };
            return false;
        }
        self.callbacks.push(registered);
        true
    }
}

/// What an event callback needs; owned by libvirt until it calls `free_event_data`.
struct EventData {
    system: String,
    sink: Sender<HostEvent>,
}

fn subscribe(
    system: &System,
    timeout: Duration,
    sink: &Sender<HostEvent>,
) -> Result<Subscription, String> {
    let uri = system.uri.clone().unwrap_or_default();
    let place = super::Place {
        system: system.name.clone(),
        uri: uri.clone(),
    };
    let conn = super::open(&place, timeout).map_err(|e| e.to_string())?;
    if let Err(e) = conn.set_keep_alive(KEEPALIVE_INTERVAL, KEEPALIVE_COUNT) {
        log::debug!("libvirt {}: no keepalive ({})", system.name, e.message());
    }

    let closed = Arc::new(AtomicBool::new(false));
    let close_data = Arc::into_raw(closed.clone()) as *mut c_void;
    // SAFETY: close_data is an Arc<AtomicBool> leaked for libvirt, reclaimed in free_close_data.
    let rc = unsafe {
        sys::virConnectRegisterCloseCallback(
            conn.as_ptr(),
            Some(on_close),
            close_data,
            Some(free_close_data),
        )
    };
    if rc < 0 {
        // SAFETY: registration failed, so libvirt did not take ownership.
        unsafe { free_close_data(close_data) };
        return Err(format!("cannot watch {uri}: close callback refused"));
    }

    let mut subscription = Subscription {
        conn,
        callbacks: Vec::new(),
        closed,
    };
    // SAFETY: on_lifecycle has the signature of VIR_DOMAIN_EVENT_ID_LIFECYCLE's callback and
    // reads EventData.
    let registered = unsafe {
        subscription.register(
            sys::VIR_DOMAIN_EVENT_ID_LIFECYCLE,
            std::mem::transmute::<
                sys::virConnectDomainEventCallback,
                sys::virConnectDomainEventGenericCallback,
            >(Some(on_lifecycle)),
            system,
            sink,
        )
    };
    if !registered {
        return Err(format!("cannot watch {uri}: event registration refused"));
    }
    // SAFETY: on_agent_lifecycle has the signature of VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE's
    // callback and reads EventData.
    let registered = unsafe {
        subscription.register(
            sys::VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE,
            std::mem::transmute::<
                sys::virConnectDomainEventAgentLifecycleCallback,
                sys::virConnectDomainEventGenericCallback,
            >(Some(on_agent_lifecycle)),
            system,
            sink,
        )
    };
    // Migrations and failovers are what the watcher is for: a libvirtd without agent events
    // (older than 1.2.11) is still watched, without them.
    if !registered {
        log::warn!(
            "libvirt {}: no guest agent events (registration refused)",
            system.name
        );
    }
    Ok(subscription)
}

/// Send the lifecycle event `event` makes of the system and the guest's name into the sink of
/// the callback's `EventData`.
///
/// # Safety
/// `opaque` is the `EventData` registered with the calling callback and `dom` the domain it was
/// called for: both alive for the duration of the callback.
unsafe fn forward(
    dom: sys::virDomainPtr,
    opaque: *mut c_void,
    event: impl FnOnce(&str, String) -> Lifecycle,
) {
    // SAFETY: the caller's promise.
    let (data, guest) = unsafe {
        (
            &*(opaque as *const EventData),
            CStr::from_ptr(sys::virDomainGetName(dom))
                .to_string_lossy()
                .into_owned(),
        )
    };
    let _ = data
        .sink
        .send(HostEvent::Lifecycle(event(&data.system, guest)));
}

unsafe extern "C" fn on_lifecycle(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    event: c_int,
    detail: c_int,
    opaque: *mut c_void,
) -> c_int {
    // SAFETY: libvirt calls this with the EventData registered with it and a live domain.
    unsafe {
        forward(dom, opaque, |system, guest| {
            lifecycle(system, guest, event, detail)
        })
    };
    0
}

unsafe extern "C" fn on_agent_lifecycle(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    state: c_int,
    reason: c_int,
    opaque: *mut c_void,
) {
    // SAFETY: libvirt calls this with the EventData registered with it and a live domain.
    unsafe {
        forward(dom, opaque, |system, guest| {
            agent_lifecycle(system, guest, state, reason)
        })
    };
}

unsafe extern "C" fn free_event_data(opaque: *mut c_void) {
    // SAFETY: opaque came from Box::into_raw in register and is freed exactly once, here.
    drop(unsafe { Box::from_raw(opaque as *mut EventData) });
}

unsafe extern "C" fn on_close(_conn: sys::virConnectPtr, _reason: c_int, opaque: *mut c_void) {
    // SAFETY: opaque is the Arc<AtomicBool> registered with this callback, alive until freed.
    unsafe { &*(opaque as *const AtomicBool) }.store(true, Ordering::Relaxed);
}

unsafe extern "C" fn free_close_data(opaque: *mut c_void) {
    // SAFETY: opaque came from Arc::into_raw in subscribe and is released exactly once, here.
    drop(unsafe { Arc::from_raw(opaque as *const AtomicBool) });
}

/// libvirt's virDomainEventType and its details, in libvirt's words.
fn lifecycle(system: &str, guest: String, event: c_int, detail: c_int) -> Lifecycle {
    const STARTED: &[&str] = &["booted", "migrated", "restored", "from snapshot", "wakeup"];
    const SUSPENDED: &[&str] = &[
        "paused",
        "migrated",
        "I/O error",
        "watchdog",
        "restored",
        "from snapshot",
        "API error",
        "post-copy",
        "post-copy failed",
    ];
    const RESUMED: &[&str] = &[
        "unpaused",
        "migrated",
        "from snapshot",
        "post-copy",
        "post-copy failed",
    ];
    const STOPPED: &[&str] = &[
        "shutdown",
        "destroyed",
        "crashed",
        "migrated",
        "saved",
        "failed",
        "from snapshot",
    ];
    const SHUTDOWN: &[&str] = &["finished", "guest", "host"];
    const CRASHED: &[&str] = &["panicked", "crashloaded"];
    let (name, details): (LifecycleEvent, &[&'static str]) = match event {
        0 => (
            LifecycleEvent::Defined,
            &["added", "updated", "renamed", "from snapshot"],
        ),
        1 => (LifecycleEvent::Undefined, &["removed", "renamed"]),
        2 => (LifecycleEvent::Started, STARTED),
        3 => (LifecycleEvent::Suspended, SUSPENDED),
        4 => (LifecycleEvent::Resumed, RESUMED),
        5 => (LifecycleEvent::Stopped, STOPPED),
        6 => (LifecycleEvent::Shutdown, SHUTDOWN),
        7 => (LifecycleEvent::Pmsuspended, &["memory", "disk"]),
        8 => (LifecycleEvent::Crashed, CRASHED),
        _ => (LifecycleEvent::Unknown, &[]),
    };
    let detail_name = usize::try_from(detail)
        .ok()
        .and_then(|d| details.get(d))
        .copied()
        .unwrap_or("unknown");
    Lifecycle {
        system: system.to_owned(),
        guest,
        event: name,
        detail: detail_name,
        migrated: detail_name == "migrated",
    }
}

/// libvirt's virConnectDomainEventAgentLifecycleState and its reason, the reason in words that say
/// what happened: libvirt's ("domain started", "channel event") say little in a watch line.
fn agent_lifecycle(system: &str, guest: String, state: c_int, reason: c_int) -> Lifecycle {
    use sys::{
        VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_CHANNEL as CHANNEL,
        VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_DOMAIN_STARTED as DOMAIN_STARTED,
        VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED as CONNECTED,
        VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_DISCONNECTED as DISCONNECTED,
    };
    let event = match c_uint::try_from(state) {
        Ok(CONNECTED) => LifecycleEvent::AgentConnected,
        Ok(DISCONNECTED) => LifecycleEvent::AgentDisconnected,
        _ => LifecycleEvent::Unknown,
    };
    let detail = match (event, c_uint::try_from(reason)) {
        // The channel's state as the guest started here: not yet connected after a boot, already
        // connected after an incoming migration or a restore.
        (_, Ok(DOMAIN_STARTED)) => "the guest started",
        (LifecycleEvent::AgentConnected, Ok(CHANNEL)) => "the guest agent opened its channel",
        (LifecycleEvent::AgentDisconnected, Ok(CHANNEL)) => "the guest agent closed its channel",
        _ => "unknown",
    };
    Lifecycle {
        system: system.to_owned(),
        guest,
        event,
        detail,
        migrated: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_lifecycle_states_and_reasons_become_event_and_detail_words() {
        let words = |state, reason| {
            let event = agent_lifecycle("a", "g".into(), state, reason);
            assert!(!event.migrated, "an agent event is never a migration");
            (event.event.as_str(), event.detail)
        };
        assert_eq!(
            words(1, 2),
            ("agent-connected", "the guest agent opened its channel")
        );
        assert_eq!(
            words(2, 2),
            ("agent-disconnected", "the guest agent closed its channel")
        );
        assert_eq!(words(2, 1), ("agent-disconnected", "the guest started"));
        assert_eq!(words(1, 1), ("agent-connected", "the guest started"));
        assert_eq!(words(1, 0), ("agent-connected", "unknown"));
        // A state or reason a newer libvirt may add.
        assert_eq!(words(0, 2), ("unknown", "unknown"));
        assert_eq!(words(3, 2), ("unknown", "unknown"));
        assert_eq!(words(2, 7), ("agent-disconnected", "unknown"));
    }
}
