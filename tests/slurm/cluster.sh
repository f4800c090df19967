#!/usr/bin/env bash
# A real one-node SLURM test cluster on this machine (Debian's slurm-wlm 22.05 + munge), with accounting
# (slurmdbd + MariaDB, so that sacct answers as on production clusters), without systemd and without cgroups:
# the daemons are started directly, as root, with pid files.
#
#   cluster.sh install   apt-get install slurm-wlm slurmdbd munge mariadb-server (skipped when installed)
#   cluster.sh start     munged, mariadbd, slurmdbd (+ cluster, account, user registered), slurm.conf,
#                        slurmctld, slurmd; waits for an idle node
#   cluster.sh stop      stops slurmd, slurmctld, slurmdbd, mariadbd, munged by their pid files
#   cluster.sh status    exit 0 iff the cluster accepts jobs (node idle/mixed, partition up) and sacct answers
#
# Environment: SLURM_TEST_WAIT (seconds to wait for the node, default 60),
#              SLURM_TEST_STATE (state/spool/log directory, default /var/spool/slurm-test).
set -euo pipefail

CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
DBD_CONF=$CONF_DIR/slurmdbd.conf
STATE=${SLURM_TEST_STATE:-/var/spool/slurm-test}
RUN_DIR=/run/slurm-test
CTLD_PID=$RUN_DIR/slurmctld.pid
SLURMD_PID=$RUN_DIR/slurmd.pid
DBD_PID=$RUN_DIR/slurmdbd.pid
MARIADB_PID=/run/mysqld/mariadb-test.pid # mariadbd (user mysql) writes it
MARIADB_SOCKET=/run/mysqld/mysqld.sock
DBD_LOG=$STATE/slurmdbd.log
MARIADB_LOG=$STATE/mariadb.log
CTLD_LOG=$STATE/slurmctld.log
SLURMD_LOG=$STATE/slurmd.log
MUNGE_KEY=/etc/munge/munge.key
MUNGE_PID=/run/munge/munged.pid
MUNGE_LOG=/var/log/munge/munged.log
WAIT=${SLURM_TEST_WAIT:-60}
PARTITION=debug
CLUSTER=testcluster
ACCOUNT=test
# slurmdbd's MariaDB user (local socket only; a throwaway password for a throwaway database)
DB_USER=slurm
DB_PASS=slurm-test
DB_NAME=slurm_acct_db

log() { echo "cluster.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root"; }

# proc_alive PID: a running process (not a zombie: this machine's init may reap late)
proc_alive() {
    local stat
    kill -0 "$1" 2>/dev/null || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# pid_alive FILE: the pid in FILE is a running process
pid_alive() {
    local pid
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ ]] && proc_alive "$pid"
}

# stop_pidfile FILE NAME: TERM the process, wait up to 15 s, then KILL
stop_pidfile() {
    local file=$1 name=$2 pid i
    if ! pid_alive "$file"; then
        rm -f "$file"
        return 0
    fi
    pid=$(<"$file")
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        proc_alive "$pid" || { rm -f "$file"; return 0; }
        sleep 0.5
    done
    log "$name did not stop within 15 s, sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$file"
}

dump_logs() {
    local f
    for f in "$CTLD_LOG" "$SLURMD_LOG" "$DBD_LOG" "$MARIADB_LOG" "$MUNGE_LOG"; do
        if [[ -f $f ]]; then
            echo "----- tail of $f -----" >&2
            tail -n 25 "$f" >&2 || true
        fi
    done
    echo "----- sinfo -----" >&2
    sinfo -N -l 2>&1 >&2 || true
}

installed() {
    local p
    for p in slurm-wlm munge slurmctld slurmd slurm-client slurmdbd mariadb-server; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || return 1
    done
}

cmd_install() {
    need_root
    if installed; then
        log "slurm-wlm, slurmdbd, munge, mariadb-server already installed ($(dpkg-query -W -f='${Version}' slurmctld))"
        return 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    log "installing slurm-wlm, slurmdbd, munge, mariadb-server"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm slurmdbd munge mariadb-server mariadb-client >/dev/null
    # Debian's postinst may try to start daemons through init scripts; we run them ourselves.
    installed || die "installation of slurm-wlm/slurmdbd/munge/mariadb-server failed"
    log "installed slurmctld $(dpkg-query -W -f='${Version}' slurmctld)"
}

start_munge() {
    mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
    if [[ ! -s $MUNGE_KEY ]]; then
        log "creating munge key"
        if command -v mungekey >/dev/null; then
            mungekey --create --keyfile="$MUNGE_KEY" --force
        else
            dd if=/dev/urandom of="$MUNGE_KEY" bs=1 count=1024 status=none
        fi
    fi
    chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
    chmod 0700 /etc/munge /var/lib/munge /var/log/munge
    chmod 0755 /run/munge
    chmod 0400 "$MUNGE_KEY"
    if pid_alive "$MUNGE_PID" && munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return 0
    fi
    rm -f "$MUNGE_PID" /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
    log "starting munged"
    # --force: run even if the socket looks stale; munged daemonizes and writes its pid file itself.
    runuser -u munge -- /usr/sbin/munged --force
    local i
    for ((i = 0; i < 20; i++)); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    dump_logs
    die "munged does not answer"
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.5 s until it succeeds
wait_for() {
    local seconds=$1 what=$2 i
    shift 2
    for ((i = 0; i < seconds * 2; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    dump_logs
    die "$what within ${seconds}s"
}

mariadb_answers() { mariadb --socket="$MARIADB_SOCKET" -uroot -e 'SELECT 1'; }

start_mariadb() {
    if pid_alive "$MARIADB_PID" && mariadb_answers >/dev/null 2>&1; then
        return 0
    fi
    mkdir -p /run/mysqld "$STATE" "$RUN_DIR"
    chown mysql:mysql /run/mysqld
    # Debian's postinst initialized /var/lib/mysql; a bare datadir (e.g. a wiped container) is initialized here.
    if [[ ! -d /var/lib/mysql/mysql ]]; then
        log "initializing /var/lib/mysql"
        mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
    fi
    touch "$MARIADB_LOG" && chown mysql:mysql "$MARIADB_LOG"
    log "starting mariadbd"
    # mariadbd does not daemonize itself: detach it into its own session; it writes its pid file.
    setsid -f /usr/sbin/mariadbd --user=mysql --datadir=/var/lib/mysql --socket="$MARIADB_SOCKET" \
        --pid-file="$MARIADB_PID" --log-error="$MARIADB_LOG" --bind-address=127.0.0.1 </dev/null >/dev/null 2>&1
    wait_for 60 "mariadbd does not answer" mariadb_answers
    # root logs in by unix socket (Debian's default); slurmdbd gets a user of its own.
    mariadb --socket="$MARIADB_SOCKET" -uroot <<EOF
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'localhost';
FLUSH PRIVILEGES;
EOF
}

# write_dbd_conf: exit 0 iff slurmdbd.conf changed
write_dbd_conf() {
    local tmp
    tmp=$(mktemp)
    cat >"$tmp" <<EOF
# Written by tests/slurm/cluster.sh: slurmdbd of the one-node test cluster, MariaDB on its local socket.
AuthType=auth/munge
DbdHost=$(hostname -s)
DbdPort=6819
SlurmUser=root
PidFile=$DBD_PID
LogFile=$DBD_LOG
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=$DB_USER
StoragePass=$DB_PASS
StorageLoc=$DB_NAME
EOF
    if [[ -f $DBD_CONF ]] && cmp -s "$tmp" "$DBD_CONF"; then
        rm -f "$tmp"
        return 1
    fi
    # slurmdbd refuses a config readable by others (it holds the database password)
    install -m 0600 "$tmp" "$DBD_CONF"
    rm -f "$tmp"
    log "wrote $DBD_CONF"
}

dbd_answers() { sacctmgr -n show cluster format=cluster; }

# register: the cluster, an account and root in it (idempotent: each only when missing)
register() {
    if ! sacctmgr -n -P show cluster format=cluster | grep -qx "$CLUSTER"; then
        log "registering cluster $CLUSTER"
        sacctmgr -i add cluster "$CLUSTER" >/dev/null
    fi
    if ! sacctmgr -n -P show account format=account | grep -qx "$ACCOUNT"; then
        log "registering account $ACCOUNT"
        sacctmgr -i add account "$ACCOUNT" Cluster="$CLUSTER" Description=test Organization=test >/dev/null
    fi
    if ! sacctmgr -n -P show assoc where user=root account="$ACCOUNT" format=user | grep -qx root; then
        log "adding root to account $ACCOUNT"
        sacctmgr -i add user root Account="$ACCOUNT" DefaultAccount="$ACCOUNT" >/dev/null
    fi
}

start_accounting() {
    start_mariadb
    mkdir -p "$STATE" "$RUN_DIR"
    if write_dbd_conf && pid_alive "$DBD_PID"; then
        stop_pidfile "$DBD_PID" slurmdbd
    fi
    if ! pid_alive "$DBD_PID"; then
        log "starting slurmdbd"
        /usr/sbin/slurmdbd # daemonizes, writes its pid file
    fi
    wait_for 60 "slurmdbd does not answer" dbd_answers
    register
}

# sacct_answers: sacct reads the database (not "accounting storage is disabled")
sacct_answers() { sacct -n -X -o JobID --starttime now-1hour >/dev/null 2>&1; }

write_conf() {
    local host cpus mem_total real_mem tmp
    host=$(hostname -s)
    cpus=$(nproc)
    mem_total=$(free -m | awk '/^Mem:/ {print $2}')
    # leave ~5% (at least 512 MB) for the OS and the daemons
    real_mem=$((mem_total - (mem_total / 20 > 512 ? mem_total / 20 : 512)))
    mkdir -p "$CONF_DIR" "$STATE/ctld" "$STATE/d" "$RUN_DIR"
    tmp=$(mktemp)
    cat >"$tmp" <<EOF
# Written by tests/slurm/cluster.sh: one-node test cluster with accounting (slurmdbd), no cgroups.
ClusterName=$CLUSTER
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SwitchType=switch/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# GresTypes left unset: no GPUs on the test node (an empty "GresTypes=" is a parse error in 22.05).
# The snakemake slurm plugin only trusts squeue when MinJobAge >= 3 x its status-check interval.
MinJobAge=300
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$CTLD_LOG
SlurmdLogFile=$SLURMD_LOG
SlurmctldDebug=info
SlurmdDebug=info
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=$host
AccountingStoragePort=6819
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=10
Waittime=0
# Preemption by partition priority: a job in 'urgent' preempts jobs in 'debug' (which requeues them) or in
# 'cancelable' (which cancels them). KillWait above is the time between SIGTERM and SIGKILL.
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
NodeName=$host CPUs=$cpus RealMemory=$real_mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=REQUEUE
PartitionName=cancelable Nodes=$host MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=CANCEL
PartitionName=urgent Nodes=$host MaxTime=INFINITE State=UP PriorityTier=10 PreemptMode=OFF
EOF
    if [[ -f $CONF ]] && cmp -s "$tmp" "$CONF"; then
        rm -f "$tmp"
        return 1 # unchanged
    fi
    install -m 0644 "$tmp" "$CONF"
    rm -f "$tmp"
    log "wrote $CONF (node $host, CPUs=$cpus, RealMemory=$real_mem)"
    return 0
}

# accepting: the partition is up and the node can take a job
accepting() {
    local out
    out=$(sinfo -h -p "$PARTITION" -o '%a %t' 2>/dev/null) || return 1
    [[ -n $out ]] || return 1
    # availability "up" and a state that can run jobs (idle, mixed, allocated, completing)
    awk '$1 == "up" && $2 ~ /^(idle|mix|mixed|alloc|allocated|comp|completing)$/ {ok = 1} END {exit !ok}' <<<"$out"
}

cmd_start() {
    need_root
    command -v slurmctld >/dev/null || die "slurm not installed: run '$0 install' first"
    start_munge
    local changed=0
    write_conf && changed=1 # first: sacctmgr reads slurm.conf too
    start_accounting
    if ((changed)) && { pid_alive "$CTLD_PID" || pid_alive "$SLURMD_PID"; }; then
        log "configuration changed, restarting the daemons"
        stop_pidfile "$SLURMD_PID" slurmd
        stop_pidfile "$CTLD_PID" slurmctld
    fi
    if ! pid_alive "$CTLD_PID"; then
        log "starting slurmctld"
        # -i: ignore errors in state files left by an older run (recover what is readable)
        /usr/sbin/slurmctld -i
    fi
    if ! pid_alive "$SLURMD_PID"; then
        log "starting slurmd"
        /usr/sbin/slurmd
    fi
    local i state
    for ((i = 0; i < WAIT * 2; i++)); do
        if accepting; then
            log "cluster up: $(sinfo -h -o '%P %a %D %t %c CPUs %m MB')"
            return 0
        fi
        # a node left in down/drain by an earlier run: bring it back
        state=$(sinfo -h -N -o '%t' 2>/dev/null | head -n1 || true)
        if [[ $state =~ ^(down|drain|drng|fail) ]] || [[ $state == *'*' && $i -gt 10 ]]; then
            scontrol update NodeName="$(hostname -s)" State=RESUME >/dev/null 2>&1 || true
        fi
        sleep 0.5
    done
    dump_logs
    die "node not idle within ${WAIT}s"
}

cmd_stop() {
    need_root
    stop_pidfile "$SLURMD_PID" slurmd
    stop_pidfile "$CTLD_PID" slurmctld
    stop_pidfile "$DBD_PID" slurmdbd
    stop_pidfile "$MARIADB_PID" mariadbd
    stop_pidfile "$MUNGE_PID" munged
}

cmd_status() {
    pid_alive "$CTLD_PID" || { log "slurmctld not running"; return 1; }
    pid_alive "$SLURMD_PID" || { log "slurmd not running"; return 1; }
    pid_alive "$DBD_PID" || { log "slurmdbd not running"; return 1; }
    sacct_answers || { log "sacct does not answer: $(sacct -n -X 2>&1 | head -n1)"; return 1; }
    accepting || { log "partition $PARTITION not accepting jobs: $(sinfo -h -N -o '%N %t' 2>&1 || true)"; return 1; }
    sinfo -h -o '%P %a %D %t %c CPUs %m MB'
}

case ${1:-} in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 install|start|stop|status" >&2
        exit 2
        ;;
esac
