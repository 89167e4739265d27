#!/usr/bin/env bash
# A real single-node Slurm cluster on localhost, for tests and for trying `--executor slurm`.
#
#   scripts/slurm-local.sh install        install the Debian packages (as root) if they are missing
#   scripts/slurm-local.sh start [DIR]    install if needed, configure, start, wait until the node is idle
#   scripts/slurm-local.sh stop [DIR]     stop the daemons this script started, by their recorded PIDs
#   scripts/slurm-local.sh status [DIR]   say whether the cluster of DIR is up
#
# DIR (default $SLURM_LOCAL_DIR or /tmp/slurm-local) holds slurm.conf, state, spool, logs and `pids`
# (the PIDs of the daemons started here: `stop` kills exactly those, never by name). After `start`:
#   export SLURM_CONF=DIR/slurm.conf    (also linked from /etc/slurm/slurm.conf when that is free)
#
# Exit codes: 0 done; 1 failed; 3 cannot run here (not root, or Slurm missing and no apt-get):
# the test suite skips its Slurm tests on 3 only.
#
# Measured notes: ../shared/notes/slurm-local.md (no systemd, no cgroups, munge by hand,
# kill_invalid_depend so that dependents of a failed job are cancelled, not left pending).
set -euo pipefail

cmd=${1:-}
DIR=${2:-${SLURM_LOCAL_DIR:-/tmp/slurm-local}}
CONF=$DIR/slurm.conf
PIDS=$DIR/pids
# More CPUs than cores (SlurmdParameters=config_overrides) so that several small jobs run at once.
CPUS=${SLURM_LOCAL_CPUS:-8}

say() { echo "slurm-local: $*" >&2; }
cannot() {
  say "cannot run here: $*"
  exit 3
}

# Is PID alive (a zombie is not: PID 1 reaps slowly here)?
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ] && [ "${stat%% *}" != X ]
}

# PIDs recorded by our last start that are still alive, as "name pid" lines.
live_pids() {
  [ -f "$PIDS" ] || return 0
  local name pid
  while read -r name pid; do
    [ -n "$pid" ] && alive "$pid" && echo "$name $pid"
  done <"$PIDS"
  return 0
}

install_slurm() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null &&
    command -v munged >/dev/null; then
    return 0
  fi
  [ "$(id -u)" = 0 ] || cannot "Slurm is not installed and installing it needs root"
  command -v apt-get >/dev/null || cannot "Slurm is not installed and there is no apt-get"
  say "installing slurmctld slurmd slurm-client munge (apt-get)…"
  local apt=(apt-get -o DPkg::Lock::Timeout=600)
  "${apt[@]}" update -qq >/dev/null ||
    { say "apt-get update failed"; exit 1; }
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null ||
    { say "apt-get install failed"; exit 1; }
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi # already serving
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  chmod 0755 /run/munge
  if [ ! -f /etc/munge/munge.key ]; then
    mungekey --create >/dev/null 2>&1 || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  rm -f /run/munge/munged.pid
  runuser -u munge -- munged --force </dev/null >>"$DIR/log/munged.out" 2>&1
  for _ in $(seq 50); do
    [ -s /run/munge/munged.pid ] && munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.1
  done
  munge -n | unmunge >/dev/null || { say "munged did not start (see $DIR/log/munged.out)"; exit 1; }
  echo "munged $(cat /run/munge/munged.pid)" >>"$PIDS"
}

write_conf() {
  local host mem
  host=$(hostname -s)
  mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  cat >"$CONF" <<CONF
# Written by scripts/slurm-local.sh: a single-node cluster on localhost (tests, trying things out).
ClusterName=local
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
DependencyParameters=kill_invalid_depend
SlurmdParameters=config_overrides
JobCompType=jobcomp/filetxt
JobCompLoc=${DIR}/log/jobcomp.txt
StateSaveLocation=${DIR}/state
SlurmdSpoolDir=${DIR}/spool
SlurmctldPidFile=${DIR}/run/slurmctld.pid
SlurmdPidFile=${DIR}/run/slurmd.pid
SlurmctldLogFile=${DIR}/log/slurmctld.log
SlurmdLogFile=${DIR}/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
MinJobAge=300
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${mem} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  mkdir -p /etc/slurm
  # Plain `sbatch` finds this cluster too, unless /etc/slurm/slurm.conf is someone else's file.
  if [ ! -e /etc/slurm/slurm.conf ] || [ -L /etc/slurm/slurm.conf ]; then
    ln -sfn "$CONF" /etc/slurm/slurm.conf
  fi
}

wait_pidfile() { # FILE NAME
  for _ in $(seq 100); do
    if [ -s "$1" ] && alive "$(cat "$1")"; then
      echo "$2 $(cat "$1")" >>"$PIDS"
      return 0
    fi
    sleep 0.1
  done
  say "$2 did not start (see $DIR/log/$2.log)"
  return 1
}

do_start() {
  if [ -n "$(live_pids)" ]; then
    if SLURM_CONF=$CONF scontrol ping >/dev/null 2>&1; then
      say "already running ($(live_pids | tr '\n' ' '))"
      echo "export SLURM_CONF=$CONF"
      return 0
    fi
    say "stale daemons from an earlier start: stopping them"
    do_stop
  fi
  [ "$(id -u)" = 0 ] || cannot "starting Slurm daemons needs root"
  install_slurm
  if scontrol ping 2>/dev/null | grep -q 'is UP'; then
    cannot "another Slurm controller already answers on this machine (one cluster per machine: ports 6817/6818)"
  fi
  mkdir -p "$DIR"/{state,spool,run,log}
  : >"$PIDS"
  start_munge
  write_conf
  export SLURM_CONF=$CONF
  slurmctld -f "$CONF" </dev/null >>"$DIR/log/slurmctld.out" 2>&1 || { say "slurmctld failed (see $DIR/log)"; exit 1; }
  wait_pidfile "$DIR/run/slurmctld.pid" slurmctld || exit 1
  slurmd -f "$CONF" </dev/null >>"$DIR/log/slurmd.out" 2>&1 || { say "slurmd failed (see $DIR/log)"; exit 1; }
  wait_pidfile "$DIR/run/slurmd.pid" slurmd || exit 1
  local state=""
  for _ in $(seq 300); do
    state=$(sinfo -h -o %t 2>/dev/null | head -1)
    [ "$state" = idle ] && break
    sleep 0.1
  done
  if [ "$state" != idle ]; then
    say "the node did not become idle (state '${state}'; see $DIR/log)"
    exit 1
  fi
  # The controller's first scheduling pass comes ~3 s after it starts: a throw-away job absorbs it.
  local warm
  warm=$(sbatch --parsable --output=/dev/null --job-name=slurm-local-warmup --wrap=true)
  for _ in $(seq 200); do
    [ -z "$(squeue -h -j "$warm" -o %T 2>/dev/null)" ] && break
    sleep 0.1
  done
  say "up: $(live_pids | tr '\n' ' ')(pids in $PIDS)"
  echo "export SLURM_CONF=$CONF"
}

do_stop() {
  local lines name pid
  lines=$(live_pids)
  if [ -z "$lines" ]; then
    say "nothing to stop"
    rm -f "$PIDS"
    return 0
  fi
  # slurmd, then slurmctld, then munged: the reverse of the start.
  for name in slurmd slurmctld munged; do
    pid=$(awk -v n="$name" '$1 == n { print $2 }' <<<"$lines")
    [ -n "$pid" ] || continue
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -f "$PIDS"
  say "stopped"
}

do_status() {
  local lines
  lines=$(live_pids)
  if [ -n "$lines" ] && SLURM_CONF=$CONF scontrol ping >/dev/null 2>&1; then
    say "up: $(tr '\n' ' ' <<<"$lines")"
    echo "export SLURM_CONF=$CONF"
  else
    say "down"
    return 1
  fi
}

case "$cmd" in
install) install_slurm ;;
start) do_start ;;
stop) do_stop ;;
status) do_status ;;
*)
  echo "usage: $0 install|start|stop|status [DIR]" >&2
  exit 2
  ;;
esac
