"""Quality grids per (depth, dims): STS-B test Spearman x 100 and SciFact nDCG@10 / recall@10.

Each depth's graph embeds the texts once at full width, through the runtime's own encode path;
every width of the grid is then a slice of those vectors (slice first, then normalise), so a
grid costs one pass per depth. Ctrl-C keeps the depths already finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ese.benchmarks.latency.graph_encoder import GraphEncoder
from ese.benchmarks.quality.datasets import Retrieval, StsPairs
from ese.benchmarks.quality.metrics import retrieval_scores, sts_spearman
from ese.runtime.format import ExportDir

DIMS_LADDER = (32, 64, 128, 256)
STSB = "stsb"
SCIFACT_NDCG = "scifact_ndcg@10"
SCIFACT_RECALL = "scifact_recall@10"

OnDepth = Callable[[str, int, Mapping[int, float]], None]


def grid_dims(width: int, wanted: Sequence[int] | None = None) -> tuple[int, ...]:
    """The widths of a grid: 32, 64, 128, 256 (or ``wanted``) within ``width``, and ``width``."""
    ladder = DIMS_LADDER if wanted is None else tuple(wanted)
    return tuple(sorted({d for d in ladder if d < width} | {width}))


@dataclass(frozen=True)
class QualityGrid:
    """``scores[depth][dims]`` for one task, in one dimension order (``pca`` or ``none``)."""

    task: str
    order: str
    scores: Mapping[int, Mapping[int, float]]
    examples: int
    seconds: float
    interrupted: bool = False
    notes: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "order": self.order,
            "examples": self.examples,
            "seconds": round(self.seconds, 1),
            "interrupted": self.interrupted,
            "scores": {
                str(d): {str(k): round(v, 4) for k, v in row.items()}
                for d, row in self.scores.items()
            },
            **({"notes": dict(self.notes)} if self.notes else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QualityGrid:
        return cls(
            task=str(data["task"]),
            order=str(data["order"]),
            scores={
                int(d): {int(k): float(v) for k, v in row.items()}
                for d, row in data["scores"].items()
            },
            examples=int(data.get("examples", 0)),
            seconds=float(data.get("seconds", 0.0)),
            interrupted=bool(data.get("interrupted", False)),
            notes=dict(data.get("notes", {})),
        )


def _order(export: ExportDir) -> str:
    return export.manifest.projection.kind.value


def stsb_grid(
    export: ExportDir,
    depths: Sequence[int],
    pairs: StsPairs,
    *,
    dims: Sequence[int] | None = None,
    threads: int | None = None,
    batch_size: int = 64,
    on_depth: OnDepth | None = None,
) -> QualityGrid:
    """STS-B Spearman x 100 per (depth, dims): cosine of each pair against the gold score."""
    started = time.perf_counter()
    sentences = pairs.sentences()
    index = {s: i for i, s in enumerate(sentences)}
    rows_a = [index[s] for s in pairs.first]
    rows_b = [index[s] for s in pairs.second]
    scores: dict[int, dict[int, float]] = {}
    interrupted = False
    try:
        for depth in depths:
            encoder = GraphEncoder(export, depth, threads=threads)
            vectors = encoder.encode(sentences, batch_size=batch_size, normalize=False)
            row = {
                k: sts_spearman(vectors[rows_a], vectors[rows_b], pairs.scores, k)
                for k in grid_dims(encoder.dims, dims)
            }
            scores[depth] = row
            if on_depth is not None:
                on_depth(STSB, depth, row)
    except KeyboardInterrupt:
        interrupted = True
    return QualityGrid(
        task=STSB,
        order=_order(export),
        scores=scores,
        examples=len(pairs),
        seconds=time.perf_counter() - started,
        interrupted=interrupted,
    )


def scifact_grids(
    export: ExportDir,
    depths: Sequence[int],
    data: Retrieval,
    *,
    dims: Sequence[int] | None = None,
    threads: int | None = None,
    batch_size: int = 32,
    on_depth: OnDepth | None = None,
) -> tuple[QualityGrid, QualityGrid]:
    """SciFact nDCG@10 and recall@10 x 100 per (depth, dims), over the whole corpus."""
    started = time.perf_counter()
    query_ids = list(data.queries)
    ndcg: dict[int, dict[int, float]] = {}
    recall: dict[int, dict[int, float]] = {}
    interrupted = False
    try:
        for depth in depths:
            encoder = GraphEncoder(export, depth, threads=threads)
            docs = encoder.encode(data.documents, batch_size=batch_size, normalize=False)
            queries = encoder.encode(
                [data.queries[q] for q in query_ids], batch_size=batch_size, normalize=False
            )
            ndcg[depth], recall[depth] = {}, {}
            for k in grid_dims(encoder.dims, dims):
                got = retrieval_scores(queries, docs, query_ids, data.doc_ids, data.qrels, k)
                ndcg[depth][k], recall[depth][k] = got["ndcg@10"], got["recall@10"]
            if on_depth is not None:
                on_depth(SCIFACT_NDCG, depth, ndcg[depth])
    except KeyboardInterrupt:
        interrupted = True
    seconds = time.perf_counter() - started
    notes = {"documents": len(data.documents)}
    return (
        QualityGrid(
            SCIFACT_NDCG, _order(export), ndcg, len(query_ids), seconds, interrupted, notes
        ),
        QualityGrid(
            SCIFACT_RECALL, _order(export), recall, len(query_ids), seconds, interrupted, notes
        ),
    )
