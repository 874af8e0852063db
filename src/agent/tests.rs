//! The entry points against a scripted host: the paths a real hypervisor cannot be made to take
//! on demand (a guest that ignores shutdown requests, a guest agent that fails).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::backend::{
    Activity, AddressSource, AgentAnswer, AgentCheck, Definitions, GuestDetails, GuestState,
    Keeper, Observed, Placement, ShutdownAsked, ShutdownMode,
};
use crate::resource::{ConfigSource, Environment, System};

/// A guest state on this host, in the words `virsh domstate --reason` would use.
const fn here(
    activity: Activity,
    live: bool,
    state: &'static str,
    reason: &'static str,
) -> GuestState {
    GuestState {
        activity,
        live,
        placement: Placement::Here,
        observed: Some(Observed { state, reason }),
    }
}

const SHUT_OFF: GuestState = here(Activity::ShutOff, false, "shut off", "shutdown");
const RUNNING: GuestState = here(Activity::Running, true, "running", "booted");
const CRASHED: GuestState = here(Activity::Failed, false, "shut off", "crashed");
const DESTROYED: GuestState = here(Activity::ShutOff, false, "shut off", "destroyed");

#[derive(Default)]
struct Fake {
    guests: Mutex<HashMap<String, GuestState>>,
    /// Shutdown requests each guest ignores before it obeys (u32::MAX: never obeys).
    deaf: Mutex<HashMap<String, u32>>,
    agent_fails: bool,
    /// What the agent answers to each ping in turn (the last one again and again); no channel
    /// when empty.
    agent: Mutex<Vec<AgentAnswer>>,
    /// The guest crashes as soon as it is started.
    dies_on_start: bool,
    xml: String,
    calls: Mutex<Vec<String>>,
    /// How many times all guests were listed (surveys).
    looks: std::sync::atomic::AtomicUsize,
}

impl Fake {
    fn running(name: &str, deaf: u32) -> Arc<Fake> {
        Arc::new(Fake {
            guests: Mutex::new(HashMap::from([(name.to_owned(), RUNNING)])),
            deaf: Mutex::new(HashMap::from([(name.to_owned(), deaf)])),
            xml: format!("<domain><name>{name}</name></domain>"),
            ..Fake::default()
        })
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
    /// A running guest whose agent answers pings as scripted.
    fn with_agent(name: &str, deaf: u32, answers: &[AgentAnswer]) -> Arc<Fake> {
        Arc::new(Fake {
            agent: Mutex::new(answers.to_vec()),
            ..Arc::try_unwrap(Fake::running(name, deaf)).ok().unwrap()
        })
    }
    fn set(&self, name: &str, state: GuestState) {
        self.guests.lock().unwrap().insert(name.to_owned(), state);
    }
    /// Wait until this host was surveyed `n` times: a script's sync point with the watcher, where
    /// a sleep would guess how fast the watcher is.
    fn wait_looks(&self, n: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.looks.load(std::sync::atomic::Ordering::SeqCst) < n {
            assert!(std::time::Instant::now() < deadline, "no survey number {n}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Host for Fake {
    fn guests(&self, _: crate::backend::SurveyId) -> Result<Vec<Guest>> {
        let guests: Vec<Guest> = self
            .guests
            .lock()
            .unwrap()
            .iter()
            .map(|(n, s)| Guest {
                name: n.clone(),
                state: s.clone(),
            })
            .collect();
        // Counted once the answer is taken: a script that saw the count may change the guests.
        self.looks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(guests)
    }
    fn guest(&self, name: &str) -> Result<Option<Guest>> {
        Ok(self.guests.lock().unwrap().get(name).map(|s| Guest {
            name: name.to_owned(),
            state: s.clone(),
        }))
    }
    fn start(&self, name: &str) -> Result<()> {
        self.calls.lock().unwrap().push(format!("start {name}"));
        self.set(name, if self.dies_on_start { CRASHED } else { RUNNING });
        Ok(())
    }
    fn shutdown(&self, name: &str, mode: ShutdownMode) -> Result<ShutdownAsked> {
        let how = ShutdownAsked::Delivered(mode);
        self.calls
            .lock()
            .unwrap()
            .push(format!("shutdown {mode:?}"));
        if mode == ShutdownMode::Agent && self.agent_fails {
            return Err(Error::Failed("QEMU guest agent is not connected".into()));
        }
        let mut deaf = self.deaf.lock().unwrap();
        let left = deaf.entry(name.to_owned()).or_default();
        if *left > 0 {
            if *left != u32::MAX {
                *left -= 1;
            }
            return Ok(how);
        }
        drop(deaf);
        self.set(name, SHUT_OFF);
        Ok(how)
    }
    fn migrate(
        &self,
        _: &str,
        _: &System,
        _: &crate::backend::MigrationRequest,
        _: &dyn Fn(&crate::backend::MigrationProgress),
    ) -> Result<crate::backend::MigrationDone> {
        unreachable!("migration is tested on the real testbed")
    }
    fn agent(&self, _: &str, _: Duration) -> Result<AgentCheck> {
        let mut answers = self.agent.lock().unwrap();
        let answer = match answers.len() {
            0 => AgentAnswer::NoChannel,
            1 => answers[0],
            _ => answers.remove(0),
        };
        self.calls.lock().unwrap().push(format!("ping {answer}"));
        Ok(AgentCheck {
            answer,
            run: "1".into(),
            detail: None,
        })
    }
    fn details(&self, _: &str, agent: AgentAnswer, _: Duration) -> Result<GuestDetails> {
        Ok(GuestDetails {
            agent,
            host_name: None,
            os: None,
            kernel: None,
            address_source: AddressSource::Nowhere,
            interfaces: Vec::new(),
        })
    }
    fn keeper(&self) -> Keeper<'_> {
        Keeper::Hypervisor(self)
    }
    fn destroy(&self, name: &str) -> Result<()> {
        self.calls.lock().unwrap().push("destroy".into());
        self.set(name, DESTROYED);
        Ok(())
    }
}

impl Definitions for Fake {
    fn definition(&self, _: &str) -> Result<String> {
        Ok(self.xml.clone())
    }
    fn define(&self, _: &str) -> Result<()> {
        unreachable!("no test defines")
    }
    fn create_transient(&self, _: &str) -> Result<()> {
        unreachable!("no test creates transient guests on the scripted host")
    }
    fn undefine(&self, _: &str) -> Result<()> {
        unreachable!("no test undefines on the scripted host")
    }
}

/// Scripted hosts by system name; any other system cannot be reached.
struct FakeConnector(Vec<(&'static str, Arc<Fake>)>);

impl FakeConnector {
    /// The one host of system a.
    fn one(fake: Arc<Fake>) -> FakeConnector {
        FakeConnector(vec![("a", fake)])
    }
}

impl Connector for FakeConnector {
    fn connect(&self, _: &Environment, system: &System) -> Result<Arc<dyn Host>> {
        match self.0.iter().find(|(name, _)| *name == system.name) {
            Some((_, fake)) => Ok(fake.clone()),
            None => Err(Error::Unreachable {
                system: system.name.clone(),
                uri: format!("fake:///{}", system.name),
                detail: "no route to host".to_owned(),
            }),
        }
    }
    fn engine(&self, _: &Environment) -> Result<Arc<dyn crate::backend::EngineControl>> {
        unreachable!("DevScan is tested against the oVirt simulator")
    }
    fn watch(
        &self,
        _: &[System],
        _: std::sync::mpsc::Sender<crate::backend::HostEvent>,
        _: Arc<std::sync::atomic::AtomicBool>,
    ) -> Result<()> {
        unreachable!("watch is tested on the real testbed")
    }
}

#[derive(Default)]
struct Recorder {
    steps: Mutex<Vec<String>>,
    decline: bool,
}

impl Console for Recorder {
    fn step(&self, message: &str) {
        self.steps.lock().unwrap().push(message.to_owned());
    }
    fn tick(&self, _: &str, elapsed: Duration, limit: Duration) {
        assert!(elapsed <= limit);
    }
    fn transfer(&self, _: &str, _: u64, _: u64) {}
    fn confirm(&self, question: &str) -> Result<()> {
        if self.decline {
            Err(Error::Refused(format!("{question} declined")))
        } else {
            Ok(())
        }
    }
}

fn config(attributes: &str) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.yaml");
    let yaml = format!(
        "systems:\n  a: {{ uri: 'fake:///' }}\nresources:\n  r: {{ type: KVMGuest, systems: [a], GuestName: g, {attributes} }}\n"
    );
    std::fs::write(&path, yaml).unwrap();
    let config = crate::resource::load(&ConfigSource::Path(path)).unwrap();
    (dir, config)
}

fn offline_with(
    fake: &Arc<Fake>,
    attributes: &str,
    mode: ShutdownRequest,
    kill: bool,
) -> (Result<Report>, Vec<String>) {
    offline_within(fake, attributes, mode, kill, None)
}

fn offline_within(
    fake: &Arc<Fake>,
    attributes: &str,
    mode: ShutdownRequest,
    kill: bool,
    graceful_until: Option<Duration>,
) -> (Result<Report>, Vec<String>) {
    let (_dir, config) = config(attributes);
    let connector = FakeConnector::one(fake.clone());
    let hosts = Hosts::new(&config, &connector);
    let console = Recorder::default();
    let opts = OfflineOptions {
        mode,
        kill,
        resend: Duration::from_millis(300),
        graceful_until,
    };
    let report = offline(&hosts, &config.resources["r"], "a", &opts, &console);
    let steps = console.steps.lock().unwrap().clone();
    (report, steps)
}

#[test]
fn offline_sends_the_request_again_until_a_booting_guest_hears_it() {
    let fake = Fake::running("g", 2);
    let (report, steps) = offline_with(
        &fake,
        "DelayAfterGuestOffline: 5",
        ShutdownRequest::Acpi,
        true,
    );
    let report = report.unwrap();
    assert_eq!(report.action, Action::Stopped);
    assert_eq!(report.state, ResourceState::Offline);
    assert_eq!(
        fake.calls(),
        ["shutdown Acpi", "shutdown Acpi", "shutdown Acpi"]
    );
    assert_eq!(
        steps.last().unwrap(),
        "asked g to shut down (ACPI, request 3)"
    );
}

#[test]
fn offline_escalates_to_clean_when_the_guest_ignores_shutdown() {
    let fake = Fake::running("g", u32::MAX);
    let (report, steps) = offline_with(
        &fake,
        "DelayAfterGuestOffline: 1",
        ShutdownRequest::Acpi,
        true,
    );
    let report = report.unwrap();
    assert_eq!(report.action, Action::Killed);
    assert_eq!(report.state, ResourceState::Offline);
    assert_eq!(fake.calls().last().unwrap(), "destroy");
    assert!(
        fake.calls()
            .iter()
            .filter(|c| c.starts_with("shutdown"))
            .count()
            >= 3,
        "{:?}",
        fake.calls()
    );
    assert!(
        steps
            .iter()
            .any(|s| s == "g did not shut down within 1s; destroying it"),
        "{steps:?}"
    );
}

#[test]
fn offline_escalates_early_enough_to_end_inside_a_callers_timeout() {
    let fake = Fake::running("g", u32::MAX);
    let started = std::time::Instant::now();
    let (report, steps) = offline_within(
        &fake,
        "DelayAfterGuestOffline: 600",
        ShutdownRequest::Acpi,
        true,
        Some(Duration::from_secs(1)),
    );
    assert_eq!(report.unwrap().action, Action::Killed);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        steps
            .iter()
            .any(|s| s == "g did not shut down within 1s; destroying it"),
        "{steps:?}"
    );
}

#[test]
fn offline_with_no_kill_leaves_the_guest_running_and_fails() {
    let fake = Fake::running("g", u32::MAX);
    let (report, _) = offline_with(
        &fake,
        "DelayAfterGuestOffline: 1",
        ShutdownRequest::Acpi,
        false,
    );
    let err = report.unwrap_err();
    assert_eq!(err.exit(), crate::error::Exit::Failed);
    assert!(
        err.to_string()
            .contains("left running because of --no-kill"),
        "{err}"
    );
    assert!(!fake.calls().contains(&"destroy".to_owned()));
    assert_eq!(fake.guest("g").unwrap().unwrap().state, RUNNING);
}

#[test]
fn auto_mode_uses_an_agent_that_answers_and_falls_back_to_acpi() {
    use AgentAnswer::*;
    // The agent answers the ping, but then does not take the request.
    let fails = Arc::new(Fake {
        agent_fails: true,
        ..Arc::try_unwrap(Fake::with_agent("g", 0, &[Answered]))
            .ok()
            .unwrap()
    });
    let (report, steps) = offline_with(
        &fails,
        "DelayAfterGuestOffline: 5",
        ShutdownRequest::Auto,
        true,
    );
    assert_eq!(report.unwrap().detail, "g shut down (ACPI)");
    assert_eq!(
        fails.calls(),
        ["ping answered", "shutdown Agent", "shutdown Acpi"]
    );
    assert!(
        steps[0].starts_with("the guest agent did not take the request"),
        "{steps:?}"
    );

    let obeys = Fake::with_agent("g", 0, &[Answered]);
    let (report, _) = offline_with(
        &obeys,
        "DelayAfterGuestOffline: 5",
        ShutdownRequest::Auto,
        true,
    );
    assert_eq!(report.unwrap().detail, "g shut down (guest agent)");
    assert_eq!(obeys.calls(), ["ping answered", "shutdown Agent"]);

    for (answer, why) in [
        (NoChannel, "asked g to shut down (ACPI, request 1)"),
        (
            NotConnected,
            "the guest agent of g on a is not connected (qemu-ga is not running in the guest); \
             asking by ACPI",
        ),
        (
            Silent,
            "the guest agent of g on a did not answer a ping within 2s; asking by ACPI",
        ),
    ] {
        let fake = Fake::with_agent("g", 0, &[answer]);
        let (report, steps) = offline_with(
            &fake,
            "DelayAfterGuestOffline: 5",
            ShutdownRequest::Auto,
            true,
        );
        assert_eq!(report.unwrap().detail, "g shut down (ACPI)");
        assert_eq!(
            fake.calls(),
            [format!("ping {answer}"), "shutdown Acpi".into()]
        );
        assert_eq!(steps[0], why);
    }
}

#[test]
fn auto_mode_turns_to_the_agent_once_a_booting_guest_has_it_up() {
    use AgentAnswer::*;
    // ACPI is not heard yet, and the agent is not up yet; at the second request it is.
    let fake = Fake::with_agent("g", 1, &[NotConnected, Answered]);
    let (report, steps) = offline_with(
        &fake,
        "DelayAfterGuestOffline: 5",
        ShutdownRequest::Auto,
        true,
    );
    assert_eq!(
        report.unwrap().detail,
        "g shut down (ACPI)",
        "the first request's method"
    );
    assert_eq!(
        fake.calls(),
        [
            "ping not-connected",
            "shutdown Acpi",
            "ping answered",
            "shutdown Agent"
        ]
    );
    assert!(
        steps.contains(&"the guest agent answers now; asking through it".to_owned()),
        "{steps:?}"
    );
}

#[test]
fn agent_mode_refuses_before_any_request_when_the_agent_does_not_answer() {
    for answer in [
        AgentAnswer::NoChannel,
        AgentAnswer::NotConnected,
        AgentAnswer::Silent,
    ] {
        let fake = Fake::with_agent("g", 0, &[answer]);
        let (report, _) = offline_with(
            &fake,
            "DelayAfterGuestOffline: 5",
            ShutdownRequest::Agent,
            true,
        );
        let err = report.unwrap_err();
        assert_eq!(err.exit(), crate::error::Exit::Failed);
        assert!(
            err.to_string()
                .contains("--mode agent needs a guest agent that answers"),
            "{err}"
        );
        assert_eq!(fake.calls(), [format!("ping {answer}")], "nothing was sent");
        assert_eq!(fake.guest("g").unwrap().unwrap().state, RUNNING);
    }
    let obeys = Fake::with_agent("g", 0, &[AgentAnswer::Answered]);
    let (report, _) = offline_with(
        &obeys,
        "DelayAfterGuestOffline: 5",
        ShutdownRequest::Agent,
        true,
    );
    assert_eq!(report.unwrap().detail, "g shut down (guest agent)");
}

#[test]
fn a_declined_confirmation_touches_nothing() {
    let fake = Fake::running("g", 0);
    let (_dir, config) = config("DelayAfterGuestOffline: 1");
    let connector = FakeConnector::one(fake.clone());
    let hosts = Hosts::new(&config, &connector);
    let console = Recorder {
        decline: true,
        ..Recorder::default()
    };
    let opts = OfflineOptions {
        mode: ShutdownRequest::Acpi,
        kill: true,
        resend: RESEND,
        graceful_until: None,
    };
    let err = offline(&hosts, &config.resources["r"], "a", &opts, &console).unwrap_err();
    assert_eq!(err.exit(), crate::error::Exit::Refused);
    let err = clean(&hosts, &config.resources["r"], "a", &console).unwrap_err();
    assert_eq!(err.exit(), crate::error::Exit::Refused);
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

#[test]
fn online_fails_at_once_when_the_guest_dies_during_the_delay() {
    let fake = Arc::new(Fake {
        dies_on_start: true,
        ..Arc::try_unwrap(Fake::running("g", 0)).ok().unwrap()
    });
    fake.set("g", SHUT_OFF);
    let (_dir, config) = config("DelayAfterGuestOnline: 30");
    let connector = FakeConnector::one(fake);
    let hosts = Hosts::new(&config, &connector);
    let started = std::time::Instant::now();
    let err = online(
        &hosts,
        &config.resources["r"],
        "a",
        &OnlineOptions::default(),
        &Recorder::default(),
    )
    .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited {:?}",
        started.elapsed()
    );
    let message = err.to_string();
    assert!(
        message.starts_with("g did not come online on a: "),
        "{message}"
    );
    assert!(
        message.ends_with("s after the start it is FAULTED (shut off (crashed))"),
        "{message}"
    );
}

/// What the scripted hypervisors report to the watcher, in order.
type Script = Box<dyn FnOnce(std::sync::mpsc::Sender<crate::backend::HostEvent>) + Send>;

/// Systems a and b, each its own scripted host, and a script of events for the watcher.
struct ScriptedHosts {
    hosts: HashMap<String, Arc<Fake>>,
    script: Mutex<Option<Script>>,
}

impl Connector for ScriptedHosts {
    fn connect(&self, _: &Environment, system: &System) -> Result<Arc<dyn Host>> {
        Ok(self.hosts[&system.name].clone())
    }
    fn engine(&self, _: &Environment) -> Result<Arc<dyn crate::backend::EngineControl>> {
        unreachable!("DevScan is tested against the oVirt simulator")
    }
    fn watch(
        &self,
        _: &[System],
        sink: std::sync::mpsc::Sender<crate::backend::HostEvent>,
        _: Arc<std::sync::atomic::AtomicBool>,
    ) -> Result<()> {
        let script = self.script.lock().unwrap().take().expect("watched once");
        // The script's end drops the sender: the watcher handles every event sent, then ends.
        std::thread::spawn(move || script(sink));
        Ok(())
    }
}

/// A lifecycle event of guest `g`, as the libvirt backend reports it.
fn lifecycle(
    system: &str,
    event: crate::backend::LifecycleEvent,
    detail: &'static str,
) -> crate::backend::HostEvent {
    crate::backend::HostEvent::Lifecycle(crate::backend::Lifecycle {
        system: system.into(),
        guest: "g".into(),
        event,
        detail,
        migrated: detail == "migrated",
    })
}

/// Watch resource r (guest g, running on a at the start) on systems a and b while `script`
/// plays; the lines the watcher emitted and its state directory. Each host is surveyed once when
/// the watcher starts and once more at every connection (`wait_looks`).
fn watch_scripted(
    script: impl FnOnce(&dyn Fn(crate::backend::HostEvent), &Fake, &Fake) + Send + 'static,
) -> (Vec<super::watch::WatchLine>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.yaml");
    std::fs::write(
        &path,
        "systems:\n  a: { uri: 'fake:///a' }\n  b: { uri: 'fake:///b' }\n\
         resources:\n  r: { type: KVMGuest, systems: [a, b], GuestName: g }\n",
    )
    .unwrap();
    let config = crate::resource::load(&ConfigSource::Path(path)).unwrap();
    let (a, b) = (Fake::running("g", 0), Arc::new(Fake::default()));
    let (a_in_script, b_in_script) = (a.clone(), b.clone());
    let connector = ScriptedHosts {
        hosts: HashMap::from([("a".to_owned(), a), ("b".to_owned(), b)]),
        script: Mutex::new(Some(Box::new(move |sink| {
            script(&|e| sink.send(e).unwrap(), &a_in_script, &b_in_script)
        }))),
    };
    let resources: Vec<&Resource> = config.resources.values().collect();
    let mut lines = Vec::new();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    super::watch::watch(
        &config,
        &connector,
        &resources,
        &dir.path().join("state"),
        stop,
        &mut |l| lines.push(l.clone()),
    )
    .unwrap();
    (lines, dir)
}

/// Exactly one migrated line, from `from` to `to`, and the state file says the same.
fn assert_migrated(
    lines: &[super::watch::WatchLine],
    dir: &tempfile::TempDir,
    from: &str,
    to: &str,
) {
    let migrated: Vec<_> = lines
        .iter()
        .filter(|l| l.event.to_string() == "migrated")
        .collect();
    assert_eq!(migrated.len(), 1, "exactly one migration: {lines:#?}");
    assert_eq!(
        (migrated[0].from.as_deref(), migrated[0].to.as_deref()),
        (Some(from), Some(to)),
        "{lines:#?}"
    );
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("state/r.migrated")).unwrap())
            .unwrap();
    assert_eq!(
        (record["from"].as_str(), record["to"].as_str()),
        (Some(from), Some(to))
    );
}

const MIGRATED_AWAY: GuestState = here(Activity::MigratedAway, false, "shut off", "migrated");

#[test]
fn the_watcher_reports_real_migrations_only() {
    use crate::backend::HostEvent;
    use crate::backend::LifecycleEvent::*;
    let (lines, dir) = watch_scripted(|send, a, b| {
        // b is down when the watcher starts, then comes up: a first connection, no move.
        send(HostEvent::Connected { system: "a".into() });
        send(HostEvent::Disconnected {
            system: "b".into(),
            reason: "down".into(),
        });
        send(HostEvent::Connected { system: "b".into() });
        // A migration to b is cancelled: a resumes its guest ("resumed, migrated").
        send(lifecycle("a", Suspended, "migrated"));
        send(lifecycle("a", Resumed, "migrated"));
        // The watcher looks at the hosts when b connects: let it, before the guest moves.
        a.wait_looks(3);
        // A real one: started paused on b, resumed there, stopped on a.
        send(lifecycle("b", Started, "migrated"));
        b.set("g", RUNNING);
        a.set("g", MIGRATED_AWAY);
        send(lifecycle("b", Resumed, "migrated"));
        send(lifecycle("a", Stopped, "migrated"));
    });
    let events: Vec<String> = lines
        .iter()
        .map(|l| format!("{} {} {}", l.system, l.event, l.detail))
        .collect();
    assert_eq!(
        events[..3],
        ["a connected ", "b disconnected down", "b connected "],
        "{events:#?}"
    );
    assert_migrated(&lines, &dir, "a", "b");
    let migrated = lines
        .iter()
        .find(|l| l.event.to_string() == "migrated")
        .unwrap();
    assert_eq!(migrated.state, Some(ResourceState::Online));
}

/// The first look at b happens when the guest has already arrived there (its events still
/// queued): that look must not erase a as the place the guest came from.
#[test]
fn a_migration_that_completes_while_the_watcher_first_looks_at_the_target_names_its_source() {
    use crate::backend::HostEvent;
    use crate::backend::LifecycleEvent::*;
    let (lines, dir) = watch_scripted(|send, a, b| {
        send(HostEvent::Connected { system: "a".into() });
        a.wait_looks(2);
        b.set("g", RUNNING);
        a.set("g", MIGRATED_AWAY);
        send(HostEvent::Connected { system: "b".into() });
        send(lifecycle("b", Started, "migrated"));
        send(lifecycle("b", Resumed, "migrated"));
        send(lifecycle("a", Stopped, "migrated"));
    });
    assert_migrated(&lines, &dir, "a", "b");
}

/// The source's departure arrives before the target's arrival: the source still is the one the
/// guest left.
#[test]
fn a_departure_seen_before_the_arrival_still_names_the_source() {
    use crate::backend::HostEvent;
    use crate::backend::LifecycleEvent::*;
    let (lines, dir) = watch_scripted(|send, a, b| {
        send(HostEvent::Connected { system: "a".into() });
        send(HostEvent::Connected { system: "b".into() });
        a.wait_looks(3);
        send(lifecycle("b", Started, "migrated"));
        b.set("g", RUNNING);
        a.set("g", MIGRATED_AWAY);
        send(lifecycle("a", Stopped, "migrated"));
        send(lifecycle("b", Resumed, "migrated"));
    });
    assert_migrated(&lines, &dir, "a", "b");
}

/// While b could not be watched the guest moved there (b's events are lost, a's departure is
/// seen): b's reconnection finds it and reports the migration, from a.
#[test]
fn a_guest_that_arrived_while_the_watcher_was_away_is_reported_at_reconnection() {
    use crate::backend::HostEvent;
    use crate::backend::LifecycleEvent::*;
    let (lines, dir) = watch_scripted(|send, a, b| {
        send(HostEvent::Connected { system: "a".into() });
        send(HostEvent::Connected { system: "b".into() });
        a.wait_looks(3);
        send(HostEvent::Disconnected {
            system: "b".into(),
            reason: "the connection to libvirtd closed".into(),
        });
        b.set("g", RUNNING);
        a.set("g", MIGRATED_AWAY);
        send(lifecycle("a", Stopped, "migrated"));
        send(HostEvent::Connected { system: "b".into() });
    });
    let events: Vec<String> = lines
        .iter()
        .map(|l| format!("{} {} {}", l.system, l.event, l.detail))
        .collect();
    assert!(
        events.contains(&"b connected reconnected".to_owned()),
        "{events:#?}"
    );
    assert_eq!(
        events
            .last()
            .map(|e| e.split(' ').take(2).collect::<Vec<_>>()),
        Some(vec!["b", "migrated"]),
        "reported after the reconnection: {events:#?}"
    );
    assert_migrated(&lines, &dir, "a", "b");
}

#[test]
fn offline_of_a_guest_that_runs_elsewhere_says_where_and_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.yaml");
    std::fs::write(
        &path,
        "systems:\n  a: { uri: 'fake:///a' }\n  b: { uri: 'fake:///b' }\n  c: { uri: 'fake:///c' }\n\
         resources:\n  r: { type: KVMGuest, systems: [a, b, c], GuestName: g }\n",
    )
    .unwrap();
    let config = crate::resource::load(&ConfigSource::Path(path)).unwrap();
    let opts = OfflineOptions {
        mode: ShutdownRequest::Acpi,
        kill: true,
        resend: RESEND,
        graceful_until: None,
    };
    let stop_on_a = |a: Fake| {
        let connector = FakeConnector(vec![("a", Arc::new(a)), ("b", Fake::running("g", 0))]);
        let hosts = Hosts::new(&config, &connector);
        offline(
            &hosts,
            &config.resources["r"],
            "a",
            &opts,
            &Recorder::default(),
        )
    };

    let shut_off = Fake::default();
    shut_off.set("g", SHUT_OFF);
    let report = stop_on_a(shut_off).unwrap();
    assert_eq!(report.action, Action::AlreadyOffline);
    assert_eq!(report.detail, "g is not running on a; it runs on b");

    let report = stop_on_a(Fake::default()).unwrap();
    assert_eq!(report.action, Action::AlreadyOffline);
    assert_eq!(report.detail, "g is not defined on a; it runs on b");
}

#[test]
fn offline_of_a_stopped_guest_succeeds_when_no_other_system_can_be_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.yaml");
    std::fs::write(
        &path,
        "systems:\n  a: { uri: 'fake:///a' }\n  c: { uri: 'fake:///c' }\n\
         resources:\n  r: { type: KVMGuest, systems: [a, c], GuestName: g }\n",
    )
    .unwrap();
    let config = crate::resource::load(&ConfigSource::Path(path)).unwrap();
    let connector = FakeConnector(vec![
        ("a", Arc::new(Fake::default())),
        ("b", Arc::new(Fake::default())),
    ]);
    let hosts = Hosts::new(&config, &connector);
    let opts = OfflineOptions {
        mode: ShutdownRequest::Acpi,
        kill: true,
        resend: RESEND,
        graceful_until: None,
    };
    let report = offline(
        &hosts,
        &config.resources["r"],
        "a",
        &opts,
        &Recorder::default(),
    )
    .unwrap();
    assert_eq!(report.action, Action::AlreadyOffline);
    assert_eq!(report.detail, "g is not defined on a");
}

#[test]
fn a_migration_uri_with_a_port_is_one_guest_at_a_time() {
    for uri in [
        "tcp://10.0.0.2:49152",
        "tcp://[fd00::2]:49152",
        "tcp://h:1/",
    ] {
        assert!(super::names_a_port(uri), "{uri}");
    }
    for uri in ["tcp://10.0.0.2", "tcp://[fd00::2]", "tcp://h:/", "rdma://h"] {
        assert!(!super::names_a_port(uri), "{uri}");
    }
}

#[test]
fn offline_destroys_a_faulted_guest_at_once_instead_of_asking_it_to_shut_down() {
    let fake = Fake::running("g", 0);
    fake.set("g", here(Activity::Failed, true, "paused", "I/O error"));
    let started = std::time::Instant::now();
    let (report, steps) = offline_with(
        &fake,
        "DelayAfterGuestOffline: 30",
        ShutdownRequest::Acpi,
        true,
    );
    let report = report.unwrap();
    assert_eq!(report.action, Action::Killed);
    assert_eq!(fake.calls(), ["destroy"]);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(steps, ["g is FAULTED (paused, I/O error); destroying it"]);
}

#[test]
fn guest_health_lowers_the_confidence_of_a_silent_agent_then_faults_it() {
    use AgentAnswer::*;
    let fake = Fake::with_agent("g", 0, &[Answered, Silent, Silent, Silent]);
    let (dir, config) = config("GuestHealth: { Enabled: 1, DegradeAfter: 2, FaultAfter: 100 }");
    let connector = FakeConnector::one(fake.clone());
    let hosts = Hosts::new(&config, &connector).remembering(dir.path().join("state"));
    let res = &config.resources["r"];
    let look = || status(&hosts, &[res]).remove(0).systems.remove(0);

    let first = look();
    assert_eq!(
        (first.state, first.confidence, first.agent),
        (ResourceState::Online, Some(100), Some(Answered))
    );
    let missed = look();
    assert_eq!(
        (missed.state, missed.confidence),
        (ResourceState::Online, Some(100))
    );
    assert!(
        missed
            .why
            .contains("did not answer a ping within 2s (1 monitor(s) in a row"),
        "{}",
        missed.why
    );
    let degraded = look();
    assert_eq!(
        (degraded.state, degraded.confidence),
        (ResourceState::Online, Some(health::DEGRADED))
    );

    // As if the agent had been silent since long before the FaultAfter bound.
    let file = dir.path().join("state/r.health");
    let mut memory: health::Memory =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    memory.silent_since = memory.silent_since.map(|t| t - 100);
    std::fs::write(&file, serde_json::to_vec(&memory).unwrap()).unwrap();
    let faulted = look();
    assert_eq!(
        (faulted.state, faulted.confidence),
        (ResourceState::Faulted, None)
    );
    assert!(
        faulted.why.contains("the guest OS is taken as hung"),
        "{}",
        faulted.why
    );
}

#[test]
fn guest_health_never_holds_a_missing_agent_against_a_guest() {
    let fake = Fake::with_agent("g", 0, &[AgentAnswer::NotConnected]);
    let (dir, config) = config("GuestHealth: { Enabled: 1, DegradeAfter: 1, FaultAfter: 1 }");
    let connector = FakeConnector::one(fake.clone());
    let hosts = Hosts::new(&config, &connector).remembering(dir.path().join("state"));
    for _ in 0..3 {
        let here = status(&hosts, &[&config.resources["r"]])
            .remove(0)
            .systems
            .remove(0);
        assert_eq!(
            (here.state, here.confidence),
            (ResourceState::Online, Some(100))
        );
        assert!(here.why.contains("not held against it"), "{}", here.why);
    }
}

#[test]
fn without_guest_health_the_monitor_never_pings() {
    let fake = Fake::with_agent("g", 0, &[AgentAnswer::Silent]);
    let (_dir, config) = config("DelayAfterGuestOffline: 5");
    let connector = FakeConnector::one(fake.clone());
    let hosts = Hosts::new(&config, &connector);
    let here = status(&hosts, &[&config.resources["r"]])
        .remove(0)
        .systems
        .remove(0);
    assert_eq!((here.confidence, here.agent), (Some(100), None));
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

#[test]
fn with_guest_health_start_waits_for_the_agent_at_most_until_its_callers_deadline() {
    use AgentAnswer::*;
    let run = |answers: &[AgentAnswer], until: Duration| {
        let fake = Fake::with_agent("g", 0, answers);
        fake.set("g", SHUT_OFF);
        let (_dir, config) = config("GuestHealth: { Enabled: 1, PingTimeout: 1 }");
        let connector = FakeConnector::one(fake);
        let hosts = Hosts::new(&config, &connector);
        let started = std::time::Instant::now();
        let opts = OnlineOptions {
            until: Some(until),
            ..OnlineOptions::default()
        };
        let report = online(
            &hosts,
            &config.resources["r"],
            "a",
            &opts,
            &Recorder::default(),
        );
        (report.unwrap(), started.elapsed())
    };
    // An agent that never connects: the wait ends at the caller's deadline (an OCF start's), far
    // before DelayAfterGuestOnline + 60 s, and the start still succeeds.
    let (report, took) = run(&[NotConnected], Duration::from_secs(2));
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert!(
        report
            .detail
            .contains("is not connected (qemu-ga is not running in the guest) after 2s"),
        "{}",
        report.detail
    );
    // One that answers at its second ping ends the wait then.
    let (report, took) = run(&[NotConnected, Answered], Duration::from_secs(30));
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(
        report.detail.contains("its guest agent answered"),
        "{}",
        report.detail
    );
}
