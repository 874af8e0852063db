//! `/hosts`: list with search/max/page, get (with `spm`), and the actions activate,
//! deactivate, fence and refresh, with the validations of `ActivateVdsCommand`,
//! `MaintenanceNumberOfVdssCommand`, `FenceVdsManualyCommand` and `BackendHostResource.fence`.

use std::time::{Instant, SystemTime};

use crate::api::{self, ApiRequest, Failure};
use crate::scenario::{Affinity, HostStatus};
use crate::server::Reply;
use crate::world::{ActionRecord, Host, HostStep, SpmStatus, World, epoch_ms, later};
use crate::xml::{Element, XmlOut};

const VERBS: &[&str] = &["activate", "deactivate", "fence", "refresh"];

const SEARCH_FIELDS: &[&str] = &["name", "status", "cluster", "datacenter", "address", "id"];

fn write_host(out: &mut XmlOut, w: &World, req: &ApiRequest, h: &Host) {
    let href = req.href(&format!("hosts/{}", h.id));
    out.open("host", &[("href", &href), ("id", &h.id)]);
    out.open("actions", &[]);
    for verb in VERBS {
        out.link(&format!("{href}/{verb}"), verb);
    }
    out.close("actions");
    out.leaf("name", &h.name);
    out.leaf("address", &h.address);
    out.open("power_management", &[]);
    out.leaf("enabled", if h.power_management { "true" } else { "false" });
    out.close("power_management");
    out.open("spm", &[]);
    out.leaf("priority", &h.spm_priority.to_string());
    out.leaf("status", h.spm.as_str());
    out.close("spm");
    out.leaf("status", h.status.as_str());
    out.opt_leaf("status_detail", h.status_detail.as_deref());
    let vms = w.vms_on_host(&h.id);
    let migrating = vms
        .iter()
        .filter(|&&v| w.vms[v].status == crate::scenario::VmStatus::Migrating)
        .count();
    out.open("summary", &[]);
    out.leaf("active", &vms.len().to_string());
    out.leaf("migrating", &migrating.to_string());
    out.leaf("total", &vms.len().to_string());
    out.close("summary");
    out.leaf("type", "rhel");
    out.reference(
        "cluster",
        &req.href(&format!("clusters/{}", h.cluster_id)),
        &h.cluster_id,
    );
    out.close("host");
}

fn field(w: &World, h: &Host, name: &str) -> String {
    match name {
        "name" => h.name.clone(),
        "status" => h.status.as_str().to_string(),
        "cluster" => w.cluster_name(&h.cluster_id).to_string(),
        "datacenter" => w.dc_name(&w.dc_of_cluster(&h.cluster_id)).to_string(),
        "address" => h.address.clone(),
        "id" => h.id.clone(),
        _ => String::new(),
    }
}

/// `GET /hosts?search=&max=&case_sensitive=`
pub fn list(w: &World, req: &ApiRequest) -> Result<Reply, Reply> {
    let hits = req.hits(SEARCH_FIELDS, w.hosts.len(), |i, f| {
        field(w, &w.hosts[i], f)
    })?;
    Ok(api::collection("hosts", hits, |out, i| {
        write_host(out, w, req, &w.hosts[i])
    }))
}

pub fn get(w: &World, req: &ApiRequest, id: &str) -> Result<Reply, Reply> {
    api::single(id, w.host_by_id(id), |out, i| {
        write_host(out, w, req, &w.hosts[i])
    })
}

/// `POST /hosts/{id}/{verb}`
pub fn action(w: &mut World, req: &ApiRequest, id: &str, verb: &str) -> Result<Reply, Reply> {
    if !VERBS.contains(&verb) {
        return Err(Reply::empty(404));
    }
    api::check_id(id)?;
    let Some(i) = w.host_by_id(id) else {
        // GUESS: an action on a missing host answers like a missing entity.
        return Err(Reply::empty(404));
    };
    let action = match api::parse_action(req.body, &format!("host/methods/{verb}")) {
        Ok(a) => a,
        Err(reply) => {
            record(&mut w.hosts[i], verb, req.body, reply.status);
            return Err(reply);
        }
    };
    let now = Instant::now();
    let mut power: Option<&'static str> = None;
    let result = match verb {
        "activate" => activate(w, i, now),
        "deactivate" => deactivate(w, i, now),
        "refresh" => {
            w.hosts[i].refresh_count += 1;
            Ok(())
        }
        _ => match fence(w, i, &action, now) {
            Ok(FenceOutcome::Done) => Ok(()),
            Ok(FenceOutcome::Power(p)) => {
                power = Some(p);
                Ok(())
            }
            Err(FenceError::Reply(r)) => {
                record(&mut w.hosts[i], verb, req.body, r.status);
                return Err(r);
            }
            Err(FenceError::Failed(f)) => Err(f),
            Err(FenceError::StatusFailed(reason)) => {
                // A failed `status` fence is HTTP 200 with status failed and a reason only.
                let mut out = XmlOut::new();
                out.open("action", &[]);
                for c in &action.children {
                    c.write(&mut out);
                }
                out.open("fault", &[]);
                out.leaf("reason", &reason);
                out.close("fault");
                out.leaf("status", "failed");
                out.close("action");
                record(&mut w.hosts[i], verb, req.body, 200);
                return Ok(Reply::xml(200, out.finish()));
            }
        },
    };
    let reply = match result {
        Ok(()) => {
            let h = &w.hosts[i];
            api::action_done(
                &action,
                ("host", &req.href(&format!("hosts/{}", h.id)), &h.id),
                |out| {
                    if let Some(p) = power {
                        out.open("power_management", &[]);
                        out.leaf("status", p);
                        out.close("power_management");
                    }
                },
            )
        }
        Err(f) => api::action_failed(&action, &f),
    };
    record(&mut w.hosts[i], verb, req.body, reply.status);
    Ok(reply)
}

fn record(h: &mut Host, verb: &str, body: &[u8], status: u16) {
    h.actions.push(ActionRecord {
        verb: verb.to_string(),
        body: String::from_utf8_lossy(body).into_owned(),
        http_status: status,
        at_ms: epoch_ms(SystemTime::now()),
    });
}

/// ActivateVdsCommand: refused when up or non_responsive; otherwise the host goes through
/// `unassigned` to `up`.
fn activate(w: &mut World, i: usize, now: Instant) -> Result<(), Failure> {
    let d = w.delays.host_activate;
    let h = &mut w.hosts[i];
    match h.status {
        HostStatus::Up => Err(Failure::conflict(
            "Cannot activate Host. Host in Up status.",
        )),
        HostStatus::NonResponsive => Err(Failure::conflict(
            "Cannot activate Host. Host is in non responsive state.",
        )),
        _ => {
            h.steps.clear();
            h.status = HostStatus::Unassigned;
            h.status_detail = None;
            h.steps.push_back(HostStep {
                at: later(now, d),
                status: HostStatus::Up,
            });
            Ok(())
        }
    }
}

/// MaintenanceNumberOfVdssCommand: the validations in the engine's order, then
/// preparing_for_maintenance (the SPM role is given up at once), running VMs migrated away,
/// and maintenance when they are gone. With a VM that cannot go anywhere the host stays in
/// preparing_for_maintenance, as a real one does.
fn deactivate(w: &mut World, i: usize, now: Instant) -> Result<(), Failure> {
    let h = &w.hosts[i];
    let vms = w.vms_on_host(&h.id);
    use HostStatus::*;
    if !matches!(
        h.status,
        Maintenance
            | NonResponsive
            | Up
            | Error
            | PreparingForMaintenance
            | Down
            | NonOperational
            | InstallFailed
    ) {
        return Err(Failure::conflict(
            "Cannot switch Host to Maintenance mode, Host is not operational.",
        ));
    }
    let pinned: Vec<String> = vms
        .iter()
        .filter(|&&v| w.vms[v].affinity == Affinity::Pinned)
        .map(|&v| w.vms[v].name.clone())
        .collect();
    if !pinned.is_empty() {
        return Err(Failure::conflict(format!(
            "Cannot switch the following Hosts to Maintenance mode: {}.\nOne or more running VMs are indicated as non-migratable. The non-migratable VMs are: {}.",
            h.name,
            pinned.join(" , ")
        )));
    }
    if h.status == Maintenance {
        return Err(Failure::conflict(
            "Cannot switch Host to Maintenance mode. Host is already in Maintenance mode.",
        ));
    }
    if h.spm == SpmStatus::Contending {
        return Err(Failure::conflict(
            "Cannot switch Host to Maintenance mode. Host is contending for Storage Pool Manager,\nwait for operation to complete and retry.",
        ));
    }
    if h.status == NonResponsive && !vms.is_empty() {
        return Err(Failure::conflict(
            "Cannot switch Host to Maintenance mode.\nHost still has running VMs on it and is in Non Responsive state.",
        ));
    }
    if h.status == NonResponsive && h.spm != SpmStatus::None {
        return Err(Failure::conflict(
            "Cannot switch Host to Maintenance mode.\nHost is Storage Pool Manager and is in Non Responsive state.\n- If power management is configured, engine will try to fence the host automatically.\n- Otherwise, either bring the node back up, or release the SPM resource.",
        ));
    }

    let d = w.delays.clone();
    let was = h.status;
    w.hosts[i].steps.clear();
    w.release_spm(i, now);
    if !matches!(was, NonResponsive | Down) {
        w.hosts[i].status = PreparingForMaintenance;
    }
    let wait = if vms.is_empty() {
        d.host_maintenance
    } else {
        d.host_maintenance.max(d.migration)
    };
    if crate::vms::evacuate(w, i, now) {
        w.hosts[i].steps.push_back(HostStep {
            at: later(now, wait),
            status: Maintenance,
        });
    }
    w.advance(now);
    Ok(())
}

enum FenceOutcome {
    Done,
    Power(&'static str),
}

enum FenceError {
    /// 400 before any command runs (missing or invalid fence_type).
    Reply(Reply),
    Failed(Failure),
    /// A failed `status` query: 200 with a failed action.
    StatusFailed(String),
}

/// `fence` with `fence_type` manual|restart|start|stop|status.
fn fence(
    w: &mut World,
    i: usize,
    action: &Element,
    now: Instant,
) -> Result<FenceOutcome, FenceError> {
    let Some(kind) = action.text_of("fence_type").filter(|t| !t.is_empty()) else {
        return Err(FenceError::Reply(api::fault(
            400,
            "Incomplete parameters",
            "Action [fenceType] required for fence",
        )));
    };
    let kind = kind.to_ascii_lowercase();
    if !["manual", "restart", "start", "stop", "status"].contains(&kind.as_str()) {
        return Err(FenceError::Reply(api::fault(
            400,
            "Invalid value",
            &format!("{} is not a member of FenceType", kind.to_ascii_uppercase()),
        )));
    }
    let d = w.delays.host_activate;
    let status = w.hosts[i].status;
    use HostStatus::*;
    match kind.as_str() {
        "manual" => {
            // "Confirm 'Host has been rebooted'": frees the SPM role and sets the host's VMs
            // down; the host's own status does not change.
            if !matches!(
                status,
                Down | InstallFailed
                    | Maintenance
                    | NonOperational
                    | NonResponsive
                    | Reboot
                    | Installing
                    | Connecting
                    | Kdumping
            ) {
                return Err(FenceError::Failed(Failure::conflict(
                    "Cannot confirm 'Host has been rebooted' Host. Valid Host statuses are \"Non operational\", \"Maintenance\" or \"Connecting\".",
                )));
            }
            w.hosts[i].manual_fence_count += 1;
            w.release_spm(i, now);
            crate::vms::clear_host(w, i, now);
            Ok(FenceOutcome::Done)
        }
        // GUESS: the texts of the power-management failures below are not verified.
        _ if !w.hosts[i].power_management => {
            if kind == "status" {
                Err(FenceError::StatusFailed(
                    "Failed to get power status: power management is not configured for this host"
                        .into(),
                ))
            } else {
                Err(FenceError::Failed(Failure::conflict(
                    "Cannot fence Host, Host fence is disabled.",
                )))
            }
        }
        "status" => Ok(FenceOutcome::Power(if status == Down {
            "off"
        } else {
            "on"
        })),
        "stop" => {
            crate::vms::clear_host(w, i, now);
            w.release_spm(i, now);
            let h = &mut w.hosts[i];
            h.steps.clear();
            h.status = Down;
            Ok(FenceOutcome::Done)
        }
        _ => {
            // start and restart: the host comes back up after the activation delay.
            if kind == "restart" {
                crate::vms::clear_host(w, i, now);
                w.release_spm(i, now);
            }
            let h = &mut w.hosts[i];
            h.steps.clear();
            h.status = Reboot;
            h.steps.push_back(HostStep {
                at: later(now, d),
                status: Up,
            });
            Ok(FenceOutcome::Done)
        }
    }
}
