//! vmconfigsync: keep a guest's definition identical on shared storage and on every host that may
//! run it (VCS's vmconfigsync action and havmconfigsync utility), and prove it (`check`).

use std::path::PathBuf;

use serde::Serialize;

use super::{Console, Hosts, Survey, domain_xml, monitor, syncdir};
use crate::error::{Error, Exit, Outcome, Result};
use crate::resource::Resource;
use crate::vocabulary::vocabulary;

/// The outcome of saving one resource's definition and defining it elsewhere.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SyncReport {
    pub resource: String,
    pub guest: String,
    /// The system the definition was taken from: where the guest runs; else `--from`'s; else
    /// the first where it is defined, all copies meaning the same.
    pub source: String,
    pub path: PathBuf,
    pub action: SyncAction,
    pub backup: Option<PathBuf>,
    pub defined_on: Vec<DefinedOn>,
}

vocabulary! {
    /// What happened to SyncDir's copy.
    pub enum SyncAction {
        Saved = "saved",
        /// SyncDir already held this definition, as `--check` compares: left as it was.
        Unchanged = "unchanged",
    }
}

/// Defining the saved definition on one system.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DefinedOn {
    pub system: String,
    pub result: DefineResult,
    pub detail: String,
    #[serde(skip)]
    pub error: Option<Error>,
}

vocabulary! {
    pub enum DefineResult {
        Defined = "defined",
        /// The system the definition was taken from: it already holds it.
        Skipped = "skipped",
        Failed = "failed",
    }
}

/// Where the saved definition is defined besides SyncDir.
#[derive(Debug, Clone, Copy)]
pub enum DefineOn<'a> {
    /// The systems named (`--define-on`); the source among them is `skipped`.
    These(&'a [String]),
    /// Every system of the resource but the source (`--everywhere`).
    Everywhere,
}

/// Save the definition to SyncDir, then define it on other systems of the resource. The copy
/// saved is never one that may be older than another (see [`source`]); `from` names the right
/// one when the guest runs nowhere.
pub fn vmconfigsync(
    hosts: &Hosts,
    res: &Resource,
    survey: &Survey,
    from: Option<&str>,
    define_on: DefineOn,
    console: &dyn Console,
) -> Result<SyncReport> {
    let dir = res.sync_dir.as_deref().ok_or_else(|| {
        Error::Usage(format!(
            "{} has no SyncDir to save its definition to",
            res.name
        ))
    })?;
    let named = match define_on {
        DefineOn::These(systems) => systems,
        DefineOn::Everywhere => &[],
    };
    for system in named.iter().map(String::as_str).chain(from) {
        super::check_system(res, system)?;
    }
    let guest = res.guest_name.as_str();
    // It saves and defines: one command at a time, like every other that changes the guest.
    let lock = hosts.hold(res, console)?;
    // The caller's survey predates another command's work on the guest: look again.
    let fresh;
    let survey = if lock.as_ref().is_some_and(|held| held.waited) {
        fresh = hosts.survey(&[res]);
        &fresh
    } else {
        survey
    };
    let status = monitor::judge(res, survey);
    let (source, xml) = source(hosts, res, &status, from)?;
    let saved = syncdir::save(dir, guest, &xml)?;
    console.step(&format!(
        "{guest}: definition from {source} {} {}",
        if saved.changed {
            "saved to"
        } else {
            "unchanged in"
        },
        saved.path.display()
    ));

    let targets: Vec<&String> = match define_on {
        DefineOn::These(systems) => systems.iter().collect(),
        DefineOn::Everywhere => res.systems.iter().filter(|s| **s != source).collect(),
    };
    let defined_on = targets
        .into_iter()
        .map(|target| define_there(hosts, res, &status, &source, target, &xml, console))
        .collect();
    Ok(SyncReport {
        resource: res.name.clone(),
        guest: guest.to_owned(),
        source,
        path: saved.path,
        action: if saved.changed {
            SyncAction::Saved
        } else {
            SyncAction::Unchanged
        },
        backup: saved.backup,
        defined_on,
    })
}

/// The system whose copy of the definition is saved, and that copy. The running guest's copy is
/// the current one. A guest that runs nowhere leaves no clue which copy is the newer: `stop` saved
/// the copy of the host it last ran on, and any host's copy may have been edited since, so none is
/// preferred by where it is (`--sys` included: KVMGUESTCTL_SYS set on every node would make cron
/// on each node prefer its own). Its copy is taken from `from` when named, else only when every
/// copy means the same.
fn source(
    hosts: &Hosts,
    res: &Resource,
    status: &monitor::ResourceStatus,
    from: Option<&str>,
) -> Result<(String, String)> {
    let guest = res.guest_name.as_str();
    let definition = |system: &str| {
        super::hypervisor_definition(&*hosts.get(res, system)?, guest)?.ok_or_else(|| {
            Error::Usage(format!(
                "{guest}: its engine keeps its definition; there is nothing to save"
            ))
        })
    };
    if let Some(live) = live_system(status)? {
        return match from.filter(|f| *f != live) {
            Some(from) => Err(Error::Refused(format!(
                "{guest} runs on {live}: the definition there is the current one, not {from}'s"
            ))),
            None => Ok((live.to_owned(), definition(live)?)),
        };
    }
    if let Some(from) = from {
        let there = status.on(from);
        if let Some(e) = there.and_then(|s| s.error_class.clone()) {
            return Err(e);
        }
        if there.is_some_and(|s| s.hypervisor_state.is_none()) {
            return Err(Error::Unknown(format!(
                "{guest} is not defined on {from}: there is no copy to take from there"
            )));
        }
        return Ok((from.to_owned(), definition(from)?));
    }
    // The running copy may be out of sight: an inactive definition elsewhere may be stale.
    if let Some(unasked) = status.systems.iter().find(|s| s.error.is_some()) {
        return Err(Error::Refused(format!(
            "{guest} runs nowhere that could be asked, and {} could not be asked ({}): its copy \
             may be the current one, so nothing is saved; --from SYSTEM names the copy to save",
            unasked.system,
            unasked.error.as_deref().unwrap_or_default()
        )));
    }
    let copies: Vec<(&str, String)> = status
        .systems
        .iter()
        .filter(|s| s.hypervisor_state.is_some())
        .map(|s| definition(&s.system).map(|xml| (s.system.as_str(), xml)))
        .collect::<Result<_>>()?;
    let forms: Vec<String> = copies
        .iter()
        .map(|(_, xml)| domain_xml::canonical(xml))
        .collect::<Result<_>>()?;
    let Some((system, xml)) = copies.first() else {
        return Err(Error::Unknown(format!(
            "{guest} is defined on none of {}",
            res.systems.join(", ")
        )));
    };
    if forms.iter().all(|f| *f == forms[0]) {
        Ok(((*system).to_owned(), xml.clone()))
    } else {
        Err(Error::Refused(diverged(res, &copies, &forms)))
    }
}

/// The one system where the guest is live, if any. Live on two, there is no current copy to
/// trust: both may be in use (a concurrency violation), or the guest is moving and the target's
/// definition is not yet its own (a migration).
fn live_system(status: &monitor::ResourceStatus) -> Result<Option<&str>> {
    let live = status.live_systems();
    match live.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ if status.concurrency_violation => Err(Error::Concurrency(format!(
            "CONCURRENCY VIOLATION: {} runs on {} at once: which definition is current is not \
             known, so nothing is saved or defined",
            status.guest,
            live.join(", ")
        ))),
        _ => Err(Error::Refused(format!(
            "{} is migrating between {}: its definition is saved once the migration is over",
            status.guest,
            live.join(" and ")
        ))),
    }
}

/// Why differing copies of a guest that runs nowhere are not saved, with what tells them apart
/// at a glance: which one SyncDir holds, and the first line where each departs from the first
/// (`--check` shows the whole difference).
fn diverged(res: &Resource, copies: &[(&str, String)], forms: &[String]) -> String {
    let synced = res
        .sync_file()
        .and_then(|file| syncdir::read_copy(&file).ok())
        .and_then(|xml| domain_xml::canonical(&xml).ok());
    let (first_system, first) = (copies[0].0, &forms[0]);
    let listed: Vec<String> = copies
        .iter()
        .zip(forms)
        .map(|((system, _), form)| {
            let mut hints = Vec::new();
            if synced.as_ref() == Some(form) {
                hints.push("as in SyncDir".to_owned());
            }
            if *system != first_system {
                hints.push(if form == first {
                    format!("as on {first_system}")
                } else {
                    let line = form
                        .lines()
                        .zip(first.lines())
                        .find(|(mine, theirs)| mine != theirs)
                        .map_or("its end", |(mine, _)| mine.trim());
                    format!("first differs from {first_system} at {line}")
                });
            }
            if hints.is_empty() {
                (*system).to_owned()
            } else {
                format!("{system} ({})", hints.join("; "))
            }
        })
        .collect();
    format!(
        "{} runs nowhere and its definitions differ: {}; nothing says which is the newer, so \
         nothing is saved: name the copy to save with --from SYSTEM (vmconfigsync --check shows \
         the differences)",
        res.guest_name,
        listed.join(", ")
    )
}

fn define_there(
    hosts: &Hosts,
    res: &Resource,
    status: &monitor::ResourceStatus,
    source: &str,
    target: &str,
    xml: &str,
    console: &dyn Console,
) -> DefinedOn {
    let guest = res.guest_name.as_str();
    let failed = |e: Error| DefinedOn {
        system: target.to_owned(),
        result: DefineResult::Failed,
        detail: e.to_string(),
        error: Some(e),
    };
    let done = |result, detail: String| DefinedOn {
        system: target.to_owned(),
        result,
        detail,
        error: None,
    };
    if target == source {
        let runs = if status.on(source).is_some_and(|s| s.active) {
            format!(": {guest} runs there")
        } else {
            String::new()
        };
        let detail = format!("{target} is where the definition was taken from{runs}");
        console.step(&format!("{guest}: not defined on {target}: {detail}"));
        return done(DefineResult::Skipped, detail);
    }
    if let Some(e) = status.on(target).and_then(|s| s.error_class.clone()) {
        return failed(e);
    }
    match hosts
        .get(res, target)
        .and_then(|h| super::definitions(&*h)?.define(xml))
    {
        Ok(()) => {
            console.step(&format!("{guest}: defined on {target}"));
            done(DefineResult::Defined, String::new())
        }
        Err(e) => failed(e),
    }
}

/// One copy of a definition and how it compares with the reference copy.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DefinitionCopy {
    /// A system name, or "SyncDir".
    pub place: String,
    pub state: CopyState,
    pub detail: String,
    /// A unified diff from the reference to this copy, when it differs.
    pub diff: Option<String>,
}

vocabulary! {
    pub enum CopyState {
        /// The copy the others are compared with.
        Reference = "reference",
        Agrees = "agrees",
        Differs = "differs",
        /// A problem: the guest could not start from here.
        Missing = "missing",
        /// Fine: the guest is defined from GuestConfigFilePath or is transient.
        NotDefined = "not-defined",
        Unreadable = "unreadable",
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CheckReport {
    pub resource: String,
    pub guest: String,
    /// Every copy that could be read and should exist exists, and all agree (a copy on a system
    /// that could not be asked is `unreachable`, not a divergence).
    pub consistent: bool,
    pub copies: Vec<DefinitionCopy>,
    #[serde(skip)]
    pub unreachable: bool,
}

impl Outcome for SyncReport {
    const COLUMNS: &'static [&'static str] =
        &["RESOURCE", "SOURCE", "ACTION", "PATH", "DEFINED ON"];
    fn rows(&self) -> Vec<Vec<String>> {
        let placed: Vec<String> = self
            .defined_on
            .iter()
            .map(|p| format!("{}: {}", p.system, p.result))
            .collect();
        vec![vec![
            self.resource.clone(),
            self.source.clone(),
            self.action.to_string(),
            self.path.display().to_string(),
            placed.join(", "),
        ]]
    }
}

impl Outcome for CheckReport {
    const COLUMNS: &'static [&'static str] = &["RESOURCE", "COPY", "STATE", "DETAIL"];
    fn rows(&self) -> Vec<Vec<String>> {
        self.copies
            .iter()
            .map(|c| {
                vec![
                    self.resource.clone(),
                    c.place.clone(),
                    c.state.to_string(),
                    c.detail.clone(),
                ]
            })
            .collect()
    }
    /// 7 when the copies differ or one is missing; 4 when a copy could not be read because its
    /// system could not be asked.
    fn exit(&self) -> Exit {
        if !self.consistent {
            Exit::Diverged
        } else if self.unreachable {
            Exit::Unreachable
        } else {
            Exit::Success
        }
    }
    /// The copies that differ or are missing, in one line; each copy that could not be read.
    fn alerts(&self) -> Vec<String> {
        let bad: Vec<String> = self
            .copies
            .iter()
            .filter(|c| matches!(c.state, CopyState::Differs | CopyState::Missing))
            .map(|c| format!("{} {}", c.place, c.state))
            .collect();
        let diverged = (!bad.is_empty()).then(|| {
            format!(
                "{}: the definitions of {} do not agree: {}",
                self.resource,
                self.guest,
                bad.join(", ")
            )
        });
        let unreadable = self
            .copies
            .iter()
            .filter(|c| c.state == CopyState::Unreadable)
            .map(|c| {
                format!(
                    "{}: the copy on {} cannot be read: {}",
                    self.resource, c.place, c.detail
                )
            });
        diverged.into_iter().chain(unreadable).collect()
    }
}

/// Compare the definition on every system and in SyncDir, semantically.
pub fn check(hosts: &Hosts, res: &Resource, survey: &Survey) -> CheckReport {
    let guest = res.guest_name.as_str();
    let status = monitor::judge(res, survey);
    // A host without a definition can still run the guest when the definition comes from a file.
    let undefined_is_fine = res.guest_config_file_path.is_some() || res.transient;

    let mut found: Vec<(String, std::result::Result<Option<String>, String>)> = Vec::new();
    for s in &status.systems {
        let copy = match (&s.error, s.hypervisor_state) {
            (Some(e), _) => Err(e.clone()),
            (None, None) => Ok(None),
            (None, Some(_)) => hosts
                .get(res, &s.system)
                .and_then(|h| super::hypervisor_definition(&*h, guest))
                .and_then(|xml| xml.as_deref().map(domain_xml::canonical).transpose())
                .map_err(|e| e.to_string()),
        };
        found.push((s.system.clone(), copy));
    }
    if let Some(file) = res.sync_file() {
        let copy = match syncdir::read_copy(&file) {
            Ok(xml) => domain_xml::canonical(&xml)
                .map(Some)
                .map_err(|e| e.to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {}", file.display(), crate::error::io(&e))),
        };
        found.push(("SyncDir".to_owned(), copy));
    }

    // The reference: the copy on the system where the guest runs, else SyncDir's, else the first.
    let running = status.running_on.first();
    let reference = found
        .iter()
        .position(|(place, c)| Some(place) == running && matches!(c, Ok(Some(_))))
        .or_else(|| {
            found
                .iter()
                .position(|(place, c)| place == "SyncDir" && matches!(c, Ok(Some(_))))
        })
        .or_else(|| found.iter().position(|(_, c)| matches!(c, Ok(Some(_)))));
    let reference_text = reference.and_then(|i| found[i].1.clone().ok().flatten());
    let reference_place = reference.map(|i| found[i].0.clone()).unwrap_or_default();

    let copies: Vec<DefinitionCopy> = found
        .iter()
        .enumerate()
        .map(|(i, (place, copy))| {
            let (state, detail, diff) = match copy {
                Err(e) => (CopyState::Unreadable, e.clone(), None),
                Ok(None) if place == "SyncDir" => (
                    CopyState::Missing,
                    "no copy in SyncDir: run vmconfigsync".to_owned(),
                    None,
                ),
                Ok(None) if undefined_is_fine => (
                    CopyState::NotDefined,
                    "defined from GuestConfigFilePath at start".to_owned(),
                    None,
                ),
                Ok(None) => (
                    CopyState::Missing,
                    format!("{guest} is not defined here: this system could not run it"),
                    None,
                ),
                Ok(Some(_)) if Some(i) == reference => (CopyState::Reference, String::new(), None),
                Ok(Some(text)) if Some(text) == reference_text.as_ref() => {
                    (CopyState::Agrees, String::new(), None)
                }
                Ok(Some(text)) => {
                    let diff = similar::TextDiff::from_lines(
                        reference_text.as_deref().unwrap_or(""),
                        text.as_str(),
                    )
                    .unified_diff()
                    .context_radius(3)
                    // Named by resource too: --check --all prints every diff one after another.
                    .header(
                        &format!("{} on {reference_place}", res.name),
                        &format!("{} on {place}", res.name),
                    )
                    .to_string();
                    (
                        CopyState::Differs,
                        format!("differs from {reference_place}"),
                        Some(diff),
                    )
                }
            };
            DefinitionCopy {
                place: place.clone(),
                state,
                detail,
                diff,
            }
        })
        .collect();
    CheckReport {
        resource: res.name.clone(),
        guest: guest.to_owned(),
        consistent: copies.iter().all(|c| {
            matches!(
                c.state,
                CopyState::Reference
                    | CopyState::Agrees
                    | CopyState::NotDefined
                    | CopyState::Unreadable
            )
        }),
        unreachable: copies.iter().any(|c| c.state == CopyState::Unreadable),
        copies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Activity, Guest, GuestState, Observed, Placement};

    /// libvirt's test driver cannot pause a guest for a migration: the survey is written here.
    #[test]
    fn vmconfigsync_refuses_a_guest_in_the_middle_of_a_migration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.yaml");
        std::fs::write(
            &path,
            "systems:\n  a: { uri: 'fake:///a' }\n  b: { uri: 'fake:///b' }\nresources:\n  \
             r: { type: KVMGuest, systems: [a, b], GuestName: g, SyncDir: /nonexistent }\n",
        )
        .unwrap();
        let config = crate::resource::load(&crate::resource::ConfigSource::Path(path)).unwrap();
        let res = &config.resources["r"];
        let guest = |activity, state, reason| {
            Ok(vec![Guest {
                name: "g".into(),
                state: GuestState {
                    activity,
                    live: true,
                    placement: Placement::Here,
                    observed: Some(Observed { state, reason }),
                },
            }])
        };
        let survey: Survey = [
            (
                (res.environment.clone(), "a".to_owned()),
                guest(Activity::Running, "running", "booted"),
            ),
            (
                (res.environment.clone(), "b".to_owned()),
                guest(Activity::Migrating, "paused", "migration"),
            ),
        ]
        .into_iter()
        .collect();
        let status = monitor::judge(res, &survey);
        assert!(!status.concurrency_violation);
        let refused = live_system(&status).unwrap_err();
        assert_eq!(refused.exit(), Exit::Refused);
        assert_eq!(
            refused.to_string(),
            "g is migrating between a and b: its definition is saved once the migration is over"
        );
    }
}
