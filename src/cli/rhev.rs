//! `rhev`: helpers for setting up RHEV resources.

use std::path::PathBuf;

use serde::Serialize;

use crate::agent::Console;
use crate::agent::syncdir::write_atomically;
use crate::backend::rhev;
use crate::error::{Error, Exit, Result};

use super::Context;

/// Helpers for RHEV resources
#[derive(Debug, clap::Args)]
#[command(after_help = FETCH_CA_EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    command: Rhev,
}

#[derive(Debug, clap::Subcommand)]
enum Rhev {
    FetchCa(FetchCa),
}

const FETCH_CA_EXAMPLES: &str = concat!(
    "Examples:\n",
    "  # Print the engine's CA and its fingerprint, to compare with the engine's own\n",
    "  kvmguestctl rhev fetch-ca http://engine.example.com\n",
    "  # Save it for RHEVMInfo.CAFile, after confirming the fingerprint\n",
    "  kvmguestctl rhev fetch-ca http://engine.example.com --save /etc/kvmguestctl/engine-ca.pem",
);

/// Download the engine's CA certificate and print its fingerprint to confirm
#[derive(Debug, clap::Args)]
#[command(
    after_help = FETCH_CA_EXAMPLES,
    long_about = "Download the engine's CA certificate from its pki-resource URL (served over \
plain http by the engine, since the CA is what makes https verifiable) and print its SHA-256 \
fingerprint. Compare it with the one the engine shows (on the engine: openssl x509 -in \
/etc/pki/ovirt-engine/ca.pem -noout -fingerprint -sha256) before trusting it.\n\n\
With --save the certificate is written there (atomically, mode 0644) after confirmation on a \
terminal, or with --yes; use that file as RHEVMInfo.CAFile or --ca-file. Without --save the \
PEM goes to stdout."
)]
struct FetchCa {
    /// The engine: http://engine.example.com[:port], or the full pki-resource URL
    #[arg(value_name = "URL")]
    url: String,
    /// Write the certificate to this file (after confirmation)
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    match &args.command {
        Rhev::FetchCa(fetch) => fetch_ca(context, fetch),
    }
}

#[derive(Serialize)]
struct FetchedCa {
    url: String,
    /// SHA-256 fingerprints of the certificates, `AB:CD:...`, in file order.
    sha256_fingerprints: Vec<String>,
    /// Where it was written.
    written_to: PathBuf,
}

fn fetch_ca(context: &Context, args: &FetchCa) -> Result<Exit> {
    let ca = rhev::fetch_ca(&args.url, context.timeout)?;
    for f in &ca.fingerprints {
        context.output.note(&format!("SHA256 Fingerprint={f}"));
    }
    let Some(path) = &args.save else {
        context.output.raw(&ca.pem);
        return Ok(Exit::Success);
    };
    context.output.console().confirm(&format!(
        "Trust this CA (SHA-256 {}) for the engine?",
        ca.fingerprints.join(", ")
    ))?;
    write_atomically(path, ca.pem.as_bytes(), 0o644, None)
        .map_err(|(what, e)| Error::Failed(format!("writing {}: {what}: {e}", path.display())))?;
    let rows = ca
        .fingerprints
        .iter()
        .map(|f| vec![f.clone(), path.display().to_string()])
        .collect();
    let fetched = FetchedCa {
        url: ca.url,
        sha256_fingerprints: ca.fingerprints,
        written_to: path.clone(),
    };
    context
        .output
        .emit(&fetched, &["SHA256 FINGERPRINT", "WRITTEN TO"], rows);
    Ok(Exit::Success)
}
