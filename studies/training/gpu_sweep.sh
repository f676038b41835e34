#!/usr/bin/env bash
# Candidate ese-train recipes x seeds on one CUDA GPU, several runs at a time, then the recipe
# chosen by the rule in ese.studies.training.selection (STS-B dev + the SNLI selection split; never test).
# Seed-major order: when SWEEP_SECONDS runs out, only the seeds every candidate finished count.
#
#   bash studies/training/gpu_sweep.sh     # PYTHON, MODEL, DATA, OUT, SEEDS, JOBS, SWEEP_SECONDS override
#   DEVICE=cpu EXTRA="--steps 2" SEEDS=42 bash studies/training/gpu_sweep.sh   # a smoke test of the script
set -uo pipefail
PY=${PYTHON:-.venv/bin/python}
DATA=${DATA:-../shared/data}
OUT=${OUT:-${TMPDIR:-/tmp}/ese-gpu-sweep}
SEEDS=${SEEDS:-42 43 44 45 46}
JOBS=${JOBS:-7}
SWEEP_SECONDS=${SWEEP_SECONDS:-330}
DEVICE=${DEVICE:-cuda}
EXTRA=${EXTRA:-}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=2
REFERENCE=lr1e-4  # the 3-epoch lr 1e-4 recipe: held depth 6 on test; the guard compares with it
CANDIDATES=(  # the recipe candidates, each spelled out in full: they must not move with the defaults
    "lr1e-4:--lr 1e-4 --epochs 3 --no-teacher"
    "lr2e-4:--lr 2e-4 --epochs 3 --no-teacher"
    "lr1.5e-4:--lr 1.5e-4 --epochs 3 --no-teacher"
    "lr2e-4-upper0.5:--lr 2e-4 --epochs 3 --layer-lr-scales 1,1,1,0.5,0.5,0.5 --no-teacher"
    "lr2e-4-decay0.87:--lr 2e-4 --epochs 3 --layer-lr-scales 1,0.87,0.76,0.66,0.57,0.5 --no-teacher"
    "lr1e-4-sw20:--lr 1e-4 --epochs 3 --shallow-weight 20 --no-teacher"
    "lr1e-4-ep4:--lr 1e-4 --epochs 4 --no-teacher"
)
runs=$OUT/runs
mkdir -p "$runs"
jobs=()
for seed in $SEEDS; do
    for c in "${CANDIDATES[@]}"; do
        jobs+=("${c%%:*}|$seed|${c#*:}")
    done
done
one_run() {  # NAME|SEED|EXTRA: train, then cache the run's SNLI-selection scores
    IFS='|' read -r name seed extra <<<"$1"
    dir=$runs/$name-s$seed
    [ -f "$dir/selection_scores.json" ] && { echo "$name seed $seed: done before"; return; }
    start=$(date +%s)
    # shellcheck disable=SC2086
    "$PY" -m ese.training.cli ${MODEL:+"$MODEL"} --train "$DATA/stsb/sts-train.csv" \
        --dev "$DATA/stsb/sts-dev.csv" --device "$DEVICE" --threads 2 --no-progress --force \
        --no-start-eval --eval-every 1000000 --checkpoint-every 1000000 --seed "$seed" \
        $extra $EXTRA --out "$dir" >"$dir.log" 2>&1 &&
        "$PY" -m ese.studies.training.selection --score-only --device "$DEVICE" --reference "$name" \
            --model "$name=$dir" --triplets "$DATA/nli/snli_dev_test.triplets.tsv" \
            >>"$dir.log" 2>&1
    echo "$name seed $seed: rc $? in $(($(date +%s) - start)) s"
}
export -f one_run
export PY DATA MODEL runs DEVICE EXTRA
# Preflight: three steps and a score of the reference, so a broken setup fails in seconds.
EXTRA="$EXTRA --steps 3" runs=$OUT/preflight bash -c 'mkdir -p "$runs"; one_run "$1"' _ \
    "${CANDIDATES[0]%%:*}|42|${CANDIDATES[0]#*:}"
[ -f "$OUT/preflight/${CANDIDATES[0]%%:*}-s42/selection_scores.json" ] || {
    tail -n 40 "$OUT"/preflight/*.log
    exit 1
}
printf '%s\n' "${jobs[@]}" | timeout "$SWEEP_SECONDS" xargs -P "$JOBS" -I{} bash -c 'one_run "$@"' _ {}
models=()
for seed in $SEEDS; do  # a seed counts only when every candidate finished it
    complete=1
    for c in "${CANDIDATES[@]}"; do
        [ -f "$runs/${c%%:*}-s$seed/selection_scores.json" ] || complete=0
    done
    [ $complete = 1 ] || { echo "seed $seed: not every candidate finished; left out"; continue; }
    for c in "${CANDIDATES[@]}"; do models+=(--model "${c%%:*}=$runs/${c%%:*}-s$seed"); done
done
[ ${#models[@]} -gt 0 ] || { echo "no seed finished for every candidate"; exit 1; }
"$PY" -m ese.studies.training.selection --device "$DEVICE" --reference "$REFERENCE" "${models[@]}" \
    --triplets "$DATA/nli/snli_dev_test.triplets.tsv" --out "$OUT/selection.md"
