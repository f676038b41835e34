#!/usr/bin/env bash
# The GPU comparison on an offline H100 / H200 machine: onnxruntime-gpu brought over in parts, then one
# measuring call (make bench-gpu: ONNX Runtime CUDA vs PyTorch fp16, fp16 parity, placement).
#
# Such a machine may have PyTorch + CUDA 13 libraries but a CPU-only onnxruntime, and take at
# most 64 MiB per transfer; the onnxruntime-gpu 1.31.1 wheel (CUDA 13) is 256 MB. So:
#
#   here:    scripts/gpu_run.sh prepare        # wheel parts, model, data; prints the calls
#   device:  scripts/gpu_run.sh part N         # one call per part, carry [".gpu-wheels/part-0N"]
#   device:  scripts/gpu_run.sh measure        # carry [".carry", ".whl"]: install, measure
#
# The calls must follow each other on the same machine (/tmp/gw lives on the machine, not in
# the repository). `measure` writes into $OUT: gpu-results.md / .json (every step, the goals,
# placement, parity, every shape against sentence-transformers), the ONNX Runtime profiles,
# the log and the GPU tests' output (8 files at most come back). Copy them to
# studies/results/gpu-<gpu>/ here and commit them. `make rehearse-gpu` runs the same
# measuring script on a CPU (ESE_GPU_PROVIDER=cpu): run it before spending GPU time.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
    prepare)  # here, once: parts in .gpu-wheels/, the model in .carry/, the STS-B test split
        for d in .gpu-wheels .carry; do
            git check-ignore -q "$d/x" || echo "/$d/" >> .git/info/exclude
        done
        ../shared/tools/gpu-wheel-parts .gpu-wheels 58 | tee /tmp/gpu-wheel-calls.txt
        .venv/bin/python scripts/device_model.py pack --data ../shared/data/stsb/sts-test.csv \
            --out .carry
        mkdir -p .carry/data/stsb && cp ../shared/data/stsb/sts-test.csv .carry/data/stsb/
        # The PyTorch side of the comparison is sentence-transformers (pure Python; the image
        # has torch and transformers): its wheel goes with the working tree, installed first.
        git check-ignore -q .whl/x || echo "/.whl/" >> .git/info/exclude
        .venv/bin/python -m pip download -q --no-deps -d .whl \
            "sentence-transformers==$(.venv/bin/python -c 'import sentence_transformers as s; print(s.__version__)')"
        head -1 /tmp/gpu-wheel-calls.txt | cut -d: -f1 > .carry/wheel-name
        du -sh .gpu-wheels/part-* .carry
        ;;
    part)  # device: keep one part
        n=$(printf "%02d" "${2:?usage: gpu_run.sh part N}")
        mkdir -p /tmp/gw && cp .gpu-wheels/part-"$n"/chunk-* /tmp/gw/ && ls -l /tmp/gw
        ;;
    measure)  # device: assemble, install, put the CUDA libraries on the path, measure
        OUT=${OUT:?the device tool sets OUT}
        exec > >(tee "$OUT/gpu-run.log") 2>&1
        wheel=/tmp/gw/$(cat .carry/wheel-name)
        cat /tmp/gw/chunk-* > "$wheel"
        python3 -m pip install -q --no-index --no-deps --target /tmp/site "$wheel"
        export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
        # libcublas / libcudnn of the image's nvidia-* packages, for the CUDA provider
        nv=$(python3 -c 'import nvidia, os; print(os.pathsep.join(nvidia.__path__))')
        libs=$(find ${nv//:/ } -name 'lib*.so*' -printf '%h\n' | sort -u | paste -sd:)
        export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
        python3 -c 'import onnxruntime as o; o.preload_dlls(); print(o.__version__, o.get_available_providers())'
        set +e
        ESE_GPU_PROVIDER=cuda PROFILE_SECONDS=${PROFILE_SECONDS:-40} RESULTS=/tmp/gpu-results \
            bash scripts/gpu_checks.sh bench
        rc=$?
        set -e
        # gpu-results.json holds every step, the placement, the parity and every shape.
        for f in gpu-results.md gpu-results.json profiles/*.json; do
            for g in /tmp/gpu-results/bench/$f; do [ -f "$g" ] && cp "$g" "$OUT/"; done
        done
        PYTHONPATH=$PWD/build/gpu-shim:$PYTHONPATH \
            python3 -m pytest tests/runtime/backends/test_cuda_path.py -m gpu -q -p no:cacheprovider \
            > "$OUT/pytest-gpu.txt" 2>&1 || true
        ls -l "$OUT"
        exit $rc
        ;;
    *)
        echo "usage: scripts/gpu_run.sh prepare | part N | measure" >&2
        exit 2
        ;;
esac
