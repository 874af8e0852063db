//! The attr_changed checks: rules over located raw values, so that every finding is placed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use serde_saphyr::Spanned;

use super::raw::{RawResource, RawSystem, given, origin};
use super::{
    DEFAULT_DELAY_AFTER_GUEST_OFFLINE, DEFAULT_DELAY_AFTER_GUEST_ONLINE, Diagnostic, Origin,
    Severity, System,
};
use crate::error::one_line;

// Messages quote the values found, which may span lines (a quoted scalar) or be huge.
pub(super) fn error(origin: Origin, resource: Option<&str>, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        origin,
        resource: resource.map(str::to_owned),
        message: one_line(&message),
    }
}

fn warning(origin: Origin, resource: &str, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Warning,
        origin,
        resource: Some(resource.to_owned()),
        message: one_line(&message),
    }
}

pub(super) fn system(file: &Path, name: &Spanned<String>, raw: &RawSystem) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let Some(m) = raw
        .migration_uri
        .as_ref()
        .filter(|m| !m.value.contains("://"))
    {
        out.push(error(
            origin(file, m),
            None,
            format!(
                "system '{}': migration_uri '{}' is not a URI (expected for example tcp://10.0.0.2:49152)",
                name.value, m.value
            ),
        ));
    }
    if let Some(uri) = &raw.uri {
        let scheme_ok =
            uri.value.trim().split_once(':').is_some_and(|(scheme, _)| {
                !scheme.is_empty() && scheme.chars().all(is_scheme_char)
            });
        if !scheme_ok {
            out.push(error(
                origin(file, uri),
                None,
                format!(
                    "system '{}': uri '{}' is not a libvirt URI (expected for example \
                     qemu:///system or qemu+ssh://host/system)",
                    name.value, uri.value
                ),
            ));
        }
    }
    if let Some(h) = raw.rhev_host.as_ref().filter(|h| h.value.trim().is_empty()) {
        out.push(error(
            origin(file, h),
            None,
            format!("system '{}': rhev_host is empty", name.value),
        ));
    }
    out
}

fn is_scheme_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')
}

pub(super) fn resource(
    file: &Path,
    name: &Spanned<String>,
    raw: &RawResource,
    systems: &BTreeMap<String, System>,
) -> Vec<Diagnostic> {
    let res = name.value.as_str();
    let at = |s: &dyn Located| s.origin(file);
    let mut out = Vec::new();
    let mut err = |o: Origin, m: String| out.push(error(o, Some(res), m));

    if raw.systems.value.is_empty() {
        err(
            at(&raw.systems),
            "systems is empty: name where the resource may run".into(),
        );
    }
    let rhev_enabled = raw.RHEVMInfo.Enabled.as_ref().is_some_and(|e| e.value.0);
    let mut seen = BTreeSet::new();
    for sys in &raw.systems.value {
        if !seen.insert(sys.value.as_str()) {
            err(at(sys), format!("system '{}' is listed twice", sys.value));
        } else if let Some(system) = systems.get(&sys.value) {
            if system.uri.is_none() && !rhev_enabled {
                err(
                    at(sys),
                    format!(
                        "system '{}' has no uri, which a KVM (libvirt) resource needs \
                         (give the system a uri, or set RHEVMInfo.Enabled = 1)",
                        sys.value
                    ),
                );
            }
        } else {
            let known: Vec<&str> = systems.keys().map(String::as_str).collect();
            err(
                at(sys),
                format!(
                    "system '{}' is not defined under systems ({})",
                    sys.value,
                    super::suggest::hint(&sys.value, &known, "defined")
                ),
            );
        }
    }

    match &raw.GuestName {
        None => err(
            at(name),
            "GuestName is missing: the libvirt domain name is required".into(),
        ),
        Some(g) if g.value.trim().is_empty() || g.value == "NONE" => err(
            at(g),
            "GuestName is empty: the libvirt domain name is required".into(),
        ),
        Some(g) if g.value.contains('/') => err(
            at(g),
            format!(
                "GuestName '{}' contains '/', which libvirt forbids",
                g.value
            ),
        ),
        Some(g) if let Some(c) = g.value.chars().find(|c| c.is_control()) => err(
            at(g),
            format!(
                "GuestName '{}' contains the control character '{}': control characters are \
                 refused in a domain name (libvirt refuses line breaks)",
                g.value.escape_debug(),
                c.escape_debug()
            ),
        ),
        Some(_) => {}
    }
    // The name is part of the file names of the resource's state (`<name>.health`).
    if let Some(c) = res.chars().find(|&c| c == '/' || c.is_control()) {
        err(
            at(name),
            format!(
                "resource name '{}' contains '{}', which cannot be in the name of its state file",
                res.escape_debug(),
                c.escape_debug()
            ),
        );
    }

    let health = &raw.GuestHealth;
    for (value, attr) in [
        (&raw.MigrateTimeout, "MigrateTimeout"),
        (&raw.MigrateWaitLimit, "MigrateWaitLimit"),
        (&health.PingTimeout, "GuestHealth.PingTimeout"),
        (&health.DegradeAfter, "GuestHealth.DegradeAfter"),
        (&health.FaultAfter, "GuestHealth.FaultAfter"),
    ] {
        if let Some(v) = value.as_ref().filter(|v| v.value.0 == 0) {
            err(at(v), format!("{attr} must be at least 1"));
        }
    }

    let rhev = &raw.RHEVMInfo;
    if let Some(enabled) = rhev.Enabled.as_ref().filter(|e| e.value.0) {
        let missing: Vec<&str> = [
            ("URL", &rhev.URL),
            ("User", &rhev.User),
            ("Cluster", &rhev.Cluster),
        ]
        .into_iter()
        .filter(|(_, v)| given(v).is_none())
        .map(|(k, _)| k)
        .collect();
        if !missing.is_empty() {
            err(
                at(enabled),
                format!(
                    "RHEVMInfo.Enabled = 1 needs {}",
                    join_keys("RHEVMInfo", &missing)
                ),
            );
        }
    }
    if let Some(url) = given(&rhev.URL) {
        // Credentials in the URL would be shown by display and in every error: refuse, and
        // never repeat such a URL.
        let after_scheme = url.value.split_once("://").map_or("", |(_, rest)| rest);
        if after_scheme.split('/').next().unwrap_or("").contains('@') {
            err(
                at(url),
                "RHEVMInfo.URL must not carry credentials (user@ or user:password@): give User \
                 and a password source instead"
                    .into(),
            );
        } else {
            let host = url
                .value
                .strip_prefix("https://")
                .map(|r| r.split(['/', ':']).next().unwrap_or(""));
            if host.is_none_or(str::is_empty) {
                err(
                    at(url),
                    format!(
                        "RHEVMInfo.URL '{}' is not an https:// URL with a host (the engine's API \
                         answers only over TLS)",
                        url.value
                    ),
                );
            }
        }
    }

    if let Some(t) = raw.Transient.as_ref().filter(|t| t.value.0)
        && given(&raw.GuestConfigFilePath).is_none()
    {
        err(
            at(t),
            "Transient = 1 needs GuestConfigFilePath: a transient guest is created from it at \
             every start"
                .into(),
        );
    }

    if let Some(on) = raw.GuestHealth.Enabled.as_ref().filter(|e| e.value.0)
        && raw.RHEVMInfo.Enabled.as_ref().is_some_and(|e| e.value.0)
    {
        err(
            at(on),
            "GuestHealth applies to KVM (libvirt) resources only: with RHEVMInfo.Enabled = 1 the \
             engine watches its VMs' guest agents itself"
                .into(),
        );
    }

    out.extend(rhev_password(file, res, raw));
    out.extend(dr_opts(file, res, raw));

    let mut warn = Vec::new();
    for (value, attr, default) in [
        (
            &raw.DelayAfterGuestOnline,
            "DelayAfterGuestOnline",
            DEFAULT_DELAY_AFTER_GUEST_ONLINE,
        ),
        (
            &raw.DelayAfterGuestOffline,
            "DelayAfterGuestOffline",
            DEFAULT_DELAY_AFTER_GUEST_OFFLINE,
        ),
    ] {
        if let Some(v) = value.as_ref().filter(|v| v.value.0 < default) {
            warn.push(warning(
                at(v),
                res,
                format!("{attr} = {} is below its default {default}", v.value.0),
            ));
        }
    }
    if let Some(r) = raw.ResyncVMCfg.as_ref().filter(|r| r.value.0)
        && given(&raw.GuestConfigFilePath).is_none()
    {
        warn.push(warning(
            at(r),
            res,
            "ResyncVMCfg = 1 has no effect without GuestConfigFilePath".into(),
        ));
    }
    out.extend(warn);
    out
}

/// RHEV resources: exactly one password source, never clear text; no libvirt-only attributes
/// (the engine keeps the VM's definition).
fn rhev_password(file: &Path, res: &str, raw: &RawResource) -> Vec<Diagnostic> {
    let rhev = &raw.RHEVMInfo;
    let mut out = Vec::new();
    let Some(enabled) = rhev.Enabled.as_ref().filter(|e| e.value.0) else {
        return out;
    };
    let mut err = |s: &dyn Located, m: String| out.push(error(s.origin(file), Some(res), m));
    let sources: Vec<(&str, &Spanned<String>)> = [
        ("Password", given(&rhev.Password)),
        ("PasswordFile", given(&rhev.PasswordFile)),
        ("PasswordEnv", given(&rhev.PasswordEnv)),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    match sources.as_slice() {
        [] => err(
            enabled,
            "RHEVMInfo.Enabled = 1 needs a password: RHEVMInfo.Password (encrypted with \
             kvmguestctl encrypt), RHEVMInfo.PasswordFile or RHEVMInfo.PasswordEnv"
                .into(),
        ),
        [("Password", p)] if !crate::secret::is_encrypted(&p.value) => err(
            p,
            format!(
                "RHEVMInfo.Password is not encrypted: replace it with the output of \
                 kvmguestctl encrypt (it starts with {}), or use RHEVMInfo.PasswordFile",
                crate::secret::PREFIX
            ),
        ),
        [("PasswordEnv", v)]
            if !v
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            err(
                v,
                format!(
                    "RHEVMInfo.PasswordEnv '{}' is not an environment variable name",
                    v.value
                ),
            )
        }
        [_] => {}
        [_, (second, v), ..] => err(
            v,
            format!(
                "RHEVMInfo.{second}: give only one of RHEVMInfo.Password, PasswordFile and \
                 PasswordEnv"
            ),
        ),
    }
    let libvirt_only: [(&str, Option<&dyn Located>); 4] = [
        ("SyncDir", raw.SyncDir.as_ref().map(|v| v as &dyn Located)),
        (
            "GuestConfigFilePath",
            raw.GuestConfigFilePath.as_ref().map(|v| v as &dyn Located),
        ),
        (
            "ResyncVMCfg",
            raw.ResyncVMCfg
                .as_ref()
                .filter(|v| v.value.0)
                .map(|v| v as &dyn Located),
        ),
        (
            "Transient",
            raw.Transient
                .as_ref()
                .filter(|v| v.value.0)
                .map(|v| v as &dyn Located),
        ),
    ];
    for (attr, value) in libvirt_only {
        if let Some(v) = value {
            err(
                v,
                format!(
                    "{attr} applies to KVM (libvirt) resources only: with RHEVMInfo.Enabled = 1 \
                     the engine keeps the VM's definition"
                ),
            );
        }
    }
    out
}

fn join_keys(prefix: &str, keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("{prefix}.{k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn dr_opts(file: &Path, res: &str, raw: &RawResource) -> Vec<Diagnostic> {
    let dr = &raw.DROpts;
    let mut out = Vec::new();
    let mut err = |s: &dyn Located, m: String| out.push(error(s.origin(file), Some(res), m));

    if let Some(cn) = dr.ConfigureNetwork.as_ref().filter(|c| c.value.0) {
        let missing: Vec<&str> = [("IPAddress", &dr.IPAddress), ("Netmask", &dr.Netmask)]
            .into_iter()
            .filter(|(_, v)| given(v).is_none())
            .map(|(k, _)| k)
            .collect();
        if !missing.is_empty() {
            err(
                cn,
                format!(
                    "DROpts.ConfigureNetwork = 1 needs {}",
                    join_keys("DROpts", &missing)
                ),
            );
        }
    }

    let ip = given(&dr.IPAddress).and_then(|v| match v.value.trim().parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) => {
            err(
                &v,
                format!(
                    "DROpts.IPAddress '{}' is not an IPv4 or IPv6 address",
                    v.value
                ),
            );
            None
        }
    });
    let prefix = given(&dr.Netmask).and_then(|v| match netmask(&v.value, ip) {
        Ok(p) => Some(p),
        Err(why) => {
            err(&v, format!("DROpts.Netmask '{}' {why}", v.value));
            None
        }
    });
    if let Some(v) = given(&dr.Gateway) {
        match v.value.trim().parse::<IpAddr>() {
            Err(_) => err(
                &v,
                format!(
                    "DROpts.Gateway '{}' is not an IPv4 or IPv6 address",
                    v.value
                ),
            ),
            Ok(gw) => {
                if let (Some(ip), Some(prefix)) = (ip, prefix)
                    && !same_subnet(ip, gw, prefix)
                {
                    err(
                        &v,
                        format!(
                            "DROpts.Gateway {gw} is not in the subnet of {ip}/{prefix}: the guest \
                             could not reach it"
                        ),
                    );
                }
            }
        }
    }
    if let Some(v) = given(&dr.DNSServers) {
        for server in v.value.split_whitespace() {
            if server.parse::<IpAddr>().is_err() {
                err(
                    &v,
                    format!(
                        "DROpts.DNSServers: '{server}' is not an IP address (separate servers with spaces)"
                    ),
                );
            }
        }
    }
    if let Some(v) = given(&dr.DNSSearchPath) {
        for domain in v.value.split_whitespace() {
            if !is_domain_name(domain) {
                err(
                    &v,
                    format!("DROpts.DNSSearchPath: '{domain}' is not a DNS domain name"),
                );
            }
        }
    }
    if let Some(v) = given(&dr.Device) {
        let d = v.value.as_str();
        if d.len() > 15 || d.chars().any(|c| c.is_whitespace() || c == '/' || c == ':') {
            err(
                &v,
                format!(
                    "DROpts.Device '{d}' is not a network interface name (at most 15 characters, no spaces, '/' or ':')"
                ),
            );
        }
    }
    out
}

/// The prefix length of a netmask written as a dotted IPv4 mask or as a prefix length.
fn netmask(written: &str, ip: Option<IpAddr>) -> Result<u8, String> {
    let written = written.trim().trim_start_matches('/');
    let max = if matches!(ip, Some(IpAddr::V6(_))) {
        128
    } else {
        32
    };
    if let Ok(prefix) = written.parse::<u8>() {
        return if prefix <= max {
            Ok(prefix)
        } else {
            Err(format!("is not a prefix length from 0 to {max}"))
        };
    }
    let mask: Ipv4Addr = written.parse().map_err(|_| {
        "is neither a dotted netmask (255.255.255.0) nor a prefix length (24)".to_owned()
    })?;
    if matches!(ip, Some(IpAddr::V6(_))) {
        return Err("is an IPv4 netmask but DROpts.IPAddress is IPv6".to_owned());
    }
    let bits = u32::from(mask);
    if bits.leading_ones() + bits.trailing_zeros() != 32 {
        return Err("is not a contiguous netmask".to_owned());
    }
    Ok(bits.leading_ones() as u8)
}

fn same_subnet(a: IpAddr, b: IpAddr, prefix: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

fn is_domain_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// One guest, one resource: two resources naming the same GuestName on a shared system would
/// start, stop and fail over one guest independently, and a bulk command would run both at
/// once. The second one (in file order) is the error, located at its GuestName and naming the
/// first. Resources on disjoint systems may share a name: those are different guests.
pub(super) fn shared_guests(
    resources: &[(&Path, &Spanned<String>, &RawResource)],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // The earlier resources by guest name: each resource is compared only with those that name
    // the same guest, so 10,000 resources cost 10,000 lookups, not 50 million comparisons.
    let mut earlier: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (file, name, raw)) in resources.iter().enumerate() {
        let Some(guest) = &raw.GuestName else {
            continue;
        };
        let systems: BTreeSet<&str> = raw.systems.value.iter().map(|s| s.value.as_str()).collect();
        let same_guest = earlier.entry(guest.value.as_str()).or_default();
        let first = same_guest.iter().find_map(|&j| {
            let (first_file, first, other) = resources[j];
            let shared = other
                .systems
                .value
                .iter()
                .map(|s| s.value.as_str())
                .find(|s| systems.contains(s))?;
            let other_guest = other.GuestName.as_ref()?;
            Some((origin(first_file, other_guest), &first.value, shared))
        });
        same_guest.push(i);
        if let Some((at, first, shared)) = first {
            out.push(error(
                origin(file, guest),
                Some(&name.value),
                format!(
                    "GuestName '{}' is already the guest of resource '{first}' (at {at}), which \
                     also runs on {shared}: one guest needs one resource",
                    guest.value
                ),
            ));
        }
    }
    out
}

/// Anything that knows where in the file it was written.
trait Located {
    fn origin(&self, file: &Path) -> Origin;
}

impl<L: Located + ?Sized> Located for &L {
    fn origin(&self, file: &Path) -> Origin {
        (**self).origin(file)
    }
}

impl<T> Located for Spanned<T> {
    fn origin(&self, file: &Path) -> Origin {
        origin(file, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netmask_accepts_masks_and_prefixes() {
        assert_eq!(netmask("255.255.255.0", None), Ok(24));
        assert_eq!(netmask("/16", None), Ok(16));
        assert_eq!(netmask("0.0.0.0", None), Ok(0));
        assert_eq!(netmask("64", Some("fe80::1".parse().unwrap())), Ok(64));
        assert!(
            netmask("255.0.255.0", None)
                .unwrap_err()
                .contains("contiguous")
        );
        assert!(netmask("33", None).unwrap_err().contains("0 to 32"));
        assert!(
            netmask("255.255.0.0", Some("fe80::1".parse().unwrap()))
                .unwrap_err()
                .contains("IPv6")
        );
        assert!(netmask("mask", None).is_err());
    }

    #[test]
    fn subnets() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(same_subnet(ip("10.1.2.3"), ip("10.1.2.254"), 24));
        assert!(!same_subnet(ip("10.1.2.3"), ip("10.1.3.1"), 24));
        assert!(same_subnet(ip("10.1.2.3"), ip("192.168.0.1"), 0));
        assert!(!same_subnet(ip("10.1.2.3"), ip("::1"), 0));
        assert!(same_subnet(ip("2001:db8::1"), ip("2001:db8::ffff"), 64));
    }

    #[test]
    fn domain_names() {
        assert!(is_domain_name("example.com"));
        assert!(is_domain_name("east.example.com."));
        assert!(!is_domain_name("-bad.example.com"));
        assert!(!is_domain_name("a..b"));
        assert!(!is_domain_name("under_score.com"));
    }
}
