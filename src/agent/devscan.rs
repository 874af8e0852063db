//! DevScan (the action): make sure the Storage Pool Manager runs on a healthy host of the local
//! RHEV cluster, then have the local hosts rescan their storage so that replicated devices are
//! seen read-write after a disaster-recovery failover.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Console, Hosts, wait_every};
use crate::backend::{EngineControl, EngineHost, HostStatus};
use crate::error::{Error, Result};
use crate::resource::Resource;
use crate::vocabulary::vocabulary;

/// How often the hosts are looked at while waiting for the SPM role to move.
const SPM_POLL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
pub struct DevScanOptions {
    /// Print the plan, change nothing.
    pub dry_run: bool,
    /// How long the SPM role may take to move.
    pub wait: Duration,
}

vocabulary! {
    /// What a step does, as reports and their JSON name it.
    pub enum Step {
        ConfirmFenced = "confirm-fenced",
        Deactivate = "deactivate",
        WaitSpm = "wait-spm",
        Activate = "activate",
        CheckSpm = "check-spm",
        Refresh = "refresh",
    }
}

vocabulary! {
    /// How a step ended, as reports and their JSON name it.
    pub enum StepOutcome {
        Done = "done",
        /// A dry run's step: nothing was changed.
        Planned = "planned",
        Failed = "failed",
    }
}

/// One step, as it happened (or, with `--dry-run`, as it would).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DevScanStep {
    pub step: Step,
    pub host: Option<String>,
    pub cluster: Option<String>,
    pub outcome: StepOutcome,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DevScanReport {
    pub resource: String,
    /// RHEVMInfo.Cluster: where the SPM must end up.
    pub cluster: String,
    pub spm_before: Option<String>,
    pub spm_after: Option<String>,
    pub dry_run: bool,
    pub steps: Vec<DevScanStep>,
    pub seconds: f64,
}

impl crate::error::Outcome for DevScanReport {
    const COLUMNS: &'static [&'static str] =
        &["RESOURCE", "STEP", "HOST", "CLUSTER", "OUTCOME", "DETAIL"];
    fn rows(&self) -> Vec<Vec<String>> {
        self.steps
            .iter()
            .map(|s| {
                vec![
                    self.resource.clone(),
                    s.step.to_string(),
                    s.host.clone().unwrap_or_default(),
                    s.cluster.clone().unwrap_or_default(),
                    s.outcome.to_string(),
                    s.detail.clone(),
                ]
            })
            .collect()
    }
}

/// The engine's hosts from the local cluster's point of view.
struct View {
    local: Vec<EngineHost>,
    /// Hosts of the same data center in other clusters: the other site.
    remote: Vec<EngineHost>,
    spm: Option<EngineHost>,
}

impl View {
    fn spm_is_local_and_up(&self) -> bool {
        self.spm
            .as_ref()
            .is_some_and(|s| s.status == HostStatus::Up && self.local.iter().any(|l| l.id == s.id))
    }

    fn spm_is_remote(&self) -> bool {
        self.spm
            .as_ref()
            .is_some_and(|s| self.remote.iter().any(|r| r.id == s.id))
    }
}

struct Run<'a> {
    engine: &'a dyn EngineControl,
    cluster: &'a str,
    opts: DevScanOptions,
    console: &'a dyn Console,
    steps: Vec<DevScanStep>,
}

impl Run<'_> {
    fn view(&self) -> Result<View> {
        let all = self.engine.hosts()?;
        let local: Vec<EngineHost> = all
            .iter()
            .filter(|h| h.cluster == self.cluster)
            .cloned()
            .collect();
        let Some(data_center) = local.first().map(|h| h.data_center.clone()) else {
            let clusters: std::collections::BTreeSet<&str> =
                all.iter().map(|h| h.cluster.as_str()).collect();
            return Err(Error::Config(format!(
                "RHEVMInfo.Cluster '{}' has no hosts in the engine (clusters with hosts: {})",
                self.cluster,
                clusters.into_iter().collect::<Vec<_>>().join(", ")
            )));
        };
        let same_dc = |h: &&EngineHost| h.data_center == data_center;
        Ok(View {
            spm: all.iter().filter(same_dc).find(|h| h.spm).cloned(),
            remote: all
                .iter()
                .filter(same_dc)
                .filter(|h| h.cluster != self.cluster)
                .cloned()
                .collect(),
            local,
        })
    }

    fn record(
        &mut self,
        step: Step,
        host: Option<&EngineHost>,
        outcome: StepOutcome,
        detail: String,
    ) {
        let line = match (outcome, host) {
            (StepOutcome::Planned, Some(h)) => {
                format!("would {step} {} ({}): {detail}", h.name, h.cluster)
            }
            (StepOutcome::Planned, None) => format!("would {step}: {detail}"),
            (_, Some(h)) => format!("{step} {} ({}): {detail}", h.name, h.cluster),
            (_, None) => format!("{step}: {detail}"),
        };
        self.console.step(&line);
        self.steps.push(DevScanStep {
            step,
            host: host.map(|h| h.name.clone()),
            cluster: host.map(|h| h.cluster.clone()),
            outcome,
            detail,
        });
    }

    /// Do one host action (or plan it).
    fn act(
        &mut self,
        step: Step,
        host: &EngineHost,
        detail: &str,
        action: impl FnOnce(&dyn EngineControl, &str) -> Result<()>,
    ) -> Result<()> {
        if self.opts.dry_run {
            self.record(step, Some(host), StepOutcome::Planned, detail.to_owned());
            return Ok(());
        }
        match action(self.engine, &host.id) {
            Ok(()) => {
                self.record(step, Some(host), StepOutcome::Done, detail.to_owned());
                Ok(())
            }
            Err(e) => {
                self.record(step, Some(host), StepOutcome::Failed, e.to_string());
                Err(e)
            }
        }
    }

    /// Wait until the hosts look as wanted, at most `opts.wait`; the view at the end. A dry run
    /// plans the wait and goes on from `current`.
    fn wait_spm(
        &mut self,
        current: View,
        goal: &str,
        done: impl Fn(&View) -> bool,
    ) -> Result<View> {
        if self.opts.dry_run {
            self.record(Step::WaitSpm, None, StepOutcome::Planned, goal.to_owned());
            return Ok(current);
        }
        let started = Instant::now();
        let mut last = current;
        let reached = wait_every(self.console, goal, self.opts.wait, SPM_POLL, |_| {
            last = self.view()?;
            Ok(done(&last))
        })?;
        if !reached {
            let now = last.spm.as_ref().map_or("no host".to_owned(), |s| {
                format!("{} ({}, {})", s.name, s.cluster, s.status)
            });
            let detail = format!(
                "not reached within {} s; the SPM is on {now}",
                self.opts.wait.as_secs()
            );
            self.record(
                Step::WaitSpm,
                None,
                StepOutcome::Failed,
                format!("{goal}: {detail}"),
            );
            return Err(Error::Failed(format!("DevScan: {goal}: {detail}")));
        }
        let on = last.spm.as_ref().map_or(String::new(), |s| {
            format!(": now on {} ({})", s.name, s.cluster)
        });
        self.record(
            Step::WaitSpm,
            None,
            StepOutcome::Done,
            format!("{goal}{on} after {:.1} s", started.elapsed().as_secs_f64()),
        );
        Ok(last)
    }
}

pub fn devscan(
    hosts: &Hosts,
    res: &Resource,
    opts: &DevScanOptions,
    console: &dyn Console,
) -> Result<DevScanReport> {
    let started = Instant::now();
    let cluster = res.rhevm_info.cluster.as_deref().ok_or_else(|| {
        Error::Config(format!(
            "{}: DevScan needs RHEVMInfo.Cluster (the local RHEV cluster)",
            res.name
        ))
    })?;
    let engine = hosts.engine(res)?;
    let mut run = Run {
        engine: &*engine,
        cluster,
        opts: *opts,
        console,
        steps: Vec::new(),
    };
    let mut view = run.view()?;
    let spm_before = view.spm.as_ref().map(|s| s.name.clone());

    // A non-responsive SPM keeps its role until someone confirms it was fenced.
    if let Some(spm) = view
        .spm
        .clone()
        .filter(|s| s.status == HostStatus::NonResponsive)
    {
        if !res.rhevm_info.use_manual_rhevm_fencing {
            return Err(Error::Refused(format!(
                "the SPM host {} ({}) is non_responsive: the SPM role cannot move until it is \
                 fenced. Make sure it is powered off, then confirm it in the engine (\"Confirm \
                 'Host has been Rebooted'\") or set RHEVMInfo.UseManualRHEVMFencing = 1",
                spm.name, spm.cluster
            )));
        }
        if !opts.dry_run {
            run.console.confirm(&format!(
                "Confirm that the SPM host {} ({}) has been rebooted or powered off (manual fence)?",
                spm.name, spm.cluster
            ))?;
        }
        run.act(
            Step::ConfirmFenced,
            &spm,
            "manual fence (UseManualRHEVMFencing = 1): the SPM role is freed",
            |e, id| e.confirm_fenced(id),
        )?;
        view = run.wait_spm(view, &format!("the SPM role to leave {}", spm.name), |v| {
            v.spm
                .as_ref()
                .is_some_and(|s| s.id != spm.id && s.status == HostStatus::Up)
        })?;
    } else if view.spm.is_none() {
        view = run.wait_spm(view, "a host to take the SPM role", |v| {
            v.spm.as_ref().is_some_and(|s| s.status == HostStatus::Up)
        })?;
    }

    // After a DR failover the SPM is still on the other site: put that site's hosts into
    // maintenance so the role comes here, then give them back.
    if view.spm_is_remote() {
        let remote: Vec<EngineHost> = view
            .remote
            .iter()
            .filter(|h| h.status == HostStatus::Up)
            .cloned()
            .collect();
        if !opts.dry_run {
            let names: Vec<&str> = remote.iter().map(|h| h.name.as_str()).collect();
            run.console.confirm(&format!(
                "Put the other site's hosts {} into maintenance until the SPM role moves to \
                 cluster {cluster}?",
                names.join(", ")
            ))?;
        }
        let mut deactivated = Vec::new();
        let mut failure = None;
        for h in &remote {
            let why = if h.spm {
                "holds the SPM role on the other site"
            } else {
                "could take the SPM role on the other site"
            };
            match run.act(Step::Deactivate, h, why, |e, id| e.deactivate(id)) {
                Ok(()) => deactivated.push(h.clone()),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let moved = match failure {
            Some(e) => Err(e),
            None => run.wait_spm(
                view,
                &format!("the SPM role to move to cluster {cluster}"),
                View::spm_is_local_and_up,
            ),
        };
        // Every host taken out is given back, whatever failed: this action must not leave a site
        // in maintenance behind.
        let mut not_activated = None;
        for h in &deactivated {
            if let Err(e) = run.act(Step::Activate, h, "back from maintenance", |e, id| {
                e.activate(id)
            }) {
                not_activated.get_or_insert(e);
            }
        }
        view = moved?;
        if let Some(e) = not_activated {
            return Err(e);
        }
    }

    if !opts.dry_run && !view.spm_is_local_and_up() {
        let on = view.spm.as_ref().map_or("no host".to_owned(), |s| {
            format!("{} ({}, {})", s.name, s.cluster, s.status)
        });
        return Err(Error::Failed(format!(
            "DevScan: the SPM is on {on}, not on an up host of cluster {cluster}"
        )));
    }
    if view.spm_is_local_and_up() && spm_before == view.spm.as_ref().map(|s| s.name.clone()) {
        let spm = view.spm.as_ref().map_or("", |s| s.name.as_str());
        run.record(
            Step::CheckSpm,
            None,
            StepOutcome::Done,
            format!("the SPM is on {spm}, an up host of cluster {cluster}"),
        );
    }
    for h in view.local.iter().filter(|h| h.status == HostStatus::Up) {
        run.act(
            Step::Refresh,
            h,
            "rescan storage: replicated devices are seen read-write",
            |e, id| e.refresh(id),
        )?;
    }
    Ok(DevScanReport {
        resource: res.name.clone(),
        cluster: cluster.to_owned(),
        spm_before,
        spm_after: view.spm.as_ref().map(|s| s.name.clone()),
        dry_run: opts.dry_run,
        steps: run.steps,
        seconds: super::tenths(started),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_statuses_keep_the_engine_words() {
        for word in ["up", "non_responsive", "maintenance", "none"] {
            let status = HostStatus::from_engine(word);
            assert_eq!(status.as_str(), word);
            assert_eq!(serde_json::to_value(&status).unwrap(), word);
        }
        assert_eq!(HostStatus::from_engine("up"), HostStatus::Up);
        assert_eq!(
            HostStatus::from_engine("non_responsive"),
            HostStatus::NonResponsive
        );
    }
}
