"""The training loop: batches from a BatchPlan, an objective, AdamW with linear warm-up/decay,
dev evaluation per depth and width, checkpoints, and an exact resume."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor

from ese.format.contract import DIMS_LADDER
from ese.format.errors import UserError
from ese.training import recipe
from ese.training.checkpoint import TrainerState, load_checkpoint, save_checkpoint
from ese.training.evaluate import Grid, grid_from_json, sts_grid
from ese.training.loop.batches import Batch, BatchPlan
from ese.training.loop.encoder import LayerwiseEncoder
from ese.training.loop.layer_lr import layer_param_groups
from ese.training.readers import Dataset


class Objective(Protocol):
    name: str

    def loss(self, batch: Batch) -> tuple[Tensor, dict[str, float]]: ...
    def describe(self) -> dict[str, Any]: ...
    def state_dict(self) -> dict[str, Tensor]: ...
    def load_state_dict(self, state: dict[str, Tensor]) -> None: ...


@dataclass(frozen=True)
class TrainSettings:
    steps: int
    batch_size: int = recipe.BATCH_SIZE
    lr: float = recipe.LR
    warmup_ratio: float = recipe.WARMUP_RATIO
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    seed: int = recipe.SEED
    eval_every: int = 0  # steps between dev evaluations; 0: once per epoch
    eval_at_start: bool = True
    checkpoint_every: int = recipe.CHECKPOINT_EVERY
    eval_widths: tuple[int, ...] = DIMS_LADDER
    layer_lr_scales: tuple[float, ...] = ()  # per transformer layer, x lr; () = all at lr
    distill_batch: int = recipe.DISTILL_BATCH  # unlabelled texts per step (teacher term only)

    def validate(self) -> None:
        if self.steps < 1:
            raise UserError(f"--steps {self.steps} must be 1 or more")
        if not self.lr > 0:
            raise UserError(f"--lr {self.lr} must be positive")


@dataclass
class Evaluation:
    step: int
    grid: Grid

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "grid": {str(d): {str(w): s for w, s in r.items()} for d, r in self.grid.items()},
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Evaluation:
        return Evaluation(int(data["step"]), grid_from_json(data["grid"]))


@dataclass
class TrainResult:
    steps: int
    history: list[dict[str, float]]
    evaluations: list[Evaluation]
    seconds: float
    finished: bool
    resumed_from: int | None = None


@dataclass
class Callbacks:
    on_step: Callable[[int, int, dict[str, float]], None] = lambda step, total, parts: None
    on_eval: Callable[[Evaluation], None] = lambda evaluation: None
    on_checkpoint: Callable[[int, Path], None] = lambda step, path: None


def _schedule(total: int, warmup_ratio: float) -> Callable[[int], float]:
    warmup = max(1, int(total * warmup_ratio))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class Trainer:
    encoder: LayerwiseEncoder
    objective: Objective
    plan: BatchPlan
    settings: TrainSettings
    workdir: Path
    dev: Dataset | None = None
    fingerprint: dict[str, Any] = field(default_factory=dict)
    callbacks: Callbacks = field(default_factory=Callbacks)

    def __post_init__(self) -> None:
        self.settings.validate()
        model = self.encoder.model
        groups = layer_param_groups(
            model, self.settings.lr, self.settings.layer_lr_scales, self.encoder.num_layers
        )
        self.optimizer = torch.optim.AdamW(groups, weight_decay=self.settings.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, _schedule(self.settings.steps, self.settings.warmup_ratio)
        )

    @property
    def eval_every(self) -> int:
        return self.settings.eval_every or self.plan.steps_per_epoch

    def evaluate(self, step: int) -> Evaluation | None:
        if self.dev is None:
            return None
        depths = list(range(1, self.encoder.num_layers + 1))
        widths = sorted({*self.settings.eval_widths, self.encoder.hidden_size})
        widths = [w for w in widths if w <= self.encoder.hidden_size]
        evaluation = Evaluation(step, sts_grid(self.encoder, self.dev, depths, widths))
        self.callbacks.on_eval(evaluation)
        return evaluation

    def _checkpoint(
        self, step: int, history: list[dict[str, float]], evals: list[Evaluation]
    ) -> None:
        state = TrainerState(
            step=step,
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict(),
            history=history,
            evaluations=[e.to_json() for e in evals],
        )
        path = save_checkpoint(
            self.workdir, self.encoder.model, self.objective.state_dict(), state, self.fingerprint
        )
        self.callbacks.on_checkpoint(step, path)

    def run(self, resume: bool = False, stop_after: int | None = None) -> TrainResult:
        """Train to ``settings.steps`` (or stop, with a checkpoint, after ``stop_after`` steps)."""
        started = time.perf_counter()
        model = self.encoder.model
        history: list[dict[str, float]] = []
        evaluations: list[Evaluation] = []
        step = 0
        resumed_from = None
        if resume:
            state, objective_state = load_checkpoint(self.workdir, model, self.fingerprint)
            self.optimizer.load_state_dict(state.optimizer)
            self.scheduler.load_state_dict(state.scheduler)
            self.objective.load_state_dict(objective_state)
            step = resumed_from = state.step
            history = state.history
            evaluations = [Evaluation.from_json(e) for e in state.evaluations]
        else:
            seed_everything(self.settings.seed)
            if self.settings.eval_at_start and (first := self.evaluate(0)) is not None:
                evaluations.append(first)
        total = self.settings.steps
        end = total if stop_after is None else min(total, stop_after)
        model.train()
        while step < end:
            loss, parts = self.objective.loss(self.plan.batch(step))
            if not torch.isfinite(loss):
                raise UserError(
                    f"loss {loss.item()} at step {step + 1}: lower --lr (now {self.settings.lr})"
                )
            loss.backward()
            if self.settings.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), self.settings.max_grad_norm)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)
            step += 1
            record: dict[str, float] = {
                "step": float(step),
                "loss": loss.item(),
                "lr": float(self.scheduler.get_last_lr()[0]),
                **parts,
            }
            history.append(record)
            self.callbacks.on_step(step, total, record)
            if step % self.eval_every == 0 or step == total:
                if (evaluation := self.evaluate(step)) is not None:
                    evaluations.append(evaluation)
                model.train()
            if step % self.settings.checkpoint_every == 0 or step == end:
                self._checkpoint(step, history, evaluations)
        return TrainResult(
            steps=step,
            history=history,
            evaluations=evaluations,
            seconds=time.perf_counter() - started,
            finished=step >= total,
            resumed_from=resumed_from,
        )


def settings_json(settings: TrainSettings) -> dict[str, Any]:
    data = asdict(settings)
    data["eval_widths"] = list(settings.eval_widths)
    data["layer_lr_scales"] = list(settings.layer_lr_scales)
    return data
