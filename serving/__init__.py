"""ese.serving: Triton Inference Server for ese exports.

- ``ese-triton DIR --out REPO`` (:func:`repository_from_export`): a model repository for
  ``tritonserver --model-repository REPO``: one model per depth and precision, and a front
  model that takes text and routes to the depth the budget picks. Needs only the export.
- ``ese-serve DIR`` (:class:`ese.serving.local.server.EmbeddingServer`): a real Triton server here,
  through PyTriton (the ``serve`` extra), on 127.0.0.1, and beside it the embedding HTTP API
  (:class:`ese.serving.api.http_server.ApiServer`: OpenAI ``/v1/embeddings``, TEI ``/embed``),
  which needs only the runtime (``ese-serve --no-triton`` runs it alone).

The runtime never imports this package; PyTriton is imported only when a server starts.
"""

from __future__ import annotations

from ese.format.errors import UserError
from ese.serving.errors import ServeExtraError
from ese.serving.triton.model_configs import BatchingOptions, InstanceKind
from ese.serving.triton.repository import Repository, RepositoryOptions, repository_from_export

__all__ = [
    "BatchingOptions",
    "InstanceKind",
    "Repository",
    "RepositoryOptions",
    "ServeExtraError",
    "UserError",
    "repository_from_export",
]
