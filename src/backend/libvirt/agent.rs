//! The QEMU guest agent through libvirt: is it there, does it answer, what does the guest say.
//!
//! Every agent call is bounded by the agent's own timeout: libvirt's agent calls without one
//! (`virDomainGetGuestInfo`, a plain `virDomainInterfaceAddresses`) wait for ever on a hung agent
//! and hold the domain's agent job meanwhile, so that every later agent call on the domain fails
//! after 30 s. A ping with a timeout (`guest-ping` through `virDomainQemuAgentCommand`) comes
//! first; libvirt resynchronises with the agent after one that timed out. libvirt marks a domain
//! that was sent an agent command of our own as tainted (`custom-ga-command` in its QEMU log).

use std::time::Duration;

use quick_xml::Reader;
use quick_xml::events::Event;
use virt::domain::Domain;
use virt::error::Error as VirtError;
use virt::sys;

use crate::backend::{AddressSource, AgentAnswer, GuestDetails, GuestInterface};

/// The virtio-serial channel name of the QEMU guest agent.
const GUEST_AGENT_CHANNEL: &str = "org.qemu.guest_agent.0";

/// The guest agent's channel, as a domain XML shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Absent,
    /// The live XML says `state='disconnected'`: nothing in the guest has the port open.
    Disconnected,
    /// Connected, or a definition that does not say (inactive XML, older libvirt).
    Present,
}

/// The guest agent channel of a domain XML, and its state when the XML is a live one.
fn channel(xml: &str) -> Channel {
    let mut reader = Reader::from_str(xml);
    let mut in_channel = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.name().as_ref() == "channel" => in_channel += 1,
            Ok(Event::End(e)) if e.name().as_ref() == "channel" => {
                in_channel = in_channel.saturating_sub(1)
            }
            Ok(Event::Empty(e) | Event::Start(e))
                if in_channel > 0 && e.name().as_ref() == "target" =>
            {
                let attribute = |key: &str| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == key)
                        .map(|a| a.value.into_owned())
                };
                if attribute("name").as_deref() == Some(GUEST_AGENT_CHANNEL) {
                    return match attribute("state").as_deref() {
                        Some("disconnected") => Channel::Disconnected,
                        _ => Channel::Present,
                    };
                }
            }
            Ok(Event::Eof) | Err(_) => return Channel::Absent,
            Ok(_) => {}
        }
    }
}

/// libvirt's agent timeout is in whole seconds, at least one.
fn whole_seconds(within: Duration) -> i32 {
    within.as_secs_f64().ceil().clamp(1.0, i32::MAX as f64) as i32
}

/// The agent's channel of a running domain, and which run of it this is; `None` when there is
/// an agent to ping (a channel that is, or may be, connected).
pub fn unpingable(dom: &Domain) -> Result<(Option<AgentAnswer>, String), VirtError> {
    let run = dom.id().map_or_else(|| "-".to_owned(), |id| id.to_string());
    let answer = match channel(&dom.xml_desc(0)?) {
        Channel::Absent => Some(AgentAnswer::NoChannel),
        Channel::Disconnected => Some(AgentAnswer::NotConnected),
        Channel::Present => None,
    };
    Ok((answer, run))
}

/// `guest-ping`, answered within `within` or not at all (the hypervisor's words why not).
pub fn guest_ping(dom: &Domain, within: Duration) -> Result<Option<String>, VirtError> {
    Ok(
        match dom.qemu_agent_command(r#"{"execute":"guest-ping"}"#, whole_seconds(within), 0) {
            Ok(_) => None,
            Err(e) => Some(e.message().to_owned()),
        },
    )
}

/// What the guest says about itself when its agent has just answered a ping; else its DHCP
/// leases' addresses.
pub fn details(
    dom: &Domain,
    agent: AgentAnswer,
    within: Duration,
) -> Result<GuestDetails, VirtError> {
    if agent != AgentAnswer::Answered {
        return Ok(nowhere_when_empty(GuestDetails {
            agent,
            host_name: None,
            os: None,
            kernel: None,
            address_source: AddressSource::Lease,
            interfaces: interfaces(dom, sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE)?,
        }));
    }
    let ask = |command: &str| -> Option<serde_json::Value> {
        let command = format!(r#"{{"execute":"{command}"}}"#);
        let answer = dom
            .qemu_agent_command(&command, whole_seconds(within), 0)
            .ok()?;
        serde_json::from_str::<serde_json::Value>(&answer)
            .ok()?
            .get("return")
            .cloned()
    };
    let text = |value: &Option<serde_json::Value>, key: &str| {
        value
            .as_ref()
            .and_then(|v| v.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let os = ask("guest-get-osinfo");
    Ok(nowhere_when_empty(GuestDetails {
        agent,
        host_name: text(&ask("guest-get-host-name"), "host-name"),
        os: text(&os, "pretty-name").or_else(|| text(&os, "name")),
        kernel: text(&os, "kernel-release"),
        address_source: AddressSource::Agent,
        interfaces: interfaces(dom, sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT)?,
    }))
}

/// No address at all is no source at all.
fn nowhere_when_empty(details: GuestDetails) -> GuestDetails {
    if details.interfaces.is_empty() {
        GuestDetails {
            address_source: AddressSource::Nowhere,
            ..details
        }
    } else {
        details
    }
}

/// The guest's interfaces from `source`, without loopback; a source that knows none (a guest on
/// no libvirt network has no leases) is an empty list.
fn interfaces(
    dom: &Domain,
    source: sys::virDomainInterfaceAddressesSource,
) -> Result<Vec<GuestInterface>, VirtError> {
    let found = match dom.interface_addresses(source, 0) {
        Ok(found) => found,
        Err(e) if source == sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE => {
            log::debug!("no DHCP lease addresses: {}", e.message());
            return Ok(Vec::new());
        }
        Err(e) => return Err(e),
    };
    Ok(found
        .into_iter()
        .filter(|i| i.name != "lo")
        .map(|i| GuestInterface {
            addresses: i
                .addrs
                .iter()
                .filter_map(|a| {
                    let ip: std::net::IpAddr = a.addr.parse().ok()?;
                    (!ip.is_loopback()).then(|| format!("{}/{}", a.addr, a.prefix))
                })
                .collect(),
            name: i.name,
            mac: i.hwaddr,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_channel_and_its_live_state_are_read_only_inside_a_channel() {
        let with = |target: &str| {
            format!(
                "<domain><name>g</name><devices><channel type='unix'>{target}</channel>\
                 </devices></domain>"
            )
        };
        let agent = "<target type='virtio' name='org.qemu.guest_agent.0'";
        assert_eq!(channel(&with(&format!("{agent}/>"))), Channel::Present);
        assert_eq!(
            channel(&with(&format!("{agent} state='connected'/>"))),
            Channel::Present
        );
        assert_eq!(
            channel(&with(&format!("{agent} state='disconnected'/>"))),
            Channel::Disconnected
        );
        assert_eq!(
            channel(&with("<target type='virtio' name='org.qemu.other.0'/>")),
            Channel::Absent
        );
        assert_eq!(channel("<domain><name>g</name></domain>"), Channel::Absent);
        assert_eq!(
            channel(
                "<domain><devices><console><target name='org.qemu.guest_agent.0'/></console>\
                 </devices></domain>"
            ),
            Channel::Absent
        );
        assert_eq!(channel("<domain><unclosed>"), Channel::Absent);
    }

    #[test]
    fn agent_timeouts_are_whole_seconds_of_at_least_one() {
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(whole_seconds(Duration::from_secs(3)), 3);
    }
}
