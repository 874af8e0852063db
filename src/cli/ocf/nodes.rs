//! What Pacemaker knows of its nodes, for a start that cannot ask another system's hypervisor:
//! a node the cluster has fenced or that left it cleanly runs nothing, and Pacemaker schedules a
//! start only once it knows that. A node it still counts as a member, or cannot vouch for
//! (unclean), is left in doubt, and the start is refused.

use std::process::Command;
use std::time::Duration;

use serde::Deserialize;

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
    let mut crm_mon = Command::new("crm_mon");
    crm_mon.args(["--one-shot", "--inactive", "--output-as=xml"]);
    let (status, text, _) = crate::cli::bounded_output(&mut crm_mon, timeout)?;
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
