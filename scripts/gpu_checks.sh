#!/usr/bin/env bash
# Every check that needs a CUDA GPU, for an H100/H200 machine (PyTorch + CUDA, a CPU-only
# onnxruntime, no TensorRT, no network). Three parts, each under 10 minutes:
#
#   scripts/gpu_checks.sh bench   # make bench-gpu: ONNX Runtime CUDA vs PyTorch fp16 + report
#                                 # (onnxruntime-gpu on a CPU-only image: scripts/gpu_run.sh);
#                                 # ESE_GPU_PROVIDER=cpu rehearses it on a CPU (make rehearse-gpu)
#   scripts/gpu_checks.sh train   # the default ese-train recipe and its peers on CUDA + report
#   scripts/gpu_checks.sh sweep   # candidate recipes x seeds, chosen by ese.studies.training.selection
#
# Where the device lacks our pinned versions or the data, carry them (see each file's header):
# wheels in .whl/ are installed first; .carry/base (scripts/device_model.py pack) becomes MODEL
# and .carry/data becomes DATA.
#
# MODEL (a local model directory; default the bundled one), DATA (default ../shared/data),
# PYTHON (default python3), RESULTS (default build/gpu-checks) and BENCH_RESULTS (bench's
# results; default RESULTS/bench) override.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DATA=${DATA:-../shared/data}
RESULTS=${RESULTS:-build/gpu-checks}
mkdir -p "$RESULTS"

# The ese.* packages through PYTHONPATH: nothing to install on an offline machine.
source scripts/ese_path.sh
ese_path "$PWD"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
if compgen -G ".whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/ese-site .whl/*.whl
    export PYTHONPATH=/tmp/ese-site${PYTHONPATH:+:$PYTHONPATH}
fi
if [ -z "${MODEL:-}" ] && [ -f .carry/base/model.fp16.safetensors.gz ]; then
    "$PY" scripts/device_model.py unpack .carry/base /tmp/ese-base
    MODEL=/tmp/ese-base
    DATA=.carry/data
fi
if command -v nvidia-smi >/dev/null; then nvidia-smi -L || true; fi
"$PY" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'

case "${1:-}" in
    bench)  # ESE_GPU_PROVIDER=cpu: the rehearsal (make rehearse-gpu); default cuda
        PYTHON=$PY MODEL=${MODEL:-} DATA=$DATA RESULTS=${BENCH_RESULTS:-$RESULTS/bench} \
            PROFILE_SECONDS=${PROFILE_SECONDS:-100} SEQS=${SEQS:-16,128,256} \
            bash studies/gpu_profile.sh
        ;;
    train)
        PYTHON=$PY MODEL=${MODEL:-} DATA=$DATA OUT=$RESULTS/train bash studies/training/gpu_recipe.sh
        ;;
    sweep)
        PYTHON=$PY MODEL=${MODEL:-} DATA=$DATA OUT=$RESULTS/sweep bash studies/training/gpu_sweep.sh
        ;;
    *)
        echo "usage: scripts/gpu_checks.sh bench|train|sweep" >&2
        exit 2
        ;;
esac
