#!/usr/bin/env bash
# A throw-away single-node SLURM cluster on this machine, for CI (.ci/run) or by hand; the
# tests never start one themselves: tests/test_slurm.py uses whatever SLURM answers.
#   .ci/slurm_cluster.sh start   install (Debian 12, as root) and start munged, slurmctld, slurmd
#   .ci/slurm_cluster.sh stop    stop the daemons this script started, by their PIDs, and
#                                remove the config files it wrote
# No systemd; no accounting database (so sacct fails: tell the plugin to use squeue).
# The node advertises one dummy GPU (gres), so a GPU request can be scheduled, not run.
set -euo pipefail

STATE=${SLURM_TEST_STATE:-/tmp/slurm-test}
HOST=$(hostname -s)
MARK="# written by .ci/slurm_cluster.sh"

install_packages() {
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null && return
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
}

start_munge() {
    mkdir -p /run/munge /var/lib/munge /var/log/munge /etc/munge
    if [ ! -s /etc/munge/munge.key ]; then
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown -R munge:munge /run/munge /var/lib/munge /var/log/munge /etc/munge
    chmod 700 /etc/munge && chmod 400 /etc/munge/munge.key
    if ! munge -n >/dev/null 2>&1; then
        runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
        cp /run/munge/munged.pid "$STATE/munged.pid"
    fi
}

write_config() {
    # the node as slurmd sees it, with a little less memory than it has
    local node memory
    node=$(slurmd -C | head -n 1 | sed -E 's/ UpTime=.*//; s/RealMemory=[0-9]+//')
    memory=$(( $(slurmd -C | head -n 1 | sed -E 's/.*RealMemory=([0-9]+).*/\1/') - 1024 ))
    rm -rf "$STATE/ctld" "$STATE/slurmd"  # no jobs or node state from an earlier cluster
    mkdir -p /etc/slurm "$STATE/ctld" "$STATE/slurmd"
    touch "$STATE/gpu0"
    cat > /etc/slurm/slurm.conf <<CONF
$MARK
ClusterName=ci
SlurmctldHost=${HOST}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmdSpoolDir=$STATE/slurmd
StateSaveLocation=$STATE/ctld
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=600
GresTypes=gpu
${node} RealMemory=${memory} NodeAddr=127.0.0.1 Gres=gpu:1 State=UNKNOWN
PartitionName=ci Nodes=${HOST} Default=YES MaxTime=INFINITE State=UP
CONF
    printf '%s\nNodeName=%s Name=gpu File=%s\n' "$MARK" "$HOST" "$STATE/gpu0" > /etc/slurm/gres.conf
}

start() {
    [ "$(id -u)" = 0 ] || { echo "slurm_cluster.sh: needs root" >&2; exit 2; }
    [ -f /etc/debian_version ] || { echo "slurm_cluster.sh: needs Debian" >&2; exit 2; }
    mkdir -p "$STATE"
    stop  # whatever an earlier start left running
    install_packages
    start_munge
    write_config
    slurmctld -c
    slurmd -N "$HOST"
    for _ in $(seq 60); do
        if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
            echo "slurm_cluster.sh: node $HOST idle"
            return
        fi
        sleep 1
    done
    echo "slurm_cluster.sh: the node did not become idle; see $STATE/*.log" >&2
    sinfo >&2 || true
    exit 1
}

stop() {
    local pid
    for name in slurmd slurmctld munged; do
        [ -s "$STATE/$name.pid" ] || continue
        pid=$(cat "$STATE/$name.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        rm -f "$STATE/$name.pid"
    done
    # a config naming a controller that is gone makes every SLURM client (and so every
    # snakemake start, through the SLURM plugin) wait about ten seconds: remove ours
    for conf in /etc/slurm/slurm.conf /etc/slurm/gres.conf; do
        if [ -f "$conf" ] && head -n 1 "$conf" | grep -qxF "$MARK"; then rm -f "$conf"; fi
    done
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
