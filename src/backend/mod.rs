//! The environments the agent drives, one module each, behind the [`Host`] trait.
//!
//! A backend reports raw hypervisor states; what they mean for a cluster resource is decided once,
//! in `agent::monitor`. Every call of a backend is bounded in time by the backend itself.

pub mod libvirt;

use std::sync::Arc;

use crate::error::Result;
use crate::resource::System;

/// One guest as a hypervisor reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Guest {
    pub name: String,
    pub state: GuestState,
}

/// A hypervisor's own words for a guest's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestState {
    /// libvirt's `virDomainState` and its reason, as libvirt numbers them.
    Libvirt { state: u32, reason: i32 },
}

/// How a graceful shutdown is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownMode {
    /// Through the QEMU guest agent inside the guest.
    Agent,
    /// By pressing the virtual ACPI power button.
    Acpi,
}

/// One system's hypervisor, connected.
pub trait Host: Send + Sync {
    /// The system this host is (its name in the configuration).
    fn system(&self) -> &str;
    /// Every guest this host knows, in one query.
    fn guests(&self) -> Result<Vec<Guest>>;
    /// One guest, or `None` when it is not defined here.
    fn guest(&self, name: &str) -> Result<Option<Guest>>;
    /// The guest's inactive, migratable definition (what can be defined on another host).
    fn definition(&self, name: &str) -> Result<String>;
    /// Define (or redefine) a persistent guest from its XML.
    fn define(&self, xml: &str) -> Result<()>;
    /// Start a defined guest.
    fn start(&self, name: &str) -> Result<()>;
    /// Create and start a transient guest from its XML: nothing stays defined once it stops.
    fn create_transient(&self, xml: &str) -> Result<()>;
    /// Ask the guest to shut itself down; returns as soon as the request is delivered.
    fn shutdown(&self, name: &str, mode: ShutdownMode) -> Result<()>;
    /// Stop the guest at once (pull the plug).
    fn destroy(&self, name: &str) -> Result<()>;
}

/// Opens hosts; one per environment.
pub trait Connector: Send + Sync {
    fn connect(&self, system: &System) -> Result<Arc<dyn Host>>;
}
