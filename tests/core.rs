//! The core's entry points in process, through the libvirt backend on libvirt's test driver:
//! one `Hosts` keeps one connection per system, so state changes are seen by the next call.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use kvmguestctl::agent::{
    self, Action, Console, Hosts, OfflineOptions, OnlineOptions, RESEND, ResourceState,
    ShutdownRequest,
};
use kvmguestctl::backend::Backends;
use kvmguestctl::error::Result;
use kvmguestctl::resource::{ConfigSource, Resource, load};

#[derive(Default)]
struct Steps(Mutex<Vec<String>>);

impl Console for Steps {
    fn step(&self, message: &str) {
        self.0.lock().unwrap().push(message.to_owned());
    }
    fn tick(&self, _: &str, _: Duration, _: Duration) {}
    fn transfer(&self, _: &str, _: u64, _: u64) {}
    fn confirm(&self, _: &str) -> Result<()> {
        Ok(())
    }
}

#[test]
fn online_offline_and_clean_through_the_libvirt_backend() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let sync = dir.path().join("sync");
    std::fs::create_dir(&sync).unwrap();
    let yaml = format!(
        "systems:\n  a: {{ uri: 'test://{f}/node-a.xml' }}\n  b: {{ uri: 'test://{f}/node-b.xml' }}\n\
         resources:\n  fresh: {{ type: KVMGuest, systems: [a, b], GuestName: fresh01, DelayAfterGuestOnline: 0,\n    \
         GuestConfigFilePath: {f}/fresh01.xml, SyncDir: {s} }}\n",
        f = fixtures.display(),
        s = sync.display()
    );
    let path = dir.path().join("r.yaml");
    std::fs::write(&path, yaml).unwrap();
    let config = load(&ConfigSource::Path(path)).unwrap();
    let connector = Backends::new(Duration::from_secs(10), None, "/nonexistent".into());
    let hosts = Hosts::new(&config, &connector);
    let res = &config.resources["fresh"];
    let console = Steps::default();

    let status = |system: &str| {
        let statuses = agent::status(&hosts, &[res]);
        statuses[0].on(system).unwrap().state
    };
    assert_eq!(status("a"), ResourceState::Offline);

    let report = agent::online(&hosts, res, "a", &OnlineOptions::default(), &console).unwrap();
    assert_eq!(report.action, Action::Started);
    assert_eq!(
        (report.state, report.confidence),
        (ResourceState::Online, Some(100))
    );
    assert_eq!(status("a"), ResourceState::Online);
    assert_eq!(
        status("b"),
        ResourceState::IntentionalOffline,
        "running on a"
    );

    let again = agent::online(&hosts, res, "a", &OnlineOptions::default(), &console).unwrap();
    assert_eq!(again.action, Action::AlreadyOnline);

    let opts = OfflineOptions {
        mode: ShutdownRequest::Acpi,
        kill: true,
        resend: RESEND,
        graceful_until: None,
    };
    let report = agent::offline(&hosts, res, "a", &opts, &console).unwrap();
    assert_eq!(report.action, Action::Stopped);
    assert_eq!(report.state, ResourceState::Offline);
    let saved = sync.join("fresh01.xml");
    assert_eq!(report.saved_definition.as_deref(), Some(saved.as_path()));
    assert!(
        std::fs::read_to_string(&saved)
            .unwrap()
            .contains("<name>fresh01</name>")
    );

    agent::online(&hosts, res, "a", &OnlineOptions::default(), &console).unwrap();
    let report = agent::clean(&hosts, res, "a", &console).unwrap();
    assert_eq!(report.action, Action::Cleaned);
    assert_eq!(status("a"), ResourceState::Offline);

    let steps = console.0.lock().unwrap().clone();
    assert_eq!(
        steps[0],
        format!(
            "defining fresh01 on a from {}/fresh01.xml (not defined here)",
            fixtures.display()
        )
    );
    assert!(
        steps.contains(&"asked fresh01 to shut down (ACPI, request 1)".to_owned()),
        "{steps:?}"
    );
}

#[test]
fn a_transient_guest_leaves_no_definition_behind() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "systems:\n  a: {{ uri: 'test://{f}/node-a.xml' }}\n\
         resources:\n  \
         transient: {{ type: KVMGuest, systems: [a], GuestName: fresh01, DelayAfterGuestOnline: 0, Transient: 1,\n    \
         GuestConfigFilePath: {f}/fresh01.xml, SyncDir: {d} }}\n",
        f = fixtures.display(),
        d = dir.path().display()
    );
    let path = dir.path().join("r.yaml");
    std::fs::write(&path, yaml).unwrap();
    let config = load(&ConfigSource::Path(path)).unwrap();
    let connector = Backends::new(Duration::from_secs(10), None, "/nonexistent".into());
    let hosts = Hosts::new(&config, &connector);
    let console = Steps::default();
    let transient = &config.resources["transient"];
    // libvirt knows the guest here: running (transient or not) or defined.
    let defined = || {
        hosts
            .get(transient, "a")
            .unwrap()
            .guest("fresh01")
            .unwrap()
            .is_some()
    };

    let report =
        agent::online(&hosts, transient, "a", &OnlineOptions::default(), &console).unwrap();
    assert_eq!(
        (report.action, report.state),
        (Action::Started, ResourceState::Online)
    );
    assert!(console.0.lock().unwrap()[0].starts_with("creating transient fresh01 on a from"));
    // The positive control for the checks below: the running transient guest is seen.
    assert!(defined(), "the started transient guest is known on a");
    let statuses = agent::status(&hosts, &[transient]);
    assert_eq!(statuses[0].on("a").unwrap().state, ResourceState::Online);

    let opts = OfflineOptions {
        mode: ShutdownRequest::Auto,
        kill: true,
        resend: RESEND,
        graceful_until: None,
    };
    let report = agent::offline(&hosts, transient, "a", &opts, &console).unwrap();
    assert_eq!(report.action, Action::Stopped);
    assert!(!defined(), "a stopped transient guest leaves no definition");
    let saved = dir.path().join("fresh01.xml");
    assert!(
        std::fs::read_to_string(saved)
            .unwrap()
            .contains("<name>fresh01</name>"),
        "SyncDir got the definition taken before the stop"
    );

    agent::online(&hosts, transient, "a", &OnlineOptions::default(), &console).unwrap();
    assert!(
        defined(),
        "started again, the transient guest is known on a"
    );
    agent::clean(&hosts, transient, "a", &console).unwrap();
    assert!(!defined(), "a cleaned transient guest leaves no definition");

    // A persistent definition of the same guest is never silently shadowed by a transient one.
    // The resource as it was before it was made Transient (the configuration refuses two
    // resources for one guest) leaves that definition.
    let persistent = Resource {
        transient: false,
        sync_dir: None,
        ..transient.clone()
    };
    agent::online(
        &hosts,
        &persistent,
        "a",
        &OnlineOptions::default(),
        &console,
    )
    .unwrap();
    agent::clean(&hosts, &persistent, "a", &console).unwrap();
    let err =
        agent::online(&hosts, transient, "a", &OnlineOptions::default(), &console).unwrap_err();
    assert_eq!(err.exit(), kvmguestctl::Exit::Refused);
    assert!(
        err.to_string()
            .contains("has a persistent definition on a, but transient is Transient"),
        "{err}"
    );
}
