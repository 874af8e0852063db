//! `/vms`: list with search/max/page, get, update (payloads), and the actions start, stop,
//! shutdown, migrate, cancelmigration, reboot and suspend with the engine's validations and
//! messages (`RunVmValidator`, `StopVmCommandBase`, `VmValidator.canMigrate`,
//! `MigrateVmToServerCommand`, `SchedulingManager`; texts from `AppErrors.properties`).

use std::time::{Instant, SystemTime};

use crate::api::{self, ApiRequest, Failure};
use crate::scenario::{Affinity, HostStatus, VmStatus};
use crate::server::Reply;
use crate::world::{
    ActionRecord, HostChange, Payload, PayloadFile, Vm, VmStep, World, epoch_ms, format_date, later,
};
use crate::xml::{Element, XmlOut};

const VERBS: &[&str] = &[
    "cancelmigration",
    "migrate",
    "reboot",
    "shutdown",
    "start",
    "stop",
    "suspend",
];

const SEARCH_FIELDS: &[&str] = &[
    "name",
    "status",
    "cluster",
    "datacenter",
    "host",
    "id",
    "fqdn",
];

fn write_payloads(out: &mut XmlOut, payloads: &[Payload]) {
    out.open("payloads", &[]);
    for p in payloads {
        out.open("payload", &[]);
        out.open("files", &[]);
        for f in &p.files {
            out.open("file", &[]);
            out.leaf("content", &f.content);
            out.leaf("name", &f.name);
            out.opt_leaf("type", f.r#type.as_deref());
            out.close("file");
        }
        out.close("files");
        out.leaf("type", &p.r#type);
        out.opt_leaf("volume_id", p.volume_id.as_deref());
        out.close("payload");
    }
    out.close("payloads");
}

/// One `<vm>`, with the fields of `VmMapper` that clients read.
pub fn write_vm(out: &mut XmlOut, req: &ApiRequest, vm: &Vm, payloads: bool) {
    let href = req.href(&format!("vms/{}", vm.id));
    out.open("vm", &[("href", &href), ("id", &vm.id)]);
    out.open("actions", &[]);
    for verb in VERBS {
        out.link(&format!("{href}/{verb}"), verb);
    }
    out.close("actions");
    out.leaf("name", &vm.name);
    out.opt_leaf("description", vm.description.as_deref());
    out.leaf("memory", &vm.memory.to_string());
    out.leaf("origin", "ovirt");
    out.open("placement_policy", &[]);
    out.leaf("affinity", vm.affinity.as_str());
    if !vm.placement_hosts.is_empty() {
        out.open("hosts", &[]);
        for h in &vm.placement_hosts {
            out.reference("host", &req.href(&format!("hosts/{h}")), h);
        }
        out.close("hosts");
    }
    out.close("placement_policy");
    out.leaf("stateless", "false");
    out.leaf("type", "server");
    out.opt_leaf("fqdn", vm.fqdn.as_deref());
    out.leaf("next_run_configuration_exists", "false");
    out.leaf("run_once", "false");
    if let Some(t) = vm.start_time {
        out.leaf("start_time", &format_date(t));
    }
    out.leaf("status", vm.status.as_str());
    if vm.status == VmStatus::Paused {
        out.opt_leaf("status_detail", vm.status_detail.as_deref());
    }
    out.opt_leaf("stop_reason", vm.stop_reason.as_deref());
    if let Some(t) = vm.stop_time {
        out.leaf("stop_time", &format_date(t));
    }
    if payloads && !vm.payloads.is_empty() {
        write_payloads(out, &vm.payloads);
    }
    out.reference(
        "cluster",
        &req.href(&format!("clusters/{}", vm.cluster_id)),
        &vm.cluster_id,
    );
    if let Some(h) = &vm.host_id
        && vm.status.shows_host()
    {
        out.reference("host", &req.href(&format!("hosts/{h}")), h);
    }
    let zero = "00000000-0000-0000-0000-000000000000";
    out.reference(
        "original_template",
        &req.href(&format!("templates/{zero}")),
        zero,
    );
    out.reference("template", &req.href(&format!("templates/{zero}")), zero);
    out.close("vm");
}

/// `GET /vms?search=&max=&case_sensitive=&all_content=`
pub fn list(w: &World, req: &ApiRequest) -> Result<Reply, Reply> {
    let hits = req.hits(SEARCH_FIELDS, w.vms.len(), |i, f| field(w, &w.vms[i], f))?;
    // Payloads come with the list only with all_content (BackendVmsResource.doPopulate).
    let payloads = req.all_content();
    Ok(api::collection("vms", hits, |out, i| {
        write_vm(out, req, &w.vms[i], payloads)
    }))
}

fn field(w: &World, vm: &Vm, name: &str) -> String {
    match name {
        "name" => vm.name.clone(),
        "status" => vm.status.as_str().to_string(),
        "cluster" => w.cluster_name(&vm.cluster_id).to_string(),
        "datacenter" => w.dc_name(&w.dc_of_cluster(&vm.cluster_id)).to_string(),
        "host" => vm
            .host_id
            .as_deref()
            .map(|h| w.host_name(h).to_string())
            .unwrap_or_default(),
        "id" => vm.id.clone(),
        "fqdn" => vm.fqdn.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

fn find(w: &World, id: &str) -> Result<usize, Reply> {
    api::check_id(id)?;
    // A missing entity is a 404 with an empty body.
    w.vm_by_id(id).ok_or_else(|| Reply::empty(404))
}

/// `GET /vms/{id}`: payloads always included (`deprecatedPopulate`).
pub fn get(w: &World, req: &ApiRequest, id: &str) -> Result<Reply, Reply> {
    api::single(id, w.vm_by_id(id), |out, i| {
        write_vm(out, req, &w.vms[i], true)
    })
}

/// Reads `<payloads>`: each `<payload>` with child elements `type` (cdrom|floppy),
/// `volume_id` and `files/file` (`name`, `content`, `type`).
fn parse_payloads(e: &Element, max_size: usize) -> Result<Vec<Payload>, Reply> {
    let mut payloads = Vec::new();
    for p in e.children_named("payload") {
        let kind = p.text_of("type").unwrap_or("cdrom").to_ascii_lowercase();
        if kind != "cdrom" && kind != "floppy" {
            return Err(api::fault(
                400,
                "Invalid value",
                &format!("{kind} is not a member of VmDeviceType"),
            ));
        }
        let mut files = Vec::new();
        for f in p
            .child("files")
            .iter()
            .flat_map(|fs| fs.children_named("file"))
        {
            let Some(name) = f.text_of("name").filter(|n| !n.is_empty()) else {
                return Err(api::fault(
                    400,
                    "Incomplete parameters",
                    "File [name] required for update",
                ));
            };
            // Content is passed through unchanged, like the REST layer does; each file is
            // checked against PayloadSize (VmCommand.checkPayload, a CONSTRAINT_VIOLATION).
            let content = f
                .child("content")
                .map(|c| c.text.clone())
                .unwrap_or_default();
            if content.chars().count() > max_size {
                return Err(api::fault(
                    400,
                    "Operation Failed",
                    &format!("[Payload is limited to {}K]", 2 * max_size / 1024),
                ));
            }
            files.push(PayloadFile {
                name: name.to_string(),
                content,
                r#type: f.text_of("type").map(str::to_string),
            });
        }
        payloads.push(Payload {
            r#type: kind,
            volume_id: p.text_of("volume_id").map(str::to_string),
            files,
        });
    }
    Ok(payloads)
}

fn record(vm: &mut Vm, verb: &str, body: &[u8], status: u16) {
    vm.actions.push(ActionRecord {
        verb: verb.to_string(),
        body: String::from_utf8_lossy(body).into_owned(),
        http_status: status,
        at_ms: epoch_ms(SystemTime::now()),
    });
}

/// `PUT /vms/{id}`: payloads (only the first is used; an empty `<payloads/>` clears them),
/// description, placement_policy/affinity. Other fields are accepted and ignored.
pub fn update(w: &mut World, req: &ApiRequest, id: &str) -> Result<Reply, Reply> {
    let i = find(w, id)?;
    let usage = "vm/methods/update";
    let body = match crate::xml::parse(req.body) {
        Ok(e) if e.name == "vm" => e,
        _ => {
            record(&mut w.vms[i], "update", req.body, 400);
            return Err(api::syntax_error(usage));
        }
    };
    let max = w.payload_max_size;
    let payloads = match body
        .child("payloads")
        .map(|p| parse_payloads(p, max))
        .transpose()
    {
        Ok(p) => p,
        Err(r) => {
            record(&mut w.vms[i], "update", req.body, r.status);
            return Err(r);
        }
    };
    let affinity = match body
        .child("placement_policy")
        .and_then(|p| p.text_of("affinity"))
    {
        None => None,
        Some("migratable") => Some(Affinity::Migratable),
        Some("user_migratable") => Some(Affinity::UserMigratable),
        Some("pinned") => Some(Affinity::Pinned),
        Some(other) => {
            record(&mut w.vms[i], "update", req.body, 400);
            return Err(api::fault(
                400,
                "Invalid value",
                &format!("{other} is not a member of VmAffinity"),
            ));
        }
    };
    let vm = &mut w.vms[i];
    if let Some(mut p) = payloads {
        p.truncate(1);
        vm.payload_history.push(p.clone());
        vm.payloads = p;
    }
    if let Some(d) = body.text_of("description") {
        vm.description = Some(d.to_string());
    }
    if let Some(a) = affinity {
        vm.affinity = a;
    }
    record(vm, "update", req.body, 200);
    let mut out = XmlOut::new();
    write_vm(&mut out, req, &w.vms[i], true);
    Ok(Reply::xml(200, out.finish()))
}

/// `POST /vms/{id}/{verb}`
pub fn action(w: &mut World, req: &ApiRequest, id: &str, verb: &str) -> Result<Reply, Reply> {
    if !VERBS.contains(&verb) {
        return Err(Reply::empty(404));
    }
    api::check_id(id)?;
    let action = match api::parse_action(req.body, &format!("vm/methods/{verb}")) {
        Ok(a) => a,
        Err(reply) => {
            // Recorded too: a client sending a bad body is what a test wants to see.
            if let Some(i) = w.vm_by_id(id) {
                record(&mut w.vms[i], verb, req.body, reply.status);
            }
            return Err(reply);
        }
    };
    let name = action_name(verb);
    let Some(i) = w.vm_by_id(id) else {
        return Ok(api::action_failed(
            &action,
            &Failure::bad(format!("Cannot {name} VM. VM is not found.")),
        ));
    };
    let now = Instant::now();
    let result = match verb {
        "start" => start(w, i, &action, now),
        "stop" => stop(w, i, &action, now, false),
        "shutdown" => stop(w, i, &action, now, true),
        "migrate" => migrate(w, i, &action, now),
        "cancelmigration" => cancel_migration(w, i),
        "reboot" => reboot(w, i, now),
        _ => suspend(w, i, now),
    };
    let reply = match result {
        Ok(()) => {
            let vm = &w.vms[i];
            api::action_done(
                &action,
                ("vm", &req.href(&format!("vms/{}", vm.id)), &vm.id),
                |_| {},
            )
        }
        Err(f) if f.bare => api::fault(f.status, &f.messages.join(", "), ""),
        Err(f) => api::action_failed(&action, &f),
    };
    record(&mut w.vms[i], verb, req.body, reply.status);
    Ok(reply)
}

/// The engine's `${action}` word for each verb.
fn action_name(verb: &str) -> &'static str {
    match verb {
        "start" => "run",
        "stop" => "stop",
        "shutdown" => "shutdown",
        "migrate" => "migrate",
        "cancelmigration" => "cancel migration",
        "reboot" => "reboot",
        _ => "hibernate",
    }
}

fn status_illegal(action: &str, s: VmStatus) -> Failure {
    Failure::conflict(format!(
        "Cannot {action} VM because the VM is in {} status.",
        s.localized()
    ))
}

/// The scheduler found no candidate host at all (`SCHEDULING_NO_HOSTS`). That message has no
/// error type, so the REST layer falls back to 400.
fn no_hosts() -> Failure {
    Failure::bad(
        "There are no hosts to use. Check that the cluster contains at least one host in Up state.",
    )
}

/// Chooses a host for a VM as the engine's scheduler does: the `up` hosts of `cluster`, minus
/// `exclude` (the current host), kept to `whitelist` when given (a migrate destination); then
/// the PinToHost filter keeps the VM's dedicated hosts. The least loaded host wins.
fn schedule(
    w: &World,
    action: &str,
    cluster_id: &str,
    whitelist: &[String],
    dedicated: &[String],
    exclude: Option<&str>,
) -> Result<String, Failure> {
    let fetched: Vec<&crate::world::Host> = w
        .hosts
        .iter()
        .filter(|h| h.cluster_id == cluster_id && h.status == HostStatus::Up)
        .filter(|h| Some(h.id.as_str()) != exclude)
        .filter(|h| whitelist.is_empty() || whitelist.contains(&h.id))
        .collect();
    if fetched.is_empty() {
        return Err(no_hosts());
    }
    let kept: Vec<&&crate::world::Host> = fetched
        .iter()
        .filter(|h| dedicated.is_empty() || dedicated.contains(&h.id))
        .collect();
    match kept.iter().min_by_key(|h| w.vms_on_host(&h.id).len()) {
        Some(h) => Ok(h.id.clone()),
        None => {
            let mut messages = vec![format!(
                "Cannot {action} VM. There is no host that satisfies current scheduling constraints. See below for details:"
            )];
            for h in &fetched {
                messages.push(format!(
                    "The host {} did not satisfy internal filter PinToHost because it is not a preferred host.",
                    h.name
                ));
            }
            Err(Failure::new(409, messages))
        }
    }
}

fn start(w: &mut World, i: usize, action: &Element, now: Instant) -> Result<(), Failure> {
    // Two initialization tags at once: 409 with a bare <fault> (BackendVmResource.start).
    let flags = ["use_sysprep", "use_cloud_init", "use_ignition"];
    let set: usize = flags
        .iter()
        .filter(|f| action.bool_of(f).ok().flatten() == Some(true))
        .count();
    if set > 1 {
        let mut f = Failure::conflict(
            "Cannot use multiple initialization tags simultaneously when running VM.",
        );
        f.bare = true;
        return Err(f);
    }
    let pause = action
        .bool_of("pause")
        .map_err(Failure::bad)?
        .unwrap_or(false);
    // Run once may name the hosts to run on.
    let mut allowed = w.vms[i].placement_hosts.clone();
    if let Some(hosts) = action
        .child("vm")
        .and_then(|v| v.child("placement_policy"))
        .and_then(|p| p.child("hosts"))
    {
        let mut ids = Vec::new();
        for h in hosts.children_named("host") {
            let key = h.attr("id").or_else(|| h.text_of("name")).unwrap_or("");
            match w.host_by_key(key) {
                Some(hi) => ids.push(w.hosts[hi].id.clone()),
                None => return Err(Failure::bad("Cannot run VM. Invalid Host Id.")),
            }
        }
        allowed = ids;
    }

    let d = w.delays.clone();
    let status = w.vms[i].status;
    match status {
        VmStatus::ImageLocked => Err(Failure::conflict(
            "Cannot run VM: VM is locked. Please try again in a few minutes.",
        )),
        // RunVm on a paused VM resumes it.
        VmStatus::Paused => {
            let vm = &mut w.vms[i];
            vm.steps.clear();
            vm.steps.push_back(VmStep {
                at: now,
                status: VmStatus::Up,
                host: HostChange::Keep,
                cluster: None,
            });
            w.advance(now);
            Ok(())
        }
        VmStatus::Down | VmStatus::Suspended => {
            let cluster = w.vms[i].cluster_id.clone();
            let host = schedule(w, "run", &cluster, &[], &allowed, None)?;
            let end = if pause {
                VmStatus::Paused
            } else {
                VmStatus::Up
            };
            let vm = &mut w.vms[i];
            vm.steps.clear();
            vm.host_id = Some(host);
            vm.start_time = Some(SystemTime::now());
            vm.stop_time = None;
            vm.stop_reason = None;
            if pause {
                vm.status_detail = Some("user".into());
            }
            if status == VmStatus::Suspended {
                vm.status = VmStatus::RestoringState;
                vm.steps.push_back(VmStep {
                    at: later(now, d.restoring_state),
                    status: end,
                    host: HostChange::Keep,
                    cluster: None,
                });
            } else {
                vm.status = VmStatus::WaitForLaunch;
                let t1 = later(now, d.wait_for_launch);
                if vm.fails_to_start {
                    // The launch fails on the host: back to down (the engine would try
                    // other hosts; here all fail).
                    vm.steps.push_back(VmStep {
                        at: t1,
                        status: VmStatus::Down,
                        host: HostChange::Keep,
                        cluster: None,
                    });
                } else {
                    vm.steps.push_back(VmStep {
                        at: t1,
                        status: VmStatus::PoweringUp,
                        host: HostChange::Keep,
                        cluster: None,
                    });
                    vm.steps.push_back(VmStep {
                        at: later(t1, d.powering_up),
                        status: end,
                        host: HostChange::Keep,
                        cluster: None,
                    });
                }
            }
            w.advance(now);
            Ok(())
        }
        // Every other status is refused by the action matrix (ActionUtils, RunVm).
        s => Err(status_illegal("run", s)),
    }
}

/// stop and shutdown (StopVmCommandBase.validate); a shutdown of a VM that is not up is a
/// stop, as in ShutdownVmCommand.
fn stop(
    w: &mut World,
    i: usize,
    action: &Element,
    now: Instant,
    shutdown: bool,
) -> Result<(), Failure> {
    let name = if shutdown { "shutdown" } else { "stop" };
    let s = w.vms[i].status;
    if !(s.is_running()
        || matches!(
            s,
            VmStatus::Paused | VmStatus::NotResponding | VmStatus::Suspended
        ))
    {
        return Err(Failure::conflict(
            if matches!(s, VmStatus::SavingState | VmStatus::RestoringState) {
                format!(
                    "Cannot {name} VM. VM is in saving/restoring state.\n-Please try again when the VM is either up or down."
                )
            } else {
                format!("Cannot {name} VM. VM is not running.")
            },
        ));
    }
    let d = w.delays.clone();
    let vm = &mut w.vms[i];
    vm.steps.clear();
    vm.stop_reason = action.text_of("reason").map(str::to_string);
    let graceful = shutdown && s == VmStatus::Up;
    let wait = if graceful { d.powering_down } else { d.stop };
    if wait > 0 {
        vm.status = VmStatus::PoweringDown;
    }
    // A guest that ignores the ACPI request comes back up when the engine gives up on it.
    let end = if graceful && vm.ignores_shutdown {
        VmStatus::Up
    } else {
        VmStatus::Down
    };
    vm.steps.push_back(VmStep {
        at: later(now, wait),
        status: end,
        host: HostChange::Keep,
        cluster: None,
    });
    w.advance(now);
    Ok(())
}

/// migrate, in the order of MigrateVmToServerCommand.validateImpl: destination host, then
/// VmValidator.canMigrate, then the scheduler (which only considers up hosts of the VM's
/// cluster, minus the current one, so a destination in another cluster or the same host
/// ends there).
fn migrate(w: &mut World, i: usize, action: &Element, now: Instant) -> Result<(), Failure> {
    let force = action
        .bool_of("force")
        .map_err(Failure::bad)?
        .unwrap_or(false);
    let dest = match action.child("host") {
        Some(h) => {
            let key = h.attr("id").or_else(|| h.text_of("name")).unwrap_or("");
            match w.host_by_key(key) {
                Some(hi) => Some(hi),
                None => return Err(Failure::bad("Cannot migrate VM. Invalid Host Id.")),
            }
        }
        None => None,
    };
    if let Some(hi) = dest
        && w.hosts[hi].status != HostStatus::Up
    {
        return Err(Failure::conflict(
            "Cannot migrate VM. Operation can be performed only when Host status is Up.",
        ));
    }
    let target_cluster = match action.child("cluster") {
        Some(c) => {
            let key = c.attr("id").or_else(|| c.text_of("name")).unwrap_or("");
            match w.cluster_by_key(key) {
                Some(ci) => Some(w.clusters[ci].id.clone()),
                None => {
                    return Err(Failure::bad("Cannot migrate VM. Cluster ID is not valid."));
                }
            }
        }
        None => None,
    };

    let vm = &w.vms[i];
    match vm.affinity {
        Affinity::Pinned => {
            return Err(Failure::conflict(
                "Cannot migrate VM. VM is pinned to Host.",
            ));
        }
        Affinity::UserMigratable if !force => {
            return Err(Failure::conflict(
                "Cannot migrate VM. VM is non migratable and user did not specify the force-migration flag",
            ));
        }
        _ => {}
    }
    match vm.status {
        VmStatus::Migrating => {
            return Err(Failure::conflict(
                "Cannot migrate VM. VM migration is in progress",
            ));
        }
        VmStatus::NotResponding => return Err(status_illegal("migrate", vm.status)),
        VmStatus::Up | VmStatus::PoweringUp | VmStatus::Paused | VmStatus::RebootInProgress => {}
        _ => return Err(Failure::conflict("Cannot migrate VM. VM is not running.")),
    }

    let cluster = target_cluster
        .clone()
        .unwrap_or_else(|| vm.cluster_id.clone());
    let allowed: Vec<String> = dest
        .map(|hi| vec![w.hosts[hi].id.clone()])
        .unwrap_or_default();
    let to = schedule(
        w,
        "migrate",
        &cluster,
        &allowed,
        &vm.placement_hosts,
        vm.host_id.as_deref(),
    )?;

    let d = w.delays.clone();
    let vm = &mut w.vms[i];
    let back_to = match vm.status {
        VmStatus::Paused => VmStatus::Paused,
        _ => VmStatus::Up,
    };
    vm.steps.clear();
    vm.migration = Some((vm.host_id.clone().unwrap_or_default(), vm.status));
    vm.status = VmStatus::Migrating;
    vm.steps.push_back(VmStep {
        at: later(now, d.migration),
        status: back_to,
        host: HostChange::Set(to),
        cluster: target_cluster,
    });
    w.advance(now);
    Ok(())
}

fn cancel_migration(w: &mut World, i: usize) -> Result<(), Failure> {
    let vm = &mut w.vms[i];
    match (vm.status, vm.migration.take()) {
        (VmStatus::Migrating, Some((_, before))) => {
            vm.steps.clear();
            vm.status = if before == VmStatus::Paused {
                VmStatus::Paused
            } else {
                VmStatus::Up
            };
            Ok(())
        }
        _ => Err(Failure::conflict(
            "Cannot cancel migration for non migrating VM.",
        )),
    }
}

fn reboot(w: &mut World, i: usize, now: Instant) -> Result<(), Failure> {
    let d = w.delays.reboot;
    from_up(
        w,
        i,
        now,
        "reboot",
        VmStatus::RebootInProgress,
        d,
        VmStatus::Up,
    )
}

fn suspend(w: &mut World, i: usize, now: Instant) -> Result<(), Failure> {
    let d = w.delays.saving_state;
    from_up(
        w,
        i,
        now,
        "hibernate",
        VmStatus::SavingState,
        d,
        VmStatus::Suspended,
    )
}

/// An action allowed only on an up VM: it is `during` at once, then `after` once `delay` passed.
fn from_up(
    w: &mut World,
    i: usize,
    now: Instant,
    action: &str,
    during: VmStatus,
    delay: u64,
    after: VmStatus,
) -> Result<(), Failure> {
    let vm = &mut w.vms[i];
    if vm.status != VmStatus::Up {
        return Err(status_illegal(action, vm.status));
    }
    vm.steps.clear();
    vm.status = during;
    vm.steps.push_back(VmStep {
        at: later(now, delay),
        status: after,
        host: HostChange::Keep,
        cluster: None,
    });
    w.advance(now);
    Ok(())
}

/// Moves every VM off a host that goes to maintenance (used by hosts::deactivate). Returns
/// false when some VM has nowhere to go.
pub fn evacuate(w: &mut World, host: usize, now: Instant) -> bool {
    let host_id = w.hosts[host].id.clone();
    let mut all_moved = true;
    for vi in w.vms_on_host(&host_id) {
        if w.vms[vi].status == VmStatus::Migrating {
            continue;
        }
        let cluster = w.vms[vi].cluster_id.clone();
        let allowed = w.vms[vi].placement_hosts.clone();
        match schedule(w, "migrate", &cluster, &[], &allowed, Some(&host_id)) {
            Ok(to) => {
                let d = w.delays.migration;
                let vm = &mut w.vms[vi];
                let back_to = if vm.status == VmStatus::Paused {
                    VmStatus::Paused
                } else {
                    VmStatus::Up
                };
                vm.steps.clear();
                vm.migration = Some((host_id.clone(), vm.status));
                vm.status = VmStatus::Migrating;
                vm.steps.push_back(VmStep {
                    at: later(now, d),
                    status: back_to,
                    host: HostChange::Set(to),
                    cluster: None,
                });
            }
            Err(_) => all_moved = false,
        }
    }
    all_moved
}

/// Sets every VM of a host down at once (manual fence, fence stop/restart).
pub fn clear_host(w: &mut World, host: usize, now: Instant) {
    let host_id = w.hosts[host].id.clone();
    for vi in w.vms_on_host(&host_id) {
        let vm = &mut w.vms[vi];
        vm.steps.clear();
        vm.steps.push_back(VmStep {
            at: now,
            status: VmStatus::Down,
            host: HostChange::Keep,
            cluster: None,
        });
    }
    w.advance(now);
}
