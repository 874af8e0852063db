//! Routing of `/ovirt-engine/...`, the entry point `<api>`, clusters and data centers, and the
//! pieces every collection shares: faults, the `<action>` echo, list parameters.

use std::time::SystemTime;

use hyper::{HeaderMap, Method};

use crate::auth::{self, Auth};
use crate::search::{self, Query};
use crate::server::{App, Reply};
use crate::world::{World, derived_id, format_date, is_uuid};
use crate::xml::{Element, XmlOut};

/// What a handler needs to know about an API request.
pub struct ApiRequest<'a> {
    pub method: &'a Method,
    pub query: &'a [(String, String)],
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// Base of every href: `/ovirt-engine/api`, or `/ovirt-engine/api/v4` when the version came
    /// from the URL (the engine then puts `/v4` in every href).
    pub base: String,
    pub user: String,
}

impl ApiRequest<'_> {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, name: &str, header: Option<&str>) -> bool {
        let from_header = header
            .and_then(|h| self.headers.get(h))
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        from_header
            || self
                .param(name)
                .is_some_and(|v| v.eq_ignore_ascii_case("true") || v.is_empty())
    }

    /// `All-Content: true` header or `all_content=true`.
    pub fn all_content(&self) -> bool {
        self.flag("all_content", Some("all-content"))
    }

    /// Searches are case-insensitive unless `case_sensitive=true` (the engine's default is
    /// false, whatever the javadoc says).
    pub fn case_sensitive(&self) -> bool {
        self.flag("case_sensitive", None)
    }

    /// `max`; negative means no limit, as in the engine.
    pub fn max(&self) -> Result<Option<usize>, Reply> {
        match self.param("max") {
            None | Some("") => Ok(None),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n < 0 => Ok(None),
                Ok(n) => Ok(Some(n as usize)),
                Err(_) => Err(fault(
                    400,
                    "Invalid value",
                    &format!("Value \"{v}\" of parameter \"max\" is not a valid integer number."),
                )),
            },
        }
    }

    /// The parsed `search` parameter.
    pub fn search(&self, fields: &[&str]) -> Result<Query, Reply> {
        match self.param("search") {
            None => Ok(Query::default()),
            Some(text) => search::parse(text, fields).map_err(|e| {
                // GUESS: the engine's exact fault for a bad search is not verified.
                fault(
                    400,
                    "Operation Failed",
                    &format!("[Search query is not valid: {e}]"),
                )
            }),
        }
    }

    /// Which of `count` objects a list request returns: those matching `search` (over
    /// `fields`), sorted and paged as the engine does. `field(i, name)` is object i's value.
    pub fn hits(
        &self,
        fields: &[&str],
        count: usize,
        field: impl Fn(usize, &str) -> String,
    ) -> Result<Vec<usize>, Reply> {
        let q = self.search(fields)?;
        let max = self.max()?;
        let cs = self.case_sensitive();
        let hits = (0..count)
            .filter(|&i| q.matches(cs, |f| field(i, f)))
            .collect();
        Ok(search::page(hits, &q, max, |&i, f| field(i, f)))
    }

    pub fn href(&self, rest: &str) -> String {
        format!("{}/{rest}", self.base)
    }
}

/// A collection document `<tag>` holding one element per hit, written by `write`.
pub fn collection(tag: &str, hits: Vec<usize>, mut write: impl FnMut(&mut XmlOut, usize)) -> Reply {
    let mut out = XmlOut::new();
    out.open(tag, &[]);
    for i in hits {
        write(&mut out, i);
    }
    out.close(tag);
    Reply::xml(200, out.finish())
}

/// One object of a collection by its id: 404 with an empty body when there is none.
pub fn single(
    id: &str,
    found: Option<usize>,
    mut write: impl FnMut(&mut XmlOut, usize),
) -> Result<Reply, Reply> {
    check_id(id)?;
    let i = found.ok_or_else(|| Reply::empty(404))?;
    let mut out = XmlOut::new();
    write(&mut out, i);
    Ok(Reply::xml(200, out.finish()))
}

/// `<fault><reason/><detail/></fault>`
pub fn fault(status: u16, reason: &str, detail: &str) -> Reply {
    let mut out = XmlOut::new();
    out.open("fault", &[]);
    if !detail.is_empty() {
        out.leaf("detail", detail);
    }
    out.leaf("reason", reason);
    out.close("fault");
    Reply::xml(status, out.finish())
}

/// Ids in paths are GUIDs; anything else is the `MalformedIdExceptionMapper` answer.
pub fn check_id(id: &str) -> Result<(), Reply> {
    if is_uuid(id) {
        Ok(())
    } else {
        Err(fault(
            400,
            "Operation failed",
            &format!("Invalid UUID string: {id}"),
        ))
    }
}

/// A failed backend command: validation messages and the HTTP code of their error type.
#[derive(Debug)]
pub struct Failure {
    pub status: u16,
    pub messages: Vec<String>,
    /// Answered as a bare `<fault>` with only a reason (checks the REST layer makes itself,
    /// before any backend command), instead of the failed `<action>`.
    pub bare: bool,
}

impl Failure {
    pub fn new(status: u16, messages: Vec<String>) -> Failure {
        Failure {
            status,
            messages,
            bare: false,
        }
    }

    pub fn conflict(message: impl Into<String>) -> Failure {
        Failure::new(409, vec![message.into()])
    }

    pub fn bad(message: impl Into<String>) -> Failure {
        Failure::new(400, vec![message.into()])
    }

    /// `List.toString()` of the messages, as the engine puts them in `detail`.
    pub fn detail(&self) -> String {
        format!("[{}]", self.messages.join(", "))
    }
}

/// Reads the `<action>` body. An empty body counts as `<action/>`.
pub fn parse_action(body: &[u8], usage: &str) -> Result<Element, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Element::new("action"));
    }
    match crate::xml::parse(body) {
        Ok(e) if e.name == "action" => Ok(e),
        _ => Err(syntax_error(usage)),
    }
}

/// The engine's answer to a body it cannot read (`UsageFinder`).
pub fn syntax_error(usage: &str) -> Reply {
    fault(
        400,
        "Request syntactically incorrect.",
        &format!("For correct usage, see: /ovirt-engine/apidoc#services/{usage}"),
    )
}

/// Copies the request's `<action>` without a previous status or fault.
fn echo(action: &Element, out: &mut XmlOut) {
    for child in &action.children {
        if child.name != "status" && child.name != "fault" {
            child.write(out);
        }
    }
}

/// 200 with the request `<action>` echoed back, `<status>complete</status>` and the target
/// reference (the engine's `actionSuccess`). `extra` adds result elements.
pub fn action_done(
    action: &Element,
    target: (&str, &str, &str),
    extra: impl FnOnce(&mut XmlOut),
) -> Reply {
    let mut out = XmlOut::new();
    out.open("action", &[]);
    echo(action, &mut out);
    extra(&mut out);
    out.leaf("status", "complete");
    let (name, href, id) = target;
    out.reference(name, href, id);
    out.close("action");
    Reply::xml(200, out.finish())
}

/// The echoed `<action>` with `<status>failed</status>` and the fault, with the HTTP code of
/// the error (the engine's `actionFailure`).
pub fn action_failed(action: &Element, failure: &Failure) -> Reply {
    let mut out = XmlOut::new();
    out.open("action", &[]);
    echo(action, &mut out);
    out.open("fault", &[]);
    out.leaf("detail", &failure.detail());
    out.leaf("reason", "Operation Failed");
    out.close("fault");
    out.leaf("status", "failed");
    out.close("action");
    Reply::xml(failure.status, out.finish())
}

/// Dispatches every request outside `/sim/`.
pub fn route(
    app: &App,
    method: &Method,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: &[u8],
) -> Reply {
    match path {
        "/ovirt-engine/sso/oauth/token" => {
            let mut guard = app.lock();
            let sim = &mut *guard;
            auth::token(&sim.world, &mut sim.tokens, headers, query, body)
        }
        "/ovirt-engine/services/sso-logout" => {
            let mut sim = app.lock();
            auth::logout(&mut sim.tokens, query, body)
        }
        "/ovirt-engine/services/pki-resource" => pki_resource(app, query),
        _ if path == "/ovirt-engine/api" || path.starts_with("/ovirt-engine/api/") => api(
            app,
            method,
            &path["/ovirt-engine/api".len()..],
            query,
            headers,
            body,
        ),
        _ => Reply::html_error(404, "Not Found"),
    }
}

/// `GET /ovirt-engine/services/pki-resource?resource=ca-certificate&format=X509-PEM-CA`
fn pki_resource(app: &App, query: &[(String, String)]) -> Reply {
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match (get("resource"), get("format")) {
        (Some("ca-certificate"), Some("X509-PEM-CA" | "X509-PEM") | None) => {
            Reply::text(200, "application/x-x509-ca-cert", app.ca_pem.clone())
        }
        _ => Reply::html_error(400, "Bad Request"),
    }
}

fn api(
    app: &App,
    method: &Method,
    rest: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: &[u8],
) -> Reply {
    // The version, from the URL (`/v4/...`) or the `Version` header; only 4 exists.
    let mut base = "/ovirt-engine/api".to_string();
    let mut rest = rest;
    let first = rest.trim_start_matches('/').split('/').next().unwrap_or("");
    if let Some(v) = first.strip_prefix('v')
        && !v.is_empty()
        && v.chars().all(|c| c.is_ascii_digit())
    {
        if v != "4" {
            return Reply::html_error(400, "Bad Request");
        }
        base.push_str("/v4");
        rest = &rest.trim_start_matches('/')[first.len()..];
    }
    if let Some(v) = headers.get("version").and_then(|v| v.to_str().ok())
        && v.trim() != "4"
    {
        return Reply::html_error(400, "Bad Request");
    }

    let mut guard = app.lock();
    let sim = &mut *guard;
    let user = match auth::check(&sim.world, &sim.tokens, headers) {
        Auth::Ok(user) => user,
        Auth::Denied => return auth::unauthorized(),
    };
    let req = ApiRequest {
        method,
        query,
        headers,
        body,
        base,
        user,
    };
    let w = &mut sim.world;
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let m = method.as_str();
    let result = match (m, segs.as_slice()) {
        ("GET" | "HEAD", []) => Ok(entry_point(w, &req)),
        ("GET", ["vms"]) => crate::vms::list(w, &req),
        ("GET", ["vms", id]) => crate::vms::get(w, &req, id),
        ("PUT", ["vms", id]) => crate::vms::update(w, &req, id),
        ("POST", ["vms", id, verb]) => crate::vms::action(w, &req, id, verb),
        ("GET", ["hosts"]) => crate::hosts::list(w, &req),
        ("GET", ["hosts", id]) => crate::hosts::get(w, &req, id),
        ("POST", ["hosts", id, verb]) => crate::hosts::action(w, &req, id, verb),
        ("GET", ["clusters"]) => list_clusters(w, &req),
        ("GET", ["clusters", id]) => get_cluster(w, &req, id),
        ("GET", ["datacenters"]) => list_dcs(w, &req),
        ("GET", ["datacenters", id]) => get_dc(w, &req, id),
        (_, [] | ["vms" | "hosts" | "clusters" | "datacenters"])
        | (_, ["vms" | "hosts" | "clusters" | "datacenters", _]) => Ok(Reply::empty(405)),
        _ => Ok(Reply::empty(404)),
    };
    result.unwrap_or_else(|r| r)
}

const COLLECTIONS: &[(&str, bool)] = &[
    ("clusters", true),
    ("datacenters", true),
    ("hosts", true),
    ("vms", true),
];

fn entry_point(w: &World, req: &ApiRequest) -> Reply {
    let links: Vec<(String, String)> = COLLECTIONS
        .iter()
        .flat_map(|(name, searchable)| {
            let mut v = vec![(req.href(name), name.to_string())];
            if *searchable {
                v.push((
                    format!("{}?search={{query}}", req.href(name)),
                    format!("{name}/search"),
                ));
            }
            v
        })
        .collect();
    if req.method == Method::HEAD {
        let mut r = Reply::empty(200);
        let header = links
            .iter()
            .map(|(href, rel)| format!("<{href}>; rel={rel}"))
            .collect::<Vec<_>>()
            .join(",");
        r.headers.push(("link", header));
        return r;
    }
    let mut out = XmlOut::new();
    out.open("api", &[]);
    for (href, rel) in &links {
        out.link(href, rel);
    }
    out.empty("engine_backup", &[]);
    out.open("product_info", &[]);
    out.leaf("instance_id", &derived_id("engine", "ovirt-sim"));
    out.leaf("name", "oVirt Engine");
    out.leaf("vendor", "ovirt.org");
    out.open("version", &[]);
    out.leaf("build", "6");
    out.leaf("full_version", "4.5.6-1.el9");
    out.leaf("major", "4");
    out.leaf("minor", "5");
    out.leaf("revision", "0");
    out.close("version");
    out.close("product_info");
    let zero = "00000000-0000-0000-0000-000000000000";
    out.open("special_objects", &[]);
    out.reference(
        "blank_template",
        &req.href(&format!("templates/{zero}")),
        zero,
    );
    out.reference("root_tag", &req.href(&format!("tags/{zero}")), zero);
    out.close("special_objects");
    out.open("summary", &[]);
    let count = |out: &mut XmlOut, name: &str, active: usize, total: usize| {
        out.open(name, &[]);
        out.leaf("active", &active.to_string());
        out.leaf("total", &total.to_string());
        out.close(name);
    };
    let hosts_up = w
        .hosts
        .iter()
        .filter(|h| h.status == crate::scenario::HostStatus::Up)
        .count();
    count(&mut out, "hosts", hosts_up, w.hosts.len());
    count(&mut out, "storage_domains", 0, 0);
    count(&mut out, "users", 1, w.users.len());
    let vms_up = w.vms.iter().filter(|v| v.status.is_running()).count();
    count(&mut out, "vms", vms_up, w.vms.len());
    out.close("summary");
    out.leaf("time", &format_date(SystemTime::now()));
    let uid = derived_id("user", &req.user);
    out.reference(
        "authenticated_user",
        &req.href(&format!("users/{uid}")),
        &uid,
    );
    out.reference("effective_user", &req.href(&format!("users/{uid}")), &uid);
    out.close("api");
    Reply::xml(200, out.finish())
}

fn write_cluster(out: &mut XmlOut, w: &World, req: &ApiRequest, i: usize) {
    let c = &w.clusters[i];
    let href = req.href(&format!("clusters/{}", c.id));
    out.open("cluster", &[("href", &href), ("id", &c.id)]);
    out.leaf("name", &c.name);
    out.opt_leaf("description", c.description.as_deref());
    out.reference(
        "data_center",
        &req.href(&format!("datacenters/{}", c.dc_id)),
        &c.dc_id,
    );
    out.close("cluster");
}

fn list_clusters(w: &World, req: &ApiRequest) -> Result<Reply, Reply> {
    let hits = req.hits(&["name", "datacenter", "id"], w.clusters.len(), |i, f| {
        let c = &w.clusters[i];
        match f {
            "name" => c.name.clone(),
            "datacenter" => w.dc_name(&c.dc_id).to_string(),
            _ => c.id.clone(),
        }
    })?;
    Ok(collection("clusters", hits, |out, i| {
        write_cluster(out, w, req, i)
    }))
}

fn get_cluster(w: &World, req: &ApiRequest, id: &str) -> Result<Reply, Reply> {
    let found = w.clusters.iter().position(|c| c.id == id);
    single(id, found, |out, i| write_cluster(out, w, req, i))
}

fn write_dc(out: &mut XmlOut, w: &World, req: &ApiRequest, i: usize) {
    let d = &w.data_centers[i];
    let href = req.href(&format!("datacenters/{}", d.id));
    out.open("data_center", &[("href", &href), ("id", &d.id)]);
    out.leaf("name", &d.name);
    out.leaf("local", "false");
    out.leaf("status", w.dc_status(&d.id));
    out.close("data_center");
}

fn list_dcs(w: &World, req: &ApiRequest) -> Result<Reply, Reply> {
    let hits = req.hits(&["name", "status", "id"], w.data_centers.len(), |i, f| {
        let d = &w.data_centers[i];
        match f {
            "name" => d.name.clone(),
            "status" => w.dc_status(&d.id).to_string(),
            _ => d.id.clone(),
        }
    })?;
    Ok(collection("data_centers", hits, |out, i| {
        write_dc(out, w, req, i)
    }))
}

fn get_dc(w: &World, req: &ApiRequest, id: &str) -> Result<Reply, Reply> {
    let found = w.data_centers.iter().position(|d| d.id == id);
    single(id, found, |out, i| write_dc(out, w, req, i))
}
