#!/usr/bin/env bash
# A real one-node Pacemaker cluster (corosync + pacemakerd) on this machine, for kvmguestctl's OCF
# agent tests (tests/pacemaker.rs).
#
#   cluster.sh up [NODE]   install what is missing, write corosync.conf for one node called NODE
#                          (default: a), start corosync and pacemakerd, wait for a DC, disable
#                          stonith
#   cluster.sh down        stop and delete every resource in the CIB, stop pacemakerd and corosync
#   cluster.sh status      say what runs; exit 0 only when a DC is elected
#   cluster.sh install     only install what is missing (ocf-tester and crm_resource need no cluster)
#
# The cluster exists only for the tests: every resource in its CIB is a test resource, and a cold
# `up` starts from an empty CIB, so nothing a crashed run left behind is started again. It never
# touches libvirt: guests are the tests' business (and tests/testbed/testbed.sh's).
#
# Runs as root on a bare Debian 12 machine without systemd (CI). Idempotent: `up` twice reuses the
# running daemons (a different NODE is an error then); `down` when already down exits 0.
set -euo pipefail

RUN=/run/kvmguestctl-pcmk                # pid files, the lock
LOG=/var/log/kvmguestctl-pcmk            # the daemons' stdout/stderr
CONF=/etc/corosync/corosync.conf
MARK='# kvmguestctl-pcmk test cluster'   # first line of a corosync.conf this script wrote
CIB_DIR=/var/lib/pacemaker/cib
PACKAGES=(pacemaker corosync resource-agents pacemaker-cli-utils libxml2-utils)
# pacemakerd elects a DC ~24 s after it starts (measured); 120 s leaves room for a loaded machine.
DC_WAIT_SECONDS=120
# A resource's stop may wait for a guest's ACPI shutdown (DelayAfterGuestOffline) before it kills.
STOP_WAIT_SECONDS=180

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

write_conf() {
    local node=$1
    conf_replaceable || die "$CONF was not written by this script nor is it the packaged one: not overwriting it"
    mkdir -p /etc/corosync /var/log/corosync /var/log/pacemaker
    # knet without crypto over loopback: one node talks only to itself. votequorum with a one-node
    # nodelist makes that node quorate alone.
    cat >"$CONF.tmp" <<EOF
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
}
nodelist {
    node {
        name: $node
        nodeid: 1
        ring0_addr: 127.0.0.1
    }
}
EOF
    mv "$CONF.tmp" "$CONF"
}

# The node name of the corosync.conf in place (ours).
conf_node() { awk '$1 == "name:" {print $2; exit}' "$CONF" 2>/dev/null; }

crm_mon_xml() { timeout 10 crm_mon -1 --output-as xml 2>/dev/null; }

# xmllint's answer to XPATH on stdin, or nothing.
xpath() { xmllint --xpath "$1" - 2>/dev/null || true; }

# "yes" when a DC is elected and NODE is online.
dc_ready() {
    local xml
    xml=$(crm_mon_xml) || return 1
    [ "$(xpath 'string(//current_dc/@present)' <<<"$xml")" = true ] &&
        [ "$(xpath "string(//nodes/node[@name='$1']/@online)" <<<"$xml")" = true ]
}

# One up or down at a time (test binaries may call them in parallel). Daemons are started with
# fd 9 closed, or they would hold the lock forever.
lock() {
    mkdir -p "$RUN"
    exec 9>"$RUN/lock"
    flock -w 600 9 || die "another cluster.sh up/down holds $RUN/lock"
}

start_daemons() {
    local node=$1
    if alive "$RUN/corosync.pid" corosync; then
        [ "$(conf_node)" = "$node" ] || die "the running cluster's node is $(conf_node), not $node: run down first"
        say "reusing the running corosync (pid $(cat "$RUN/corosync.pid"))"
    else
        [ -z "$(pids_named corosync)" ] || die "a corosync this script did not start runs (pid $(pids_named corosync | tr '\n' ' '))"
        [ -z "$(pids_named pacemakerd)" ] || die "a pacemakerd this script did not start runs (pid $(pids_named pacemakerd | tr '\n' ' '))"
        write_conf "$node"
        # A cold start begins with an empty CIB: resources a crashed run left would start again.
        rm -f "$CIB_DIR"/cib*
        mkdir -p "$LOG"
        say "starting corosync (node $node)"
        # -f: in the foreground, so that $! is its pid; setsid detaches it from the caller.
        setsid corosync -f >>"$LOG/corosync.out" 2>&1 </dev/null 9>&- &
        echo $! >"$RUN/corosync.pid"
    fi
    if alive "$RUN/pacemakerd.pid" pacemakerd; then
        say "reusing the running pacemakerd (pid $(cat "$RUN/pacemakerd.pid"))"
    else
        # pacemakerd refuses to start before corosync's IPC answers.
        local deadline=$((SECONDS + 30))
        until corosync-cfgtool -s >/dev/null 2>&1; do
            alive "$RUN/corosync.pid" corosync || die "corosync exited (see /var/log/corosync/corosync.log, $LOG/corosync.out)"
            [ $SECONDS -lt $deadline ] || die "corosync did not answer within 30s (see /var/log/corosync/corosync.log)"
            sleep 0.5
        done
        say "starting pacemakerd"
        # Its own session (setsid): it and every daemon it spawns share one session id, its pid,
        # which is how `down` finds them if they will not stop.
        setsid pacemakerd >>"$LOG/pacemakerd.out" 2>&1 </dev/null 9>&- &
        echo $! >"$RUN/pacemakerd.pid"
    fi
}

wait_for_dc() {
    local node=$1 started=$SECONDS
    local deadline=$((SECONDS + DC_WAIT_SECONDS))
    until dc_ready "$node"; do
        alive "$RUN/pacemakerd.pid" pacemakerd || die "pacemakerd exited (see /var/log/pacemaker/pacemaker.log, $LOG/pacemakerd.out)"
        [ $SECONDS -lt $deadline ] ||
            die "no DC with node $node online after ${DC_WAIT_SECONDS}s; crm_mon says: $(timeout 10 crm_mon -1 2>&1 | tr '\n' ' ')"
        sleep 1
    done
    say "DC elected, node $node online (waited $((SECONDS - started))s)"
}

cmd_up() {
    [ "$(id -u)" -eq 0 ] || die "run as root"
    local node=${1:-a}
    [[ $node =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "bad node name '$node'"
    lock
    install_packages
    start_daemons "$node"
    wait_for_dc "$node"
    # No fencing devices in a test cluster; with stonith enabled Pacemaker would start nothing.
    crm_attribute --type crm_config --name stonith-enabled --update false >&2
    say "up: node $node"
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
    stop_pidfile "$RUN/pacemakerd.pid" pacemakerd 120
    stop_pidfile "$RUN/corosync.pid" corosync 30
    say "down"
}

cmd_status() {
    local ok=1
    if alive "$RUN/corosync.pid" corosync; then
        echo "corosync: running (pid $(cat "$RUN/corosync.pid"), node $(conf_node))"
    else
        echo "corosync: not running"
    fi
    if alive "$RUN/pacemakerd.pid" pacemakerd; then
        echo "pacemakerd: running (pid $(cat "$RUN/pacemakerd.pid"))"
        if dc_ready "$(conf_node)"; then
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
    *) echo "usage: $0 up [NODE]|down|status|install" >&2; exit 2 ;;
esac
