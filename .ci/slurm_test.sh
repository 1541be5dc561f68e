#!/usr/bin/env bash
# The workflow on a real SLURM (docs/cluster.md). Installs Debian's SLURM and MUNGE,
# starts a one-node cluster on 127.0.0.1 (state and logs in a temporary folder, one fake GPU), runs
# the tests' tiny synthetic configuration with --workflow-profile profiles/slurm, and checks that
#   * every job Snakemake submitted is a COMPLETED SLURM job (slurmctld's records: scontrol, and the
#     job completion log), and the GPU rules' jobs had a GPU allocated (JOB_GRES=gpu:1), no other;
#   * the tables equal those of a local run of the same configuration (byte for byte, else 1e-6).
# Every daemon it starts is stopped by PID on exit, success or failure; every wait is bounded.
#
#   bash .ci/slurm_test.sh            (as root; after `make setup`; CI runs it from .ci/run)
#   ROLO_SLURM_RUN_TIMEOUT=1800       seconds allowed to each workflow run
#   ROLO_SLURM_TARGETS="results/exp1/aos.csv ..."   targets instead of the default (all)
#   ROLO_SLURM_TRACKERS="rolo yolo csrt"            the configuration's trackers instead of all of its
#
# CI (.ci/run) runs the three experiments' tables with three trackers (every kind of job: data,
# detector, per-video extraction, the closed-loop ROLO's training, tracking, scoring): the full
# default target makes ~110 jobs, which the one-node cluster runs one SLURM job at a time.
#
# Needs root: it installs packages, writes /etc/slurm/slurm.conf (SLURM's job steps read the
# default path) and runs slurmctld, slurmd and munged. It refuses to touch an existing SLURM set-up.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PY=$REPO/.venv/bin/python
SNAKEMAKE=$REPO/.venv/bin/snakemake
RUN_TIMEOUT=${ROLO_SLURM_RUN_TIMEOUT:-1800} # seconds, for each of the two workflow runs
read -r -a TARGETS <<<"${ROLO_SLURM_TARGETS:-}" # default: the workflow's default target (all)
CONF=/etc/slurm/slurm.conf
GRES_CONF=/etc/slurm/gres.conf
MARK="# written by rolo .ci/slurm_test.sh (a throw-away test cluster)"
start=$(date +%s)

say() { echo "[slurm-test +$(($(date +%s) - start))s] $*"; }
fail() {
    echo "[slurm-test] FAIL: $*" >&2
    exit 1
}

# wait_until SECONDS COMMAND...: run COMMAND every 0.5 s until it succeeds; false after SECONDS
wait_until() {
    local until=$(($(date +%s) + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$until" ] || return 1
        local i
        for i in "${!PIDS[@]}"; do
            kill -0 "${PIDS[$i]}" 2>/dev/null || fail "${NAMES[$i]} (PID ${PIDS[$i]}) died"
        done
        sleep 0.5
    done
}
wait_for() { # wait_for SECONDS WHAT COMMAND...
    local limit=$1 what=$2
    shift 2
    wait_until "$limit" "$@" || fail "timed out after ${limit}s waiting for $what"
}

[ "$(id -u)" -eq 0 ] || fail "needs root (installs SLURM, writes $CONF, runs the daemons)"
[ -x "$PY" ] || fail "$PY not found: run make setup first"
for f in "$CONF" "$GRES_CONF"; do
    if [ -e "$f" ] && ! grep -qF "$MARK" "$f"; then
        fail "$f exists and is not this test's: refusing to replace a real SLURM configuration"
    fi
done

# one test cluster at a time on a machine: they would share /etc/slurm/slurm.conf (the lock is
# released when this shell exits: the processes it starts do not inherit it, 9>&-)
exec 9>/tmp/.rolo-slurm-test.lock
flock -n 9 || fail "another .ci/slurm_test.sh is running on this machine"

T=$(mktemp -d /tmp/rolo-slurm.XXXXXX)
chmod 700 "$T"
mkdir -p "$T/log" "$T/state" "$T/spool" "$T/munge" "$T/local" "$T/slurm" "$T/ultralytics"
PIDS=()
NAMES=()
RUN_PIDS=()
POLICY_RC_ADDED=""

stop_runs() { # workflow runs still going (a failure or a signal). Each is a `timeout` leading its own
    # process group (Snakemake and its jobs): TERM it, up to 30 s, then KILL the group.
    local pid
    for pid in ${RUN_PIDS[@]+"${RUN_PIDS[@]}"}; do
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    for pid in ${RUN_PIDS[@]+"${RUN_PIDS[@]}"}; do
        for _ in $(seq 60); do
            kill -0 -- "-$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

stop_daemons() {
    # Jobs first (their step daemons are not ours to kill by PID; slurmctld ends them), then the
    # daemons we started, newest first: TERM, up to 10 s, then KILL.
    if [ ${#PIDS[@]} -ge 2 ] && kill -0 "${PIDS[1]}" 2>/dev/null; then
        timeout -k 2 10 scancel --quiet --user="$(id -un)" 2>/dev/null || true
        local until=$(($(date +%s) + 20))
        while [ -n "$(timeout -k 2 5 squeue -h -o %i 2>/dev/null)" ] && [ "$(date +%s)" -lt "$until" ]; do
            sleep 0.5
        done
    fi
    local i pid
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        pid=${PIDS[$i]}
        kill -0 "$pid" 2>/dev/null || continue
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 20); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "[slurm-test] ${NAMES[$i]} (PID $pid) ignored TERM: KILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
}

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    stop_runs
    stop_daemons
    for f in "$CONF" "$GRES_CONF"; do
        [ -e "$f" ] && grep -qF "$MARK" "$f" && rm -f "$f"
    done
    [ -n "$POLICY_RC_ADDED" ] && rm -f /usr/sbin/policy-rc.d
    if [ "$rc" -ne 0 ]; then
        for f in "$T"/log/slurmctld.log "$T"/log/slurmd.log "$T"/log/munged.log "$T"/log/slurm_run.log; do
            [ -s "$f" ] && { echo "--- tail of $f" >&2; tail -n 40 "$f" >&2; }
        done
        echo "[slurm-test] FAILED after $(($(date +%s) - start)) s; everything is kept in $T" >&2
    else
        rm -rf "$T"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. Debian's SLURM and MUNGE, the executor plugin ------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null ||
    ! command -v munged >/dev/null; then
    say "installing slurmctld slurmd slurm-client munge"
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        # keep the packages from starting system daemons: this script starts its own, by PID
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        POLICY_RC_ADDED=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    timeout -k 10 300 apt-get update -q >"$T/log/apt.log" 2>&1 || fail "apt-get update (see $T/log/apt.log)"
    timeout -k 10 600 apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge \
        >>"$T/log/apt.log" 2>&1 || fail "apt-get install (see $T/log/apt.log)"
    if [ -n "$POLICY_RC_ADDED" ]; then
        rm -f /usr/sbin/policy-rc.d
        POLICY_RC_ADDED=""
    fi
fi
say "$(slurmctld -V), $(munged -V 2>&1 | head -n 1)"
# the plugin is the optional extra `slurm` of pyproject.toml: install just it (not '.[slurm]', which
# would also re-resolve the core dependencies)
mapfile -t PLUGIN < <("$PY" -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["slurm"]))')
[ ${#PLUGIN[@]} -gt 0 ] || fail "no optional dependency slurm in pyproject.toml"
timeout -k 10 300 "$PY" -m pip install --quiet "${PLUGIN[@]}" || fail "pip install ${PLUGIN[*]}"
say "$("$PY" -m pip list 2>/dev/null | grep -i 'snakemake-executor-plugin-slurm ' | tr -s ' ')"

# --- 2. MUNGE and a one-node SLURM cluster, everything under $T -------------------------------
head -c 1024 /dev/urandom >"$T/munge/munge.key"
chmod 400 "$T/munge/munge.key"
munged --foreground --force --key-file="$T/munge/munge.key" --socket="$T/munge/munge.sock" \
    --pid-file="$T/munge/munged.pid" --seed-file="$T/munge/munged.seed" --log-file="$T/log/munged.log" \
    >"$T/log/munged.out" 2>&1 9>&- &
PIDS+=($!)
NAMES+=(munged)
wait_for 15 "munged's socket" test -S "$T/munge/munge.sock"
munge --socket="$T/munge/munge.sock" -n | unmunge --socket="$T/munge/munge.sock" >/dev/null ||
    fail "munge cannot encode/decode a credential"

HOST=$(hostname -s)
read -r CTLD_PORT SLURMD_PORT < <("$PY" -c '
import socket
ports = []
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
    ports.append(s.getsockname()[1])
print(*ports)')
NCPU=$(nproc)
MEM_MB=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 * 85 / 100))
mkdir -p /etc/slurm
cat >"$CONF" <<EOF
$MARK
# One node on 127.0.0.1 with one fake GPU; state and logs in $T. No cgroups, no accounting database.
ClusterName=rolotest
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.sock
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
# without a default, a job that asks for no memory would take the whole node
DefMemPerCPU=1000
GresTypes=gpu
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$T/log/jobcomp.txt
# keep finished jobs' records in slurmctld for the checks (no slurmdbd, so no sacct)
MinJobAge=3600
ReturnToService=2
InactiveLimit=0
KillWait=5
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$NCPU RealMemory=$MEM_MB Gres=gpu:1 State=UNKNOWN
PartitionName=main Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
cat >"$GRES_CONF" <<EOF
$MARK
# the fake GPU: slurmd drops a gres without File= (and drains the node); /dev/null stands in
NodeName=$HOST Name=gpu File=/dev/null
EOF
say "cluster rolotest: node $HOST, $NCPU CPUs, $MEM_MB MB, 1 fake GPU, ports $CTLD_PORT/$SLURMD_PORT"

slurmctld -D -c -i -f "$CONF" >"$T/log/slurmctld.out" 2>&1 9>&- &
PIDS+=($!)
NAMES+=(slurmctld)
wait_for 30 "slurmctld to answer" bash -c "scontrol ping | grep -q UP"
slurmd -D -f "$CONF" -N "$HOST" >"$T/log/slurmd.out" 2>&1 9>&- &
PIDS+=($!)
NAMES+=(slurmd)
node_idle() { [ "$(sinfo -h -N -n "$HOST" -o %T 2>/dev/null)" = idle ]; }
if ! wait_until 60 node_idle; then
    sinfo -N -l >&2 || true
    sinfo -R >&2 || true
    fail "node $HOST did not become idle"
fi
gpus=$(timeout -k 5 60 srun -N1 -n1 --gpus=1 -t 1 bash -c 'echo "$CUDA_VISIBLE_DEVICES"') ||
    fail "a GPU job step did not run"
say "cluster up: a GPU job step saw CUDA_VISIBLE_DEVICES=$gpus"

# --- 3. The tiny configuration, locally and on SLURM --------------------------------------------
# the tests' configuration, from tests/conftest.py (one source)
"$PY" - "$T" "${ROLO_SLURM_TRACKERS:-}" <<'EOF'
import sys
from pathlib import Path

import yaml

sys.path.insert(0, "tests")
from conftest import TINY_CONFIG  # noqa: E402

config = dict(TINY_CONFIG)
if trackers := sys.argv[2].split():
    config["trackers"] = trackers
for run in ("local", "slurm"):
    Path(sys.argv[1], run, "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
EOF
export PYTHONHASHSEED=0 YOLO_OFFLINE=1 YOLO_CONFIG_DIR="$T/ultralytics"
start_workflow() { # start_workflow NAME ARGS...: run the workflow in $T/NAME in the background
    local name=$1
    shift
    timeout -k 60 "$RUN_TIMEOUT" "$SNAKEMAKE" ${TARGETS[@]+"${TARGETS[@]}"} --snakefile "$REPO/Snakefile" \
        --directory "$T/$name" --configfile "$T/$name/config.yaml" "$@" >"$T/log/${name}_run.log" 2>&1 9>&- &
    RUN_PIDS+=($!)
}
finish_workflow() { # finish_workflow NAME PID: wait for the run (a signal still reaches the traps)
    local rc=0
    wait "$2" || rc=$?
    # timeout's 124: stopped by TERM after RUN_TIMEOUT; 137: KILLed a minute later
    [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || echo "[slurm-test] the $1 run timed out after $RUN_TIMEOUT s" >&2
    [ "$rc" -eq 0 ] || fail "$1 run failed, exit $rc (see $T/log/$1_run.log)"
    say "$1 run done: Snakemake's $(grep -o 'Elapsed time: [0-9:]*' "$T/log/$1_run.log" | tail -n 1)"
}
# Both at once: the SLURM run's jobs wait on submission and status checks, the local run fills the
# gaps; the tables do not depend on the load, the threads of each job are pinned.
start_workflow local --cores 2 --resources gpu=1
# what the test cluster needs besides the profile: no slurmdbd (so squeue for the status, which
# MinJobAge keeps answering), short status intervals, the logs of successful jobs kept, and no
# wait for a shared file system (there is none: a failed job fails at once, not a minute per file)
start_workflow slurm --workflow-profile "$REPO/profiles/slurm" \
    --slurm-status-command squeue --slurm-init-seconds-before-status-checks 2 \
    --seconds-between-status-checks 2 --slurm-keep-successful-logs --latency-wait 5
finish_workflow local "${RUN_PIDS[0]}"
finish_workflow slurm "${RUN_PIDS[1]}"

# --- 4. Checks ---------------------------------------------------------------------------------
scontrol show job -d -o >"$T/log/scontrol_jobs.txt" || fail "scontrol show job"
"$PY" - "$T" "$REPO" <<'EOF' || fail "checks failed"
import os
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

T, REPO = Path(sys.argv[1]), Path(sys.argv[2])
errors = []

# Snakemake's record of what it submitted: "Job <id> has been submitted with SLURM jobid <n> (log: ...)"
log = (T / "log/slurm_run.log").read_text()
# the rules that declare a GPU, from the job blocks Snakemake printed ("rule NAME:" ... "resources: ...")
GPU_RULES = {rule for rule, res in re.findall(r"^rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", log, re.M)
             if re.search(r"\bgpu=[1-9]", res)}
print("rules that declare a GPU:", sorted(GPU_RULES))
subs = re.findall(r"Job (\S+) has been submitted with SLURM jobid (\d+) \(log: ([^)]*)\)", log)
submitted = {jid: path for _, jid, path in subs}
if not submitted:
    errors.append("Snakemake reports no job submitted to SLURM")

# SLURM's records: slurmctld keeps finished jobs (MinJobAge); the completion log lists them too
def fields(line):
    return dict(re.findall(r"(\S+?)=(\S*)", line))

jobs = {f["JobId"]: f for f in map(fields, (T / "log/scontrol_jobs.txt").read_text().splitlines()) if "JobId" in f}
jobs = {k: v for k, v in jobs.items() if v.get("JobName") != "bash"}  # the set-up's GPU probe (srun)
completed = {f["JobId"]: f for f in map(fields, (T / "log/jobcomp.txt").read_text().splitlines()) if "JobId" in f}
if set(jobs) != set(submitted):
    errors.append(f"SLURM's jobs {sorted(jobs)} != Snakemake's submissions {sorted(submitted)}")
rows = []
for jid in sorted(submitted, key=int):
    job, comp = jobs.get(jid, {}), completed.get(jid, {})
    comment = job.get("Comment", "")
    rule = re.sub(r"^rule_(.*?)(_wildcards_.*)?$", r"\1", comment)
    gpus = int(m.group(1)) if (m := re.fullmatch(r"gpu(?::\w+)?:(\d+)", job.get("JOB_GRES", ""))) else 0
    rows.append({"slurm_job": jid, "rule_or_group": rule, "wildcards": comment.partition("_wildcards_")[2],
                 "state": job.get("JobState"), "exit": job.get("ExitCode"), "cpus": job.get("NumCPUs"),
                 "gpus": gpus, "elapsed": job.get("RunTime"), "log": os.path.relpath(submitted[jid], T / "slurm")})
    if job.get("JobState") != "COMPLETED" or job.get("ExitCode") != "0:0":
        errors.append(f"SLURM job {jid} ({comment}): {job.get('JobState')} exit {job.get('ExitCode')}")
    if comp.get("JobState") != "COMPLETED":
        errors.append(f"SLURM job {jid} ({comment}) not COMPLETED in the job completion log: {comp.get('JobState')}")
    if (rule in GPU_RULES) != (gpus == 1):
        errors.append(f"SLURM job {jid} ({comment}): {gpus} GPU allocated (JOB_GRES={job.get('JOB_GRES')})")
    if not Path(submitted[jid]).is_file():
        errors.append(f"SLURM job {jid}: no log at {submitted[jid]}")
table = pd.DataFrame(rows)
print(table.to_string(index=False))
print(f"SLURM ran {len(table)} jobs, {int((table.gpus > 0).sum()) if len(table) else 0} with a GPU; "
      f"by rule or group: {table.rule_or_group.value_counts().to_dict() if len(table) else {}}")
for rule in GPU_RULES:
    if len(table) and rule not in set(table.rule_or_group):
        errors.append(f"no SLURM job for the GPU rule {rule}")

# the tables: byte for byte, else within 1e-6
exps = yaml.safe_load((T / "slurm/config.yaml").read_text())["experiments"]
for exp in exps:
    for name in ("aos.csv", "detector.csv"):
        a, b = T / "local/results" / exp / name, T / "slurm/results" / exp / name
        if not a.is_file() or not b.is_file():
            errors.append(f"missing {a} or {b}")
            continue
        if a.read_bytes() == b.read_bytes():
            print(f"{exp}/{name}: identical")
            continue
        da, db = pd.read_csv(a), pd.read_csv(b)
        num = da.select_dtypes("number").columns
        same = (da.shape == db.shape and list(da.columns) == list(db.columns)
                and da.drop(columns=num).equals(db.drop(columns=num))
                and np.allclose(da[num].to_numpy(float), db[num].to_numpy(float), rtol=0, atol=1e-6))
        print(f"{exp}/{name}: {'within 1e-6' if same else 'DIFFERENT'}")
        if not same:
            errors.append(f"{exp}/{name} differs between the local and the SLURM run")

for e in errors:
    print("ERROR:", e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF
say "PASS: the workflow ran on SLURM and its tables equal the local run's"
