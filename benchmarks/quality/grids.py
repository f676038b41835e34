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
from ese.format import ExportDir
from ese.format.contract import DIMS_LADDER

STSB = "stsb"
SCIFACT_NDCG = "scifact_ndcg@10"
SCIFACT_RECALL = "scifact_recall@10"
STSB_BATCH = 64  # batch sizes, unless GridRun names one
SCIFACT_BATCH = 32

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


@dataclass(frozen=True)
class GridRun:
    """How the grids are run: widths (``grid_dims``), threads, batch size, progress."""

    dims: Sequence[int] | None = None
    threads: int | None = None
    batch_size: int | None = None  # None: the task's own (STSB_BATCH, SCIFACT_BATCH)
    on_depth: OnDepth | None = None


# One depth's rows, one per task (in the order the tasks are named), from its encoder and
# the widths of the grid.
ScoreDepth = Callable[[GraphEncoder, tuple[int, ...]], Sequence[dict[int, float]]]


def _grids_by_depth(
    export: ExportDir,
    depths: Sequence[int],
    tasks: Sequence[str],
    score: ScoreDepth,
    run: GridRun,
    *,
    examples: int,
    notes: Mapping[str, Any] | None = None,
) -> tuple[QualityGrid, ...]:
    """One grid per task: each depth's graph scored once, widths sliced from its vectors.

    Ctrl-C keeps the depths already finished; ``run.on_depth`` hears the first task's row.
    """
    started = time.perf_counter()
    scores: dict[str, dict[int, dict[int, float]]] = {task: {} for task in tasks}
    interrupted = False
    try:
        for depth in depths:
            encoder = GraphEncoder(export, depth, threads=run.threads)
            rows = score(encoder, grid_dims(encoder.dims, run.dims))
            for task, row in zip(tasks, rows, strict=True):
                scores[task][depth] = row
            if run.on_depth is not None:
                run.on_depth(tasks[0], depth, rows[0])
    except KeyboardInterrupt:
        interrupted = True
    seconds = time.perf_counter() - started
    order = export.manifest.projection.kind.value
    return tuple(
        QualityGrid(task, order, scores[task], examples, seconds, interrupted, dict(notes or {}))
        for task in tasks
    )


def stsb_grid(
    export: ExportDir, depths: Sequence[int], pairs: StsPairs, run: GridRun = GridRun()
) -> QualityGrid:
    """STS-B Spearman x 100 per (depth, dims): cosine of each pair against the gold score."""
    sentences = pairs.sentences()
    index = {s: i for i, s in enumerate(sentences)}
    rows_a = [index[s] for s in pairs.first]
    rows_b = [index[s] for s in pairs.second]
    batch_size = run.batch_size or STSB_BATCH

    def score(encoder: GraphEncoder, widths: tuple[int, ...]) -> list[dict[int, float]]:
        vectors = encoder.encode(sentences, batch_size=batch_size, normalize=False)
        first, second = vectors[rows_a], vectors[rows_b]
        return [{k: sts_spearman(first, second, pairs.scores, k) for k in widths}]

    (grid,) = _grids_by_depth(export, depths, (STSB,), score, run, examples=len(pairs))
    return grid


def scifact_grids(
    export: ExportDir, depths: Sequence[int], data: Retrieval, run: GridRun = GridRun()
) -> tuple[QualityGrid, QualityGrid]:
    """SciFact nDCG@10 and recall@10 x 100 per (depth, dims), over the whole corpus."""
    query_ids = list(data.queries)
    query_texts = [data.queries[q] for q in query_ids]
    batch_size = run.batch_size or SCIFACT_BATCH

    def score(encoder: GraphEncoder, widths: tuple[int, ...]) -> list[dict[int, float]]:
        docs = encoder.encode(data.documents, batch_size=batch_size, normalize=False)
        queries = encoder.encode(query_texts, batch_size=batch_size, normalize=False)
        ndcg, recall = {}, {}
        for k in widths:
            got = retrieval_scores(queries, docs, query_ids, data.doc_ids, data.qrels, k)
            ndcg[k], recall[k] = got["ndcg@10"], got["recall@10"]
        return [ndcg, recall]

    ndcg_grid, recall_grid = _grids_by_depth(
        export,
        depths,
        (SCIFACT_NDCG, SCIFACT_RECALL),
        score,
        run,
        examples=len(query_ids),
        notes={"documents": len(data.documents)},
    )
    return ndcg_grid, recall_grid
