#!/usr/bin/env bash
# Install the official oVirt Python SDK (ovirt-engine-sdk-python, module ovirtsdk4) that
# ovirt-sim's fidelity test (tests/sdk_fidelity.rs) runs against the simulator.
#
# PyPI has only the source distribution: building it needs a C compiler and the libxml2
# headers; pycurl comes as a wheel, but the curl/OpenSSL headers are installed too so that a
# source build of it also works. Idempotent: does nothing when the module already imports.
#
# PYTHON selects the interpreter (default: python3 on PATH, which is what the test uses; the
# test also honours OVIRT_SIM_PYTHON). Runs apt as root, or through sudo.
set -euo pipefail

PYTHON="${PYTHON:-${OVIRT_SIM_PYTHON:-python3}}"
SDK_VERSION="${OVIRT_SDK_VERSION:-4.6.3}"

if "$PYTHON" -c 'import ovirtsdk4' 2>/dev/null; then
    exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    as_root=(sudo)
fi

# Build dependencies, only those that are missing.
packages=(gcc libxml2-dev libcurl4-openssl-dev libssl-dev python3-dev)
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get update -q
    "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
    "$PYTHON" -m ensurepip --upgrade 2>/dev/null || {
        "${as_root[@]}" apt-get install -y -q --no-install-recommends python3-pip
    }
fi

pip_args=(install --disable-pip-version-check --no-input "ovirt-engine-sdk-python==${SDK_VERSION}")
# Debian's own python3 refuses system-wide pip installs (PEP 668); other interpreters
# (pyenv, virtual environments) do not need the flag and may not know it.
if "$PYTHON" -c 'import sys, sysconfig, os; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["stdlib"], "EXTERNALLY-MANAGED")) and sys.prefix == sys.base_prefix else 1)'; then
    pip_args+=(--break-system-packages)
fi
"$PYTHON" -m pip "${pip_args[@]}"

"$PYTHON" -c 'import ovirtsdk4, ovirtsdk4.version; print("ovirtsdk4", ovirtsdk4.version.VERSION)'
