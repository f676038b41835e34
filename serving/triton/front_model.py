"""The repository's front model: Triton Python backend, strings in, embeddings out (BLS).

``ese-triton`` copies this file to ``REPO/<name>/1/model.py``, and beside it the runtime's
standalone tokenising module (``ese.runtime.token_arrays``) as ``1/token_arrays.py``. Triton
runs it in its own Python, so it needs only numpy and tokenizers (never ``ese``); everything it
must know comes from its config.pbtxt parameters, written by
:mod:`ese.serving.triton.repository`:

    graph_model   the depth model the budget picked (called through BLS)
    dims          leading dimensions kept by default, then L2-normalised when ``normalize``
                  is "true"; a request's optional INT32 input ``dims`` (shape [batch, 1],
                  one width for all its rows) asks for any width in 1..``max_dims``
    max_dims      the widest width served: the graph's, or the budget's vector-size bound
    max_length    tokens kept per text (the model's maximum); ``char_limit`` cuts huge texts
    pad_id        the padding token id; ``token_type_ids`` "true" when the graph takes them

It reproduces ``ese.runtime.Embedder.encode``: the same tokenising code (truncation and
padding), slicing and normalisation, so a vector from Triton equals the runtime's for the same
text and width. Requests of different widths share one graph run (each is sliced afterwards).
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
DIMS_INPUT = "dims"
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
        self.max_dims = int(params.get("max_dims", self.dims))
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
        spans: list[tuple[int, int, int] | str] = []
        for request in requests:
            raw = pb_utils.get_input_tensor_by_name(request, TEXT_INPUT).as_numpy()
            try:
                decoded = [_text(item) for item in raw.reshape(-1)]
                width = self._width(request)
            except UnicodeDecodeError as exc:
                spans.append(f"input '{TEXT_INPUT}' is not valid UTF-8 ({exc.reason})")
                continue
            except ValueError as exc:
                spans.append(str(exc))
                continue
            spans.append((len(texts), len(texts) + len(decoded), width))
            texts.extend(decoded)
        try:
            vectors = self._embed(texts)
        except Exception as exc:  # every request gets the reason, none is lost
            return [_error(f"{self.graph_model}: {exc}", invalid=False) for _ in requests]
        responses = []
        for span in spans:
            if isinstance(span, str):
                responses.append(_error(span))
                continue
            start, end, width = span
            rows = vectors[start:end, :width]
            if self.normalize:
                rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
            out = pb_utils.Tensor(EMBEDDING_OUTPUT, np.ascontiguousarray(rows, dtype=np.float32))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses

    def _width(self, request: Any) -> int:
        """The request's ``dims`` input (one width for all its rows), else the default."""
        tensor = pb_utils.get_input_tensor_by_name(request, DIMS_INPUT)
        if tensor is None:
            return self.dims
        values = np.asarray(tensor.as_numpy()).reshape(-1)
        if values.size == 0 or bool((values != values[0]).any()):
            raise ValueError(
                f"input '{DIMS_INPUT}' holds {sorted(set(values.tolist()))[:4]}: send one "
                "width, the same in every row of the request"
            )
        width = int(values[0])
        if not 1 <= width <= self.max_dims:
            raise ValueError(
                f"input '{DIMS_INPUT}' is {width}: this model serves 1..{self.max_dims} "
                f"dimensions; ask for one in that range, or leave it out for {self.dims}"
            )
        return width

    def _embed(self, texts: list[str]) -> np.ndarray:
        """The texts' raw vectors, ``max_dims`` wide (sliced and normalised per request)."""
        out = np.empty((len(texts), self.max_dims), dtype=np.float32)
        for start in range(0, len(texts), self.max_batch):
            chunk = texts[start : start + self.max_batch]
            vectors = self._run_graph(*self._tokenise(chunk))[:, : self.max_dims]
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


def _error(message: str, *, invalid: bool = True) -> Any:
    """An error response; a bad request's is INVALID_ARGUMENT (HTTP 400) where this Python
    backend has error codes."""
    code = getattr(pb_utils.TritonError, "INVALID_ARG", None) if invalid else None
    error = pb_utils.TritonError(message) if code is None else pb_utils.TritonError(message, code)
    return pb_utils.InferenceResponse(output_tensors=[], error=error)
