//! The engine's XML, read into typed structs and written for requests.
//!
//! Reading is tolerant of what it does not use (the engine adds elements between versions) and
//! strict about what it does: a VM without an id or a name is an error naming the request, not a
//! silently skipped guest.

use quick_xml::escape::escape;
use serde::Deserialize;

use crate::backend::Payload;
use crate::error::one_line;

/// A link to another object: `<host href="..." id="..."/>`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Ref {
    #[serde(rename = "@id")]
    pub id: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Vm {
    #[serde(rename = "@id")]
    pub id: String,
    pub name: String,
    /// Absent for a VM whose image is illegal (the engine has no API name for that state).
    pub status: Option<String>,
    /// Only while the VM has a host (not down, suspended or image locked).
    pub host: Option<Ref>,
    pub placement_policy: Option<PlacementPolicy>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct PlacementPolicy {
    /// migratable, user_migratable or pinned.
    pub affinity: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Vms {
    #[serde(default)]
    pub vm: Vec<Vm>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Host {
    #[serde(rename = "@id")]
    pub id: String,
    pub name: String,
    pub status: Option<String>,
    pub cluster: Option<Ref>,
    pub spm: Option<Spm>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Spm {
    /// none, contending or spm.
    pub status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Hosts {
    #[serde(default)]
    pub host: Vec<Host>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Cluster {
    #[serde(rename = "@id")]
    pub id: String,
    pub name: String,
    pub data_center: Option<Ref>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Clusters {
    #[serde(default)]
    pub cluster: Vec<Cluster>,
}

/// The engine's error: `<fault>` on its own, or inside a failed `<action>`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Fault {
    pub reason: Option<String>,
    pub detail: Option<String>,
}

impl Fault {
    /// The engine's words for a person: the detail without Java's list brackets, else the reason.
    pub fn message(&self) -> String {
        let detail = self
            .detail
            .as_deref()
            .map(|d| {
                d.trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .trim()
            })
            .filter(|d| !d.is_empty());
        match (detail, self.reason.as_deref()) {
            (Some(d), _) => d.to_owned(),
            (None, Some(r)) => r.to_owned(),
            (None, None) => "no reason given".to_owned(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Action {
    /// pending, in_progress, complete or failed.
    pub status: Option<String>,
    pub fault: Option<Fault>,
}

/// The name of the document's root element, to tell `<fault>` from what was asked for.
pub fn root(xml: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                return Some(e.name().as_ref().to_owned());
            }
            Ok(quick_xml::events::Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Read a document whose root must be `expected`; `what` names the request in errors.
pub fn parse<T: for<'de> Deserialize<'de>>(
    xml: &str,
    expected: &str,
    what: &str,
) -> Result<T, String> {
    match root(xml) {
        Some(name) if name == expected => quick_xml::de::from_str(xml).map_err(|e| {
            format!(
                "{what}: the engine's <{expected}> is not as expected: {}",
                one_line(&e.to_string())
            )
        }),
        Some(name) => Err(format!(
            "{what}: the engine answered <{}> where <{expected}> was expected",
            one_line(&name)
        )),
        None => Err(format!("{what}: the engine's answer is not XML")),
    }
}

/// An action body with the given children (already XML), `<action/>` when there are none.
pub fn action(children: &str) -> String {
    if children.is_empty() {
        "<action/>".to_owned()
    } else {
        format!("<action>{children}</action>")
    }
}

/// Start on one host: a run-once placement, since the start action has no host parameter.
pub fn start_on(host_id: &str) -> String {
    action(&format!(
        "<vm><placement_policy><hosts><host id=\"{}\"/></hosts></placement_policy></vm>",
        escape(host_id)
    ))
}

pub fn migrate_to(host_id: &str) -> String {
    action(&format!("<host id=\"{}\"/>", escape(host_id)))
}

pub fn fence(kind: &str) -> String {
    action(&format!("<fence_type>{}</fence_type>", escape(kind)))
}

/// `PUT /vms/{id}` setting a cdrom payload (the engine uses the first payload only).
pub fn payload_update(payload: &Payload) -> String {
    let files: String = payload
        .files
        .iter()
        .map(|(name, content)| {
            format!(
                "<file><name>{}</name><content>{}</content></file>",
                escape(name.as_str()),
                escape(content.as_str())
            )
        })
        .collect();
    format!(
        "<vm><payloads><payload><type>cdrom</type><files>{files}</files></payload></payloads></vm>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::{Target, campaign};

    /// The engine's elements and more references, besides XML's syntax.
    const WORDS: &[&str] = &[
        "<!DOCTYPE vms [<!ENTITY e \"x\">]>",
        " id=\"1\"",
        " id=\"",
        "<vm>",
        "</vm>",
        "<name>",
        "</name>",
        "<status>",
        "</status>",
        "<host id=\"h\"/>",
        "<fault>",
        "</fault>",
        "<detail>",
        "</detail>",
        "<reason>",
        "</reason>",
        "<vms>",
        "</vms>",
        "<hosts>",
        "<action>",
        "<spm>",
        "<cluster id=\"c\"/>",
    ];

    #[test]
    fn fuzz() {
        campaign(&Target {
            name: "rhev-xml",
            seeds: &[],
            dictionary: &[crate::fuzz::XML, WORDS],
            property: read_or_refused_naming_the_request,
        });
    }

    /// Whatever the engine answers is read as each document the client asks for, or refused
    /// in one line that names the request.
    fn read_or_refused_naming_the_request(xml: &str) -> Result<(), String> {
        let what = "GET /fuzz";
        let outcomes = [
            parse::<Vms>(xml, "vms", what).map(drop),
            parse::<Hosts>(xml, "hosts", what).map(drop),
            parse::<Clusters>(xml, "clusters", what).map(drop),
            parse::<Action>(xml, "action", what).map(drop),
            parse::<Fault>(xml, "fault", what).map(|f| drop(f.message())),
        ];
        for refused in outcomes.into_iter().filter_map(Result::err) {
            let why = refused.strip_prefix("GET /fuzz: ").unwrap_or_default();
            if why.trim().is_empty() || refused.contains('\n') {
                return Err(format!("not a clear refusal: {refused:?}"));
            }
        }
        Ok(())
    }

    const VMS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<vms>
  <vm href="/ovirt-engine/api/vms/1" id="1">
    <actions><link href="/ovirt-engine/api/vms/1/start" rel="start"/></actions>
    <name>web1</name><memory>1073741824</memory>
    <placement_policy><affinity>pinned</affinity><hosts><host id="h1"/></hosts></placement_policy>
    <status>up</status><something_new><deep>x</deep></something_new>
    <host href="/ovirt-engine/api/hosts/h1" id="h1"/>
    <cluster href="/ovirt-engine/api/clusters/c1" id="c1"/>
    <link href="/ovirt-engine/api/vms/1/nics" rel="nics"/>
  </vm>
  <vm href="/ovirt-engine/api/vms/2" id="2"><name>legal&amp;ugly</name></vm>
</vms>"#;

    #[test]
    fn vms_read_what_is_needed_and_skip_the_rest() {
        let vms: Vms = parse(VMS, "vms", "GET /vms").unwrap();
        assert_eq!(vms.vm.len(), 2);
        let web = &vms.vm[0];
        assert_eq!((web.id.as_str(), web.name.as_str()), ("1", "web1"));
        assert_eq!(web.status.as_deref(), Some("up"));
        assert_eq!(web.host.as_ref().map(|h| h.id.as_str()), Some("h1"));
        assert_eq!(
            web.placement_policy
                .as_ref()
                .and_then(|p| p.affinity.as_deref()),
            Some("pinned")
        );
        assert_eq!(vms.vm[1].name, "legal&ugly");
        assert_eq!(vms.vm[1].status, None);
        assert_eq!(vms.vm[1].host, None);
        let empty: Vms = parse("<vms/>", "vms", "GET /vms").unwrap();
        assert!(empty.vm.is_empty());
    }

    #[test]
    fn missing_needed_fields_and_wrong_roots_are_errors() {
        let e = parse::<Vms>(
            "<vms><vm id=\"1\"><status>up</status></vm></vms>",
            "vms",
            "GET /vms",
        )
        .unwrap_err();
        assert!(e.contains("GET /vms") && e.contains("name"), "{e}");
        let e = parse::<Vms>("<fault><reason>x</reason></fault>", "vms", "GET /vms").unwrap_err();
        assert!(e.contains("answered <fault>"), "{e}");
        let e = parse::<Vms>("<html>", "vms", "GET /vms").unwrap_err();
        assert!(e.contains("answered <html>"), "{e}");
        let e = parse::<Vms>("", "vms", "GET /vms").unwrap_err();
        assert!(e.contains("not XML"), "{e}");
    }

    #[test]
    fn entities_are_never_expanded() {
        let head = crate::fuzz::laughs_and_external("vms");
        for entity in ["lol9", "xxe"] {
            let xml = format!("{head}<vms><vm id=\"1\"><name>&{entity};</name></vm></vms>");
            let e = parse::<Vms>(&xml, "vms", "GET /vms").unwrap_err();
            assert!(
                e.ends_with(&format!("unrecognized entity `{entity}`")),
                "{e}"
            );
        }
    }

    #[test]
    fn faults_read_as_the_engines_words() {
        let a: Action = parse(
            "<action><status>failed</status><fault><reason>Operation Failed</reason>\
             <detail>[Cannot run VM. VM is running.]</detail></fault></action>",
            "action",
            "start",
        )
        .unwrap();
        assert_eq!(a.status.as_deref(), Some("failed"));
        assert_eq!(a.fault.unwrap().message(), "Cannot run VM. VM is running.");
        let only_reason = Fault {
            reason: Some("Operation Failed".into()),
            detail: None,
        };
        assert_eq!(only_reason.message(), "Operation Failed");
    }

    #[test]
    fn request_bodies_escape_what_they_carry() {
        let p = Payload {
            files: vec![("a&b.conf".into(), "X=<1>\n".into())],
        };
        assert_eq!(
            payload_update(&p),
            "<vm><payloads><payload><type>cdrom</type><files><file><name>a&amp;b.conf</name>\
             <content>X=&lt;1&gt;\n</content></file></files></payload></payloads></vm>"
        );
        assert_eq!(
            migrate_to("h\"2"),
            "<action><host id=\"h&quot;2\"/></action>"
        );
        assert_eq!(
            fence("manual"),
            "<action><fence_type>manual</fence_type></action>"
        );
        assert_eq!(action(""), "<action/>");
        assert!(start_on("h1").contains("<placement_policy><hosts><host id=\"h1\"/>"));
    }
}
