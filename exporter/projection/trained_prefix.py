"""Whether a model declares that its leading dimensions were trained (ESE, Matryoshka), and where.

A declared trained prefix is read at inference by its prefix, so ``--projection auto`` keeps the
model's own order at every depth (see ``choice``). Only declarations written by a tool are read,
never guessed from the weights:

1. ``--trained-prefix`` (the user declares it: an AnglE ESE model, or any model whose files do not
   say so);
2. ``training_card.json`` (written by ese-train) whose ``method`` is ese, ese-reference or
   matryoshka2d;
3. the model card sentence-transformers writes (``README.md``) whose YAML front matter tags the
   training loss ``loss:MatryoshkaLoss`` or ``loss:Matryoshka2dLoss``. sentence-transformers'
   trainer adds these tags itself; a model trained with ``model.fit`` before version 3 or whose
   card was rewritten carries none: declare it with ``--trained-prefix``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ese.format.errors import UserError

CARD_FILE = "training_card.json"
MODEL_CARD_FILE = "README.md"
TRAINED_PREFIX_FLAG = "--trained-prefix"
# ese-train methods whose training puts the information in the leading raw dimensions.
ORDER_TRAINED_METHODS = ("ese", "ese-reference", "matryoshka2d")
# sentence-transformers' model card tags for the losses that train a prefix.
MATRYOSHKA_TAGS = ("loss:MatryoshkaLoss", "loss:Matryoshka2dLoss")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(\r?\n|\Z)", re.DOTALL)
_TAG_LINE = re.compile(r"^[ \t]*-[ \t]*['\"]?(loss:[A-Za-z0-9_]+)['\"]?[ \t]*$", re.MULTILINE)


def card_method(model_path: Path) -> str | None:
    """``training_card.json``'s ``method`` (None without a card or a method)."""
    card = model_path / CARD_FILE
    if not card.is_file():
        return None
    try:
        data = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(
            f"{card} is not a readable training card ({exc}); restore it from the training run, "
            "or choose the projection yourself with --projection pca or --projection none"
        ) from exc
    method = data.get("method") if isinstance(data, dict) else None
    return str(method) if method is not None else None


def model_card_losses(model_path: Path) -> tuple[str, ...]:
    """The ``loss:NAME`` tags of ``README.md``'s YAML front matter (empty without any)."""
    readme = model_path / MODEL_CARD_FILE
    if not readme.is_file():
        return ()
    try:
        text = readme.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()  # a model card is documentation: an unreadable one declares nothing
    front = _FRONT_MATTER.match(text)
    return tuple(_TAG_LINE.findall(front.group(1))) if front else ()


def declared_trained_prefix(model_path: Path, flag: bool = False) -> str | None:
    """Where the model's trained prefix is declared (a phrase for the reason), or None."""
    if flag:
        return TRAINED_PREFIX_FLAG
    method = card_method(model_path)
    if method in ORDER_TRAINED_METHODS:
        return f"{CARD_FILE} says {method}"
    tags = [tag for tag in model_card_losses(model_path) if tag in MATRYOSHKA_TAGS]
    if tags:
        return f"{MODEL_CARD_FILE} (sentence-transformers model card) tags {', '.join(tags)}"
    return None
