"""Which pooling the graphs fuse, and where that came from: never a guess.

1. ``--pooling NAME`` (the ``pooling`` argument) overrides everything;
2. else the sentence-transformers Pooling module (``modules.json`` + its ``config.json``) and
   AnglE's ``angle_config.json`` ``pooling_strategy``: either alone decides; a directory with
   both must have them agree (both are named in the source), else the export is refused with a
   ``PoolingError`` naming both and ``--pooling``;
4. else the ``pooling`` field of the ``ese-train`` training card;
4. else the export is refused with a ``PoolingError`` naming ``--pooling``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ese.exporter.errors import PoolingError
from ese.exporter.source.angle_config import ANGLE_FILE, ANGLE_STRATEGIES, AngleConfig
from ese.exporter.source.model_json import read_json_file
from ese.exporter.source.st_modules import StModules, st_pooling
from ese.format import Pooling
from ese.format.errors import UserError

CARD_FILE = "training_card.json"
# --pooling and the training card's names: AnglE's spellings and three more.
POOLING_NAMES = {
    **ANGLE_STRATEGIES,
    "sum": Pooling.SUM,
    "lasttoken": Pooling.LAST_TOKEN,
    "mean_sqrt_len": Pooling.MEAN_SQRT_LEN,
}


@dataclass(frozen=True)
class PoolingChoice:
    mode: Pooling
    source: str  # where it came from, as the manifest records it


def pooling_from_name(name: object, where: str) -> Pooling:
    """A pooling name as --pooling or a training card spells it."""
    if isinstance(name, Pooling):
        return name
    if isinstance(name, str) and name in POOLING_NAMES:
        return POOLING_NAMES[name]
    shown = repr(name)[:40] if isinstance(name, str) else f"a {type(name).__name__}"
    raise PoolingError(f"{where}: pooling {shown} is not one of {', '.join(POOLING_NAMES)}")


def card_pooling(value: object, where: str = CARD_FILE) -> Pooling | None:
    """The parsed training card's ``pooling`` field; None when the card has none."""
    if not isinstance(value, dict) or value.get("pooling") is None:
        return None
    return pooling_from_name(value["pooling"], where)


def _st_declared(path: Path, modules: StModules | None) -> PoolingChoice | None:
    found = st_pooling(path, modules) if modules is not None else None
    if found is None:
        return None
    return PoolingChoice(found[0], f"sentence-transformers Pooling module ({found[1]})")


def _angle_declared(angle: AngleConfig | None) -> PoolingChoice | None:
    if angle is None:
        return None
    strategy = angle.pooling_strategy
    shown = "not set: AnglE's default cls" if strategy is None else repr(strategy)
    return PoolingChoice(angle.pooling(), f"{ANGLE_FILE} pooling_strategy {shown}")


def _both(st: PoolingChoice, angle: PoolingChoice, path: Path) -> PoolingChoice:
    """A directory declaring its pooling twice: one choice naming both, or a refusal."""
    if st.mode is not angle.mode:
        raise PoolingError(
            f"{path} declares two poolings that disagree: {st.mode.value} in its "
            f"{st.source} and {angle.mode.value} in its {angle.source}; the exporter does not "
            "pick one: pass --pooling with the pooling the model was trained with"
        )
    return PoolingChoice(st.mode, f"{st.source}, and {angle.source}, agreeing")


def _declared(path: Path, modules: StModules | None, angle: AngleConfig | None) -> PoolingChoice:
    st, angled = _st_declared(path, modules), _angle_declared(angle)
    if st is not None and angled is not None:
        return _both(st, angled, path)
    single = st or angled
    if single is not None:
        return single
    card = path / CARD_FILE
    if card.is_file():
        try:
            mode = card_pooling(read_json_file(card), str(card))
        except PoolingError:
            raise
        except UserError as exc:  # an unreadable card
            raise UserError(f"{exc}; or pass --pooling") from exc
        if mode is not None:
            return PoolingChoice(mode, f"{CARD_FILE} pooling {mode.value}")
    raise PoolingError(
        f"{path} declares no pooling (no sentence-transformers Pooling module, no "
        f"{ANGLE_FILE}, no pooling in a {CARD_FILE}); the exporter does not guess: pass "
        f"--pooling with the pooling the model was trained with ({', '.join(POOLING_NAMES)})"
    )


def choose_pooling(
    path: Path,
    modules: StModules | None,
    angle: AngleConfig | None,
    requested: Pooling | str | None = None,
) -> PoolingChoice:
    """``requested`` when given, else the model's own declaration (see the module docstring)."""
    if requested is not None:
        mode = pooling_from_name(requested, "--pooling")
        source = f"--pooling {mode.value}"
        if modules is not None and modules.pooling_path is not None and angle is not None:
            source += f", over {_overridden(path, modules, angle)}"
        return PoolingChoice(mode, source)
    return _declared(path, modules, angle)


def _overridden(path: Path, modules: StModules, angle: AngleConfig) -> str:
    """Both declarations that ``--pooling`` settles, as the source names them."""
    try:
        st = _st_declared(path, modules)
        st_shown = f"{st.mode.value} in the {st.source}" if st else "the Pooling module"
    except PoolingError:  # one the graphs cannot reproduce: --pooling replaces it all the same
        st_shown = "an unsupported sentence-transformers Pooling module"
    strategy = "cls" if angle.pooling_strategy is None else angle.pooling_strategy
    return f"{st_shown} and {strategy!r} in {ANGLE_FILE}"
