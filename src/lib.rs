//! kvmguestctl: keep KVM guests highly available.
//!
//! Layers, from the bottom up:
//! - [`resource`]: the KVMGuest resource model, loaded from YAML with exact error locations;
//! - [`backend`]: one module per environment behind the [`backend::Host`] trait;
//! - [`agent`]: the entry points (online, offline, monitor, clean), written once for every backend;
//! - [`cli`] and [`render`]: the command line front end and everything it prints.

pub mod agent;
pub mod backend;
mod bounded;
pub mod cli;
pub mod error;
#[cfg(test)]
mod fuzz;
pub mod render;
pub mod resource;
pub mod secret;
mod vocabulary;

pub use error::{Error, Exit};
