//! One authenticated session with an engine: TLS always verified against the engine's CA, an
//! SSO token reused by every request of the command, one re-authentication on 401, a logout at
//! the end, and every request bounded in time.

use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::xml;
use crate::bounded::MIB;
use crate::error::{Error, Result, one_line};
use crate::secret::Secret;

/// The engine's API root under its URL.
const API: &str = "/ovirt-engine/api";

/// Re-authenticate this long before the token's announced expiry rather than risk a 401.
const EXPIRY_MARGIN: Duration = Duration::from_secs(5);

/// How the password is obtained when the session first needs it (decrypting needs the key file,
/// which commands that never reach the engine must not require).
pub type PasswordFn = Box<dyn Fn() -> Result<Secret> + Send + Sync>;

pub struct Session {
    http: Client,
    /// `https://engine[:port]`
    url: String,
    user: String,
    password: PasswordFn,
    token: Mutex<Option<Token>>,
    timeout: Duration,
}

struct Token {
    value: Secret,
    /// None: the engine said it never expires.
    expires: Option<SystemTime>,
}

/// The certificates of a PEM document; the error says what is wrong, the caller says where.
pub fn pem_certificates(pem: &[u8]) -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| format!("not PEM: {e}"))?;
    if certs.is_empty() {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned());
    }
    Ok(certs)
}

/// A rustls client configuration that trusts only the certificates of `ca_pem`.
pub fn tls_trusting(ca_pem: &[u8], source: &Path) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let certs = pem_certificates(ca_pem)
        .map_err(|why| Error::Config(format!("{}: {why}", source.display())))?;
    for cert in certs {
        roots.add(cert).map_err(|e| {
            Error::Config(format!(
                "{}: the certificate cannot be used as a CA: {e}",
                source.display()
            ))
        })?;
    }
    tls_config(roots)
}

/// A rustls client configuration that trusts exactly `roots`.
pub fn tls_config(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig> {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .map_err(|e| Error::Failed(format!("TLS set-up: {e}")))
}

/// An HTTP client bounded by `timeout` in every request, connecting included: a hung engine must
/// not hang the command.
pub fn http_client(tls: rustls::ClientConfig, timeout: Duration) -> reqwest::Result<Client> {
    Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("kvmguestctl/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The largest answer read from an engine. Its largest real answer is a VM list, a few kB a VM:
/// thousands of VMs fit many times over, while an endless or runaway answer stops here instead of
/// filling memory.
pub const MAX_ANSWER: u64 = 64 * MIB;

/// Why an answer's body could not be had.
#[derive(Debug)]
pub enum Unread {
    /// Announced or sent past [`MAX_ANSWER`].
    TooLarge,
    /// Still coming when the answer's time was up (the client's timeout bounds each read, not
    /// the whole body, so a body sent a byte at a time would never end).
    TooSlow,
    Failed(std::io::Error),
}

impl Unread {
    /// The error of `what`, a request to the engine at `url` bounded by `timeout`.
    pub fn error(self, what: &str, url: &str, timeout: Duration) -> Error {
        match self {
            Unread::TooLarge => Error::Failed(format!(
                "{what}: the engine at {url} answered more than {} MiB, the most read of an \
                 answer: not read further (is it an oVirt engine?)",
                MAX_ANSWER / MIB
            )),
            Unread::TooSlow => engine_error(what, url, timeout, None),
            Unread::Failed(e) => {
                let timed_out = e
                    .get_ref()
                    .and_then(|cause| cause.downcast_ref::<reqwest::Error>())
                    .is_some_and(reqwest::Error::is_timeout);
                let failure: &dyn std::error::Error = &e;
                engine_error(what, url, timeout, Some(failure).filter(|_| !timed_out))
            }
        }
    }
}

/// The body of `reply`, at most [`MAX_ANSWER`] bytes, all of it read before `deadline`: a read
/// under way then still ends within the client's timeout.
pub fn read_answer(mut reply: Response, deadline: Instant) -> std::result::Result<String, Unread> {
    if reply.content_length().is_some_and(|n| n > MAX_ANSWER) {
        return Err(Unread::TooLarge);
    }
    let mut body = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = reply.read(&mut chunk).map_err(Unread::Failed)?;
        if n == 0 {
            return Ok(String::from_utf8_lossy(&body).into_owned());
        }
        body.extend_from_slice(&chunk[..n]);
        if body.len() as u64 > MAX_ANSWER {
            return Err(Unread::TooLarge);
        }
        if Instant::now() > deadline {
            return Err(Unread::TooSlow);
        }
    }
}

/// The causes of an error, outermost first: reqwest's own message says little ("error sending
/// request"), the certificate or connection problem is further down.
/// The error of `what`, a request to the engine at `url` bounded by `timeout`: a timeout, unless
/// it failed otherwise (`failure`).
fn engine_error(
    what: &str,
    url: &str,
    timeout: Duration,
    failure: Option<&dyn std::error::Error>,
) -> Error {
    match failure {
        None => Error::Timeout {
            system: format!("engine {url}"),
            what: what.to_owned(),
            seconds: timeout.as_secs(),
            then: String::new(),
        },
        Some(e) => Error::Unreachable {
            system: "engine".to_owned(),
            uri: url.to_owned(),
            detail: format!("{what}: {}", causes(e)),
        },
    }
}

pub fn causes(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = cause.source();
    }
    parts.join(": ")
}

impl Session {
    pub fn new(
        url: &str,
        user: &str,
        password: PasswordFn,
        tls: rustls::ClientConfig,
        timeout: Duration,
    ) -> Result<Session> {
        let http = http_client(tls, timeout)
            .map_err(|e| Error::Failed(format!("HTTP client set-up: {}", causes(&e))))?;
        Ok(Session {
            http,
            url: url.trim_end_matches('/').to_owned(),
            user: user.to_owned(),
            password,
            token: Mutex::new(None),
            timeout,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn unreachable(&self, what: &str, e: &reqwest::Error) -> Error {
        let failure: &dyn std::error::Error = e;
        engine_error(
            what,
            &self.url,
            self.timeout,
            Some(failure).filter(|_| !e.is_timeout()),
        )
    }

    /// A token: the one held, or a new one from SSO when there is none or it is about to expire.
    fn token(&self, renew: bool) -> Result<Secret> {
        let mut held = self.token.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = held.as_ref().filter(|_| !renew)
            && t.expires
                .is_none_or(|at| SystemTime::now() + EXPIRY_MARGIN < at)
        {
            return Ok(t.value.clone());
        }
        let fresh = self.sso()?;
        let value = fresh.value.clone();
        // The replaced session is closed too: the engine would keep it until it expires.
        if let Some(old) = held.replace(fresh) {
            self.revoke(&old.value);
        }
        Ok(value)
    }

    fn sso(&self) -> Result<Token> {
        let password = (self.password)()?;
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "password")
            .append_pair("scope", "ovirt-app-api")
            .append_pair("username", &self.user)
            .append_pair("password", password.expose())
            .finish();
        let what = "SSO login";
        log::debug!(
            "POST {}/ovirt-engine/sso/oauth/token as {}",
            self.url,
            self.user
        );
        let deadline = Instant::now() + self.timeout;
        let reply = self
            .post_form("/ovirt-engine/sso/oauth/token", body)
            .map_err(|e| self.unreachable(what, &e))?;
        let status = reply.status();
        let text =
            read_answer(reply, deadline).map_err(|e| e.error(what, &self.url, self.timeout))?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
            Error::Failed(format!(
                "{what} at {}: HTTP {status}, and the answer is not JSON (is this an oVirt engine?)",
                self.url
            ))
        })?;
        if let Some(token) = json.get("access_token").and_then(|t| t.as_str()) {
            // `exp` is a string of epoch milliseconds (Long.MAX_VALUE when it never expires).
            let expires = match json.get("exp") {
                Some(serde_json::Value::String(ms)) => ms.parse::<u64>().ok(),
                Some(number) => number.as_u64(),
                None => None,
            }
            .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms)));
            return Ok(Token {
                value: Secret::new(token.to_owned()),
                expires,
            });
        }
        // Two shapes exist: {"error_code", "error"} and {"error", "error_description"}.
        let field = |k: &str| json.get(k).and_then(|v| v.as_str()).unwrap_or_default();
        let (code, message) = match field("error_code") {
            "" => (field("error"), field("error_description")),
            code => (code, field("error")),
        };
        let detail = format!(
            "{what} at {} as {}: {}: {}",
            self.url,
            self.user,
            one_line(code),
            one_line(message)
        );
        Err(match code {
            "access_denied" | "invalid_grant" => {
                Error::Config(format!("{detail} (check RHEVMInfo.User and the password)"))
            }
            _ => Error::Failed(detail),
        })
    }

    /// Send an API request (path under `/ovirt-engine/api`), re-authenticating once on 401; the
    /// answer, and when its body must have been read.
    fn send(
        &self,
        what: &str,
        build: impl Fn(&Client) -> RequestBuilder,
    ) -> Result<(Response, Instant)> {
        let started = Instant::now();
        let mut renew = false;
        loop {
            let token = self.token(renew)?;
            let deadline = Instant::now() + self.timeout;
            let reply = build(&self.http)
                .bearer_auth(token.expose())
                .header("Version", "4")
                .header("Accept", "application/xml")
                .header("Content-Type", "application/xml")
                .send()
                .map_err(|e| self.unreachable(what, &e))?;
            log::debug!(
                "{what}: HTTP {} in {:.1} ms",
                reply.status().as_u16(),
                started.elapsed().as_secs_f64() * 1e3
            );
            if reply.status() == StatusCode::UNAUTHORIZED && !renew {
                // Tokens cannot be refreshed: an expired or revoked one means logging in again.
                renew = true;
                continue;
            }
            return Ok((reply, deadline));
        }
    }

    /// The body of a successful answer, or the engine's fault as an error of the right class.
    fn body(&self, what: &str, (reply, deadline): (Response, Instant)) -> Result<String> {
        let status = reply.status();
        let text =
            read_answer(reply, deadline).map_err(|e| e.error(what, &self.url, self.timeout))?;
        if status.is_success() {
            return Ok(text);
        }
        let fault = match xml::root(&text).as_deref() {
            Some("fault") => xml::parse::<xml::Fault>(&text, "fault", what).ok(),
            Some("action") => xml::parse::<xml::Action>(&text, "action", what)
                .ok()
                .and_then(|a| a.fault),
            _ => None,
        };
        let message = fault.map_or_else(
            || format!("HTTP {status}"),
            |f| format!("{} (HTTP {})", f.message(), status.as_u16()),
        );
        let detail = format!("{what}: {message}");
        Err(match status.as_u16() {
            401 => Error::Config(format!(
                "{what}: the engine refused a fresh token for {} (HTTP 401)",
                self.user
            )),
            403 => Error::Refused(format!("{detail}: {} lacks the permission", self.user)),
            404 => Error::Unknown(detail),
            409 => Error::Refused(detail),
            502..=504 => Error::Unreachable {
                system: "engine".to_owned(),
                uri: self.url.clone(),
                detail,
            },
            _ => Error::Failed(detail),
        })
    }

    pub fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<String> {
        let what = format!("GET {API}{path}");
        let mut url = format!("{}{API}{path}", self.url);
        if !query.is_empty() {
            url.push('?');
            url.push_str(
                &form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(query)
                    .finish(),
            );
        }
        let reply = self.send(&what, |http| http.get(&url))?;
        self.body(&what, reply)
    }

    pub fn put(&self, path: &str, body: &str) -> Result<String> {
        let what = format!("PUT {API}{path}");
        let reply = self.send(&what, |http| {
            http.put(format!("{}{API}{path}", self.url))
                .body(body.to_owned())
        })?;
        self.body(&what, reply)
    }

    /// POST an action; Ok when the engine accepted it (the action's effect comes later).
    pub fn action(&self, path: &str, verb: &str, body: &str) -> Result<()> {
        let what = format!("{verb} ({API}{path}/{verb})");
        let reply = self.send(&what, |http| {
            http.post(format!("{}{API}{path}/{verb}", self.url))
                .body(body.to_owned())
        })?;
        let text = self.body(&what, reply)?;
        let answer: xml::Action = xml::parse(&text, "action", &what).map_err(Error::Failed)?;
        match (answer.status.as_deref(), answer.fault) {
            (Some("failed"), fault) | (_, fault @ Some(_)) => Err(Error::Failed(format!(
                "{what}: {}",
                fault.unwrap_or_default().message()
            ))),
            _ => Ok(()),
        }
    }

    /// End the SSO session, when one was opened.
    pub fn logout(&self) {
        let held = self.token.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(token) = held {
            self.revoke(&token.value);
        }
    }

    /// SSO's form requests; the engine rejects any Accept but exactly application/json.
    fn post_form(&self, path: &str, body: String) -> reqwest::Result<Response> {
        self.http
            .post(format!("{}{path}", self.url))
            .header("Accept", "application/json")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    }

    /// Failures only matter to the log: the token expires on its own.
    fn revoke(&self, token: &Secret) {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("scope", "ovirt-app-api")
            .append_pair("token", token.expose())
            .finish();
        match self.post_form("/ovirt-engine/services/sso-logout", body) {
            Ok(r) => log::debug!("SSO logout at {}: HTTP {}", self.url, r.status().as_u16()),
            Err(e) => log::debug!("SSO logout at {} failed: {}", self.url, causes(&e)),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.logout();
    }
}
