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
    /// The system the definition was taken from (where the guest runs, else where it is defined).
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
        /// SyncDir already held exactly this definition.
        Unchanged = "unchanged",
    }
}

/// Defining the saved definition on one other system.
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
        /// The guest runs there.
        Refused = "refused",
        Failed = "failed",
    }
}

/// Save the definition to SyncDir, then define it on `define_on` (other systems of the resource),
/// never on a system where the guest is live (that includes a concurrency violation: the copy
/// saved is the one from the first system, in priority order, where the guest runs).
pub fn vmconfigsync(
    hosts: &Hosts,
    res: &Resource,
    survey: &Survey,
    define_on: &[String],
    console: &dyn Console,
) -> Result<SyncReport> {
    let dir = res.sync_dir.as_deref().ok_or_else(|| {
        Error::Usage(format!(
            "{} has no SyncDir to save its definition to",
            res.name
        ))
    })?;
    for target in define_on {
        super::check_system(res, target)?;
    }
    let guest = res.guest_name.as_str();
    let status = monitor::judge(res, survey);
    // Without the running copy in sight, an inactive definition elsewhere may be stale: saving it
    // would replace the good shared copy. Refuse while any system cannot be asked.
    if !status.systems.iter().any(|s| s.active)
        && let Some(unasked) = status.systems.iter().find(|s| s.error.is_some())
    {
        return Err(Error::Refused(format!(
            "{guest} runs nowhere that could be asked, and {} could not be asked ({}): its copy \
             may be the current one, so nothing is saved",
            unasked.system,
            unasked.error.as_deref().unwrap_or_default()
        )));
    }
    let defined_here = |s: &&monitor::SystemStatus| s.hypervisor_state.is_some();
    let source = status
        .systems
        .iter()
        .find(|s| s.active)
        .or_else(|| status.systems.iter().find(defined_here))
        .map(|s| s.system.clone())
        .ok_or_else(|| {
            Error::Unknown(format!(
                "{guest} is defined on none of {}",
                res.systems.join(", ")
            ))
        })?;
    let xml =
        super::hypervisor_definition(&*hosts.get(res, &source)?, guest)?.ok_or_else(|| {
            Error::Usage(format!(
                "{guest}: its engine keeps its definition; there is nothing to save"
            ))
        })?;
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

    let defined_on = define_on
        .iter()
        .filter(|t| **t != source)
        .map(|target| define_there(hosts, res, &status, target, &xml, console))
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

fn define_there(
    hosts: &Hosts,
    res: &Resource,
    status: &monitor::ResourceStatus,
    target: &str,
    xml: &str,
    console: &dyn Console,
) -> DefinedOn {
    let guest = res.guest_name.as_str();
    let here = status.on(target);
    let refused = |detail: String| DefinedOn {
        system: target.to_owned(),
        result: DefineResult::Refused,
        error: Some(Error::Refused(detail.clone())),
        detail,
    };
    if let Some(s) = here.filter(|s| s.active) {
        return refused(format!(
            "{guest} is {} on {target}: its definition is not replaced under a live guest",
            s.state
        ));
    }
    if let Some(e) = here.and_then(|s| s.error_class.clone()) {
        return DefinedOn {
            system: target.to_owned(),
            result: DefineResult::Failed,
            detail: e.to_string(),
            error: Some(e),
        };
    }
    match hosts
        .get(res, target)
        .and_then(|h| super::definitions(&*h)?.define(xml))
    {
        Ok(()) => {
            console.step(&format!("{guest}: defined on {target}"));
            DefinedOn {
                system: target.to_owned(),
                result: DefineResult::Defined,
                detail: String::new(),
                error: None,
            }
        }
        Err(e) => DefinedOn {
            system: target.to_owned(),
            result: DefineResult::Failed,
            detail: e.to_string(),
            error: Some(e),
        },
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
        let copy = match std::fs::read_to_string(&file) {
            Ok(xml) => domain_xml::canonical(&xml)
                .map(Some)
                .map_err(|e| e.to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", file.display())),
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
