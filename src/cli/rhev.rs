//! `rhev`: helpers for setting up RHEV resources.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::agent::Console;
use crate::agent::syncdir::write_atomically;
use crate::backend::rhev::{causes, fingerprint, pem_certificates};
use crate::error::{Error, Exit, Result};

use super::Context;

/// Where the engine serves its CA certificate, under its URL.
const PKI_RESOURCE: &str =
    "/ovirt-engine/services/pki-resource?resource=ca-certificate&format=X509-PEM-CA";

/// Helpers for RHEV resources
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Rhev,
}

#[derive(Debug, clap::Subcommand)]
enum Rhev {
    FetchCa(FetchCa),
}

/// Download the engine's CA certificate and print its fingerprint to confirm
#[derive(Debug, clap::Args)]
#[command(
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
    let base = args.url.trim_end_matches('/');
    if base.starts_with("https://") {
        return Err(Error::Usage(format!(
            "{base}: fetch the CA over plain http (http://{}): an https download cannot be \
             verified before the CA is known; the fingerprint is what you check",
            base.trim_start_matches("https://")
                .split('/')
                .next()
                .unwrap_or_default()
        )));
    }
    if !base.starts_with("http://") {
        return Err(Error::Usage(format!(
            "{base}: not an http:// URL (for example http://engine.example.com)"
        )));
    }
    let url = if base.contains("/ovirt-engine/") {
        base.to_owned()
    } else {
        format!("{base}{PKI_RESOURCE}")
    };
    let pem = download(&url, context.timeout)?;
    let certificates =
        pem_certificates(pem.as_bytes()).map_err(|why| Error::Failed(format!("{url}: {why}")))?;
    let fingerprints: Vec<String> = certificates
        .iter()
        .map(|der| fingerprint(der.as_ref()))
        .collect();
    for f in &fingerprints {
        context.output.note(&format!("SHA256 Fingerprint={f}"));
    }
    let Some(path) = &args.save else {
        context.output.raw(&pem);
        return Ok(Exit::Success);
    };
    context.output.console().confirm(&format!(
        "Trust this CA (SHA-256 {}) for the engine?",
        fingerprints.join(", ")
    ))?;
    write_atomically(path, pem.as_bytes(), 0o644, None)
        .map_err(|(what, e)| Error::Failed(format!("writing {}: {what}: {e}", path.display())))?;
    let rows = fingerprints
        .iter()
        .map(|f| vec![f.clone(), path.display().to_string()])
        .collect();
    let fetched = FetchedCa {
        url,
        sha256_fingerprints: fingerprints,
        written_to: path.clone(),
    };
    context
        .output
        .emit(&fetched, &["SHA256 FINGERPRINT", "WRITTEN TO"], rows);
    Ok(Exit::Success)
}

fn download(url: &str, timeout: std::time::Duration) -> Result<String> {
    // Plain http only; the TLS configuration is never used but the client needs one.
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map(|b| {
        b.with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth()
    })
    .map_err(|e| Error::Failed(format!("TLS set-up: {e}")))?;
    let unreachable = |e: reqwest::Error| Error::Unreachable {
        system: "engine".to_owned(),
        uri: url.to_owned(),
        detail: causes(&e),
    };
    let reply = reqwest::blocking::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .build()
        .map_err(unreachable)?
        .get(url)
        .send()
        .map_err(unreachable)?;
    let status = reply.status();
    if !status.is_success() {
        return Err(Error::Failed(format!(
            "{url}: HTTP {status} (is this an oVirt engine?)"
        )));
    }
    reply.text().map_err(unreachable)
}
