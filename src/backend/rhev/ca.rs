//! The engine's CA certificate, fetched before any session can exist: the CA is what makes the
//! engine's https verifiable, so it comes over plain http and a person checks its fingerprint.

use std::time::Duration;

use super::client::{causes, http_client, pem_certificates, read_answer, tls_config};
use crate::error::{Error, Result};

/// Where the engine serves its CA certificate, under its URL.
const PKI_RESOURCE: &str =
    "/ovirt-engine/services/pki-resource?resource=ca-certificate&format=X509-PEM-CA";

/// The engine's CA as it was served, with what is compared before trusting it.
#[derive(Debug)]
pub struct EngineCa {
    /// The pki-resource URL it came from.
    pub url: String,
    pub pem: String,
    /// SHA-256 fingerprints of the certificates, `AB:CD:...`, in file order.
    pub fingerprints: Vec<String>,
}

/// Download the CA of the engine at `engine` (`http://engine[:port]`, or the full pki-resource
/// URL) and fingerprint its certificates.
pub fn fetch_ca(engine: &str, timeout: Duration) -> Result<EngineCa> {
    let url = pki_url(engine)?;
    let pem = download(&url, timeout)?;
    let certificates =
        pem_certificates(pem.as_bytes()).map_err(|why| Error::Failed(format!("{url}: {why}")))?;
    let fingerprints = certificates
        .iter()
        .map(|der| fingerprint(der.as_ref()))
        .collect();
    Ok(EngineCa {
        url,
        pem,
        fingerprints,
    })
}

fn pki_url(engine: &str) -> Result<String> {
    let base = engine.trim_end_matches('/');
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
    Ok(if base.contains("/ovirt-engine/") {
        base.to_owned()
    } else {
        format!("{base}{PKI_RESOURCE}")
    })
}

fn download(url: &str, timeout: Duration) -> Result<String> {
    // Plain http only; the TLS configuration is never used but the client needs one.
    let tls = tls_config(rustls::RootCertStore::empty())?;
    let unreachable = |e: reqwest::Error| Error::Unreachable {
        system: "engine".to_owned(),
        uri: url.to_owned(),
        detail: causes(&e),
    };
    let deadline = std::time::Instant::now() + timeout;
    let reply = http_client(tls, timeout)
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
    read_answer(reply, deadline).map_err(|e| e.error("the CA certificate", url, timeout))
}

/// The SHA-256 fingerprint of a DER certificate, as `openssl x509 -fingerprint -sha256` prints it.
fn fingerprint(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Exit;

    #[test]
    fn the_ca_is_fetched_over_plain_http_from_the_pki_resource() {
        assert_eq!(
            pki_url("http://engine.example.com:8080/").unwrap(),
            format!("http://engine.example.com:8080{PKI_RESOURCE}")
        );
        let full = format!("http://engine{PKI_RESOURCE}");
        assert_eq!(pki_url(&full).unwrap(), full);
        let https = pki_url("https://engine.example.com/ovirt-engine").unwrap_err();
        assert_eq!(https.exit(), Exit::Usage);
        assert!(
            https
                .to_string()
                .contains("over plain http (http://engine.example.com)"),
            "{https}"
        );
        let bare = pki_url("engine.example.com").unwrap_err();
        assert_eq!(bare.exit(), Exit::Usage);
        assert!(bare.to_string().contains("not an http:// URL"), "{bare}");
    }
}
