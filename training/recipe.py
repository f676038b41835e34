"""The default ese-train recipe, in one place and torch-free.

``ese-train``'s parser shows these as its defaults without importing torch, and ``TrainSettings``
and ``ESEConfig`` take them as theirs, so a changed default is changed once. Each was chosen on
STS-B dev (studies/training/RESULTS.md).
"""

from __future__ import annotations

from ese.format.contract import DIMS_LADDER

EPOCHS = 4.0  # with lr 1e-4: chosen by ese.studies.training.selection over 3 seeds
BATCH_SIZE = 32
LR = 1e-4  # peak; 2e-4 gains at depths 2-3 but loses depth 6 off STS-B
WARMUP_RATIO = 0.1
SEED = 42
CHECKPOINT_EVERY = 100

K = 128  # compression size (learn-to-compress)
TEMPERATURE = 1.0
WIDTHS = DIMS_LADDER  # trained at every depth; the hidden size D is always added
# s = this x (L-1): each layer below the last weighs 2 w_l against the last layer's 1.
SHALLOW_PER_LAYER = 2.0
DISTILL_WEIGHT = 1.0
# The frozen teacher (the base model as given): its final embedding is a target at every trained
# depth, beside the task and compression terms: TEACHER_WEIGHT x (1 - cos) + TEACHER_SIM_WEIGHT x
# MSE of the in-batch cosine matrices, each layer weighted as its other terms are.
TEACHER_WEIGHT = 200.0
TEACHER_SIM_WEIGHT = 100.0
DISTILL_BATCH = 16  # unlabelled --distill-text rows added to each step's batch
