//! The control interface under `/sim/` (JSON, no auth): load a scenario, inject faults, read
//! the request log and counters, read and set the internal state of VMs and hosts, reset.
//! See README.md for the endpoints.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Instant, SystemTime};

use hyper::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::scenario::{HostStatus, Scenario, VmStatus};
use crate::server::{App, Reply};
use crate::world::{HostChange, SpmStatus, VmStep, World, epoch_ms};

/// One fault rule. A request matches when its method (if given) and path glob match; the
/// first `skip` matches pass untouched, then the rule acts on `times` requests (all if
/// absent). Acting means: wait `delay_ms`, then drop the connection, or answer `status`, or
/// (with neither) go on normally, after expiring all tokens if `expire_tokens`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    #[serde(default)]
    pub id: u64,
    #[serde(default)]
    pub method: Option<String>,
    /// Glob on the path (`*` matches anything, also `/`); the query is not part of it.
    #[serde(default = "any_path")]
    pub path: String,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub delay_ms: Option<u64>,
    #[serde(default)]
    pub drop: bool,
    #[serde(default)]
    pub expire_tokens: bool,
    #[serde(default)]
    pub skip: u64,
    #[serde(default)]
    pub times: Option<u64>,
    /// Requests that matched so far (read only).
    #[serde(default)]
    pub matched: u64,
    /// Requests the rule acted on so far (read only).
    #[serde(default)]
    pub fired: u64,
}

fn any_path() -> String {
    "*".into()
}

impl FaultRule {
    /// The canned answer of a `status` rule. The defaults look like what sits in front of a
    /// real engine: the engine's own XML fault for 500, the Apache proxy's page for 502/503.
    pub fn reply(&self) -> Option<Reply> {
        let status = self.status?;
        let mut reply = match (&self.body, status) {
            (Some(body), _) => Reply::text(status, "text/plain", body.clone()),
            (None, 500) => crate::api::fault(500, "Operation Failed", "[Internal Engine Error]"),
            (None, 502..=504) => Reply::html_error(
                status,
                "The server is temporarily unable to service your request.",
            ),
            (None, 401) => crate::auth::unauthorized(),
            (None, _) => crate::api::fault(status, "Operation Failed", "[Injected fault]"),
        };
        if let Some(ct) = &self.content_type {
            reply.headers.push(("content-type", ct.clone()));
            reply.content_type = None;
        }
        Some(reply)
    }
}

#[derive(Default)]
pub struct Faults {
    pub rules: Vec<FaultRule>,
    next_id: u64,
}

impl Faults {
    pub fn add(&mut self, mut rule: FaultRule) -> u64 {
        self.next_id += 1;
        rule.id = self.next_id;
        rule.matched = 0;
        rule.fired = 0;
        self.rules.push(rule);
        self.next_id
    }

    /// The first rule that acts on this request, counted as used.
    pub fn take_match(&mut self, method: &str, path: &str) -> Option<FaultRule> {
        for rule in &mut self.rules {
            if rule
                .method
                .as_deref()
                .is_some_and(|m| !m.eq_ignore_ascii_case(method))
                || !crate::search::glob(&rule.path, path)
            {
                continue;
            }
            rule.matched += 1;
            if rule.matched <= rule.skip || rule.times.is_some_and(|t| rule.fired >= t) {
                continue;
            }
            rule.fired += 1;
            return Some(rule.clone());
        }
        None
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct LogEntry {
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub query: String,
    /// 0 while in progress or when the connection was dropped.
    pub status: u16,
    pub fault: Option<u64>,
    pub at_ms: u64,
    pub duration_ms: u64,
}

/// Every API and SSO request (not the control ones): counters by method and path, by route
/// (ids replaced by `{id}`), and the last entries.
#[derive(Default)]
pub struct RequestLog {
    pub total: u64,
    pub counts: BTreeMap<String, u64>,
    pub routes: BTreeMap<String, u64>,
    pub entries: VecDeque<LogEntry>,
}

const LOG_KEEP: usize = 10_000;

/// `/ovirt-engine/api/vms/<uuid>/start` -> `/ovirt-engine/api/vms/{id}/start`
fn route_of(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if crate::world::is_uuid(seg) {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl RequestLog {
    pub fn record(&mut self, method: &str, path: &str, query: &str) -> u64 {
        self.total += 1;
        *self.counts.entry(format!("{method} {path}")).or_default() += 1;
        *self
            .routes
            .entry(format!("{method} {}", route_of(path)))
            .or_default() += 1;
        if self.entries.len() == LOG_KEEP {
            self.entries.pop_front();
        }
        self.entries.push_back(LogEntry {
            seq: self.total,
            method: method.to_string(),
            path: path.to_string(),
            query: crate::server::percent_decode(query),
            status: 0,
            fault: None,
            at_ms: epoch_ms(SystemTime::now()),
            duration_ms: 0,
        });
        self.total
    }

    fn entry(&mut self, seq: u64) -> Option<&mut LogEntry> {
        self.entries.iter_mut().rev().find(|e| e.seq == seq)
    }

    pub fn set_fault(&mut self, seq: u64, fault: u64) {
        if let Some(e) = self.entry(seq) {
            e.fault = Some(fault);
        }
    }

    pub fn finish(&mut self, seq: u64, status: u16, started: Instant) {
        if let Some(e) = self.entry(seq) {
            e.status = status;
            e.duration_ms = started.elapsed().as_millis() as u64;
        }
    }

    fn clear(&mut self) {
        *self = RequestLog::default();
    }
}

fn error(status: u16, message: impl Into<String>) -> Reply {
    Reply::json(status, &json!({ "error": message.into() }))
}

fn ok(value: Value) -> Reply {
    Reply::json(200, &value)
}

fn parse_json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Reply> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| error(400, format!("bad JSON: {e}")))
}

pub fn vm_state(w: &World, i: usize) -> Value {
    let vm = &w.vms[i];
    let now = Instant::now();
    json!({
        "id": vm.id,
        "name": vm.name,
        "status": vm.status.as_str(),
        "host": vm.host_id.as_deref().map(|h| w.host_name(h)),
        "host_id": vm.host_id,
        "cluster": w.cluster_name(&vm.cluster_id),
        "affinity": vm.affinity.as_str(),
        "placement_hosts": vm.placement_hosts.iter().map(|h| w.host_name(h)).collect::<Vec<_>>(),
        "payloads": vm.payloads,
        "last_payload": vm.payload_history.last(),
        "payload_history": vm.payload_history,
        "actions": vm.actions,
        "pending": vm.steps.iter().map(|s| json!({
            "in_ms": s.at.saturating_duration_since(now).as_millis() as u64,
            "status": s.status.as_str(),
            "host": match &s.host { HostChange::Set(h) => Some(w.host_name(h)), HostChange::Keep => None },
        })).collect::<Vec<_>>(),
    })
}

pub fn host_state(w: &World, i: usize) -> Value {
    let h = &w.hosts[i];
    let now = Instant::now();
    let dc = w.dc_of_cluster(&h.cluster_id);
    json!({
        "id": h.id,
        "name": h.name,
        "status": h.status.as_str(),
        "cluster": w.cluster_name(&h.cluster_id),
        "data_center": w.dc_name(&dc),
        "spm": h.spm.as_str(),
        "spm_priority": h.spm_priority,
        "power_management": h.power_management,
        "refresh_count": h.refresh_count,
        "manual_fence_count": h.manual_fence_count,
        "vms": w.vms_on_host(&h.id).iter().map(|&v| w.vms[v].name.clone()).collect::<Vec<_>>(),
        "actions": h.actions,
        "pending": h.steps.iter().map(|s| json!({
            "in_ms": s.at.saturating_duration_since(now).as_millis() as u64,
            "status": s.status.as_str(),
        })).collect::<Vec<_>>(),
    })
}

fn dc_state(w: &World) -> Value {
    Value::Array(
        w.data_centers
            .iter()
            .map(|d| {
                let spm = w
                    .hosts
                    .iter()
                    .find(|h| h.spm == SpmStatus::Spm && w.dc_of_cluster(&h.cluster_id) == d.id);
                json!({
                    "id": d.id,
                    "name": d.name,
                    "status": w.dc_status(&d.id),
                    "spm_host": spm.map(|h| h.name.clone()),
                })
            })
            .collect(),
    )
}

fn vm_key(w: &World, key: &str) -> Option<usize> {
    w.vm_by_id(key)
        .or_else(|| w.vms.iter().position(|v| v.name == key))
}

/// `POST /sim/vms/{key}`: force a state, e.g. a VM that crashed or a guest stuck in
/// powering_down. Pending steps are dropped.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VmSet {
    status: Option<VmStatus>,
    host: Option<String>,
}

/// `POST /sim/hosts/{key}`: force a host state (non_responsive, ...), and the SPM role.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostSet {
    status: Option<HostStatus>,
    spm: Option<bool>,
}

const HELP: &[&str] = &[
    "GET    /sim                      this summary",
    "GET    /sim/scenario             the scenario loaded last (JSON)",
    "POST   /sim/scenario             load a scenario (JSON or YAML body); keeps tokens, faults, log",
    "POST   /sim/reset                back to the start scenario; clears tokens, faults and the log",
    "GET    /sim/faults               fault rules with their counters",
    "POST   /sim/faults               add a rule (JSON: method, path, status, body, content_type, delay_ms, drop, expire_tokens, skip, times)",
    "DELETE /sim/faults[/{id}]        remove all rules, or one",
    "POST   /sim/tokens/expire        expire every SSO token now",
    "GET    /sim/tokens               issued tokens",
    "GET    /sim/requests             request counters and log",
    "DELETE /sim/requests             clear them",
    "GET    /sim/vms[/{id|name}]      internal VM state (payloads received, actions, pending steps)",
    "POST   /sim/vms/{id|name}        force {\"status\", \"host\"}",
    "GET    /sim/hosts[/{id|name}]    internal host state (spm, refresh and fence counts)",
    "POST   /sim/hosts/{id|name}      force {\"status\", \"spm\"}",
    "GET    /sim/datacenters          data centers with status and SPM host",
];

pub fn handle(
    app: &App,
    method: &Method,
    path: &str,
    _query: &[(String, String)],
    body: &[u8],
) -> Reply {
    let segs: Vec<&str> = path
        .trim_start_matches("/sim")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let mut sim = app.lock();
    let now = Instant::now();
    match (method.as_str(), segs.as_slice()) {
        ("GET", []) => ok(json!({
            "endpoints": HELP,
            "vms": sim.world.vms.len(),
            "hosts": sim.world.hosts.len(),
            "clusters": sim.world.clusters.len(),
            "tokens": sim.tokens.map.len(),
            "faults": sim.faults.rules.len(),
            "requests": sim.log.total,
        })),
        ("GET", ["scenario"]) => ok(serde_json::to_value(&sim.scenario).unwrap_or(Value::Null)),
        ("POST" | "PUT", ["scenario"]) => {
            let text = String::from_utf8_lossy(body);
            let scenario = match Scenario::parse(&text) {
                Ok(s) => s,
                Err(e) => return error(400, e),
            };
            match World::from_scenario(&scenario) {
                Ok(world) => {
                    sim.world = world;
                    sim.scenario = scenario;
                    ok(json!({
                        "loaded": true,
                        "vms": sim.world.vms.len(),
                        "hosts": sim.world.hosts.len(),
                    }))
                }
                Err(e) => error(400, e),
            }
        }
        ("POST", ["reset"]) => {
            let initial = sim.initial.clone();
            match World::from_scenario(&initial) {
                Ok(world) => {
                    sim.world = world;
                    sim.scenario = initial;
                    sim.tokens = Default::default();
                    sim.faults = Default::default();
                    sim.log.clear();
                    ok(json!({ "reset": true }))
                }
                Err(e) => error(500, e),
            }
        }
        ("GET", ["faults"]) => ok(json!(sim.faults.rules)),
        ("POST", ["faults"]) => match parse_json::<FaultRule>(body) {
            Ok(rule) => {
                if rule.status.is_some_and(|s| !(200..=599).contains(&s)) {
                    return error(400, "status must be an HTTP status code from 200 to 599");
                }
                let id = sim.faults.add(rule);
                ok(json!({ "id": id }))
            }
            Err(r) => r,
        },
        ("DELETE", ["faults"]) => {
            sim.faults.rules.clear();
            ok(json!({ "deleted": true }))
        }
        ("DELETE", ["faults", id]) => {
            let before = sim.faults.rules.len();
            sim.faults.rules.retain(|r| r.id.to_string() != *id);
            if sim.faults.rules.len() == before {
                error(404, format!("no fault rule {id}"))
            } else {
                ok(json!({ "deleted": id }))
            }
        }
        ("POST", ["tokens", "expire"]) => {
            let n = sim.tokens.expire_all();
            ok(json!({ "expired": n }))
        }
        ("GET", ["tokens"]) => ok(Value::Array(
            sim.tokens
                .map
                .iter()
                .map(|(tok, t)| {
                    json!({
                        "token": tok,
                        "user": t.user,
                        "issued_ms": t.issued_ms,
                        "valid": t.valid_at(SystemTime::now()),
                        "expires_in_ms": crate::auth::remaining(t).map(|d| d.as_millis() as u64),
                    })
                })
                .collect(),
        )),
        ("GET", ["requests"]) => ok(json!({
            "total": sim.log.total,
            "counts": sim.log.counts,
            "routes": sim.log.routes,
            "log": sim.log.entries,
        })),
        ("DELETE", ["requests"]) => {
            sim.log.clear();
            ok(json!({ "cleared": true }))
        }
        ("GET", ["vms"]) => ok(Value::Array(
            sim.world
                .vms
                .iter()
                .map(|v| {
                    json!({
                        "id": v.id,
                        "name": v.name,
                        "status": v.status.as_str(),
                        "host": v.host_id.as_deref().map(|h| sim.world.host_name(h)),
                    })
                })
                .collect(),
        )),
        ("GET", ["vms", key]) => match vm_key(&sim.world, key) {
            Some(i) => ok(vm_state(&sim.world, i)),
            None => error(404, format!("no VM {key}")),
        },
        ("POST", ["vms", key]) => {
            let set: VmSet = match parse_json(body) {
                Ok(s) => s,
                Err(r) => return r,
            };
            let w = &mut sim.world;
            let Some(i) = vm_key(w, key) else {
                return error(404, format!("no VM {key}"));
            };
            let host = match &set.host {
                Some(h) => match w.host_by_key(h) {
                    Some(hi) => HostChange::Set(w.hosts[hi].id.clone()),
                    None => return error(400, format!("no host {h}")),
                },
                None => HostChange::Keep,
            };
            let status = set.status.unwrap_or(w.vms[i].status);
            if status.shows_host()
                && status != VmStatus::Unassigned
                && host == HostChange::Keep
                && w.vms[i].host_id.is_none()
            {
                return error(400, format!("status {} needs a host", status.as_str()));
            }
            let vm = &mut w.vms[i];
            vm.steps.clear();
            vm.steps.push_back(VmStep {
                at: now,
                status,
                host,
                cluster: None,
            });
            w.advance(now);
            ok(vm_state(w, i))
        }
        ("GET", ["hosts"]) => ok(Value::Array(
            (0..sim.world.hosts.len())
                .map(|i| host_state(&sim.world, i))
                .collect(),
        )),
        ("GET", ["hosts", key]) => match sim.world.host_by_key(key) {
            Some(i) => ok(host_state(&sim.world, i)),
            None => error(404, format!("no host {key}")),
        },
        ("POST", ["hosts", key]) => {
            let set: HostSet = match parse_json(body) {
                Ok(s) => s,
                Err(r) => return r,
            };
            let w = &mut sim.world;
            let Some(i) = w.host_by_key(key) else {
                return error(404, format!("no host {key}"));
            };
            if let Some(status) = set.status {
                w.hosts[i].steps.clear();
                w.hosts[i].status = status;
            }
            match set.spm {
                Some(true) => {
                    // Moving the role: whoever had it in the data center loses it.
                    let dc = w.dc_of_cluster(&w.hosts[i].cluster_id);
                    for j in 0..w.hosts.len() {
                        if w.dc_of_cluster(&w.hosts[j].cluster_id) == dc {
                            w.hosts[j].spm = SpmStatus::None;
                        }
                    }
                    w.hosts[i].spm = SpmStatus::Spm;
                }
                Some(false) => w.release_spm(i, now),
                None => {}
            }
            w.advance(now);
            ok(host_state(w, i))
        }
        ("GET", ["datacenters"]) => ok(dc_state(&sim.world)),
        _ => error(
            404,
            format!("no control endpoint {method} {path}; GET /sim lists them"),
        ),
    }
}
