"""Labelled sentence sets an export measures its quality on: the shipped probe or --quality-set.

Three formats, told apart by what the file states, never by guessing from its content:

- **triplets**: tab-separated, first line the header ``anchor<TAB>positive<TAB>negative``; the
  score is the accuracy x 100 of cos(anchor, positive) > cos(anchor, negative).
- **pairs**: tab-separated, first line the header ``sentence1<TAB>sentence2<TAB>score``, the
  score any number (higher: more similar); the score is Spearman x 100 of cosine vs score.
- **STS-B**: the original distribution, a ``.csv`` file with no header (tab-separated; genre,
  source, year, id, score, sentence1, sentence2); scored like pairs.

A first line that is one of the two headers decides, whatever the file's name; a file without
either header is read as STS-B only when its name ends in ``.csv`` (and refused when its rows
are not STS-B rows); any other file without a header is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ese.exporter.variants.stsb import read_stsb
from ese.format.errors import UserError

TRIPLETS = "triplets"
PAIRS = "pairs"
STSB = "stsb"
TRIPLET_HEADER = ("anchor", "positive", "negative")
PAIR_HEADER = ("sentence1", "sentence2", "score")

# Task names under which the grid is recorded in the manifest (per graph, ``quality``).
PROBE_TASK = "snli-probe"
QUALITY_SET_TASK = "quality-set"
PROBE_SOURCE = "default: 1,000 SNLI 1.0 test triplets (CC BY-SA 4.0), ese/exporter/data/probe.tsv"
MIN_EXAMPLES = 10

FORMATS_HELP = (
    "a triplets file (header anchor<TAB>positive<TAB>negative), a pairs file "
    "(header sentence1<TAB>sentence2<TAB>score) or an STS-B split (.csv, no header, 7 columns)"
)


@dataclass(frozen=True)
class QualitySet:
    """Distinct ``texts`` and the examples over them, as rows of indices into ``texts``.

    ``rows`` is [n, 3] (anchor, positive, negative) for triplets and [n, 2] for pairs, whose
    ``scores`` hold the gold similarity.
    """

    task: str
    layout: str
    source: str
    sha256: str
    texts: tuple[str, ...]
    rows: np.ndarray
    scores: np.ndarray | None

    @property
    def metric(self) -> str:
        if self.layout == TRIPLETS:
            return "triplet accuracy x 100: cos(anchor, positive) > cos(anchor, negative)"
        return "Spearman x 100 of cosine vs gold score"

    @property
    def examples(self) -> int:
        return len(self.rows)


def _indexed(groups: list[tuple[str, ...]]) -> tuple[tuple[str, ...], np.ndarray]:
    index: dict[str, int] = {}
    rows = [[index.setdefault(text, len(index)) for text in group] for group in groups]
    return tuple(index), np.asarray(rows, dtype=np.int64)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _from_tsv(text: str, source: str, task: str) -> QualitySet:
    lines = [line for line in text.splitlines() if line.strip()]
    header = tuple(cell.strip().lower() for cell in lines[0].split("\t")) if lines else ()
    if header == TRIPLET_HEADER:
        layout = TRIPLETS
    elif header == PAIR_HEADER:
        layout = PAIRS
    else:
        raise UserError(
            f"quality set {source}: first line {lines[0][:80]!r} is no header this tool reads; "
            f"give {FORMATS_HELP}"
            if lines
            else f"quality set {source} is empty; give {FORMATS_HELP}"
        )
    groups: list[tuple[str, ...]] = []
    gold: list[float] = []
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        if len(cells) != 3 or not all(c.strip() for c in cells[:2]):
            raise UserError(
                f"quality set {source}, line {number}: {len(cells)} tab-separated cells; a "
                f"{layout} row has 3 non-empty ones ({', '.join(header)})"
            )
        if layout == PAIRS:
            try:
                gold.append(float(cells[2]))
            except ValueError:
                raise UserError(
                    f"quality set {source}, line {number}: score {cells[2]!r} is not a number"
                ) from None
            groups.append((cells[0].strip(), cells[1].strip()))
        else:
            groups.append(tuple(c.strip() for c in cells))
    if len(groups) < MIN_EXAMPLES:
        raise UserError(
            f"quality set {source} holds {len(groups)} {layout}; a measurement needs at least "
            f"{MIN_EXAMPLES} (a few hundred give a usable grid)"
        )
    texts, rows = _indexed(groups)
    scores = np.asarray(gold, dtype=np.float64) if layout == PAIRS else None
    if scores is not None and np.ptp(scores) == 0:
        raise UserError(f"quality set {source}: every pair has the same score; nothing ranks")
    return QualitySet(task, layout, source, _digest(text.encode("utf-8")), texts, rows, scores)


def default_probe() -> QualitySet:
    """The shipped probe: SNLI test triplets disjoint from the calibration corpus."""
    text = resources.files("ese.exporter").joinpath("data/probe.tsv").read_text("utf-8")
    return _from_tsv(text, PROBE_SOURCE, PROBE_TASK)


def read_quality_set(path: str | Path | None) -> QualitySet:
    """``path`` in one of the three formats above; None gives the shipped probe."""
    if path is None:
        return default_probe()
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"quality set {path} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"quality set {path} is a directory; give {FORMATS_HELP}") from None
    except OSError as exc:
        raise UserError(f"cannot read quality set {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"quality set {path} is not UTF-8 text (byte {exc.start})") from None
    first = next((line for line in text.splitlines() if line.strip()), "")
    has_header = tuple(c.strip().lower() for c in first.split("\t")) in (
        TRIPLET_HEADER,
        PAIR_HEADER,
    )
    if path.suffix.lower() == ".csv" and not has_header:
        try:
            pairs = read_stsb(path)
        except UserError as exc:
            raise UserError(f"quality set {path}: {exc}; or give {FORMATS_HELP}") from None
        texts, rows = _indexed(list(zip(pairs.first, pairs.second, strict=True)))
        return QualitySet(QUALITY_SET_TASK, STSB, str(path), _digest(data), texts, rows, pairs.gold)
    return _from_tsv(text, str(path), QUALITY_SET_TASK)
