#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine, for the tests marked `slurm` (and for trying
# `astgan study --executor slurm` without a real cluster). Debian or Ubuntu, as root.
#
#   scripts/slurm/start.sh      install what is missing, write the config, start the daemons and
#                               wait until the node is idle (running it again is harmless)
#   scripts/slurm/stop.sh       cancel every job and stop every daemon this script started
#
# The cluster: one node `localhost` with this machine's CPUs and memory (from `slurmd -C`), two fake
# GPUs declared as gres (so that SLURM sets CUDA_VISIBLE_DEVICES per job), one partition `local`,
# and accounting through slurmdbd into MariaDB, because submitit learns that a job died only from
# `sacct`. Everything talks over loopback or unix sockets: slurmctld, slurmd and slurmdbd bind
# 127.0.0.1, MariaDB runs with --skip-networking, munge is a unix socket. No cgroups (containers
# rarely have them): SLURM tracks a job's processes through /proc.
#
# Environment: SLURM_START_TIMEOUT (seconds to wait for the idle node, default 60).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
source "$here/common.sh"
timeout_s=${SLURM_START_TIMEOUT:-60}
packages=(slurmctld slurmd slurm-client slurmdbd munge mariadb-server)

die() { echo "start.sh: $*" >&2; exit 1; }
say() { echo "start.sh: $*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }

[ "$(id -u)" = 0 ] || die "run me as root (I install packages and start system daemons)"
command -v apt-get >/dev/null || die "I need apt-get (Debian or Ubuntu)"
t_start=$(now)

# --- 1. packages --------------------------------------------------------------------------------
missing=()
for binary in slurmctld slurmd sinfo sacct slurmdbd munged mariadbd; do
    command -v "$binary" >/dev/null || missing+=("$binary")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${packages[*]} (missing: ${missing[*]})"
    t_install=$(now)
    # Debian starts a package's daemons on install; with the default config they would fail or
    # bind every interface. A policy-rc.d that says "no" stops that; removed after, if it is ours.
    own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        own_policy=1
    fi
    install_log=$(mktemp)
    apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"; }
    installed=1
    if ! apt_install >"$install_log" 2>&1; then
        apt-get update -q >>"$install_log" 2>&1 || true   # a fresh machine has no package lists yet
        apt_install >>"$install_log" 2>&1 || installed=0
    fi
    if [ $own_policy = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
    if [ $installed = 0 ]; then tail -20 "$install_log" >&2; die "apt-get install failed (its log above)"; fi
    rm -f "$install_log"
    say "installed in $(since "$t_install") s"
fi

# --- 2. config ----------------------------------------------------------------------------------
# Never overwrite a slurm.conf that someone else wrote: this machine may be a real cluster's node.
config_is_ours || die "$conf_dir/slurm.conf exists and was not written by me; refusing to replace it"
mkdir -p $conf_dir $log_dir $state_dir/slurmctld $state_dir/slurmd
chown slurm:slurm $log_dir $state_dir/slurmctld
new=$(mktemp -d)
trap 'rm -rf "$new"' EXIT
# The node's hardware as slurmd sees it (a node that declares more than that is drained), renamed to
# localhost so that the config does not depend on the machine's host name.
hardware=$(slurmd -C | head -1 | sed -e 's/^NodeName=[^ ]* //')
cat > "$new/slurm.conf" <<EOF
$marker; it is rewritten at every start.
ClusterName=astgan
SlurmctldHost=localhost(127.0.0.1)
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=$state_dir/slurmctld
SlurmdSpoolDir=$state_dir/slurmd
SlurmctldPidFile=$run_dir/slurmctld.pid
SlurmdPidFile=$run_dir/slurmd.pid
SlurmctldLogFile=$log_dir/slurmctld.log
SlurmdLogFile=$log_dir/slurmd.log
# no cgroups in a container: track a job's processes through /proc, bind nothing
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
# a cancelled or timed-out job gets SIGTERM, then SIGKILL this many seconds later (default 30)
KillWait=5
JobRequeue=1
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
GresTypes=gpu
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageTRES=gres/gpu
JobAcctGatherType=jobacct_gather/none
NodeName=localhost NodeAddr=127.0.0.1 $hardware Gres=gpu:2 State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
# Two fake GPUs: any two distinct device files do; SLURM numbers them 0 and 1 in CUDA_VISIBLE_DEVICES.
cat > "$new/gres.conf" <<EOF
$marker
NodeName=localhost Name=gpu File=/dev/null
NodeName=localhost Name=gpu File=/dev/zero
EOF
# MariaDB without TCP: slurmdbd reaches it through the default unix socket as OS user `slurm`
# (unix_socket authentication), so there is no password anywhere.
cat > "$new/slurmdbd.conf" <<EOF
$marker
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
CommunicationParameters=NoInAddrAny
SlurmUser=slurm
PidFile=$run_dir/slurmdbd.pid
LogFile=$log_dir/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StorageLoc=slurm_acct_db
EOF
# Daemons read their config at start: if it changed under running ones, restart them (their jobs go).
if ! cmp -s "$new/slurm.conf" $conf_dir/slurm.conf || ! cmp -s "$new/gres.conf" $conf_dir/gres.conf ||
   ! cmp -s "$new/slurmdbd.conf" $conf_dir/slurmdbd.conf; then
    if alive $run_dir/slurmctld.pid || alive $run_dir/slurmd.pid || alive $run_dir/slurmdbd.pid; then
        say "the config changed: restarting the running daemons"
        "$here/stop.sh"
    fi
    cp "$new/slurm.conf" "$new/gres.conf" "$new/slurmdbd.conf" $conf_dir/
fi
# slurmdbd.conf holds the database credentials: slurmdbd wants it readable by SlurmUser only
chown slurm:slurm $conf_dir/slurmdbd.conf
chmod 600 $conf_dir/slurmdbd.conf

# --- 3. daemons, in dependency order --------------------------------------------------------------
mkdir -p $run_dir && chown slurm:slurm $run_dir   # pid files of the SLURM daemons
# munge: every SLURM message is signed with its key
mkdir -p /run/munge && chown munge:munge /run/munge && chmod 755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then   # the package makes one; this is for a key deleted since
    mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
fi
# (a munged or MariaDB that already runs is used as it is; stop.sh stops only the ones started here)
munge -n >/dev/null 2>&1 || runuser -u munge -- munged --origin=127.0.0.1 --pid-file=$munged_pid

# MariaDB, the accounting store
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
if ! mariadb-admin ping >/dev/null 2>&1; then
    setsid mariadbd --user=mysql --skip-networking --pid-file=$mariadb_pid \
        --log-error=$log_dir/mariadb.log </dev/null >/dev/null 2>&1 &
    for _ in $(seq 100); do mariadb-admin ping >/dev/null 2>&1 && break; sleep 0.1; done
    mariadb-admin ping >/dev/null 2>&1 || die "MariaDB did not start; see $log_dir/mariadb.log"
fi
mariadb -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED VIA unix_socket;
            GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"

# CommunicationParameters=No(Ctld)InAddrAny makes a SLURM daemon bind the address its host name
# resolves to, not 0.0.0.0. Each runs in its own UTS namespace whose host name is `localhost`, so that
# address is 127.0.0.1 whatever this machine is called (the jobs, children of slurmd, see that name).
as_localhost() { unshare --uts sh -c 'hostname localhost && exec "$@"' sh "$@"; }
alive $run_dir/slurmdbd.pid || as_localhost slurmdbd
for _ in $(seq 100); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.1; done
sacctmgr -n list cluster >/dev/null 2>&1 || die "slurmdbd did not start; see $log_dir/slurmdbd.log"

alive $run_dir/slurmctld.pid || as_localhost slurmctld
alive $run_dir/slurmd.pid || as_localhost slurmd

# --- 4. wait for the node --------------------------------------------------------------------------
deadline=$(( $(date +%s) + timeout_s ))
state=""
while [ "$(date +%s)" -lt "$deadline" ]; do
    state=$(sinfo -h -n localhost -o %T 2>/dev/null || true)
    case "$state" in idle|mixed|allocated) break ;; esac
    sleep 0.2
done
case "$state" in
    idle|mixed|allocated)
        say "node localhost is $state after $(since "$t_start") s (logs: $log_dir)" ;;
    *)
        sinfo -R >&2 || true
        tail -5 $log_dir/slurmctld.log $log_dir/slurmd.log >&2 || true
        die "the node is '${state:-not answering}' after ${timeout_s} s; see $log_dir" ;;
esac
