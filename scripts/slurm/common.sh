# Shared by start.sh and stop.sh (sourced, not run): where the local cluster keeps its files, and
# how to tell whether one of its daemons is running.
export PATH=$PATH:/usr/sbin

conf_dir=/etc/slurm
marker="# written by astgan scripts/slurm/start.sh"
run_dir=/run/slurm                            # pid files of slurmctld, slurmd, slurmdbd
munged_pid=/run/munge/astgan-munged.pid       # named astgan-*: stop.sh stops only what start.sh started
mariadb_pid=/run/mysqld/astgan-mariadb.pid
log_dir=/var/log/slurm
state_dir=/var/lib/slurm                      # StateSaveLocation and SlurmdSpoolDir

# Whether the process named by pid file $1 runs. A daemon that has exited stays a zombie until its
# parent (PID 1 here) reaps it, and `kill -0` still succeeds on a zombie: read its state instead.
alive() {
    local pid state
    pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# Whether /etc/slurm/slurm.conf is absent or ours (a real cluster's config is never touched).
config_is_ours() { [ ! -e $conf_dir/slurm.conf ] || grep -qF "$marker" $conf_dir/slurm.conf; }
