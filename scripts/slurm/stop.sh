#!/usr/bin/env bash
# Stop the one-node SLURM cluster that scripts/slurm/start.sh started: cancel every job, then stop
# slurmd, slurmctld, slurmdbd, MariaDB and munged, each by the pid its own pid file names (a munged or
# MariaDB that start.sh found running is left alone). Safe to run when nothing runs. The packages,
# the config and the job records stay, so start.sh brings the same cluster back in seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
source "$here/common.sh"

say() { echo "stop.sh: $*"; }

# Sends SIGTERM to the daemon of pid file $1 (named $2) and waits up to 20 s for it to end.
stop_daemon() {
    local pid_file=$1 name=$2
    alive "$pid_file" || return 0
    kill "$(cat "$pid_file")"
    for _ in $(seq 200); do alive "$pid_file" || { say "$name stopped"; return 0; }; sleep 0.1; done
    say "$name (pid $(cat "$pid_file")) did not stop within 20 s" >&2
    return 1
}

[ "$(id -u)" = 0 ] || { echo "stop.sh: run me as root" >&2; exit 1; }
config_is_ours || { echo "stop.sh: $conf_dir/slurm.conf is not the one start.sh writes; not touching it" >&2; exit 1; }

# Jobs first: a stopped slurmd leaves its running job steps behind.
if alive $run_dir/slurmctld.pid; then
    jobs=$(squeue -h -o %A | sort -u | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
        say "cancelling jobs $jobs"
        # shellcheck disable=SC2086
        scancel $jobs || true
        for _ in $(seq 300); do [ -z "$(squeue -h -o %A)" ] && break; sleep 0.1; done
        [ -z "$(squeue -h -o %A)" ] || say "jobs still listed after 30 s: $(squeue -h -o '%A %T' | tr '\n' ' ')" >&2
    fi
fi

status=0
stop_daemon $run_dir/slurmd.pid slurmd || status=1
stop_daemon $run_dir/slurmctld.pid slurmctld || status=1
stop_daemon $run_dir/slurmdbd.pid slurmdbd || status=1
stop_daemon "$mariadb_pid" MariaDB || status=1
stop_daemon "$munged_pid" munged || status=1
exit $status
