#!/usr/bin/env bash
# The whole CPU-scale suite, one process at a time on one thread, resumable (finished runs are skipped):
#   setsid nohup reproduce/run_cpu_suite.sh >> reproduce/results/suite.log 2>&1 &
# Order: two seeds of every search, the random baselines, the third seed, then SA-DARTS Table 1 / Fig. 4, so that a
# partial suite already compares every method with random search.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
"$PY" -m reproduce.nb201_search --scale cpu --seeds 2
"$PY" -m reproduce.nb201_random --scale cpu --budgets epochs
"$PY" -m reproduce.nb201_search --scale cpu
"$PY" -m reproduce.sa_table1 --scale cpu
"$PY" -m reproduce.nb201_random --scale cpu                 # + random search with 5x the epochs
"$PY" -m reproduce.nb201_search --scale cpu   # all runs done: only rewrites the report with the random baseline
echo "suite finished $(date)"
