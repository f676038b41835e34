"""Write the trained model as a sentence-transformers directory that ese-export reads, atomically.

The model is saved (safetensors weights only) into the run's work directory, the card is added,
and the directory is then renamed to --out: an interrupted run never leaves a usable-looking
--out behind.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sentence_transformers import SentenceTransformer

from .card import CARD_JSON, CARD_MD, Card
from .errors import OutputExistsError, TrainingBug

WORK_SUFFIX = ".ese-train-work"


def work_dir_for(out: Path) -> Path:
    return out.with_name(out.name + WORK_SUFFIX)


def check_out(out: Path, force: bool) -> None:
    if out.exists() and not force:
        raise OutputExistsError(
            f"--out {out} exists: choose another path or add --force to replace it"
        )


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
        raise TrainingBug(
            f"{path}: expected model.safetensors and no pickle files, found {pickles}"
        )


def write_card(path: Path, card: Card) -> None:
    (path / CARD_JSON).write_text(json.dumps(card.data, indent=2) + "\n")
    (path / CARD_MD).write_text(card.to_markdown())


def publish(staged: Path, out: Path, force: bool) -> None:
    """Move the finished ``staged`` directory to ``out`` (replacing it only with ``force``)."""
    check_out(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    old = out.with_name(out.name + ".replaced")
    if out.exists():
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
    staged.rename(out)
    shutil.rmtree(old, ignore_errors=True)
