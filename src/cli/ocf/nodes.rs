//! What Pacemaker knows of its nodes, for a start that cannot ask another system's hypervisor:
//! a node the cluster has fenced or that left it cleanly runs nothing, and Pacemaker schedules a
//! start only once it knows that. A node it still counts as a member, or cannot vouch for
//! (unclean), is left in doubt, and the start is refused.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Deserialize;
use wait_timeout::ChildExt;

/// The part of `crm_mon --output-as=xml` read here.
#[derive(Debug, Deserialize)]
struct CrmMon {
    nodes: Option<Nodes>,
}

#[derive(Debug, Default, Deserialize)]
struct Nodes {
    #[serde(default)]
    node: Vec<Node>,
}

#[derive(Debug, Deserialize)]
struct Node {
    #[serde(rename = "@name")]
    name: String,
    #[serde(rename = "@online")]
    online: bool,
    #[serde(rename = "@unclean")]
    unclean: bool,
}

/// The cluster's nodes that are out of it and clean (fenced, or shut down cleanly), as
/// `crm_mon` reports them within `timeout`; why not, when it cannot be asked.
pub fn cleanly_down(timeout: Duration) -> Result<Vec<String>, String> {
    let mut child = Command::new("crm_mon")
        .args(["--one-shot", "--inactive", "--output-as=xml"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run crm_mon: {e}"))?;
    let mut stdout = child.stdout.take().ok_or("crm_mon has no output")?;
    // Read on a thread: a large status must not fill the pipe while crm_mon is being waited for.
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    let status = match child.wait_timeout(timeout) {
        Ok(Some(status)) => status,
        Ok(None) | Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "crm_mon did not answer within {} s",
                timeout.as_secs()
            ));
        }
    };
    let text = reader
        .join()
        .map_err(|_| "crm_mon's output could not be read".to_owned())?
        .map_err(|e| format!("crm_mon's output could not be read: {e}"))?;
    if !status.success() {
        return Err(format!("crm_mon failed ({status})"));
    }
    parse(&text)
}

fn parse(xml: &str) -> Result<Vec<String>, String> {
    let mon: CrmMon =
        quick_xml::de::from_str(xml).map_err(|e| format!("crm_mon's XML is unexpected: {e}"))?;
    Ok(mon
        .nodes
        .unwrap_or_default()
        .node
        .into_iter()
        .filter(|n| !n.online && !n.unclean)
        .map(|n| n.name)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn only_nodes_that_are_offline_and_clean_count_as_down() {
        let xml = r#"<pacemaker-result api-version="2.25" request="crm_mon --output-as=xml">
  <summary><stack type="corosync"/></summary>
  <nodes>
    <node name="a" id="1" online="true" standby="false" unclean="false" shutdown="false" type="member"/>
    <node name="b" id="2" online="false" standby="false" unclean="false" shutdown="false" type="member"/>
    <node name="c" id="3" online="false" standby="false" unclean="true" shutdown="false" type="member"/>
  </nodes>
  <status code="0" message="OK"/>
</pacemaker-result>"#;
        assert_eq!(parse(xml).unwrap(), ["b"]);
        assert!(
            parse("<pacemaker-result><nodes><node name='x'/></nodes></pacemaker-result>").is_err()
        );
    }
}
