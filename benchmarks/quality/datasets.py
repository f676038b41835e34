"""The evaluation sets in ../shared/data, parsed as their README says (tabs, QUOTE_NONE).

STS-B: no header; genre, source, year, id, score, sentence1, sentence2 (some rows carry two
extra licence columns: the first seven fields are taken). SciFact: BEIR layout, qrels with a
header line; a document is its title and text joined by a space, as BEIR evaluates it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ese.exporter.variants.stsb import read_stsb as read_stsb_file
from ese.format.errors import UserError

STSB_TEST_ROWS = 1379
DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


@dataclass(frozen=True)
class StsPairs:
    """Sentence pairs and their gold similarity (0-5)."""

    first: tuple[str, ...]
    second: tuple[str, ...]
    scores: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.scores)

    def head(self, n: int) -> StsPairs:
        return StsPairs(self.first[:n], self.second[:n], self.scores[:n])

    def sentences(self) -> list[str]:
        """Every distinct sentence, in first-seen order."""
        return list(dict.fromkeys((*self.first, *self.second)))


@dataclass(frozen=True)
class Retrieval:
    """A BEIR retrieval set: documents, queries and relevance judgments (query -> doc -> grade)."""

    doc_ids: tuple[str, ...]
    documents: tuple[str, ...]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def _require(path: Path) -> Path:
    if not path.is_file():
        raise UserError(
            f"{path} is missing: the shared evaluation data is expected under "
            f"{path.parent.parent} (see ../shared/data/README.md); pass --data DIR"
        )
    return path


def _rows(path: Path) -> Iterator[list[str]]:
    with _require(path).open(encoding="utf-8", newline="") as f:
        yield from csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)


def read_stsb(data_dir: Path = DEFAULT_DATA, split: str = "test") -> StsPairs:
    """``stsb/sts-<split>.csv``; the test split must have its 1,379 pairs."""
    path = _require(Path(data_dir) / "stsb" / f"sts-{split}.csv")
    try:
        pairs = read_stsb_file(path)
    except UserError as exc:
        raise UserError(str(exc)) from None
    scores = tuple(float(s) for s in pairs.gold)
    if split == "test" and len(scores) != STSB_TEST_ROWS:
        raise UserError(
            f"{path} has {len(scores)} pairs, STS-B test has {STSB_TEST_ROWS}: "
            "the file is damaged or was re-saved with csv quoting"
        )
    return StsPairs(pairs.first, pairs.second, scores)


def _jsonl(path: Path) -> Iterator[dict[str, str]]:
    if not path.is_file():
        raise UserError(f"{path} is missing (see ../shared/data/README.md); pass --data DIR")
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def read_scifact(data_dir: Path = DEFAULT_DATA, split: str = "test") -> Retrieval:
    """``scifact/``: the whole corpus, and the queries that have judgments in ``split``."""
    root = Path(data_dir) / "scifact"
    qrels: dict[str, dict[str, int]] = {}
    rows = _rows(root / "qrels" / f"{split}.tsv")
    next(rows, None)  # header
    for row in rows:
        if len(row) >= 3:
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    doc_ids, documents = [], []
    for doc in _jsonl(root / "corpus.jsonl"):
        doc_ids.append(str(doc["_id"]))
        documents.append(f"{doc.get('title', '')} {doc.get('text', '')}".strip())
    queries = {str(q["_id"]): q["text"] for q in _jsonl(root / "queries.jsonl")}
    missing = [q for q in qrels if q not in queries]
    if missing:
        raise UserError(f"{root}: {len(missing)} judged queries are not in queries.jsonl")
    return Retrieval(
        doc_ids=tuple(doc_ids),
        documents=tuple(documents),
        queries={q: queries[q] for q in qrels},
        qrels=qrels,
    )
