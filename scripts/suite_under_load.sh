#!/usr/bin/env bash
# `make test` RUNS times in a row while busy loops keep every core busy (issue [9/11]'s
# "the suite passes 5 times in a row while another process keeps both cores busy").
# Prints, per run: exit code, wall time and the 1-minute load average at its end; stops at
# the first red run. The busy loops are one `python3` process with a child per core.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
cores=$(nproc)
python3 - "$cores" <<'PY' &
import multiprocessing as mp, os, sys
def spin(parent: int) -> None:
    # Ends with the parent: a killed parent must not leave loops spinning on the machine.
    x = 0
    while os.getppid() == parent:
        for _ in range(1_000_000):
            x += 1
procs = [mp.Process(target=spin, args=(os.getpid(),), daemon=True) for _ in range(int(sys.argv[1]))]
for p in procs:
    p.start()
for p in procs:
    p.join()
PY
busy=$!
trap 'kill -- $busy 2>/dev/null; pkill -P $busy 2>/dev/null' EXIT
sleep 5
echo "suite-under-load: $runs runs of make test, $cores busy loops (pid $busy), load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  make test >"var/suite_under_load.$i.log" 2>&1
  rc=$?
  summary=$(grep -E "^=+ .*(passed|failed).* in " "var/suite_under_load.$i.log" | tail -1)
  echo "run $i: exit $rc, $(( $(date +%s) - start )) s, load $(cut -d' ' -f1-3 /proc/loadavg): $summary"
  [ "$rc" -eq 0 ] || exit "$rc"
done
echo "suite-under-load: $runs of $runs green"
