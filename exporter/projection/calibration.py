"""The calibration corpus: the texts the per-depth PCA is fitted on."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ese.format.errors import UserError

DEFAULT_SOURCE = "default: SNLI dev sentences (CC BY-SA 4.0), ese/exporter/data/calibration.txt"


@dataclass(frozen=True)
class CalibrationCorpus:
    texts: tuple[str, ...]
    source: str
    sha256: str


def _from_text(text: str, source: str) -> CalibrationCorpus:
    texts = tuple(line.strip() for line in text.splitlines() if line.strip())
    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()
    return CalibrationCorpus(texts=texts, source=source, sha256=digest)


def default_corpus() -> CalibrationCorpus:
    text = resources.files("ese.exporter").joinpath("data/calibration.txt").read_text("utf-8")
    return _from_text(text, DEFAULT_SOURCE)


def read_corpus(path: str | Path | None) -> CalibrationCorpus:
    """One text per line (blank lines skipped); None gives the bundled default corpus."""
    if path is None:
        return default_corpus()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"calibration file {path} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"calibration file {path} is a directory; give a text file") from None
    except UnicodeDecodeError as exc:
        raise UserError(
            f"calibration file {path} is not UTF-8 text (byte {exc.start}); give one text per line"
        ) from None
    except OSError as exc:
        raise UserError(f"cannot read calibration file {path}: {exc}") from None
    return _from_text(text, str(path))


def require_enough(corpus: CalibrationCorpus, hidden_size: int) -> None:
    """A PCA over ``hidden_size`` dimensions needs at least that many distinct sentences."""
    distinct = len(set(corpus.texts))
    if distinct < hidden_size:
        raise UserError(
            f"calibration corpus {corpus.source} has {distinct} distinct sentences; fitting a "
            f"{hidden_size}-dimensional PCA needs at least {hidden_size} (one text per line). "
            "Give a larger --calibration file, or --projection none."
        )
