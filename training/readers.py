"""Read training and dev files: STS-B scored pairs and anchor/positive/negative triplets.

Every file is tab-separated and read with ``quoting=csv.QUOTE_NONE`` (sentences carry unbalanced
double quotes; the default quoting silently merges rows). A malformed row is rejected with the
file and its line number, never skipped.

Formats:

1. ``sts``: STS Benchmark as distributed, no header; genre, source, year, id, score, sentence1,
   sentence2 (rows may carry extra licence columns: only the first seven are read).
2. ``scored``: a header with ``sentence1``, ``sentence2`` and ``score`` columns, in any order.
3. ``triplets``: a header with ``anchor``, ``positive`` and ``negative`` columns (others, such as
   SNLI's ``split``, are ignored).
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from ese.training.errors import malformed

STS_FIELDS = 7
STS_SCORE_RANGE = (0.0, 5.0)


class DataFormat(str, Enum):
    STS = "sts"
    SCORED = "scored"
    TRIPLETS = "triplets"


@dataclass(frozen=True)
class ScoredPair:
    text1: str
    text2: str
    score: float


@dataclass(frozen=True)
class Triplet:
    anchor: str
    positive: str
    negative: str


Example = ScoredPair | Triplet


@dataclass(frozen=True)
class Dataset:
    """The rows of one file, all of one kind."""

    path: Path
    format: DataFormat
    examples: tuple[Example, ...]

    @property
    def kind(self) -> type:
        return Triplet if self.format is DataFormat.TRIPLETS else ScoredPair

    def __len__(self) -> int:
        return len(self.examples)


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        with path.open(encoding="utf-8", newline="") as f:
            yield from enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), 1)
    except UnicodeDecodeError as exc:
        raise malformed(path, 0, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise malformed(path, 0, f"cannot read the file: {exc.strerror}") from exc


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def detect_format(path: Path) -> DataFormat:
    """The format of ``path``, from its first line (see the module docstring)."""
    for number, row in _rows(path):
        names = {cell.strip().lower() for cell in row}
        if {"anchor", "positive", "negative"} <= names:
            return DataFormat.TRIPLETS
        if {"sentence1", "sentence2", "score"} <= names:
            return DataFormat.SCORED
        if len(row) >= STS_FIELDS and _float(row[4]) is not None:
            return DataFormat.STS
        raise malformed(
            path,
            number,
            f"cannot tell the format from the first line ({len(row)} tab-separated fields): "
            "expected STS-B rows (7 fields, score in field 5), or a header naming "
            "anchor/positive/negative or sentence1/sentence2/score; give --format to say which",
        )
    raise malformed(path, 0, "the file is empty")


def _text(path: Path, number: int, value: str, column: str) -> str:
    text = value.strip()
    if not text:
        raise malformed(path, number, f"empty {column}")
    return text


def _score(path: Path, number: int, value: str) -> float:
    score = _float(value.strip())
    low, high = STS_SCORE_RANGE
    if score is None:
        raise malformed(path, number, f"score {value!r} is not a number")
    if not low <= score <= high:
        raise malformed(path, number, f"score {score} is outside [{low:g}, {high:g}]")
    return score


def _read_sts(path: Path) -> list[Example]:
    examples: list[Example] = []
    for number, row in _rows(path):
        if len(row) < STS_FIELDS:
            raise malformed(
                path, number, f"{len(row)} tab-separated fields, STS-B rows need {STS_FIELDS}"
            )
        score = _score(path, number, row[4])
        first = _text(path, number, row[5], "sentence1")
        examples.append(ScoredPair(first, _text(path, number, row[6], "sentence2"), score))
    return examples


def _header_columns(path: Path, header: list[str], wanted: tuple[str, ...]) -> list[int]:
    names = [cell.strip().lower() for cell in header]
    missing = [name for name in wanted if name not in names]
    if missing:
        raise malformed(path, 1, f"header {header} lacks the column(s) {missing}")
    return [names.index(name) for name in wanted]


def _read_with_header(path: Path, wanted: tuple[str, ...]) -> list[list[str]]:
    rows = _rows(path)
    first = next(rows, None)
    if first is None:
        raise malformed(path, 0, "the file is empty")
    columns = _header_columns(path, first[1], wanted)
    out: list[list[str]] = []
    for number, row in rows:
        if len(row) != len(first[1]):
            raise malformed(
                path, number, f"{len(row)} tab-separated fields, the header has {len(first[1])}"
            )
        out.append([str(number)] + [row[i] for i in columns])
    return out


def _read_scored(path: Path) -> list[Example]:
    examples: list[Example] = []
    for number_text, first, second, score in _read_with_header(
        path, ("sentence1", "sentence2", "score")
    ):
        number = int(number_text)
        examples.append(
            ScoredPair(
                _text(path, number, first, "sentence1"),
                _text(path, number, second, "sentence2"),
                _score(path, number, score),
            )
        )
    return examples


def _read_triplets(path: Path) -> list[Example]:
    examples: list[Example] = []
    for number_text, *texts in _read_with_header(path, ("anchor", "positive", "negative")):
        number = int(number_text)
        anchor, positive, negative = (
            _text(path, number, text, name)
            for text, name in zip(texts, ("anchor", "positive", "negative"), strict=True)
        )
        examples.append(Triplet(anchor, positive, negative))
    return examples


_READERS = {
    DataFormat.STS: _read_sts,
    DataFormat.SCORED: _read_scored,
    DataFormat.TRIPLETS: _read_triplets,
}


def read_dataset(path: Path | str, data_format: DataFormat | str | None = None) -> Dataset:
    """Every row of ``path``; ``data_format`` None recognises the format from the first line."""
    path = Path(path)
    if not path.is_file():
        raise malformed(path, 0, "no such file")
    chosen = detect_format(path) if data_format is None else DataFormat(data_format)
    examples = _READERS[chosen](path)
    if not examples:
        raise malformed(path, 0, f"no {chosen.value} rows in the file")
    return Dataset(path=path, format=chosen, examples=tuple(examples))


def read_scored_pairs(path: Path | str) -> Dataset:
    """A dev/test file of scored pairs (STS-B or the scored header format)."""
    dataset = read_dataset(path)
    if dataset.format is DataFormat.TRIPLETS:
        raise malformed(dataset.path, 1, "a dev file must hold scored pairs, not triplets")
    return dataset


@dataclass(frozen=True)
class DistillTexts:
    """Unlabelled texts for the teacher term: one per line, blank lines skipped."""

    source: str
    texts: tuple[str, ...]
    sha256: str  # of the kept texts joined by newlines (the exporter's calibration digest)

    def describe(self) -> dict[str, object]:
        return {"source": self.source, "texts": len(self.texts), "sha256": self.sha256}


def _distill_from_text(text: str, source: str) -> DistillTexts:
    texts = tuple(line.strip() for line in text.splitlines() if line.strip())
    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()
    return DistillTexts(source=source, texts=texts, sha256=digest)


def read_distill_texts(path: Path | str | None) -> DistillTexts:
    """``--distill-text FILE``; None: the exporter's calibration corpus, from its package."""
    if path is None:
        from ese.exporter.projection.calibration import default_corpus

        corpus = default_corpus()
        return DistillTexts(source=corpus.source, texts=corpus.texts, sha256=corpus.sha256)
    path = Path(path)
    what = "--distill-text file"
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise malformed(path, 0, f"{what}: no such file") from None
    except IsADirectoryError:
        raise malformed(path, 0, f"{what}: a directory; give a text file") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise malformed(
            path, line, f"{what}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except OSError as exc:
        raise malformed(path, 0, f"{what}: cannot read it: {exc.strerror}") from None
    texts = _distill_from_text(text, str(path))
    if not texts.texts:
        raise malformed(path, 0, f"{what}: no text in it (one text per line)")
    return texts
