//! The agent's meta-data, as Pacemaker and `ocf-tester` read it (valid against ra-api-1.dtd).

use std::time::Duration;

use super::AGENT;
use crate::resource::{self, ConfigSource};

/// The meta-data: every parameter, and default timeouts that cover the KVMGuest defaults' waits
/// with `margin` for the hypervisor calls around them.
pub fn meta_data(margin: Duration) -> String {
    let seconds = |delay: u32| (Duration::from_secs(u64::from(delay)) + margin).as_secs();
    let start = seconds(resource::DEFAULT_DELAY_AFTER_GUEST_ONLINE);
    let stop = seconds(resource::DEFAULT_DELAY_AFTER_GUEST_OFFLINE);
    let migrate = seconds(resource::DEFAULT_MIGRATE_TIMEOUT);
    let version = env!("CARGO_PKG_VERSION");
    let default_config = ConfigSource::Default.describe();
    format!(
        r#"<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="{AGENT}" version="{version}">
<version>1.0</version>
<longdesc lang="en">
Manages a KVM guest as a kvmguestctl KVMGuest resource (the Veritas Cluster Server KVMGuest
agent's semantics): start defines the guest when configured, starts it, waits
DelayAfterGuestOnline and verifies it; stop asks for a graceful shutdown again every 5 s and
destroys the guest early enough to finish inside the stop timeout; monitor maps the hypervisor's
state to the resource state. The guest is never started while it runs on another system of the
resource, including hosts outside the cluster. Live migration through migrate_to and migrate_from
(set allow-migrate=true). The resource, its guest and its systems (Pacemaker node names) are
defined in kvmguestctl's YAML configuration.
</longdesc>
<shortdesc lang="en">Manages a KVM guest through kvmguestctl</shortdesc>
<parameters>
<parameter name="config" unique="0" required="0">
<longdesc lang="en">
The kvmguestctl configuration: a YAML file, or a directory of *.yaml files. The default is
{default_config}.
</longdesc>
<shortdesc lang="en">kvmguestctl configuration file or directory</shortdesc>
<content type="string" default="" />
</parameter>
<parameter name="resource" unique="1" required="0">
<longdesc lang="en">
The KVMGuest resource in the configuration. The default is the Pacemaker resource's name
(without a clone suffix).
</longdesc>
<shortdesc lang="en">KVMGuest resource name</shortdesc>
<content type="string" default="" />
</parameter>
<parameter name="system" unique="0" required="0">
<longdesc lang="en">
This node's system in the configuration. The default is the Pacemaker node name, then the
host name: name the systems after the Pacemaker nodes.
</longdesc>
<shortdesc lang="en">This node's system name</shortdesc>
<content type="string" default="" />
</parameter>
</parameters>
<actions>
<action name="start" timeout="{start}s" />
<action name="stop" timeout="{stop}s" />
<action name="monitor" timeout="30s" interval="10s" depth="0" />
<action name="status" timeout="30s" />
<action name="migrate_to" timeout="{migrate}s" />
<action name="migrate_from" timeout="60s" />
<action name="validate-all" timeout="30s" />
<action name="meta-data" timeout="5s" />
<action name="usage" timeout="5s" />
</actions>
</resource-agent>
"#
    )
}
