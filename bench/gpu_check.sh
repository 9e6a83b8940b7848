#!/usr/bin/env bash
# Issue 20 §1-§2 on a GPU machine, in one go: every step under its own time limit, later
# steps running whatever an earlier one did, everything written to OUTDIR.
#
#   bash bench/gpu_check.sh OUTDIR
#
# Steps: env (nvidia-smi, python, torch, package versions); pytest -m gpu, side by side
# with the tiny study of tests/test_workflow.py through snakemake on device: cuda (with
# profiles/gpu) and on device: cpu, then how their metrics differ; paper_scale.py blocks
# (the pipeline's trainer against a plain one-model-at-a-time loop on mtfl_paper.yaml's
# blocks); gpu_profile.py (launches and GPU busy time per step); two whole (task,
# scenario) slices of mtfl_paper.yaml through snakemake (gender/none, gender/cae) and the
# whole study extrapolated from them. The paper config runs on synthetic faces of MTFL's
# size (10,000 + 2,995 faces, 64 px): the MTFL archive does not travel to a GPU machine.
#
# OUTDIR gets four files: summary.txt (each step's status and tables), logs.txt (each
# step's log), util.csv (GPU utilisation samples), artifacts.tar.gz (configs, metrics,
# Snakemake benchmarks and logs). Scratch work goes to a temporary folder and build/.
#
# Environment: PYTHON (default python3); GPU_CHECK_WHEELS=DIR installs the wheels in DIR
# first (into the scratch folder, put on PYTHONPATH); GPU_CHECK_BUDGET seconds for all
# steps (default 450); GPU_CHECK_TINY=1 tests the script on a CPU (device: cpu, tiny
# sizes, no time budget to speak of); GPU_CHECK_SKIP="NAME ..." skips the steps named,
# GPU_CHECK_ONLY="NAME ..." runs only those. On an H200 all of it takes about 15 minutes,
# more than one 15-minute device lease with its start: run it in two calls (docs/gpu.md),
#   GPU_CHECK_ONLY="env pytest_gpu tiny_cuda tiny_cuda_fp32 tiny_cpu tiny_compare paper_blocks profile slice_none"
#   GPU_CHECK_ONLY="slice_cae slice_report" GPU_CHECK_BUDGET=500
set -u

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1" && OUT=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-python3}
TINY=${GPU_CHECK_TINY:-0}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if [ "$TINY" = 1 ]; then
    DEVICE=cpu BUDGET=${GPU_CHECK_BUDGET:-3600} SCALE=6 CPU_CORES=2 TINY_FLAG=--tiny
else
    DEVICE=cuda BUDGET=${GPU_CHECK_BUDGET:-450} SCALE=1 CPU_CORES=8 TINY_FLAG=
fi
SKIP=" ${GPU_CHECK_SKIP:-} " ONLY=" ${GPU_CHECK_ONLY:-} "
SUMMARY=$OUT/summary.txt LOGS=$OUT/logs.txt STEPS=$WORK/steps.tsv UTIL=$OUT/util.csv
: >"$SUMMARY"; : >"$LOGS"; : >"$UTIL"
printf 'step\tstart\tend\trc\tlimit\n' >"$STEPS"
START=$(date +%s)
CONFIGS=$WORK/configs PAPER=$WORK/configs/paper_synthetic.yaml

say() { echo "$*" | tee -a "$SUMMARY"; }

# step NAME CAP RESERVE SUMMARY_LINES COMMAND...: run COMMAND for at most CAP seconds, less
# where fewer than RESERVE seconds of the budget would be left for the steps after it
# (both times SCALE: a 2-core CPU takes longer); its log goes to logs.txt, its last
# SUMMARY_LINES lines (0: all) to summary.txt.
step() {
    local name=$1 cap=$(($2 * SCALE)) reserve=$(($3 * SCALE)) lines=$4; shift 4
    local left=$((BUDGET - ($(date +%s) - START) - reserve))
    local limit=$((cap < left ? cap : left))
    local log=$WORK/$name.log
    if [[ "$SKIP" == *" $name "* ]] || { [ -n "${GPU_CHECK_ONLY:-}" ] && [[ "$ONLY" != *" $name "* ]]; }; then
        say "== $name: skipped (GPU_CHECK_SKIP or GPU_CHECK_ONLY)"
        return
    fi
    if [ "$limit" -lt 10 ]; then
        printf '%s\t%s\t%s\tskipped\t%s\n' "$name" "$(date +%s.%N)" "$(date +%s.%N)" "$limit" >>"$STEPS"
        say "== $name: skipped, ${limit} s left in the budget"
        return
    fi
    local began=$(date +%s.%N)
    timeout -k 10 "$limit" bash -c '"$@"' "$name" "$@" >"$log" 2>&1  # bash -c: COMMAND may be a function below
    local rc=$? ended=$(date +%s.%N)
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$began" "$ended" "$rc" "$limit" >>"$STEPS"
    local status="rc $rc"; [ "$rc" = 124 ] || [ "$rc" = 137 ] && status="TIMED OUT (rc $rc)"
    local seconds=$(awk -v a="$began" -v b="$ended" 'BEGIN {printf "%.0f", b - a}')
    {  # written whole, so that steps running side by side do not interleave their lines
        echo "== $name: $status, $seconds s (limit $limit s): $*"
        if [ "$lines" = 0 ]; then cat "$log"; else tail -n "$lines" "$log"; fi
        echo
    } >"$WORK/$name.summary"
    cat "$WORK/$name.summary" >>"$SUMMARY"
    { echo "==================== $name: $status, $seconds s: $*"; cat "$log"; echo; } >>"$LOGS"
    echo "== $name: $status, $seconds s"
}

env_facts() {
    date -u; uname -a; nproc; free -g | head -2
    command -v nvidia-smi >/dev/null && nvidia-smi
    "$PYTHON" - <<'EOF'
import sys, importlib.metadata as md
print("python", sys.version.split()[0], sys.executable)
for name in ["torch", "torchvision", "numpy", "pandas", "scipy", "matplotlib", "seaborn", "snakemake", "jsonschema",
             "zigzag-dse", "pulp", "onnx", "pyyaml", "pytest", "packaging", "pydantic"]:
    try:
        print(f"{name} {md.version(name)}")
    except md.PackageNotFoundError:
        print(f"{name} MISSING")
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(),
      "available", torch.cuda.is_available())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("device", p.name, f"{p.total_memory / 2**30:.0f} GiB", p.multi_processor_count, "SMs",
          "tf32 convolutions", torch.backends.cudnn.allow_tf32, "tf32 matmul", torch.backends.cuda.matmul.allow_tf32)
import snakemake, zigzag, jsonschema  # noqa: F401  the workflow's imports
print("snakemake, zigzag and jsonschema import")
EOF
}

sample_utilisation() {  # one line a second: unix time, GPU utilisation %, memory used MiB
    while :; do
        echo "$(date +%s.%N), $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits 2>/dev/null | head -1)"
        sleep 1
    done >>"$UTIL"
}

snakemake_tiny() {  # snakemake_tiny NAME DEVICE ARGS...: the tiny study in $WORK/NAME
    local name=$1 device=$2; shift 2
    "$PYTHON" -m snakemake --snakefile "$ROOT/Snakefile" --directory "$WORK/$name" --configfile "$CONFIGS/tiny.yaml" \
        --config device="$device" --keep-going "$@"
}

without_tf32() { NVIDIA_TF32_OVERRIDE=0 "$@"; }

paper_slice() {  # paper_slice SCENARIO: one (gender, SCENARIO) slice of the paper study
    # (its device is in $PAPER: a --config here would swallow the targets paper_scale.py puts last)
    "$PYTHON" bench/paper_scale.py --config "$PAPER" slice --task gender --scenario "$1" -- --workflow-profile profiles/gpu
}

export -f env_facts snakemake_tiny without_tf32 paper_slice
export PYTHON ROOT WORK CONFIGS PAPER DEVICE

if [ -n "${GPU_CHECK_WHEELS:-}" ]; then
    GPU_CHECK_ONLY= step install 60 0 3 "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$WORK/site" $(ls "$GPU_CHECK_WHEELS"/*.whl)
    export PYTHONPATH="$PYTHONPATH:$WORK/site"
fi
SAMPLER=
if command -v nvidia-smi >/dev/null; then sample_utilisation & SAMPLER=$!; fi

step env 30 400 0 env_facts
"$PYTHON" bench/gpu_check.py configs "$CONFIGS" --device "$DEVICE" $TINY_FLAG >>"$LOGS" 2>&1

# §1, side by side (nothing here is timed): pytest -m gpu; the tiny study on CUDA, on CUDA
# with TF32 off (NVIDIA_TF32_OVERRIDE=0: cuDNN and cuBLAS in full float32) and on the CPU
side_by_side=
step pytest_gpu 180 240 40 "$PYTHON" -m pytest -m gpu tests -v -rs -p no:cacheprovider --continue-on-collection-errors &
side_by_side="$side_by_side $!"
step tiny_cuda 180 240 8 snakemake_tiny tiny_cuda "$DEVICE" --workflow-profile profiles/gpu &
side_by_side="$side_by_side $!"
if [ "$DEVICE" = cuda ]; then
    step tiny_cuda_fp32 180 240 8 without_tf32 snakemake_tiny tiny_cuda_fp32 cuda --workflow-profile profiles/gpu &
    side_by_side="$side_by_side $!"
fi
step tiny_cpu 180 240 8 snakemake_tiny tiny_cpu cpu --cores "$CPU_CORES" &
wait $side_by_side $!
step tiny_compare 30 230 0 "$PYTHON" bench/gpu_check.py compare "$WORK/tiny_cpu/results" "$WORK/tiny_cuda/results" \
    "$WORK/tiny_cuda_fp32/results"

# §2, one step at a time on the GPU
step paper_blocks 140 130 0 "$PYTHON" bench/paper_scale.py --config "$PAPER" blocks --device "$DEVICE" --epochs 1
step profile 45 100 0 "$PYTHON" bench/gpu_profile.py --config "$PAPER" --device "$DEVICE"
step slice_none 120 15 3 paper_slice none
step slice_cae 420 15 3 paper_slice cae
wall=$(grep -ho '[0-9]* s wall' "$WORK/slice_cae.log" 2>/dev/null | grep -o '^[0-9]*')
if [ -z "$wall" ]; then wall=$(awk -F'\t' '$1 == "slice_cae" {printf "%.0f", $3 - $2}' "$STEPS"); fi
step slice_report 30 0 0 "$PYTHON" bench/gpu_check.py slice-report build/slice_gender_cae "$PAPER" \
    --none-folder build/slice_gender_none ${wall:+--slice-seconds "$wall"}

[ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
if [ -s "$UTIL" ]; then
    step utilisation 20 0 0 "$PYTHON" bench/gpu_check.py utilisation "$UTIL" "$STEPS"
fi
say "== steps (unix times)"; cat "$STEPS" >>"$SUMMARY"
say "== total $(($(date +%s) - START)) s"

# configs, logs, tables and benchmarks (no tensors) of every run
mkdir -p "$WORK/artifacts" && cp -r "$CONFIGS" "$STEPS" "$WORK"/*.log "$WORK/artifacts/"
for run in "$WORK/tiny_cuda" "$WORK/tiny_cuda_fp32" "$WORK/tiny_cpu" build/slice_gender_none build/slice_gender_cae; do
    [ -d "$run/results" ] || continue
    (cd "$run" && find results .snakemake/log -type f \( -name '*.csv' -o -name '*.tsv' -o -name '*.log' -o -name '*.md' \) \
        2>/dev/null | tar -cf - -T - 2>/dev/null) | (mkdir -p "$WORK/artifacts/$(basename "$run")" && tar -xf - -C "$WORK/artifacts/$(basename "$run")")
done
tar -czf "$OUT/artifacts.tar.gz" -C "$WORK" artifacts
echo "wrote $(ls "$OUT" | tr '\n' ' ')in $OUT"
