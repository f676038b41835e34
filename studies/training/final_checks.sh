#!/usr/bin/env bash
# The final checks of one trained model on this CPU, after its recipe was chosen (never
# to choose one): export depths 2, 3, 6 raw (no PCA), then through the exported graphs STS-B
# test and SciFact test nDCG@10 (`ese-bench quality --task all`), and the held-out SNLI
# triplets (the first 2000, PyTorch, raw order; ese.studies.training.compare). Cheap checks
# first: SciFact test re-embeds its 5,183 documents per depth (about 20 min of an idle 2-core CPU).
#
#   bash studies/training/final_checks.sh MODEL_DIR NAME     # from the repository root
#
# Writes studies/training/results/cpu-teacher/NAME.{training_card.json,snli.md,snli.json,
# export-quality.json} and prints the grids; THREADS
# (default 2), DEPTHS (2,3,6), DIMS (384,128,64), PYTHON, DATA and RESULTS override.
set -euo pipefail
model=${1:?usage: final_checks.sh MODEL_DIR NAME}
name=${2:?usage: final_checks.sh MODEL_DIR NAME}
PY=${PYTHON:-.venv/bin/python}
BIN=$(dirname "$PY")
DATA=${DATA:-../shared/data}
RESULTS=${RESULTS:-studies/training/results/cpu-teacher}
THREADS=${THREADS:-2}
DEPTHS=${DEPTHS:-2,3,6}
DIMS=${DIMS:-384,128,64}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
[ -f "$model/training_card.json" ] || { echo "no finished ese-train model in $model" >&2; exit 2; }
mkdir -p "$RESULTS"
cp "$model/training_card.json" "$RESULTS/$name.training_card.json"
"$PY" -m ese.studies.training.compare --model "$name=$model" --threads "$THREADS" \
  --depths "$DEPTHS" --dims "$DIMS" --fit-limit 1000 --triplet-limit 2000 \
  --test "$DATA/stsb/sts-test.csv" --fit "$DATA/stsb/sts-train.csv" \
  --triplets "$DATA/nli/snli_dev_test.triplets.tsv" --out "$RESULTS/$name.snli.md" >/dev/null
"$BIN/ese-export" "$model" --depths "$DEPTHS" --projection none --out "exports/$name" --force --quiet
"$BIN/ese-bench" quality "exports/$name" --task all --depths "$DEPTHS" --dims "$DIMS" \
  --threads "$THREADS"
cp "exports/$name/reports/quality.json" "$RESULTS/$name.export-quality.json"
echo "final checks of $name: $RESULTS/$name.*"
