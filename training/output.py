"""Write the trained model as a sentence-transformers directory that ese-export reads, atomically.

The model is saved (safetensors weights only) with its card into a temporary sibling of --out,
which is then renamed to --out (``ese.console.output_dir``): an interrupted run never leaves a
usable-looking --out, nor a hidden half-written one. ``--force`` replaces only a model directory
ese-train wrote (its marker file, or for older runs its training card).
"""

from __future__ import annotations

import json
from pathlib import Path

from sentence_transformers import SentenceTransformer

from ese.console import Inputs, OutputKind, check_output_dir, has_marker
from ese.format.errors import InternalError
from ese.training.card import CARD_JSON, CARD_MD, Card
from ese.training.checkpoint import CHECKPOINT

TOOL = "ese-train"
WORK_SUFFIX = ".ese-train-work"


def _trained_here(path: Path) -> bool:
    """ese-train's marker; a run from before the marker: a training card that is a JSON object."""
    if has_marker(path, TOOL):
        return True
    card = path / CARD_JSON
    if card.is_symlink() or not card.is_file():
        return False
    try:
        return isinstance(json.loads(card.read_text(encoding="utf-8")), dict)
    except (OSError, ValueError):
        return False


TRAINED_MODEL = OutputKind(
    TOOL, f"a model directory ese-train wrote (with its {CARD_JSON})", _trained_here, marks=True
)


def _work_here(path: Path) -> bool:
    return has_marker(path, TOOL) or (path / CHECKPOINT / "run.json").is_file()


# The work directory beside --out: checkpoints of an unfinished run (--resume continues it).
WORK_DIR = OutputKind(
    TOOL,
    "the work directory of an unfinished ese-train run",
    _work_here,
    marks=True,
    flag="work directory",
)


def work_dir_for(out: Path) -> Path:
    return out.with_name(out.name + WORK_SUFFIX)


def check_out(out: Path, force: bool, inputs: Inputs = ()) -> None:
    """Refuse an --out ese-train must not write or replace (see ese.console.output_dir)."""
    check_output_dir(out, TRAINED_MODEL, force=force, inputs=inputs)


def save_model_dir(model: SentenceTransformer, path: Path) -> None:
    """sentence-transformers layout; sentence_bert_config.json keeps max_seq_length."""
    model.save(str(path), create_model_card=False, safe_serialization=True)
    config_file = path / "sentence_bert_config.json"
    config = json.loads(config_file.read_text()) if config_file.is_file() else {}
    config.setdefault("max_seq_length", model.max_seq_length)
    config.setdefault("do_lower_case", False)
    config_file.write_text(json.dumps(config, indent=2) + "\n")
    pickles = [p.name for p in path.rglob("*") if p.suffix in (".bin", ".pt", ".pkl", ".pth")]
    if pickles or not (path / "model.safetensors").is_file():
        raise InternalError(
            f"{path}: expected model.safetensors and no pickle files, found {pickles}"
        )


def write_card(path: Path, card: Card) -> None:
    (path / CARD_JSON).write_text(json.dumps(card.data, indent=2) + "\n")
    (path / CARD_MD).write_text(card.to_markdown())
