#!/usr/bin/env bash
# The GPU checks of the runner (issue 14), for a session that is lent a machine with CUDA:
#   1. the tests marked `gpu` (torch training on CUDA, a run recording its CUDA device);
#   2. the torch part of the runner benchmark: one torch.mlp epoch through the runner against a
#      plain torch loop, on the CPU (one thread) and on CUDA.
# Everything it prints and writes lands in $OUT (default ./gpu-check-out): the environment, each
# step's log, the tests' JUnit XML and the benchmark's JSON.
#
# Run from the repository root:  bash tests/benchmarks/gpu_check.sh
#
# What the machine must have: python3 with torch (CUDA), numpy, pandas, scikit-learn, scipy,
# pyarrow and psutil (the device image has these). The project's other dependencies (duckdb,
# ConfigSpace, openml and theirs) are installed from wheels carried in $WHEELS (default ./.wheels),
# offline. Prepare them on a machine with a registry, for the device's Python (3.12, x86-64):
#   pip download --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \
#       -d .wheels duckdb ConfigSpace openml
# The benchmark needs the real OpenML data for task 9983 (eeg-eye-state) served by the replay
# server: point METABASE_OPENML_DATA at a carried copy (default ./shared/openml-data); without it
# the benchmark step is skipped and says so.
set -uo pipefail

OUT="${OUT:-$PWD/gpu-check-out}"
WHEELS="${WHEELS:-$PWD/.wheels}"
PY="${PYTHON:-python3}"
export METABASE_OPENML_DATA="${METABASE_OPENML_DATA:-$PWD/shared/openml-data}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
status=0

{
    date -u
    nvidia-smi || echo "nvidia-smi: not found"
    "$PY" -c 'import sys, torch; print(sys.version); print("torch", torch.__version__,
"cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available()
else "-")'
    nproc
    uptime
} >"$OUT/environment.txt" 2>&1
cat "$OUT/environment.txt"

if ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "no CUDA here: the gpu tests would only be skipped" | tee -a "$OUT/environment.txt"
    exit 1
fi

if [ -d "$WHEELS" ]; then
    "$PY" -m pip install --no-index --find-links "$WHEELS" duckdb ConfigSpace openml \
        >"$OUT/pip.log" 2>&1 || { echo "pip install from $WHEELS failed (see pip.log)"; status=1; }
fi

echo "== tests marked gpu"
"$PY" -m pytest -m gpu -p no:cacheprovider -rA --junitxml="$OUT/gpu_tests.xml" \
    tests/test_pipelines_torch.py tests/test_runner_execute.py 2>&1 | tee "$OUT/gpu_tests.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== torch benchmark (CPU one thread, then CUDA)"
if [ -d "$METABASE_OPENML_DATA" ]; then
    METABASE_BENCH_RUNNER_PARTS=torch "$PY" -m pytest -m benchmark -p no:cacheprovider -s \
        tests/benchmarks/bench_runner.py 2>&1 | tee "$OUT/bench_torch.log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
    cp tests/benchmarks/results/runner.json "$OUT/runner_torch.json" 2>/dev/null || status=1
else
    echo "skipped: no OpenML data at $METABASE_OPENML_DATA" | tee "$OUT/bench_torch.log"
fi
exit "$status"
