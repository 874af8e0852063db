//! Fidelity check: the official oVirt Python SDK (ovirtsdk4) lists VMs and hosts, starts,
//! shuts down and migrates a VM against a freshly started simulator, with no status coming
//! back as None (tests/sdk_fidelity.py). The SDK must be installed: this test fails, it does
//! not skip, when it is missing.

mod common;

use std::process::Command;

/// The interpreter with ovirtsdk4: `OVIRT_SIM_PYTHON`, or `python3` on PATH.
fn python() -> String {
    std::env::var("OVIRT_SIM_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

#[test]
fn official_python_sdk_agrees() {
    let python = python();
    let setup = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/setup-sdk.sh");
    let probe = Command::new(&python)
        .args([
            "-c",
            "import ovirtsdk4, ovirtsdk4.version; print(ovirtsdk4.version.VERSION)",
        ])
        .output();
    match probe {
        Ok(out) if out.status.success() => {
            eprintln!(
                "ovirtsdk4 {} ({python})",
                String::from_utf8_lossy(&out.stdout).trim()
            );
        }
        Ok(out) => panic!(
            "the official oVirt Python SDK (ovirtsdk4) is not installed for {python}: {}\n\
             install it with {setup} (or point OVIRT_SIM_PYTHON at an interpreter that has it)",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!(
            "cannot run {python} ({e}); the SDK fidelity test needs Python with ovirtsdk4: \
             run {setup}"
        ),
    }

    let sim = common::Sim::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk_fidelity.py");
    let out = Command::new(&python)
        .arg(script)
        .arg(sim.ready.to_string())
        .output()
        .expect("run sdk_fidelity.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}{stderr}");
    assert!(
        out.status.success() && stdout.contains("SDK FIDELITY OK"),
        "the SDK fidelity script failed ({})",
        out.status
    );
}
