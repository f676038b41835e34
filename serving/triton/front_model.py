"""The repository's front model: Triton Python backend, strings in, embeddings out (BLS).

``ese-triton`` copies this file to ``REPO/<name>/1/model.py``, and beside it the runtime's
standalone tokenising module (``ese.runtime.token_arrays``) as ``1/token_arrays.py``. Triton
runs it in its own Python, so it needs only numpy and tokenizers (never ``ese``); everything it
must know comes from its config.pbtxt parameters, written by
:mod:`ese.serving.triton.repository`:

    graph_model   the depth model the budget picked (called through BLS)
    dims          leading dimensions kept, then L2-normalised when ``normalize`` is "true"
    max_length    tokens kept per text (the model's maximum); ``char_limit`` cuts huge texts
    pad_id        the padding token id; ``token_type_ids`` "true" when the graph takes them

It reproduces ``ese.runtime.Embedder.encode``: the same tokenising code (truncation and
padding), slicing and normalisation, so a vector from Triton equals the runtime's for the same text.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

TEXT_INPUT = "text"
EMBEDDING_OUTPUT = "embedding"
GRAPH_OUTPUT = "sentence_embedding"
TOKENIZER_FILE = "tokenizer.json"
TOKEN_ARRAYS_FILE = "token_arrays.py"

pb_utils: Any = None  # triton_python_backend_utils, imported by Triton's stub at initialize


class TritonPythonModel:
    """Tokenise each request's strings, run the chosen depth through BLS, slice, normalise."""

    def initialize(self, args: dict[str, str]) -> None:
        global pb_utils
        pb_utils = importlib.import_module("triton_python_backend_utils")
        config = json.loads(args["model_config"])
        params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        self.graph_model = params["graph_model"]
        self.dims = int(params["dims"])
        self.normalize = params["normalize"] == "true"
        self.max_length = int(params["max_length"])
        self.char_limit = int(params["char_limit"])
        self.pad_id = int(params["pad_id"])
        self.token_type_ids = params["token_type_ids"] == "true"
        self.max_batch = max(1, int(config.get("max_batch_size", 0)))
        folder = Path(args["model_repository"]) / str(args["model_version"])
        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_length)
        self.token_arrays = _module_from_file(folder / TOKEN_ARRAYS_FILE)

    def execute(self, requests: list[Any]) -> list[Any]:
        """One response per request, in order; a bad request fails alone."""
        texts: list[str] = []
        spans: list[tuple[int, int] | str] = []
        for request in requests:
            raw = pb_utils.get_input_tensor_by_name(request, TEXT_INPUT).as_numpy()
            try:
                decoded = [_text(item) for item in raw.reshape(-1)]
            except UnicodeDecodeError as exc:
                spans.append(f"input '{TEXT_INPUT}' is not valid UTF-8 ({exc.reason})")
                continue
            spans.append((len(texts), len(texts) + len(decoded)))
            texts.extend(decoded)
        try:
            vectors = self._embed(texts)
        except Exception as exc:  # every request gets the reason, none is lost
            return [_error(f"{self.graph_model}: {exc}") for _ in requests]
        responses = []
        for span in spans:
            if isinstance(span, str):
                responses.append(_error(span))
                continue
            out = pb_utils.Tensor(EMBEDDING_OUTPUT, vectors[span[0] : span[1]])
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses

    def _embed(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dims), dtype=np.float32)
        for start in range(0, len(texts), self.max_batch):
            chunk = texts[start : start + self.max_batch]
            vectors = self._run_graph(*self._tokenise(chunk))[:, : self.dims]
            if self.normalize:
                norms = np.linalg.norm(vectors, axis=1, keepdims=True)
                vectors = vectors / np.maximum(norms, 1e-12)
            out[start : start + len(chunk)] = vectors
        return out

    def _tokenise(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        encodings = self.token_arrays.encode_whole(self.tokenizer, texts, self.char_limit)
        return self.token_arrays.pad_encodings(encodings, self.pad_id)

    def _run_graph(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        inputs = [pb_utils.Tensor("input_ids", ids), pb_utils.Tensor("attention_mask", mask)]
        if self.token_type_ids:
            inputs.append(pb_utils.Tensor("token_type_ids", types))
        kwargs: dict[str, Any] = {}
        if hasattr(pb_utils, "PreferredMemory"):  # keep BLS outputs in CPU memory
            kwargs["preferred_memory"] = pb_utils.PreferredMemory(
                pb_utils.TRITONSERVER_MEMORY_CPU, 0
            )
        request = pb_utils.InferenceRequest(
            model_name=self.graph_model,
            requested_output_names=[GRAPH_OUTPUT],
            inputs=inputs,
            **kwargs,
        )
        response = request.exec()
        if response.has_error():
            raise RuntimeError(response.error().message())
        tensor = pb_utils.get_output_tensor_by_name(response, GRAPH_OUTPUT)
        return np.asarray(tensor.as_numpy(), dtype=np.float32)


def _module_from_file(path: Path) -> Any:
    """The module in ``path``, loaded by path: Triton puts no model folder on ``sys.path``
    that this file could count on."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}; write the repository again with ese-triton")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _text(item: object) -> str:
    return item.decode("utf-8") if isinstance(item, bytes) else str(item)


def _error(message: str) -> Any:
    return pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(message))
