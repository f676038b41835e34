"""Quality metrics on embeddings: STS Spearman x 100, retrieval nDCG@k and recall@k.

Every metric takes full-width raw vectors and a width ``dims``: the first ``dims`` dimensions
are kept, then each vector is L2-normalised (slice first, then normalise), as the runtime
serves them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ese.exporter.variants.stsb import spearman
from ese.format.errors import UserError
from ese.runtime.encode import sliced_unit


def _unit_at(vectors: np.ndarray, dims: int) -> np.ndarray:
    """float64 unit vectors of the leading ``dims`` (the runtime's slice-then-normalise)."""
    if not 1 <= dims <= vectors.shape[1]:
        raise UserError(f"dims {dims} is outside 1..{vectors.shape[1]} of these vectors")
    return sliced_unit(vectors[:, :dims].astype(np.float64), dims)  # cast the slice alone


def sts_spearman(first: np.ndarray, second: np.ndarray, gold: Sequence[float], dims: int) -> float:
    """Spearman correlation x 100 between the pairs' cosine similarity and the gold score."""
    a, b = _unit_at(first, dims), _unit_at(second, dims)
    cosine = np.sum(a * b, axis=1)
    return spearman(cosine, np.asarray(gold)) * 100.0


def retrieval_scores(
    queries: np.ndarray,
    documents: np.ndarray,
    query_ids: Sequence[str],
    doc_ids: Sequence[str],
    qrels: Mapping[str, Mapping[str, int]],
    dims: int,
    k: int = 10,
) -> dict[str, float]:
    """Mean nDCG@k and recall@k over the queries (cosine over the whole corpus), x 100."""
    q, d = _unit_at(queries, dims), _unit_at(documents, dims)
    similarity = q @ d.T
    top = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    ndcg, recall = [], []
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for row, qid in enumerate(query_ids):
        relevant = {doc: grade for doc, grade in qrels[qid].items() if grade > 0}
        gains = np.array([relevant.get(doc_ids[i], 0) for i in top[row]], dtype=np.float64)
        ideal = np.sort(np.array(list(relevant.values()), dtype=np.float64))[::-1][:k]
        best = float(np.sum(ideal * discounts[: len(ideal)]))
        ndcg.append(float(np.sum(gains * discounts[: len(gains)])) / best if best > 0 else 0.0)
        found = sum(1 for i in top[row] if doc_ids[i] in relevant)
        recall.append(found / len(relevant) if relevant else 0.0)
    return {
        f"ndcg@{k}": 100.0 * float(np.mean(ndcg)),
        f"recall@{k}": 100.0 * float(np.mean(recall)),
    }
