"""The training card (README.md + training_card.json): what was trained, on what, how, how well.

Written by ``build_card``; read back by :func:`read_card`, which validates every field it
returns (a card is outside data once it leaves the run: copied, edited, truncated). The reading
side needs only the standard library and ``ese.runtime``, so it imports without torch.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ese.format import Field
from ese.format.errors import UserError

if TYPE_CHECKING:
    from ese.training.loop.trainer import TrainResult
    from ese.training.readers import Dataset

CARD_JSON = "training_card.json"
CARD_MD = "README.md"
CARD_ADVICE = "restore the card from the training run, or train again"
MAX_DEPTH = 1000
MAX_WIDTH = 1 << 20
MAX_STEPS = 1 << 40

DevGrid = dict[int, dict[int, float]]  # depth -> width -> STS-B dev Spearman x 100


@dataclass(frozen=True)
class CardSummary:
    """What other tools read from a training card: the method, the run's size, its dev scores."""

    method: str
    base_model: str
    steps: int
    epochs: float
    seconds: float
    seed: int
    dev_evaluations: tuple[tuple[int, DevGrid], ...]  # (step, grid), in training order

    @classmethod
    def from_json(cls, data: Any, source: str = CARD_JSON) -> CardSummary:
        f = Field.root(data, source, UserError, CARD_ADVICE)
        evaluations = f.get("dev_evaluations")
        return cls(
            method=f["method"].as_str(nonempty=True),
            base_model=f["base_model"].as_str(),
            steps=f["steps"].as_int(0, MAX_STEPS),
            epochs=f["epochs"].as_float(0.0),
            seconds=f["seconds"].as_float(0.0),
            seed=f["settings"]["seed"].as_int(-(1 << 63), (1 << 63) - 1),
            dev_evaluations=tuple(_evaluation(e) for e in evaluations.elements())
            if evaluations
            else (),
        )


def _evaluation(f: Field) -> tuple[int, DevGrid]:
    grid = {
        f["grid"].as_int_key(depth, 1, MAX_DEPTH): {
            row.as_int_key(width, 1, MAX_WIDTH): score.as_float(-100.0, 100.0)
            for width, score in row.items()
        }
        for depth, row in f["grid"].items()
    }
    return f["step"].as_int(0, MAX_STEPS), grid


def read_card(model_dir: Path) -> CardSummary:
    """``model_dir/training_card.json``, checked; ``UserError`` naming the field otherwise."""
    path = Path(model_dir) / CARD_JSON
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise UserError(
            f"{model_dir} has no {CARD_JSON}: it is not a model directory ese-train wrote"
        ) from None
    except (OSError, ValueError, RecursionError) as exc:  # unreadable, not UTF-8, not JSON
        raise UserError(f"cannot read the training card {path} ({exc}); {CARD_ADVICE}") from None
    return CardSummary.from_json(data, source=str(path))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_entry(dataset: Dataset) -> dict[str, Any]:
    return {
        "path": str(dataset.path),
        "format": dataset.format.value,
        "rows": len(dataset),
        "sha256": file_sha256(dataset.path),
    }


def _versions() -> dict[str, str]:
    import sentence_transformers
    import torch
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "sentence_transformers": sentence_transformers.__version__,
    }


def _loss_summary(history: list[dict[str, float]], steps_per_epoch: int) -> list[dict[str, Any]]:
    """Mean of every logged quantity per epoch (the last epoch may be partial)."""
    summary = []
    for start in range(0, len(history), steps_per_epoch):
        chunk = history[start : start + steps_per_epoch]
        keys = [k for k in chunk[0] if k not in ("step", "lr")]
        means = {k: round(sum(r[k] for r in chunk) / len(chunk), 5) for k in keys}
        summary.append({"epoch": start // steps_per_epoch + 1, "steps": len(chunk), **means})
    return summary


@dataclass(frozen=True)
class Card:
    data: dict[str, Any]

    def to_markdown(self) -> str:
        from ese.training.evaluate import format_grid
        from ese.training.loop.trainer import Evaluation

        d = self.data
        lines = [
            f"# {d['method']} fine-tune of {d['base_model']}",
            "",
            f"Trained by `ese-train` ({d['objective']['method']}); seed {d['settings']['seed']}, "
            f"{d['steps']} steps of batch {d['settings']['batch_size']} "
            f"({d['epochs']:.2f} epochs), lr {d['settings']['lr']}, "
            f"{d['seconds'] / 60:.1f} min on {d['device']}.",
            "",
            "## Data",
            "",
            *(f"- train: `{t['path']}` ({t['format']}, {t['rows']} rows)" for t in d["train"]),
            f"- dev: `{d['dev']['path']}` ({d['dev']['rows']} pairs)"
            if d["dev"]
            else "- dev: none",
            "",
            "## Objective",
            "",
            "```",
            *(f"{k}: {v}" for k, v in d["objective"].items()),
            "```",
            "",
            "## Loss per epoch (means)",
            "",
            *(f"- {row}" for row in d["loss_per_epoch"]),
        ]
        if d["dev_evaluations"]:
            final = Evaluation.from_json(d["dev_evaluations"][-1])
            lines += [
                "",
                f"## STS-B dev, Spearman x 100, raw dimension order (step {final.step})",
                "",
                format_grid(final.grid),
            ]
            if d["dev_evaluations"][0]["step"] == 0:
                lines += ["", "Before training (step 0):", ""]
                lines.append(format_grid(Evaluation.from_json(d["dev_evaluations"][0]).grid))
        lines += ["", f"Tool versions: {d['versions']}", ""]
        return "\n".join(lines)


def build_card(
    *,
    base_model: str,
    objective: dict[str, Any],
    settings: dict[str, Any],
    train: list[Dataset],
    dev: Dataset | None,
    result: TrainResult,
    steps_per_epoch: int,
    device: str,
    seconds: float,
) -> Card:
    return Card(
        {
            "base_model": base_model,
            "method": objective["method"],
            "objective": objective,
            "settings": settings,
            "train": [dataset_entry(t) for t in train],
            "dev": dataset_entry(dev) if dev else None,
            "steps": result.steps,
            "steps_per_epoch": steps_per_epoch,
            "epochs": result.steps / steps_per_epoch,
            "seconds": seconds,
            "device": device,
            "loss_per_epoch": _loss_summary(result.history, steps_per_epoch),
            "loss_first_step": result.history[0]["loss"] if result.history else None,
            "loss_last_step": result.history[-1]["loss"] if result.history else None,
            "dev_evaluations": [e.to_json() for e in result.evaluations],
            "versions": _versions(),
        }
    )
