#!/usr/bin/env bash
# The default ese-train recipe on one CUDA GPU (e.g. an H100), with its peers:
# ESE (fixed), ESE with the method's 1/(L-1) average over the shallow layers (--shallow-weight 1),
# ESE --reference and sentence-transformers' Matryoshka2dLoss, each with the same data (STS-B
# train), steps, lr and seed (the defaults of training/recipe.py) and base model; then one table
# per (depth, dims) on STS-B dev (from each training card) and STS-B test (scored once, at the end).
#
#   bash studies/training/gpu_recipe.sh            # from the repository root; PYTHON, DATA, OUT override
#   MODEL=dir bash studies/training/gpu_recipe.sh  # a local base model instead of the bundled one
set -euo pipefail
PY=${PYTHON:-.venv/bin/python}
DATA=${DATA:-../shared/data}
OUT=${OUT:-${TMPDIR:-/tmp}/ese-gpu-recipe}
MODEL=${MODEL:-}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device visible to torch')"
"$PY" -c "import torch; print('device:', torch.cuda.get_device_name(0), 'torch', torch.__version__)"
mkdir -p "$OUT"
common=(--train "$DATA/stsb/sts-train.csv" --dev "$DATA/stsb/sts-dev.csv" --device cuda
        --no-progress --force)
for run in "ese:" "ese-average:--shallow-weight 1" "ese-reference:--reference" \
           "matryoshka2d:--method matryoshka2d"; do
  name=${run%%:*}; extra=${run#*:}
  start=$(date +%s)
  # shellcheck disable=SC2086
  "$PY" -m ese.training.cli ${MODEL:+"$MODEL"} "${common[@]}" $extra --out "$OUT/$name" | tail -n 10
  echo "$name: $(( $(date +%s) - start )) s wall (training + dev evaluations)"
done
"$PY" -m ese.studies.training.compare --device cuda --depths 1,2,3,4,5,6 --dims 384,128,64,32 \
  --model "base=${MODEL:-bundled}" --model "ese=$OUT/ese" --model "ese-average=$OUT/ese-average" \
  --model "ese-reference=$OUT/ese-reference" \
  --model "matryoshka2d=$OUT/matryoshka2d" \
  --test "$DATA/stsb/sts-test.csv" --fit "$DATA/stsb/sts-train.csv" \
  --triplets "$DATA/nli/snli_dev_test.triplets.tsv" --out "$OUT/report.md"
echo "report: $OUT/report.md"
