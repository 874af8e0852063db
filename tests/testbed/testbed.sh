#!/usr/bin/env bash
# A real two-host KVM testbed on one Debian 12 machine, for kvmguestctl's integration tests.
#
#   testbed.sh up        install what is missing, start host A and host B, build the tiny guest
#   testbed.sh down      remove every kvmgt-* guest, stop the daemons this script started
#   testbed.sh status    say whether each host answers; exit 0 only when both do
#   testbed.sh env       NAME=value lines for a test harness (safe to `source` or to parse)
#   testbed.sh guest-xml NAME [--no-kernel] [--agent-channel] [--agent] [--nic] [--disk=NAME]
#                        print a domain XML for the tiny guest (--agent: the kind that runs a real
#                        QEMU guest agent and has no acpid)
#
# Host A is the ordinary system libvirtd (qemu:///system). Host B is a second libvirtd in a private
# mount namespace with its own /etc, /var/lib, /var/log, /var/cache and /run/libvirt and its own
# host_uuid: libvirt refuses to migrate to a daemon with the same host UUID, so this is what makes
# real live migration possible on one machine. Both run in the same network namespace, so a migrate
# URI tcp://127.0.0.1:PORT reaches B's QEMU. /srv/kvmguestctl-testbed is seen unchanged by both:
# it is the "shared storage" (kernel, initrd and serial logs) that migration needs.
#
# Runs as root on a bare machine without systemd (CI): it installs everything it needs itself.
# Idempotent: `up` twice reuses the running daemons; `down` when already down exits 0.
set -euo pipefail

TB_DIR=/srv/kvmguestctl-testbed          # shared images dir, cached tiny guest, serial logs
TB_RUN=/run/kvmguestctl-testbed          # pid files and host B's state, socket
A_RUN=$TB_RUN/a
B_RUN=$TB_RUN/b                          # B's unix_sock_dir (its sockets live here)
B_STATE=$B_RUN/state                     # bind-mounted over the libvirt dirs inside B's namespace
A_URI=qemu:///system
B_URI="qemu:///system?socket=$B_RUN/libvirt-sock"
# Any UUID unlike A's will do; a fixed one keeps B the "same host" across restarts.
B_HOST_UUID=6b766d67-7465-7374-6265-640000000b0b
KERNEL=$TB_DIR/vmlinuz
INITRD=$TB_DIR/initrd.img
AGENT_INITRD=   # the agent guest's: qemu-ga, no acpid; named after its recipe, set below
LOG_DIR=$TB_DIR/logs
LOCKSPACE=$TB_DIR/lockspace               # virtlockd's leases, shared by both hosts
DISK_DIR=$TB_DIR/disks                    # guest disks on the shared storage (guest-xml --disk)
MIGRATE_PORT_BASE=49152
WAIT_SECONDS=30
# The libvirt directories host B gets private copies of.
B_DIRS=(/etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt /run/libvirt)
SELF=$(readlink -f "$0")

say() { echo "testbed: $*" >&2; }
die() { say "error: $*"; exit 1; }

# "Answers" means a real round trip to the daemon; the timeout keeps a wedged daemon from hanging us.
answers() { timeout 5 virsh -c "$1" version >/dev/null 2>&1; }

# True when PIDFILE names a live process called COMM (guards against a recycled pid). A zombie
# counts as gone: daemons are reparented to an init that may reap them only later.
alive() {
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] &&
        ! grep -qs '^State:.*zombie' "/proc/$pid/status"
}

# Stop the process of PIDFILE if it is still COMM: TERM, then KILL after 10 s. Never anything else.
stop_pidfile() {
    local file=$1 comm=$2 pid
    if alive "$file" "$comm"; then
        pid=$(cat "$file")
        say "stopping $comm (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do alive "$file" "$comm" || break; sleep 0.2; done
        if alive "$file" "$comm"; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$file"
}

APT_UPDATED=
apt_update_once() {
    [ -n "$APT_UPDATED" ] || { apt-get update -q >&2; APT_UPDATED=1; }
}

installed() { [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]; }

install_packages() {
    local pkgs=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 pkg-config cpio)
    local p missing=()
    for p in "${pkgs[@]}" qemu-utils; do installed "$p" || missing+=("$p"); done
    # qemu-utils must be bookworm's build of the same QEMU: a newer one (backports 10.x, on some
    # images) "Breaks" bookworm's qemu-system-common.
    if [ ${#missing[@]} -eq 0 ] &&
        [ "$(dpkg-query -W -f='${Version}' qemu-utils)" = "$(dpkg-query -W -f='${Version}' qemu-system-x86)" ]; then
        return 0
    fi
    apt_update_once
    local qver
    qver=$(apt-cache policy qemu-system-x86 | awk '/Candidate:/ {print $2}')
    if [ -z "$qver" ] || [ "$qver" = "(none)" ]; then die "apt knows no qemu-system-x86"; fi
    say "installing packages (QEMU $qver)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --allow-downgrades \
        -o DPkg::Lock::Timeout=300 \
        "${pkgs[@]}" "qemu-utils=$qver" >&2
}

# libvirtd looks these up before reading qemu.conf and refuses to start without them.
create_users() {
    getent group kvm >/dev/null || groupadd -r kvm
    getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
    getent passwd libvirt-qemu >/dev/null ||
        useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
}

# QEMU runs as root with no security driver: no AppArmor/SELinux/DAC relabelling on this machine,
# and the guest files in /srv need no chown. Without libvirt-daemon-system (which would pull in
# polkit, firewalld and init scripts) there is no qemu.conf at all: libvirt's defaults then apply.
# Both hosts use libvirt's lock manager, virtlockd, with its lockspace on the storage they share
# (/srv): a disk one host's guest uses cannot be opened by a guest on the other (B copies these
# files). Our lines replace any earlier ones, so an older testbed's qemu.conf is brought up to date.
configure_qemu_conf() {
    local f=/etc/libvirt/qemu.conf
    mkdir -p /etc/libvirt "$LOCKSPACE" "$DISK_DIR" && touch "$f"
    sed -i -E '/^[[:space:]]*(user|group|security_driver|lock_manager)[[:space:]]*=/d;/^# kvmguestctl-testbed/d' "$f"
    printf '%s\n' '# kvmguestctl-testbed' 'user = "root"' 'group = "root"' 'security_driver = "none"' \
        'lock_manager = "lockd"' >>"$f"
    printf '# kvmguestctl-testbed\nfile_lockspace_dir = "%s"\n' "$LOCKSPACE" >/etc/libvirt/qemu-lockd.conf
}

# Download one cloud kernel (the exact package linux-image-cloud-amd64 depends on: a glob would
# download every flavour) and busybox-static, and pack a ~1 MB initramfs whose init runs busybox
# acpid, which powers the guest off on the ACPI power button. Cached: rebuilt only when missing.
build_guest() {
    [ -s "$KERNEL" ] && [ -s "$INITRD" ] && return 0
    apt_update_once
    local kpkg build
    kpkg=$(kernel_package)
    say "building the tiny guest from $kpkg and busybox-static"
    mkdir -p "$TB_DIR"
    build=$(mktemp -d "$TB_DIR/build.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$build'" EXIT
    mkdir "$build/kdeb" "$build/bdeb"
    (cd "$build/kdeb" && apt-get download -q -o APT::Sandbox::User=root "$kpkg" >&2)
    (cd "$build/bdeb" && apt-get download -q -o APT::Sandbox::User=root busybox-static >&2)
    dpkg -x "$build"/kdeb/*.deb "$build/k"
    dpkg -x "$build"/bdeb/*.deb "$build/b"

    local r=$build/root
    mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,var/log,lib/modules,etc/acpi/PWRF}
    cp "$build/b/bin/busybox" "$r/bin/busybox"
    cp "$build"/k/lib/modules/*/kernel/drivers/input/evdev.ko "$r/lib/modules/"
    cp "$build"/k/lib/modules/*/kernel/drivers/acpi/button.ko "$r/lib/modules/"
    # The kernel opens /dev/console for init before anything is mounted.
    mknod -m 600 "$r/dev/console" c 5 1
    cat >"$r/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The power button is an input device: acpid reads it through evdev.
insmod /lib/modules/evdev.ko
insmod /lib/modules/button.ko
# Foreground (-f) and with /var/log present: daemonized, busybox acpid never sees the button.
acpid -f &
echo "kvmgt-guest: userland up"
# A heartbeat with the guest's own uptime: after a live migration it keeps counting.
while :; do echo "kvmgt-guest: alive uptime=$(cut -d' ' -f1 /proc/uptime)"; sleep 2; done
EOF
    cat >"$r/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "kvmgt-guest: ACPI power button, powering off" >/dev/console
poweroff -f
EOF
    chmod 755 "$r/init" "$r/etc/acpi/PWRF/00000080"
    (cd "$r" && find . | cpio -o -H newc --quiet | gzip -9) >"$build/initrd.img"
    cp "$build"/k/boot/vmlinuz-* "$build/vmlinuz"
    # Move into place last, so an interrupted build is never mistaken for a cached one.
    mv "$build/vmlinuz" "$KERNEL"
    mv "$build/initrd.img" "$INITRD"
    rm -rf "$build"
    trap - EXIT
}

# The cloud kernel package linux-image-cloud-amd64 depends on (the exact one: a glob would
# download every flavour).
kernel_package() {
    local kpkg
    kpkg=$(apt-cache depends linux-image-cloud-amd64 |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9][^*?]*-cloud-amd64$/ {print $2; exit}')
    [ -n "$kpkg" ] || die "cannot tell which cloud kernel linux-image-cloud-amd64 depends on"
    echo "$kpkg"
}

# The agent guest: the same kernel, and an initramfs whose init loads the virtio modules and runs
# Debian's qemu-ga on the org.qemu.guest_agent.0 port. It has no acpid on purpose, so the ACPI
# button does nothing: a test that sees it stop knows the agent stopped it. Cached like the plain
# guest's; built after it, and its modules must come from the very kernel in $KERNEL (a module of
# another build does not load), so a cached kernel that apt has since replaced is rebuilt first.
build_agent_guest() {
    [ -s "$AGENT_INITRD" ] && return 0
    rm -f "$TB_DIR"/initrd-agent*.img
    apt_update_once
    local kpkg build
    kpkg=$(kernel_package)
    say "building the agent guest's initramfs from $kpkg, busybox-static and qemu-guest-agent"
    build=$(mktemp -d "$TB_DIR/build.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$build'" EXIT
    mkdir "$build/deb"
    (cd "$build/deb" && apt-get download -q -o APT::Sandbox::User=root \
        "$kpkg" busybox-static qemu-guest-agent >&2)
    local deb
    for deb in "$build"/deb/*.deb; do dpkg -x "$deb" "$build/x"; done
    if ! cmp -s "$build"/x/boot/vmlinuz-* "$KERNEL"; then
        say "the cached kernel is not $kpkg's: rebuilding the plain guest first"
        rm -f "$KERNEL" "$INITRD"
        trap - EXIT
        build_guest
        # shellcheck disable=SC2064
        trap "rm -rf '$build'" EXIT
        cmp -s "$build"/x/boot/vmlinuz-* "$KERNEL" || die "the rebuilt kernel is still not $kpkg's"
    fi

    local r=$build/root m lib
    mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,var/log,var/lib,etc,lib/modules}
    # qemu-ga writes its pid file to /var/run.
    ln -s ../run "$r/var/run"
    cp "$build/x/bin/busybox" "$r/bin/busybox"
    cp "$build/x/usr/sbin/qemu-ga" "$r/usr/sbin/qemu-ga"
    # In the cloud kernel virtio, virtio_pci and virtio_console are modules, in this load order
    # (the .deb has no modules.dep; `strings X.ko | grep ^depends=` gave it).
    for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console \
        failover net_failover virtio_net; do
        find "$build"/x/lib/modules/ -name "$m.ko" -exec cp {} "$r/lib/modules/" \;
        [ -s "$r/lib/modules/$m.ko" ] || die "no $m.ko in $kpkg"
    done
    # qemu-ga's libraries are the host's (same Debian release, installed with QEMU), each at the
    # path the loader looks for it.
    if ldd "$r/usr/sbin/qemu-ga" | grep -q 'not found'; then
        die "qemu-ga needs libraries this host lacks: $(ldd "$r/usr/sbin/qemu-ga" | grep 'not found')"
    fi
    for lib in $(ldd "$r/usr/sbin/qemu-ga" | grep -o '/[^ ]*'); do
        mkdir -p "$r$(dirname "$lib")"
        cp -L "$lib" "$r$lib"
    done
    mknod -m 600 "$r/dev/console" c 5 1
    echo kvmgt-agent-guest >"$r/etc/hostname"
    printf '%s\n' 'ID=kvmgt' 'NAME="kvmguestctl testbed agent guest"' >"$r/etc/os-release"
    cat >"$r/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
hostname -F /etc/hostname
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console \
    failover net_failover virtio_net; do
    insmod /lib/modules/$m.ko
done
# A guest given a NIC (guest-xml --nic) has a known static address, for what the agent reports.
for _ in $(seq 20); do [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done
if [ -e /sys/class/net/eth0 ]; then
    ip link set eth0 up
    ip addr add 192.0.2.50/24 dev eth0
    echo "kvmgt-guest: eth0 192.0.2.50/24"
fi
# No udev: find the agent's port by its name and give it the path qemu-ga is told to open.
port=
for _ in $(seq 50); do
    for n in /sys/class/virtio-ports/*/name; do
        [ "$(cat "$n" 2>/dev/null)" = org.qemu.guest_agent.0 ] && port=$(basename "$(dirname "$n")")
    done
    [ -n "$port" ] && [ -e "/dev/$port" ] && break
    sleep 0.1
done
if [ -n "$port" ]; then
    mkdir -p /dev/virtio-ports
    ln -sf "/dev/$port" /dev/virtio-ports/org.qemu.guest_agent.0
    # Put in the background by the shell, not with -d: that is how it was verified on this
    # testbed, and its messages then still reach the serial log.
    qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 &
    echo "kvmgt-guest: qemu-ga on $port"
else
    echo "kvmgt-guest: no org.qemu.guest_agent.0 port"
fi
echo "kvmgt-guest: userland up"
while :; do echo "kvmgt-guest: alive uptime=$(cut -d' ' -f1 /proc/uptime)"; sleep 2; done
EOF
    # guest-shutdown execs `/sbin/shutdown -h -P +0 MSG` and waits for it; busybox has no shutdown.
    # Power off a second later, in the background, so qemu-ga sees the command succeed first.
    cat >"$r/sbin/shutdown" <<'EOF'
#!/bin/sh
echo "kvmgt-guest: shutdown $*, powering off" >/dev/console
(sleep 1; poweroff -f) >/dev/null 2>&1 &
EOF
    chmod 755 "$r/init" "$r/sbin/shutdown"
    (cd "$r" && find . | cpio -o -H newc --quiet | gzip -9) >"$build/initrd-agent.img"
    mv "$build/initrd-agent.img" "$AGENT_INITRD"
    rm -rf "$build"
    trap - EXIT
}
# The file is named after the recipe above: a changed recipe is built afresh, not taken from a cache.
AGENT_INITRD=$TB_DIR/initrd-agent-$(declare -f build_agent_guest | sha1sum | cut -c1-12).img

start_host_a() {
    mkdir -p "$A_RUN" /var/log/libvirt /run/libvirt /var/lib/libvirt/qemu /var/cache/libvirt
    if answers "$A_URI" || alive "$A_RUN/libvirtd.pid" libvirtd; then
        say "host A: reusing the running libvirtd"
        return 0
    fi
    # A virtlogd someone else started (default pid file) serves us just as well.
    if ! alive "$A_RUN/virtlogd.pid" virtlogd && ! alive /run/virtlogd.pid virtlogd; then
        virtlogd -d -p "$A_RUN/virtlogd.pid" 9>&-
    fi
    if ! alive "$A_RUN/virtlockd.pid" virtlockd && ! alive /run/virtlockd.pid virtlockd; then
        virtlockd -d -p "$A_RUN/virtlockd.pid" 9>&-
    fi
    say "host A: starting libvirtd"
    # Pinned to one CPU: libvirt 9.0 keys its cache of QEMU capabilities on the host CPUID, which
    # on this VM differs from core to core, so an unpinned libvirtd re-probes QEMU (~10 s) on about
    # every other start. QEMU itself is not pinned: libvirt gives each guest all host CPUs.
    taskset -c 0 libvirtd -d -p "$A_RUN/libvirtd.pid" 9>&-
}

start_host_b() {
    mkdir -p "$B_STATE"
    if answers "$B_URI" || alive "$B_RUN/libvirtd.pid" libvirtd; then
        say "host B: reusing the running libvirtd"
        return 0
    fi
    # A virtlogd left alone in an old namespace would keep that namespace alive: start afresh.
    stop_pidfile "$B_RUN/virtlogd.pid" virtlogd
    stop_pidfile "$B_RUN/virtlockd.pid" virtlockd
    local d
    for d in "${B_DIRS[@]}"; do mkdir -p "$d" "$B_STATE$d"; done
    # B's config: A's top-level config files (never A's domain definitions in the subdirectories),
    # plus its own socket directory and host UUID.
    find /etc/libvirt -maxdepth 1 -type f -name '*.conf' -exec cp {} "$B_STATE/etc/libvirt/" \;
    printf 'unix_sock_dir = "%s"\nhost_uuid = "%s"\n' "$B_RUN" "$B_HOST_UUID" \
        >"$B_STATE/etc/libvirt/libvirtd.conf"
    say "host B: starting libvirtd in a private mount namespace"
    unshare -m --propagation private bash "$SELF" _hostb-inside 9>&-
}

# Runs inside B's new mount namespace: its mounts are invisible outside and vanish with the
# namespace, that is when B's last process (libvirtd, virtlogd, a guest's QEMU) has exited.
hostb_inside() {
    local d
    for d in "${B_DIRS[@]}"; do mount --bind "$B_STATE$d" "$d"; done
    virtlogd -d -p "$B_RUN/virtlogd.pid"
    virtlockd -d -p "$B_RUN/virtlockd.pid"
    # Pinned to one CPU for the same reason as host A's (see start_host_a).
    taskset -c 0 libvirtd -d -f /etc/libvirt/libvirtd.conf -p "$B_RUN/libvirtd.pid"
}

wait_for_hosts() {
    local deadline=$((SECONDS + WAIT_SECONDS)) a=no b=no
    while :; do
        [ $a = yes ] || { answers "$A_URI" && a=yes; } || true
        [ $b = yes ] || { answers "$B_URI" && b=yes; } || true
        [ $a = yes ] && [ $b = yes ] && return 0
        if [ $SECONDS -ge $deadline ]; then
            die "gave up after ${WAIT_SECONDS}s: host A answers: $a, host B answers: $b" \
                "(logs: /var/log/libvirt/, $B_STATE/var/log/libvirt/)"
        fi
        sleep 0.5
    done
}

# One up or down at a time (test binaries may call `up` in parallel). Daemons are started with
# fd 9 closed, or they would hold the lock forever.
lock() {
    mkdir -p "$TB_RUN"
    exec 9>"$TB_RUN/lock"
    flock -w 300 9 || die "another testbed.sh up/down holds $TB_RUN/lock"
}

# libvirt 9.0 with GLib 2.74 (Debian 12) and lock_manager = "lockd" can wedge a host: the child
# libvirtd forks to launch QEMU (a start, an incoming migration) talks to virtlockd through GObject
# code before its exec, and when another libvirtd thread held one of GLib's global locks at the fork,
# the child waits on that lock for ever, and the daemon, waiting for the child's handshake while
# holding its guest list's lock, answers nobody again. Seen once in a loaded run of the chaos test.
# A single-threaded libvirtd other than the two daemons, on a futex for 10 s, is such a child
# (a healthy child execs QEMU within milliseconds, and one waiting for its handshake reads a pipe):
# killing it fails that one start or migration ("Child quit during startup handshake") and the
# daemon answers again. Every kill is logged, and `down` reports it.
WATCHDOG_LOG=$TB_RUN/watchdog.log
watchdog() {
    set +e   # a vanished process or pid file is the normal case here, never a reason to stop
    local daemons pid parent command fd
    # Nothing inherited stays open: a caller waiting for its pipe's end must not wait for us.
    for fd in /proc/$$/fd/*; do
        fd=${fd##*/}
        [ "$fd" -gt 2 ] && [ "$fd" -ne 255 ] && eval "exec $fd>&-"
    done
    while sleep 1; do
        daemons=" $(cat "$A_RUN/libvirtd.pid" 2>/dev/null) $(cat "$B_RUN/libvirtd.pid" 2>/dev/null) "
        for pid in $(pgrep -x libvirtd || true); do
            [[ $daemons == *" $pid "* ]] && continue
            grep -qs '^Threads:[[:space:]]*1$' "/proc/$pid/status" || continue
            [[ $(cat "/proc/$pid/wchan" 2>/dev/null) == futex* ]] || continue
            [ "$(ps -o etimes= -p "$pid" 2>/dev/null | tr -d ' ')" -ge 10 ] 2>/dev/null || continue
            parent=$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ')
            command=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
            kill -9 "$pid" 2>/dev/null || continue
            echo "$(date -Is) killed libvirtd child $pid (parent $parent): ${command% }" >>"$WATCHDOG_LOG"
        done
    done
}

start_watchdog() {
    alive "$TB_RUN/watchdog.pid" bash && return 0
    setsid bash "$SELF" _watchdog </dev/null >/dev/null 2>&1 9>&- &
    echo $! >"$TB_RUN/watchdog.pid"
}

cmd_up() {
    [ "$(id -u)" -eq 0 ] || die "run as root"
    lock
    install_packages
    create_users
    configure_qemu_conf
    mkdir -p "$TB_DIR" "$LOG_DIR" "$TB_RUN"
    build_guest
    build_agent_guest
    start_host_a
    start_host_b
    wait_for_hosts
    start_watchdog
    say "up: host A $A_URI, host B $B_URI"
}

# Destroy and undefine every kvmgt-* domain on one host (if it answers at all).
remove_guests() {
    local uri=$1 name
    answers "$uri" || return 0
    timeout 10 virsh -c "$uri" list --all --name 2>/dev/null | grep '^kvmgt-' | while read -r name; do
        say "removing $name from $uri"
        timeout 30 virsh -c "$uri" destroy "$name" >/dev/null 2>&1 || true
        timeout 30 virsh -c "$uri" undefine --managed-save "$name" >/dev/null 2>&1 || true
    done || true
}

cmd_down() {
    command -v virsh >/dev/null || return 0   # never set up on this machine: nothing to do
    lock
    remove_guests "$B_URI"
    remove_guests "$A_URI"
    stop_pidfile "$B_RUN/libvirtd.pid" libvirtd
    stop_pidfile "$B_RUN/virtlogd.pid" virtlogd
    stop_pidfile "$B_RUN/virtlockd.pid" virtlockd
    stop_pidfile "$A_RUN/libvirtd.pid" libvirtd
    stop_pidfile "$A_RUN/virtlogd.pid" virtlogd
    stop_pidfile "$A_RUN/virtlockd.pid" virtlockd
    # B's mounts live only in its namespace, which is gone once its processes are; a guest still
    # running there (not a kvmgt-* one) would keep it, so say so.
    local p held=
    for p in /proc/[0-9]*; do
        grep -qs " $B_STATE/" "$p/mountinfo" && held+=" ${p#/proc/}"
    done
    [ -z "$held" ] || say "warning: host B's namespace is still held by pid(s)$held"
    stop_pidfile "$TB_RUN/watchdog.pid" bash
    if [ -s "$WATCHDOG_LOG" ]; then
        say "the watchdog killed $(wc -l <"$WATCHDOG_LOG") stuck libvirtd process(es) while this bed was up:"
        sed 's/^/testbed:   /' "$WATCHDOG_LOG" >&2
    fi
    rm -f "$LOG_DIR"/kvmgt-*.log "$DISK_DIR"/kvmgt-*.img "$WATCHDOG_LOG"
    say "down"
}

cmd_status() {
    local ok=0
    if answers "$A_URI"; then echo "host A ($A_URI): up"; else echo "host A ($A_URI): down"; ok=1; fi
    if answers "$B_URI"; then echo "host B ($B_URI): up"; else echo "host B ($B_URI): down"; ok=1; fi
    return $ok
}

cmd_env() {
    # Unquoted on purpose: no value holds a space, and assignments are not glob-expanded.
    cat <<EOF
TESTBED_A_URI=$A_URI
TESTBED_B_URI=$B_URI
TESTBED_KERNEL=$KERNEL
TESTBED_INITRD=$INITRD
TESTBED_AGENT_INITRD=$AGENT_INITRD
TESTBED_DIR=$TB_DIR
TESTBED_MIGRATE_PORT_BASE=$MIGRATE_PORT_BASE
TESTBED_LOG_DIR=$LOG_DIR
TESTBED_WATCHDOG_LOG=$WATCHDOG_LOG
EOF
}

# No disk and no network interface: live migration then needs no shared disk and no bridge.
# The serial log is opened with append='on' so the destination QEMU of a migration does not truncate
# it; a test that looks for "userland up" should delete NAME's log before starting the guest.
# --agent-channel only adds the channel (nothing in the plain guest answers on it); --agent boots
# the agent guest's initramfs, whose qemu-ga does answer, and has the channel. --nic adds a
# user-mode (slirp) virtio NIC, to which the agent guest gives the address 192.0.2.50/24.
# --disk=NAME adds the disk $DISK_DIR/NAME.img (created empty when missing): guests that name the
# same disk are leased by virtlockd, so only one of them can run, on either host.
cmd_guest_xml() {
    local name=${1:-} kernel=yes agent=no initrd=$INITRD nic=no disk=
    [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] ||
        die "usage: guest-xml NAME [--no-kernel] [--agent-channel] [--agent] [--nic] [--disk=NAME]"
    shift
    for arg in "$@"; do
        case $arg in
            --no-kernel) kernel=no ;;
            --agent-channel) agent=yes ;;
            --agent) agent=yes initrd=$AGENT_INITRD ;;
            --nic) nic=yes ;;
            --disk=*) disk=${arg#--disk=} ;;
            *) die "guest-xml: unknown option $arg" ;;
        esac
    done
    if [ $kernel = no ] && [ "$initrd" = "$AGENT_INITRD" ]; then
        die "guest-xml: --agent needs the kernel (not --no-kernel)"
    fi
    echo "<domain type='qemu'>"
    echo "  <name>$name</name>"
    echo "  <memory unit='MiB'>128</memory>"
    echo "  <vcpu>1</vcpu>"
    echo "  <os>"
    echo "    <type arch='x86_64' machine='pc'>hvm</type>"
    if [ $kernel = yes ]; then
        echo "    <kernel>$KERNEL</kernel>"
        echo "    <initrd>$initrd</initrd>"
        echo "    <cmdline>console=ttyS0</cmdline>"
    fi
    echo "  </os>"
    echo "  <features><acpi/></features>"
    echo "  <devices>"
    echo "    <serial type='file'><source path='$LOG_DIR/$name.log' append='on'/><target port='0'/></serial>"
    if [ $agent = yes ]; then
        echo "    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
    fi
    if [ -n "$disk" ]; then
        [[ $disk =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "guest-xml: --disk=NAME: a plain file name"
        # Raw and empty: the guest never reads it; QEMU opens it, so virtlockd leases it.
        [ -e "$DISK_DIR/$disk.img" ] || truncate -s 1M "$DISK_DIR/$disk.img"
        echo "    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$DISK_DIR/$disk.img'/><target dev='vdb' bus='virtio'/></disk>"
    fi
    if [ $nic = yes ]; then
        echo "    <interface type='user'><model type='virtio'/></interface>"
    fi
    echo "    <memballoon model='none'/>"
    echo "  </devices>"
    echo "</domain>"
}

case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    guest-xml) shift; cmd_guest_xml "$@" ;;
    _hostb-inside) hostb_inside ;;
    _watchdog) watchdog ;;
    *) echo "usage: $0 up|down|status|env|guest-xml NAME [--no-kernel] [--agent-channel] [--agent] [--nic] [--disk=NAME]" >&2; exit 2 ;;
esac
