"""Checkpoints: everything a run needs to continue bit-for-bit where it stopped.

A checkpoint directory holds ``model.safetensors`` (the weights), ``objective.safetensors`` (the
objective's state, e.g. running PCA moments), ``trainer.pt`` (optimizer, schedule, RNG states,
step, history; loaded with ``weights_only=True``, so no code is unpickled) and ``run.json``
(the settings fingerprint a resume must match). It is written to a temporary sibling and
renamed into place (``ese.console.output_dir``), so an interrupted save never leaves a half
checkpoint, nor its temporary directory.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, load_model, save_file, save_model
from torch import nn

from ese.console import OutputKind, staged_output_dir
from ese.format.errors import UserError

CHECKPOINT = "checkpoint"


def _checkpoint_here(path: Path) -> bool:
    return (path / "run.json").is_file() and (path / "trainer.pt").is_file()


# A save replaces the previous checkpoint, and nothing else, whole or not at all.
CHECKPOINT_KIND = OutputKind(
    "ese-train", "a checkpoint (run.json and trainer.pt)", _checkpoint_here, flag="checkpoint"
)


@dataclass
class TrainerState:
    step: int
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    history: list[dict[str, float]]
    evaluations: list[dict[str, Any]]


def _rng_state() -> dict[str, Any]:
    version, internal, gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": [version, list(internal), gauss],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    workdir: Path,
    model: nn.Module,
    objective_state: dict[str, torch.Tensor],
    trainer: TrainerState,
    fingerprint: dict[str, Any],
) -> Path:
    final = workdir / CHECKPOINT
    with staged_output_dir(final, CHECKPOINT_KIND, force=True) as staging:
        save_model(model, str(staging / "model.safetensors"))
        save_file(
            {k: v.detach().cpu().contiguous() for k, v in objective_state.items()},
            str(staging / "objective.safetensors"),
        )
        torch.save(
            {
                "step": trainer.step,
                "optimizer": trainer.optimizer,
                "scheduler": trainer.scheduler,
                "history": trainer.history,
                "evaluations": json.dumps(trainer.evaluations),
                "rng": _rng_state(),
            },
            staging / "trainer.pt",
        )
        (staging / "run.json").write_text(json.dumps(fingerprint, indent=2, sort_keys=True) + "\n")
    return final


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}: so a mismatch names the one setting that differs."""
    if not isinstance(data, dict):
        return {prefix: data}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def load_checkpoint(
    workdir: Path, model: nn.Module, fingerprint: dict[str, Any]
) -> tuple[TrainerState, dict[str, torch.Tensor]]:
    """Restore the weights and RNG states; the optimizer and schedule states are returned."""
    path = workdir / CHECKPOINT
    if not (path / "trainer.pt").is_file():
        raise UserError(
            f"--resume: no checkpoint in {path}; start without --resume (add --force to "
            "discard the unfinished run's directory)"
        )
    saved = _flatten(json.loads((path / "run.json").read_text()))
    now = _flatten(json.loads(json.dumps(fingerprint)))
    changed = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
    if changed:
        details = "; ".join(f"{k} was {saved.get(k)!r}, now {now.get(k)!r}" for k in changed)
        raise UserError(
            f"--resume: the checkpoint in {path} was made with other settings ({details}); "
            "resume with the same settings, or start over with --force"
        )
    load_model(model, str(path / "model.safetensors"))
    data = torch.load(path / "trainer.pt", weights_only=True)
    _set_rng_state(data["rng"])
    state = TrainerState(
        step=int(data["step"]),
        optimizer=data["optimizer"],
        scheduler=data["scheduler"],
        history=list(data["history"]),
        evaluations=json.loads(data["evaluations"]),
    )
    return state, load_file(str(path / "objective.safetensors"))
