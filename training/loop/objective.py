"""The ESE objective (learn-to-express + learn-to-compress), fixed, and the reference's variant.

For a batch with pooled vectors ``h[l]`` after layer ``l`` (``Task``: losses.task_loss)::

    loss = sum_{w in widths_last} Task(h[L][:, :w]) + Distill(h[L][:, :k], sg(P_k(h[L])))
         + s / |S| * sum_{l in S} w_l * [ sum_{w in widths_shallow} Task(h[l][:, :w])
                                          + Distill(h[l][:, :k], sg(P_k(h[l]))) ]

Fixed (default): S = layers 1..L-1 (every transformer layer below the last), w_l = 1/(1+ln l)
(log-decayed, layer 1 weighs 1), widths = the size list at every depth (even, e.g. 32, 64, 128,
256, D), P_k a centred PCA from running moments (pca_target.py), s = --shallow-weight, by
default 2|S| = 2(L-1): each layer below the last weighs 2 w_l against the last layer's 1. Chosen
on STS-B dev (studies/training/RESULTS.md): the method's 1/(L-1) average (s = 1) trained
depths 2 and 3 3.9-4.5 points worse than s = L-1 at 120 steps; over the default recipe,
s = 2(L-1) beat L-1 by 0.2-0.5 points at depths 1-5 and lost 0.4-0.5 at depth 6.

Reference (``--reference``, angle_emb's AngleESETrainer): S = hidden states 0..L-2 (the embedding
output, and not layer L-1), w_i = 1/(1+ln(1+i)), widths_last = (D, k), widths_shallow = (k,),
P_k = the softmaxed-Gram randomised SVD, s = 1. The reference's teacher term (computed under
no_grad, so it never trains) is absent from both.

The frozen teacher (``teacher``, teacher.py; the base model as given by default) adds, at every
trained layer and with that layer's weight (1 at L, s / |S| * w_l below)::

    teacher_weight * (1 - cos(n(h[l]), t)) + teacher_sim_weight * MSE(n(h[l]) n(h[l])^T, t t^T)

where ``t`` is the teacher's final, normalised embedding of each text and ``n`` normalises.
With ``teacher_prefixes`` (``--teacher-prefixes``) the MSE is the mean over the whole vector and
each of the layer's trained widths w, with n(h[l][:, :w]) in place of n(h[l]). The term is taken
over the batch's labelled texts and its unlabelled ``--distill-text`` rows; the task and
compression terms see the labelled texts only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor

from ese.format.errors import UserError
from ese.training import recipe
from ese.training.loop.batches import Batch
from ese.training.loop.encoder import LayerwiseEncoder
from ese.training.loop.losses import TaskLossConfig, distill_loss, task_loss, teacher_loss
from ese.training.loop.pca_target import CompressionTarget, TargetKind
from ese.training.loop.teacher import Teacher
from ese.training.readers import Dataset, DistillTexts, ScoredPair, Triplet


@dataclass(frozen=True)
class ESEConfig:
    k: int = recipe.K
    temperature: float = recipe.TEMPERATURE
    widths: tuple[int, ...] = recipe.WIDTHS  # the hidden size D is always added
    reference: bool = False
    target: TargetKind = TargetKind.RUNNING
    shallow_weight: float | None = None  # None: 2(L-1) (fixed), 1 (reference)
    distill_weight: float = recipe.DISTILL_WEIGHT
    teacher_weight: float = recipe.TEACHER_WEIGHT
    teacher_sim_weight: float = recipe.TEACHER_SIM_WEIGHT
    teacher_prefixes: bool = False  # the structure term also at each trained width
    task: TaskLossConfig = field(default_factory=TaskLossConfig)

    def validate(self, hidden_size: int, num_layers: int) -> None:
        if num_layers < 2:
            raise UserError(f"ESE needs a model with 2 or more layers, this one has {num_layers}")
        for name, width in [("--k", self.k), *(("--widths", w) for w in self.widths)]:
            if not 2 <= width <= hidden_size:
                raise UserError(
                    f"{name} {width} is outside 2..{hidden_size} (the model's hidden size)"
                )
            if width % 2:
                raise UserError(
                    f"{name} {width} is odd: the angle loss splits vectors into halves, so every "
                    f"trained width must be even (use {width - 1} or {width + 1})"
                )
        if hidden_size % 2:
            raise UserError(f"the model's hidden size {hidden_size} is odd")
        if self.temperature <= 0:
            raise UserError(f"--temperature {self.temperature} must be positive")
        for name, value in (
            ("--teacher-weight", self.teacher_weight),
            ("--teacher-sim-weight", self.teacher_sim_weight),
        ):
            if not (math.isfinite(value) and value >= 0):
                raise UserError(f"{name} {value} must be a finite number, 0 or more")


def express_layers(num_layers: int, reference: bool) -> list[int]:
    """Hidden-state indices trained for learn-to-express besides the last layer L."""
    return list(range(0, num_layers - 1)) if reference else list(range(1, num_layers))


def layer_weight(layer: int, reference: bool) -> float:
    """Log-decayed weight; the shallowest trained layer weighs 1 in both variants."""
    return 1.0 / (1.0 + math.log(1 + layer)) if reference else 1.0 / (1.0 + math.log(layer))


def batch_texts(batch: Batch) -> tuple[list[str], Tensor | None]:
    """Column-stacked texts of a batch, and the gold scores (None for triplets)."""
    rows = batch.examples
    if isinstance(rows[0], Triplet):
        triplets = [r for r in rows if isinstance(r, Triplet)]
        texts = [t.anchor for t in triplets] + [t.positive for t in triplets]
        return texts + [t.negative for t in triplets], None
    pairs = [r for r in rows if isinstance(r, ScoredPair)]
    scores = torch.tensor([p.score for p in pairs], dtype=torch.float32)
    return [p.text1 for p in pairs] + [p.text2 for p in pairs], scores


def dataset_texts(datasets: list[Dataset]) -> list[str]:
    """Every text ``batch_texts`` can produce from these datasets (with repeats)."""
    texts: list[str] = []
    for dataset in datasets:
        for row in dataset.examples:
            if isinstance(row, Triplet):
                texts += [row.anchor, row.positive, row.negative]
            else:
                texts += [row.text1, row.text2]
    return texts


class ESEObjective:
    """Computes the ESE loss of a batch; holds the running PCA moments (part of a checkpoint)."""

    name = "ese"

    def __init__(
        self,
        encoder: LayerwiseEncoder,
        config: ESEConfig,
        teacher: Teacher | None = None,
        distill_texts: tuple[DistillTexts, ...] = (),
    ) -> None:
        config.validate(encoder.hidden_size, encoder.num_layers)
        if teacher is not None:
            teacher.check_student(encoder.hidden_size)
        self.encoder = encoder
        self.config = config
        self.teacher = teacher
        self.distill_texts = distill_texts
        kind = TargetKind.GRAM_SVD if config.reference else config.target
        self.target = CompressionTarget(kind, config.k)
        last = encoder.num_layers
        hidden = encoder.hidden_size
        self.shallow = express_layers(last, config.reference)
        if config.reference:
            self.widths_last: tuple[int, ...] = (hidden, config.k)
            self.widths_shallow: tuple[int, ...] = (config.k,)
        else:
            widths = tuple(sorted({*config.widths, hidden}))
            self.widths_last = self.widths_shallow = widths
        weight = config.shallow_weight
        if weight is None:
            weight = 1.0 if config.reference else recipe.SHALLOW_PER_LAYER * len(self.shallow)
        self.shallow_scale = weight / len(self.shallow)

    def _layer_loss(
        self,
        layer: int,
        h: Tensor,
        widths: tuple[int, ...],
        scores: Tensor | None,
        target: Tensor | None,
        rows: int,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """(task, compression, teacher) of one layer; the first ``rows`` of ``h`` are labelled."""
        labelled = h[:rows]
        task = sum(
            (task_loss(labelled[:, :w], scores, self.config.task) for w in widths),
            h.new_zeros(()),
        )
        k = self.config.k
        compress = distill_loss(
            labelled[:, :k], self.target(layer, labelled), self.config.temperature
        )
        taught = h.new_zeros(())
        if target is not None:
            prefixes = widths if self.config.teacher_prefixes else ()
            cosine, structure = teacher_loss(h, target, prefixes)
            taught = self.config.teacher_weight * cosine
            taught = taught + self.config.teacher_sim_weight * structure
        return task, compress * self.config.distill_weight, taught

    def loss(self, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        texts, scores = batch_texts(batch)
        rows = len(texts)
        if self.teacher is not None:
            texts = texts + list(batch.unlabelled)
        features = self.encoder.tokenize(texts)
        pooled = self.encoder.pooled_layers(features)
        device = pooled[0].device
        if scores is not None:
            scores = scores.to(device)
        target = None if self.teacher is None else self.teacher.targets(texts, device)
        last = self.encoder.num_layers
        task_last, distill_last, teacher_last = self._layer_loss(
            last, pooled[last], self.widths_last, scores, target, rows
        )
        sums = [pooled[0].new_zeros(()) for _ in range(3)]
        for layer in self.shallow:
            weight = layer_weight(layer, self.config.reference)
            terms = self._layer_loss(
                layer, pooled[layer], self.widths_shallow, scores, target, rows
            )
            sums = [total + weight * term for total, term in zip(sums, terms, strict=True)]
        scale = self.shallow_scale
        task_shallow, distill_shallow, teacher_shallow = sums
        total = task_last + distill_last + teacher_last
        total = total + scale * (task_shallow + distill_shallow + teacher_shallow)
        parts = {
            "task_last": task_last.item(),
            "distill_last": distill_last.item(),
            "task_shallow": task_shallow.item() * scale,
            "distill_shallow": distill_shallow.item() * scale,
        }
        if self.teacher is not None:
            parts["teacher_last"] = teacher_last.item()
            parts["teacher_shallow"] = teacher_shallow.item() * scale
        return total, parts

    def describe(self) -> dict[str, Any]:
        config = asdict(self.config)
        config["target"] = self.target.kind.value
        config["shallow_weight"] = self.shallow_scale * len(self.shallow)
        return {
            "method": "ese-reference" if self.config.reference else "ese",
            **config,
            "express_layers": self.shallow,
            "layer_weights": {i: layer_weight(i, self.config.reference) for i in self.shallow},
            "widths_last": list(self.widths_last),
            "widths_shallow": list(self.widths_shallow),
            "teacher_term": self._teacher_term(),
        }

    def _teacher_term(self) -> dict[str, Any] | str:
        if self.teacher is None:
            return "absent"
        return {
            "teacher": self.teacher.describe(),
            "weight": self.config.teacher_weight,
            "sim_weight": self.config.teacher_sim_weight,
            "prefixes": self.config.teacher_prefixes,
            "distill_texts": [texts.describe() for texts in self.distill_texts],
            "layers": [*self.shallow, self.encoder.num_layers],
        }

    def state_dict(self) -> dict[str, Tensor]:
        return self.target.state_dict()

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.target.load_state_dict(state)
