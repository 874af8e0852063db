//! Starts the real `ovirt-sim` binary and talks to it over HTTPS, trusting only the CA it
//! printed.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Response};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::Value;

pub const USER: &str = "admin@internal";
pub const PASSWORD: &str = "secret";

pub struct Sim {
    child: Child,
    /// Kept open: the simulator stops when its stdin closes.
    stdin: Option<ChildStdin>,
    pub ready: Value,
    pub url: String,
    pub api: String,
    pub control: String,
    pub client: Client,
}

/// A client trusting only `ca_pem`, with the ring provider named explicitly.
pub fn client_for(ca_pem: &[u8]) -> Client {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(cert.expect("CA PEM")).expect("CA certificate");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("HTTP client")
}

impl Sim {
    /// Starts the simulator with the built-in default scenario.
    pub fn start() -> Sim {
        Sim::start_with(&[])
    }

    /// Starts the simulator with a scenario file written from `yaml`.
    pub fn with_scenario(yaml: &str) -> (Sim, tempdir::TempFile) {
        let file = tempdir::TempFile::new("scenario.yaml", yaml);
        let sim = Sim::start_with(&["--scenario", file.path()]);
        (sim, file)
    }

    pub fn start_with(args: &[&str]) -> Sim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ovirt-sim"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ovirt-sim");
        let stdin = child.stdin.take().expect("stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("ready line");
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("ready line {line:?} is not JSON: {e}"));
        let ca = std::fs::read(ready["ca_file"].as_str().expect("ca_file")).expect("read CA");
        Sim {
            child,
            stdin: Some(stdin),
            url: ready["url"].as_str().unwrap().to_string(),
            api: format!("{}/ovirt-engine/api", ready["url"].as_str().unwrap()),
            control: ready["control"].as_str().unwrap().to_string(),
            client: client_for(&ca),
            ready,
        }
    }

    /// `POST /ovirt-engine/sso/oauth/token` as the SDK sends it.
    pub fn token_response(&self, user: &str, password: &str) -> Response {
        self.client
            .post(format!("{}/ovirt-engine/sso/oauth/token", self.url))
            .header("Accept", "application/json")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=password&scope=ovirt-app-api&username={}&password={}",
                user.replace('@', "%40"),
                password
            ))
            .send()
            .expect("token request")
    }

    pub fn token(&self) -> String {
        let r = self.token_response(USER, PASSWORD);
        assert_eq!(r.status(), 200);
        let v: Value = r.json().expect("token JSON");
        v["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// GET an API path (relative to /ovirt-engine/api) with the SDK's headers.
    pub fn get(&self, token: &str, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.api))
            .bearer_auth(token)
            .header("Accept", "application/xml")
            .header("Version", "4")
            .send()
            .expect("GET")
    }

    pub fn post(&self, token: &str, path: &str, body: &str) -> Response {
        self.client
            .post(format!("{}{path}", self.api))
            .bearer_auth(token)
            .header("Accept", "application/xml")
            .header("Content-Type", "application/xml")
            .header("Version", "4")
            .body(body.to_string())
            .send()
            .expect("POST")
    }

    pub fn put(&self, token: &str, path: &str, body: &str) -> Response {
        self.client
            .put(format!("{}{path}", self.api))
            .bearer_auth(token)
            .header("Accept", "application/xml")
            .header("Content-Type", "application/xml")
            .body(body.to_string())
            .send()
            .expect("PUT")
    }

    pub fn control_get(&self, path: &str) -> Value {
        let r = self
            .client
            .get(format!("{}{path}", self.control))
            .send()
            .expect("control GET");
        assert!(
            r.status().is_success(),
            "control GET {path}: {}",
            r.status()
        );
        r.json().expect("control JSON")
    }

    pub fn control_post(&self, path: &str, body: &str) -> Value {
        let r = self
            .client
            .post(format!("{}{path}", self.control))
            .body(body.to_string())
            .send()
            .expect("control POST");
        let status = r.status();
        let v: Value = r.json().expect("control JSON");
        assert!(status.is_success(), "control POST {path}: {status} {v}");
        v
    }

    /// The VM's id by name, from the control interface.
    pub fn vm_id(&self, name: &str) -> String {
        self.control_get(&format!("/vms/{name}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn host_id(&self, name: &str) -> String {
        self.control_get(&format!("/hosts/{name}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Polls `GET /vms/{id}` until the status is `want`, returning every status seen.
    pub fn wait_vm_status(
        &self,
        token: &str,
        id: &str,
        want: &str,
        limit: Duration,
    ) -> Vec<String> {
        let deadline = Instant::now() + limit;
        let mut seen: Vec<String> = Vec::new();
        loop {
            let body = self.get(token, &format!("/vms/{id}")).text().unwrap();
            let status = element(&body, "status").expect("status element");
            if seen.last() != Some(&status) {
                seen.push(status.clone());
            }
            if status == want {
                return seen;
            }
            assert!(Instant::now() < deadline, "waited for {want}, saw {seen:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Sim {
    /// Closes the simulator's stdin and waits up to `limit` for it to exit.
    pub fn close_stdin_and_wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        self.stdin = None;
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Sim {
    /// Closing stdin lets the simulator exit cleanly (and remove its CA directory); it is
    /// killed only if it does not.
    fn drop(&mut self) {
        if self.close_stdin_and_wait(Duration::from_secs(3)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Text of the first `<name>...</name>` in a document (enough for these tests).
pub fn element(doc: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = doc.find(&open)? + open.len();
    let end = doc[start..].find(&format!("</{name}>"))? + start;
    Some(doc[start..end].to_string())
}

/// Every `name="..."`-less `<name>` text of a document, in order.
pub fn elements(doc: &str, name: &str) -> Vec<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        if let Some(j) = rest.find(&close) {
            out.push(rest[..j].to_string());
            rest = &rest[j..];
        }
    }
    out
}

pub mod tempdir {
    /// A file in a private temporary directory, removed on drop.
    pub struct TempFile {
        dir: std::path::PathBuf,
        path: String,
    }

    impl TempFile {
        pub fn new(name: &str, text: &str) -> TempFile {
            use std::sync::atomic::{AtomicU64, Ordering};
            static N: AtomicU64 = AtomicU64::new(0);
            let dir = std::env::temp_dir().join(format!(
                "ovirt-sim-test.{}.{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            TempFile {
                path: path.display().to_string(),
                dir,
            }
        }

        pub fn path(&self) -> &str {
            &self.path
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
