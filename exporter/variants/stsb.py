"""STS Benchmark for the variant gate: read the pairs, score embeddings (Spearman x 100).

The file is the original distribution (tab-separated, no header; genre, source, year, id,
score, sentence1, sentence2, sometimes two licence columns more). It is read without csv
quoting: sentences contain unbalanced double quotes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ese.format.contract import DIMS_LADDER
from ese.format.errors import UserError
from ese.runtime.encode import sliced_unit

# The widths the runtime's choice considers first (its ladder) plus the full width.


@dataclass(frozen=True)
class StsbPairs:
    """Sentence pairs with gold similarity scores (0-5)."""

    source: str
    first: tuple[str, ...]
    second: tuple[str, ...]
    gold: np.ndarray

    @property
    def sentences(self) -> list[str]:
        """Every distinct sentence, in first-seen order (what to embed once)."""
        return list(dict.fromkeys((*self.first, *self.second)))

    def head(self, n: int) -> StsbPairs:
        """The first ``n`` pairs."""
        return StsbPairs(self.source, self.first[:n], self.second[:n], self.gold[:n])


def read_stsb(path: str | Path) -> StsbPairs:
    """Read an STS-B split such as ``sts-test.csv``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(
            f"cannot read the STS-B file {path} ({exc.strerror}); pass the original "
            "sts-test.csv (tab-separated), e.g. --stsb ../shared/data/stsb/sts-test.csv"
        ) from exc
    first, second, gold = [], [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 7:
            raise UserError(
                f"{path}:{number} has {len(fields)} tab-separated fields, STS-B rows have 7 "
                "(genre, source, year, id, score, sentence1, sentence2)"
            )
        try:
            gold.append(float(fields[4]))
        except ValueError:
            raise UserError(f"{path}:{number}: score {fields[4]!r} is not a number") from None
        first.append(fields[5])
        second.append(fields[6])
    if len(gold) < 10:
        raise UserError(f"{path} holds {len(gold)} pairs; an STS-B split has over a thousand")
    return StsbPairs(str(path), tuple(first), tuple(second), np.asarray(gold))


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties given their average rank (as scipy.stats.rankdata does)."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    boundaries = np.flatnonzero(np.diff(ordered)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(values)]))
    ranks = np.empty(len(values))
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2
    return ranks


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two 1-D arrays; NaN when either is constant (no ranking)."""
    ra, rb = _ranks(np.asarray(a, dtype=np.float64)), _ranks(np.asarray(b, dtype=np.float64))
    ra -= ra.mean()
    rb -= rb.mean()
    spread = float(np.sqrt(np.sum(ra * ra) * np.sum(rb * rb)))
    return float(np.sum(ra * rb)) / spread if spread > 0 else float("nan")


def stsb_scores(
    pairs: StsbPairs, vectors: dict[str, np.ndarray], dims: tuple[int, ...]
) -> dict[int, float]:
    """Spearman x 100 of cosine vs gold at each width (slice first, then normalise)."""
    first = np.stack([vectors[text] for text in pairs.first])
    second = np.stack([vectors[text] for text in pairs.second])
    scores = {}
    for width in dims:
        cosines = np.sum(sliced_unit(first, width) * sliced_unit(second, width), axis=1)
        scores[width] = round(100.0 * spearman(cosines, pairs.gold), 4)
    return scores


def widths_for(hidden: int) -> tuple[int, ...]:
    """The ladder widths below ``hidden`` plus ``hidden`` itself."""
    return (*(d for d in DIMS_LADDER if d < hidden), hidden)
