#!/usr/bin/env bash
# A real Pacemaker cluster (corosync + pacemakerd) of one or two nodes on this machine, for
# kvmguestctl's OCF agent tests (tests/pacemaker.rs).
#
#   cluster.sh up [NODE [PEER]]  install what is missing, write corosync.conf for node NODE
#                          (default: a) and, if given, a second node PEER, start corosync and
#                          pacemakerd (PEER's in namespaces of its own), wait until a DC is elected
#                          and every node is online, disable stonith
#   cluster.sh down        stop and delete every resource in the CIB, stop pacemakerd and corosync
#                          (the peer's first), remove the peer's network namespace
#   cluster.sh status      say what runs; exit 0 only when a DC is elected
#   cluster.sh install     only install what is missing (ocf-tester and crm_resource need no cluster)
#
# NODE's daemons run in this machine's namespaces; its CIB is what cibadmin, crm_mon and
# crm_resource here see. PEER is a second machine as far as corosync and Pacemaker can tell: its
# own network namespace (corosync and libqb's IPC use abstract sockets, which are per network
# namespace) joined to this one by a veth pair, and its own mount namespace with private
# /var/lib/pacemaker, /var/lib/corosync, /var/log/{pacemaker,corosync}, /dev/shm and /run (pid
# files and locks), into which the machine's other /run directories (libvirt's sockets) are bound
# back, so that its resource agents reach the same hypervisors.
#
# The cluster exists only for the tests: every resource in its CIB is a test resource, and a cold
# `up` starts from an empty CIB, so nothing a crashed run left behind is started again. It never
# touches libvirt: guests are the tests' business (and tests/testbed/testbed.sh's).
#
# Runs as root on a bare Debian 12 machine without systemd (CI). Idempotent: `up` twice reuses the
# running daemons (other node names are an error then); `down` when already down exits 0.
set -euo pipefail

RUN=/run/kvmguestctl-pcmk                # pid files, the lock
LOG=/var/log/kvmguestctl-pcmk            # the daemons' stdout/stderr
CONF=/etc/corosync/corosync.conf
MARK='# kvmguestctl-pcmk test cluster'   # first line of a corosync.conf this script wrote
CIB_DIR=/var/lib/pacemaker/cib
PACKAGES=(pacemaker corosync resource-agents pacemaker-cli-utils libxml2-utils iproute2)
# The peer: its state (bound over its /var/lib/... and /var/log/...) and pid files live where both
# namespaces see them. Not under /run, which the peer replaces with its own.
PEER_DIR=/var/lib/kvmguestctl-pcmk/peer
PEER_NS=kvmgt-pcmk-peer
VETH=kvmgt-pcmk0                         # this side of the pair; the peer's side is kvmgt-pcmk1
VETH_PEER=kvmgt-pcmk1
# TEST-NET-2 (RFC 5737): documentation addresses, routed nowhere, so they clash with nothing.
ADDR=198.51.100.1
PEER_ADDR=198.51.100.2
# pacemakerd elects a DC ~24 s after it starts (measured); 120 s leaves room for a loaded machine.
DC_WAIT_SECONDS=120
# A resource's stop may wait for a guest's ACPI shutdown (DelayAfterGuestOffline) before it kills.
STOP_WAIT_SECONDS=180
SELF=$(readlink -f "$0")

say() { echo "cluster: $*" >&2; }
die() { say "error: $*"; exit 1; }

# True when PIDFILE names a live process called COMM (guards against a recycled pid). A zombie
# counts as gone: setsid'd daemons are reparented to an init that may reap them only later.
alive() {
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] &&
        ! grep -qs '^State:.*zombie' "/proc/$pid/status"
}

# Pids of live processes called COMM (reading /proc only: used to find daemons this script did
# not start, never to signal them).
pids_named() {
    local p
    for p in /proc/[0-9]*; do
        [ "$(cat "$p/comm" 2>/dev/null)" = "$1" ] && ! grep -qs '^State:.*zombie' "$p/status" &&
            echo "${p#/proc/}"
    done
    return 0
}

installed() { [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]; }

install_packages() {
    local p missing=()
    for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    local before_corosync before_pacemakerd
    before_corosync=$(pids_named corosync)
    before_pacemakerd=$(pids_named pacemakerd)
    say "installing ${missing[*]}"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        -o DPkg::Lock::Timeout=300 "${missing[@]}" >&2
    # On a machine where invoke-rc.d may start services, the packages' init scripts start corosync
    # and pacemaker with the packaged configuration: not our cluster. Stop what the install started.
    if [ -z "$before_pacemakerd" ] && [ -n "$(pids_named pacemakerd)" ] && [ -x /etc/init.d/pacemaker ]; then
        say "stopping the pacemaker the package started"
        /etc/init.d/pacemaker stop >&2 || true
    fi
    if [ -z "$before_corosync" ] && [ -n "$(pids_named corosync)" ] && [ -x /etc/init.d/corosync ]; then
        say "stopping the corosync the package started"
        /etc/init.d/corosync stop >&2 || true
    fi
}

# The packaged corosync.conf (an example two-node cluster) may be replaced; a file someone edited may
# not. dpkg records the md5sum of the file it shipped.
conf_replaceable() {
    [ -e "$CONF" ] || return 0
    [[ $(head -n1 "$CONF") == "$MARK"* ]] && return 0
    local shipped
    shipped=$(dpkg-query -W -f='${Conffiles}\n' corosync 2>/dev/null | awk -v f="$CONF" '$1 == f {print $2}')
    [ -n "$shipped" ] && [ "$(md5sum <"$CONF" | cut -d' ' -f1)" = "$shipped" ]
}

# One node talks to itself over loopback; two nodes over the veth pair.
write_conf() {
    local node=$1 peer=${2:-}
    conf_replaceable || die "$CONF was not written by this script nor is it the packaged one: not overwriting it"
    mkdir -p /etc/corosync /var/log/corosync /var/log/pacemaker
    # knet without crypto: the nodes are on this machine. votequorum with a one-node nodelist makes
    # that node quorate alone; two_node lets either of two nodes keep quorum without the other.
    local addr=127.0.0.1 two_node=
    if [ -n "$peer" ]; then addr=$ADDR; two_node='    two_node: 1'; fi
    {
        cat <<EOF
$MARK (tests/pacemaker/cluster.sh); rewritten by every cold \`up\`
totem {
    version: 2
    cluster_name: kvmgt-pcmk
    transport: knet
    crypto_cipher: none
    crypto_hash: none
}
logging {
    to_logfile: yes
    logfile: /var/log/corosync/corosync.log
    to_stderr: no
    to_syslog: no
    timestamp: on
}
quorum {
    provider: corosync_votequorum
$two_node
}
nodelist {
    node {
        name: $node
        nodeid: 1
        ring0_addr: $addr
    }
EOF
        [ -z "$peer" ] || printf '    node {\n        name: %s\n        nodeid: 2\n        ring0_addr: %s\n    }\n' "$peer" "$PEER_ADDR"
        echo "}"
    } >"$CONF.tmp"
    mv "$CONF.tmp" "$CONF"
}

# The node names of the corosync.conf in place (ours), on one line.
conf_nodes() { awk '$1 == "name:" {printf "%s%s", sep, $2; sep = " "}' "$CONF" 2>/dev/null; }

crm_mon_xml() { timeout 10 crm_mon -1 --output-as xml 2>/dev/null; }

# xmllint's answer to XPATH on stdin, or nothing.
xpath() { xmllint --xpath "$1" - 2>/dev/null || true; }

# True when a DC is elected and every NODE is online.
dc_ready() {
    local xml node
    xml=$(crm_mon_xml) || return 1
    [ "$(xpath 'string(//current_dc/@present)' <<<"$xml")" = true ] || return 1
    for node in "$@"; do
        [ "$(xpath "string(//nodes/node[@name='$node']/@online)" <<<"$xml")" = true ] || return 1
    done
}

# One up or down at a time (test binaries may call them in parallel). Daemons are started with
# fd 9 closed, or they would hold the lock forever.
lock() {
    mkdir -p "$RUN"
    exec 9>"$RUN/lock"
    flock -w 600 9 || die "another cluster.sh up/down holds $RUN/lock"
}

# Start corosync, then pacemakerd, of the node whose pid files are in DIR, unless they run.
start_node() {
    local dir=$1 log=$2
    if ! alive "$dir/corosync.pid" corosync; then
        say "starting corosync"
        # -f: in the foreground, so that $! is its pid; setsid detaches it from the caller.
        setsid corosync -f >>"$log/corosync.out" 2>&1 </dev/null 9>&- &
        echo $! >"$dir/corosync.pid"
    fi
    if alive "$dir/pacemakerd.pid" pacemakerd; then
        say "reusing the running pacemakerd (pid $(cat "$dir/pacemakerd.pid"))"
        return 0
    fi
    # pacemakerd refuses to start before corosync's IPC answers.
    local deadline=$((SECONDS + 30))
    until corosync-cfgtool -s >/dev/null 2>&1; do
        alive "$dir/corosync.pid" corosync || die "corosync exited (see its corosync.log, $log/corosync.out)"
        [ $SECONDS -lt $deadline ] || die "corosync did not answer within 30s (see its corosync.log)"
        sleep 0.5
    done
    say "starting pacemakerd"
    # Its own session (setsid): it and every daemon it spawns share one session id, its pid,
    # which is how `down` finds them if they will not stop.
    setsid pacemakerd >>"$log/pacemakerd.out" 2>&1 </dev/null 9>&- &
    echo $! >"$dir/pacemakerd.pid"
}

# This machine's node (or nodes' configuration): NODES is "NODE" or "NODE PEER".
start_local() {
    local nodes=$1
    if alive "$RUN/corosync.pid" corosync; then
        [ "$(conf_nodes)" = "$nodes" ] || die "the running cluster's nodes are '$(conf_nodes)', not '$nodes': run down first"
        say "reusing the running corosync (pid $(cat "$RUN/corosync.pid"))"
    else
        [ -z "$(pids_named corosync)" ] || die "a corosync this script did not start runs (pid $(pids_named corosync | tr '\n' ' '))"
        [ -z "$(pids_named pacemakerd)" ] || die "a pacemakerd this script did not start runs (pid $(pids_named pacemakerd | tr '\n' ' '))"
        # shellcheck disable=SC2086  # the node names, one word each
        write_conf $nodes
        # A cold start begins with an empty CIB: resources a crashed run left would start again.
        rm -f "$CIB_DIR"/cib*
    fi
    mkdir -p "$LOG"
    start_node "$RUN" "$LOG"
}

# The veth pair between this network namespace and the peer's, with the ring addresses.
net_up() {
    ip netns list | awk '{print $1}' | grep -qx "$PEER_NS" || ip netns add "$PEER_NS"
    ip link show "$VETH" >/dev/null 2>&1 ||
        ip link add "$VETH" type veth peer name "$VETH_PEER" netns "$PEER_NS"
    ip addr replace "$ADDR/24" dev "$VETH"
    ip link set "$VETH" up
    ip -n "$PEER_NS" link set lo up
    ip -n "$PEER_NS" addr replace "$PEER_ADDR/24" dev "$VETH_PEER"
    ip -n "$PEER_NS" link set "$VETH_PEER" up
}

start_peer() {
    if alive "$PEER_DIR/corosync.pid" corosync && alive "$PEER_DIR/pacemakerd.pid" pacemakerd; then
        say "reusing the peer's running daemons"
        return 0
    fi
    # Half a peer (one daemon died) starts afresh, in a new mount namespace.
    stop_pidfile "$PEER_DIR/pacemakerd.pid" pacemakerd 30
    stop_pidfile "$PEER_DIR/corosync.pid" corosync 30
    say "starting the peer in network namespace $PEER_NS and a mount namespace of its own"
    ip netns exec "$PEER_NS" unshare -m --propagation private bash "$SELF" _peer-inside 9>&-
}

# Runs inside the peer's new mount namespace: its mounts are invisible outside and vanish with
# it, that is when the peer's last daemon has exited.
peer_inside() {
    local d name
    mkdir -p "$PEER_DIR"/{lib-corosync,log-corosync,hostrun,out}
    # Pacemaker's directories as the package makes them (its daemons run as hacluster). A cold
    # start here too: the peer gets its CIB from the DC.
    install -d -o hacluster -g haclient -m 0755 "$PEER_DIR/lib-pacemaker"
    install -d -o hacluster -g haclient -m 0750 "$PEER_DIR"/lib-pacemaker/{cib,pengine,blackbox,cores}
    install -d -o hacluster -g haclient -m 0770 "$PEER_DIR/log-pacemaker"
    rm -f "$PEER_DIR"/lib-pacemaker/cib/cib*
    mount --bind "$PEER_DIR/lib-pacemaker" /var/lib/pacemaker
    mount --bind "$PEER_DIR/lib-corosync" /var/lib/corosync
    mount --bind "$PEER_DIR/log-pacemaker" /var/log/pacemaker
    mount --bind "$PEER_DIR/log-corosync" /var/log/corosync
    mount -t tmpfs -o mode=1777 tmpfs /dev/shm
    # A /run of its own (corosync's pid-file lock would say "another instance is running"), with
    # the machine's other runtime directories bound back in, except the cluster's own.
    mount --rbind /run "$PEER_DIR/hostrun"
    mount -t tmpfs -o mode=0755 tmpfs /run
    for d in "$PEER_DIR"/hostrun/*/; do
        name=$(basename "$d")
        case $name in crm | pacemaker | corosync* | kvmguestctl-pcmk | netns | shm | lock) continue ;; esac
        mkdir -p "/run/$name"
        mount --rbind "$d" "/run/$name"
    done
    mkdir -p /run/lock
    start_node "$PEER_DIR" "$PEER_DIR/out"
}

wait_for_dc() {
    local started=$SECONDS
    local deadline=$((SECONDS + DC_WAIT_SECONDS))
    until dc_ready "$@"; do
        alive "$RUN/pacemakerd.pid" pacemakerd || die "pacemakerd exited (see /var/log/pacemaker/pacemaker.log, $LOG/pacemakerd.out)"
        [ $SECONDS -lt $deadline ] ||
            die "no DC with node(s) $* online after ${DC_WAIT_SECONDS}s; crm_mon says: $(timeout 10 crm_mon -1 2>&1 | tr '\n' ' ')"
        sleep 1
    done
    say "DC elected, node(s) $* online (waited $((SECONDS - started))s)"
}

cmd_up() {
    [ "$(id -u)" -eq 0 ] || die "run as root"
    local node=${1:-a} peer=${2:-} n
    for n in "$node" ${peer:+"$peer"}; do
        [[ $n =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "bad node name '$n'"
    done
    [ "$node" != "$peer" ] || die "the two nodes need two names"
    lock
    install_packages
    # Before corosync starts: it binds the ring address.
    [ -z "$peer" ] || net_up
    start_local "$node${peer:+ $peer}"
    [ -z "$peer" ] || start_peer
    wait_for_dc "$node" ${peer:+"$peer"}
    # No fencing devices in a test cluster; with stonith enabled Pacemaker would start nothing.
    crm_attribute --type crm_config --name stonith-enabled --update false >&2
    say "up: node(s) $node $peer"
}

# Ids of the CIB's top-level resources (primitives, groups, clones).
resource_ids() {
    timeout 10 cibadmin --query --scope resources 2>/dev/null |
        xpath '/resources/*/@id' | grep -o 'id="[^"]*"' | sed 's/^id="//; s/"$//' || true
}

# Resources active (or with a pending action) anywhere, per crm_mon; "?" when crm_mon does not
# answer.
active_count() {
    local xml
    xml=$(crm_mon_xml) || { echo '?'; return; }
    xpath 'count(//resources//resource[@active="true" or @pending])' <<<"$xml"
}

# Stop every resource (through its agent: a deleted running resource would be stopped too, but
# then its stop failure could not be seen), wait for them to be stopped, then delete them,
# their constraints and their history.
remove_resources() {
    local ids id n started=$SECONDS
    ids=$(resource_ids)
    [ -n "$ids" ] || return 0
    for id in $ids; do
        say "stopping resource $id"
        crm_resource --resource "$id" --meta --set-parameter target-role --parameter-value Stopped >/dev/null 2>&1 || true
    done
    local deadline=$((SECONDS + STOP_WAIT_SECONDS))
    while n=$(active_count); [ "$n" != 0 ]; do
        if [ $SECONDS -ge $deadline ]; then
            say "warning: $n resource(s) still active after ${STOP_WAIT_SECONDS}s; deleting anyway"
            break
        fi
        sleep 1
    done
    say "resources stopped in $((SECONDS - started))s; deleting them"
    cibadmin --replace --scope constraints --xml-text '<constraints/>' >&2 || true
    cibadmin --replace --scope resources --xml-text '<resources/>' >&2 || true
    crm_resource --cleanup >/dev/null 2>&1 || true
}

# Stop the process of PIDFILE if it is still COMM: TERM, then after WAIT seconds KILL the whole
# session it leads (it was started with setsid, so the session is exactly it and its children).
stop_pidfile() {
    local file=$1 comm=$2 wait=$3 pid started=$SECONDS
    if alive "$file" "$comm"; then
        pid=$(cat "$file")
        say "stopping $comm (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + wait))
        while alive "$file" "$comm" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
        if alive "$file" "$comm"; then
            say "warning: $comm did not stop within ${wait}s; killing its session $pid"
            # shellcheck disable=SC2046  # one pid per word
            kill -KILL $(ps -o pid= -s "$pid") 2>/dev/null || true
        else
            say "$comm stopped in $((SECONDS - started))s"
        fi
    fi
    rm -f "$file"
}

cmd_down() {
    [ -d "$RUN" ] || return 0   # never brought up on this machine: nothing to do
    lock
    if alive "$RUN/pacemakerd.pid" pacemakerd && crm_mon_xml >/dev/null; then
        remove_resources
    fi
    # pacemakerd stops its resources before it exits: generous, although none should be left.
    # The peer first, so that the DC here sees it leave cleanly.
    stop_pidfile "$PEER_DIR/pacemakerd.pid" pacemakerd 120
    stop_pidfile "$RUN/pacemakerd.pid" pacemakerd 120
    stop_pidfile "$PEER_DIR/corosync.pid" corosync 30
    stop_pidfile "$RUN/corosync.pid" corosync 30
    # With the namespace goes its end of the veth pair, and with that the pair.
    if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$PEER_NS"; then
        ip netns delete "$PEER_NS"
    fi
    say "down"
}

cmd_status() {
    local ok=1
    if alive "$RUN/corosync.pid" corosync; then
        echo "corosync: running (pid $(cat "$RUN/corosync.pid"), nodes $(conf_nodes))"
    else
        echo "corosync: not running"
    fi
    local daemon
    for daemon in corosync pacemakerd; do
        ! alive "$PEER_DIR/$daemon.pid" "$daemon" ||
            echo "peer $daemon: running (pid $(cat "$PEER_DIR/$daemon.pid"))"
    done
    if alive "$RUN/pacemakerd.pid" pacemakerd; then
        echo "pacemakerd: running (pid $(cat "$RUN/pacemakerd.pid"))"
        # shellcheck disable=SC2046  # the node names, one word each
        if dc_ready $(conf_nodes); then
            echo "DC: elected"
            ok=0
        else
            echo "DC: none yet"
        fi
    else
        echo "pacemakerd: not running"
    fi
    return $ok
}

case ${1:-} in
    up) shift; cmd_up "$@" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    install) [ "$(id -u)" -eq 0 ] || die "run as root"; lock; install_packages ;;
    _peer-inside) peer_inside ;;
    *) echo "usage: $0 up [NODE [PEER]]|down|status|install" >&2; exit 2 ;;
esac
