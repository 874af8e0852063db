#!/usr/bin/env python3
"""Fidelity check: the official oVirt Python SDK (ovirtsdk4) against ovirt-sim.

Run by tests/sdk_fidelity.rs with the simulator's ready line (JSON) as the only argument,
against the default scenario. The SDK parses every response with its generated readers, and an
enum value it does not know silently becomes None, so every status read here is asserted not
None. Prints "SDK FIDELITY OK" and a JSON summary on success; any failure raises.

Install the SDK with ovirt-sim/scripts/setup-sdk.sh.
"""

import json
import ssl
import sys
import time
import urllib.request

import ovirtsdk4 as sdk
import ovirtsdk4.types as types

READY = json.loads(sys.argv[1])
CA = READY["ca_file"]
USER = "admin@internal"
PASSWORD = "secret"
TIMEOUT = 20.0


def control(path):
    """GET a control endpoint of the simulator (JSON)."""
    ctx = ssl.create_default_context(cafile=CA)
    with urllib.request.urlopen(READY["control"] + path, context=ctx, timeout=10) as r:
        return json.loads(r.read())


def control_post(path, body=b""):
    """POST to a control endpoint of the simulator (JSON)."""
    ctx = ssl.create_default_context(cafile=CA)
    req = urllib.request.Request(READY["control"] + path, data=body, method="POST")
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        return json.loads(r.read())


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def vm_status(vm):
    check(vm.status is not None, "VM %s: status came back as None" % vm.name)
    check(isinstance(vm.status, types.VmStatus), "VM %s: status is not a VmStatus" % vm.name)
    return vm.status


def host_status(host):
    check(host.status is not None, "host %s: status came back as None" % host.name)
    check(host.spm is not None and host.spm.status is not None,
          "host %s: spm/status came back as None" % host.name)
    return host.status


def wait_vm(service, predicate, what):
    """Polls a VM until predicate(vm) holds; returns the statuses seen on the way."""
    seen = []
    deadline = time.monotonic() + TIMEOUT
    while True:
        vm = service.get()
        status = vm_status(vm)
        if not seen or seen[-1] != status:
            seen.append(status)
        if predicate(vm):
            return vm, seen
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s; saw %s" % (what, seen))
        time.sleep(0.05)


def wait_host(service, predicate, what):
    deadline = time.monotonic() + TIMEOUT
    while True:
        host = service.get()
        host_status(host)
        if predicate(host):
            return host
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(0.05)


def expect_error(call, code, text):
    try:
        call()
    except sdk.Error as e:
        check(e.code == code, "expected HTTP %d, got %r (%s)" % (code, e.code, e))
        check(text in str(e), "expected %r in the error, got %s" % (text, e))
        return str(e)
    raise AssertionError("expected an error with HTTP %d" % code)


def main():
    summary = {}
    connection = sdk.Connection(
        url=READY["api"],
        username=USER,
        password=PASSWORD,
        ca_file=CA,
        insecure=False,
    )
    check(connection.test(raise_exception=True), "connection.test() failed")
    system = connection.system_service()
    api = system.get()
    check(api.product_info is not None and api.product_info.version.major == 4,
          "entry point: product_info missing")

    vms_service = system.vms_service()
    hosts_service = system.hosts_service()

    # Lists, with every status known to the SDK.
    vms = vms_service.list()
    check(len(vms) == 3, "expected 3 VMs, got %d" % len(vms))
    for vm in vms:
        vm_status(vm)
        check(vm.placement_policy is not None and vm.placement_policy.affinity is not None,
              "VM %s: placement_policy/affinity came back as None" % vm.name)
    summary["vms"] = {vm.name: vm.status.value for vm in vms}
    hosts = hosts_service.list()
    check(len(hosts) == 2, "expected 2 hosts, got %d" % len(hosts))
    for host in hosts:
        host_status(host)
    summary["hosts"] = {h.name: [h.status.value, h.spm.status.value] for h in hosts}
    by_name = {h.name: h for h in hosts}
    check(by_name["h1"].spm.status == types.SpmStatus.SPM, "h1 should be the SPM")
    clusters = system.clusters_service().list()
    check([c.name for c in clusters] == ["Default"], "clusters: %r" % [c.name for c in clusters])

    # An expired token: the SDK gets a 401, takes a new token and retries once.
    control_post("/tokens/expire")
    check(len(vms_service.list()) == 3, "list after the token expired")
    statuses = [e["status"] for e in control("/requests")["log"]
                if e["path"] == "/ovirt-engine/api/vms"]
    check(statuses[-2:] == [401, 200], "expected a 401 then a retry: %s" % statuses[-2:])

    # Search, max, case-insensitivity.
    found = vms_service.list(search="name=WEB*", max=5)
    check([v.name for v in found] == ["web1"], "search name=WEB*: %r" % [v.name for v in found])
    found = vms_service.list(search="status=up", case_sensitive=False)
    check(sorted(v.name for v in found) == ["pinned1", "web1"], "search status=up")
    check(len(vms_service.list(max=1)) == 1, "max=1")
    check(len(hosts_service.list(search="cluster=Default")) == 2, "hosts search")

    db1 = next(v for v in vms if v.name == "db1")
    web1 = next(v for v in vms if v.name == "web1")
    pinned1 = next(v for v in vms if v.name == "pinned1")
    db1_service = vms_service.vm_service(db1.id)

    # A cdrom payload through PUT, read back by the SDK and seen by the simulator.
    db1_service.update(types.Vm(payloads=[types.Payload(
        type=types.VmDeviceType.CDROM,
        files=[types.File(name="dr-network.conf", content="IPADDR=10.0.0.5")],
    )]))
    payloads = db1_service.get().payloads
    check(payloads and payloads[0].type == types.VmDeviceType.CDROM
          and payloads[0].files[0].name == "dr-network.conf", "payload read back")
    last = control("/vms/db1")["last_payload"]
    check(last[0]["files"][0]["content"] == "IPADDR=10.0.0.5", "payload seen by the simulator")

    # Start: wait_for_launch -> powering_up -> up, over time.
    db1_service.start()
    vm, seen = wait_vm(db1_service, lambda v: v.status == types.VmStatus.UP, "db1 up")
    check(types.VmStatus.POWERING_UP in seen, "start never showed powering_up: %s" % seen)
    check(vm.host is not None and vm.host.id, "a running VM shows its host")
    summary["start"] = [s.value for s in seen]
    expect_error(db1_service.start, 409, "because the VM is in Up status")

    # Shutdown: powering_down -> down.
    db1_service.shutdown()
    vm, seen = wait_vm(db1_service, lambda v: v.status == types.VmStatus.DOWN, "db1 down")
    check(vm.host is None, "a down VM shows no host")
    summary["shutdown"] = [s.value for s in seen]
    expect_error(db1_service.stop, 409, "Cannot stop VM. VM is not running.")

    # Migrate web1 from h1 to h2.
    web1_service = vms_service.vm_service(web1.id)
    h1, h2 = by_name["h1"], by_name["h2"]
    check(web1.host.id == h1.id, "web1 starts on h1")
    web1_service.migrate(host=types.Host(id=h2.id))
    vm, seen = wait_vm(
        web1_service,
        lambda v: v.status == types.VmStatus.UP and v.host is not None and v.host.id == h2.id,
        "web1 up on h2")
    check(types.VmStatus.MIGRATING in seen, "migrate never showed migrating: %s" % seen)
    summary["migrate"] = [s.value for s in seen]

    # The engine's refusals, as SDK errors.
    summary["refusal_pinned"] = expect_error(
        lambda: vms_service.vm_service(pinned1.id).migrate(host=types.Host(id=h1.id)),
        409, "VM is pinned to Host")
    summary["refusal_not_running"] = expect_error(
        lambda: db1_service.migrate(), 409, "VM is not running")
    expect_error(lambda: vms_service.vm_service("00000000-0000-0000-0000-00000000beef").get(),
                 404, "")

    # Hosts: refresh, maintenance of the SPM host (the role moves), activate again.
    h1_service = hosts_service.host_service(h1.id)
    h1_service.refresh()
    check(control("/hosts/h1")["refresh_count"] == 1, "refresh counted")
    expect_error(lambda: hosts_service.host_service(h2.id).deactivate(), 409,
                 "non-migratable")
    h1_service.deactivate()
    wait_host(h1_service, lambda h: h.status == types.HostStatus.MAINTENANCE, "h1 maintenance")
    h2_service = hosts_service.host_service(h2.id)
    wait_host(h2_service, lambda h: h.spm.status == types.SpmStatus.SPM, "SPM on h2")
    h1_service.activate()
    wait_host(h1_service, lambda h: h.status == types.HostStatus.UP, "h1 up again")
    expect_error(lambda: h1_service.fence(fence_type="manual"), 409,
                 "Valid Host statuses are")

    connection.close()
    print("SDK FIDELITY OK")
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
