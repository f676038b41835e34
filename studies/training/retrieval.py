"""SciFact retrieval per depth for choosing a recipe: ``qrels/train.tsv`` only, never test.

nDCG@10 x 100, cosine over the corpus, raw dimension order (first ``w`` dims, then normalised),
with the benchmark's own reader and metric (ese.benchmarks), through PyTorch: the same numbers
``ese-bench quality --task scifact`` gives an export with ``--projection none``, but on the
train judgments. ``corpus_limit`` keeps every judged document and then the first distractors in
corpus order, a cheaper (and easier) proxy for the whole corpus.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ese.benchmarks.quality.datasets import DEFAULT_DATA, Retrieval, read_scifact
from ese.benchmarks.quality.metrics import retrieval_scores
from ese.format.errors import UserError
from ese.training.evaluate import Grid
from ese.training.loop.encoder import LayerwiseEncoder

SELECTION_SPLIT = "train"


@dataclass(frozen=True)
class RetrievalSplit:
    name: str  # e.g. "scifact-train" or "scifact-train, corpus 2000"
    retrieval: Retrieval


def read_selection_split(
    data_dir: Path = DEFAULT_DATA, corpus_limit: int | None = None
) -> RetrievalSplit:
    """SciFact's train judgments with the corpus (whole, or judged docs + first distractors)."""
    retrieval = read_scifact(data_dir, SELECTION_SPLIT)
    name = f"scifact-{SELECTION_SPLIT}"
    if corpus_limit is None:
        return RetrievalSplit(name, retrieval)
    judged = {doc for docs in retrieval.qrels.values() for doc in docs}
    if corpus_limit < len(judged):
        raise UserError(
            f"--scifact-corpus-limit {corpus_limit} is below the {len(judged)} judged documents"
        )
    keep: list[int] = [i for i, doc in enumerate(retrieval.doc_ids) if doc in judged]
    others = (i for i, doc in enumerate(retrieval.doc_ids) if doc not in judged)
    keep += [next(others) for _ in range(min(corpus_limit, len(retrieval.doc_ids)) - len(keep))]
    keep.sort()
    cut = Retrieval(
        doc_ids=tuple(retrieval.doc_ids[i] for i in keep),
        documents=tuple(retrieval.documents[i] for i in keep),
        queries=retrieval.queries,
        qrels=retrieval.qrels,
    )
    return RetrievalSplit(f"{name}, corpus {len(keep)}", cut)


def retrieval_grid(
    encoder: LayerwiseEncoder,
    split: RetrievalSplit,
    depths: Sequence[int],
    widths: Sequence[int],
) -> Grid:
    """nDCG@10 x 100 per depth and width (one forward pass per text gives every depth)."""
    retrieval = split.retrieval
    query_ids = list(retrieval.queries)
    queries = encoder.encode_layers([retrieval.queries[q] for q in query_ids])
    documents = encoder.encode_layers(list(retrieval.documents))
    grid: Grid = {}
    for depth in depths:
        q, d = queries[depth].numpy(), documents[depth].numpy()
        grid[depth] = {
            width: retrieval_scores(q, d, query_ids, retrieval.doc_ids, retrieval.qrels, width)[
                "ndcg@10"
            ]
            for width in widths
        }
    return grid
