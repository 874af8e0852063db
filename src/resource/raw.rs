//! The configuration as written: types that mirror the YAML exactly (`deny_unknown_fields`, VCS
//! attribute names) and keep the location of every value that a rule may reject, so that each
//! diagnostic names file, line and column. Loading converts them into the resolved model only
//! after every rule has passed.

use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;

use super::Origin;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    #[serde(default, deserialize_with = "entries")]
    pub systems: Vec<(Spanned<String>, RawSystem)>,
    #[serde(default, deserialize_with = "entries")]
    pub resources: Vec<(Spanned<String>, RawResource)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSystem {
    pub uri: Option<Spanned<String>>,
    pub site: Option<Spanned<String>>,
    pub migration_uri: Option<Spanned<String>>,
    pub rhev_host: Option<Spanned<String>>,
}

/// The only resource type this tool manages; any other `type:` is rejected with its location.
#[derive(Debug, Deserialize)]
enum Kind {
    KVMGuest,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)] // the YAML keys are VCS attribute names, kept verbatim
pub(super) struct RawResource {
    #[serde(rename = "type")]
    #[allow(dead_code)] // read only to reject other types
    kind: Kind,
    pub systems: Spanned<Vec<Spanned<String>>>,
    pub GuestName: Option<Spanned<String>>,
    pub DelayAfterGuestOnline: Option<Spanned<Count>>,
    pub DelayAfterGuestOffline: Option<Spanned<Count>>,
    pub SyncDir: Option<Spanned<String>>,
    pub GuestConfigFilePath: Option<Spanned<String>>,
    pub ResyncVMCfg: Option<Spanned<Flag>>,
    #[serde(default)]
    pub CEInfo: RawCeInfo,
    #[serde(default)]
    pub RHEVMInfo: RawRhevmInfo,
    #[serde(default)]
    pub DROpts: RawDrOpts,
    pub IntentionalOffline: Option<Flag>,
    pub MigrateTimeout: Option<Spanned<Count>>,
    pub MigrateWaitLimit: Option<Spanned<Count>>,
    pub Transient: Option<Spanned<Flag>>,
    #[serde(default)]
    pub GuestHealth: RawGuestHealth,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
pub(super) struct RawCeInfo {
    pub Enabled: Option<Flag>,
    pub CESystem: Option<Spanned<String>>,
    pub FaultOnHBLoss: Option<Flag>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
pub(super) struct RawGuestHealth {
    pub Enabled: Option<Spanned<Flag>>,
    pub PingTimeout: Option<Spanned<Count>>,
    pub DegradeAfter: Option<Spanned<Count>>,
    pub FaultAfter: Option<Spanned<Count>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
pub(super) struct RawRhevmInfo {
    pub Enabled: Option<Spanned<Flag>>,
    pub URL: Option<Spanned<String>>,
    pub User: Option<Spanned<String>>,
    pub Password: Option<Spanned<String>>,
    pub Cluster: Option<Spanned<String>>,
    pub UseManualRHEVMFencing: Option<Flag>,
    pub PasswordFile: Option<Spanned<String>>,
    pub PasswordEnv: Option<Spanned<String>>,
    pub CAFile: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
pub(super) struct RawDrOpts {
    pub ConfigureNetwork: Option<Spanned<Flag>>,
    pub IPAddress: Option<Spanned<String>>,
    pub Netmask: Option<Spanned<String>>,
    pub Gateway: Option<Spanned<String>>,
    pub DNSServers: Option<Spanned<String>>,
    pub DNSSearchPath: Option<Spanned<String>>,
    pub Device: Option<Spanned<String>>,
}

/// A VCS boolean: 0 or 1 (true and false are accepted as well).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("0 or 1")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Flag, E> {
                match v {
                    0 | 1 => Ok(Flag(v == 1)),
                    _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Flag, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
                match v {
                    "0" => Ok(Flag(false)),
                    "1" => Ok(Flag(true)),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A whole number of seconds or cycles (VCS `int` attributes that may not be negative).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Count(pub u32);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number from 0 to 4294967295")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                u32::try_from(v)
                    .map(Count)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                u64::try_from(v)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
                    .and_then(|v| self.visit_u64(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A YAML mapping as an ordered list of (located key, value), so that every name keeps its place.
fn entries<'de, D, V>(d: D) -> Result<Vec<(Spanned<String>, V)>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Entries<V>(PhantomData<V>);
    impl<'de, V: Deserialize<'de>> Visitor<'de> for Entries<V> {
        type Value = Vec<(Spanned<String>, V)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a mapping of names")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = map.next_entry()? {
                out.push(entry);
            }
            Ok(out)
        }
    }
    d.deserialize_any(Entries(PhantomData))
}

pub(super) fn origin<T>(file: &Path, spanned: &Spanned<T>) -> Origin {
    Origin {
        file: file.to_owned(),
        line: spanned.referenced.line(),
        column: spanned.referenced.column(),
    }
}

/// VCS writes NONE (or nothing) for an unset association key.
fn is_unset(value: &str) -> bool {
    value.is_empty() || value == "NONE"
}

/// The value of a string that was written and is not VCS's "unset".
pub(super) fn set(value: Option<Spanned<String>>) -> Option<String> {
    value.map(|s| s.value).filter(|v| !is_unset(v))
}

/// A string value that was written and is not VCS's "unset", with its location.
pub(super) fn given(value: &Option<Spanned<String>>) -> Option<&Spanned<String>> {
    value.as_ref().filter(|v| !is_unset(&v.value))
}
