"""One exported ONNX graph run by OpenVINO on the CPU, with the interface of ``GraphRunner``.

OpenVINO reads the same ``graphs/depth-XX.onnx`` (and its external ``weights.bin``) that ONNX
Runtime runs: there is no second export format. The model is compiled once per graph content
and inference precision and cached in the export (:mod:`.openvino_cache`); a later load imports
the blob (``loaded_from_cache`` says which happened). ``inference_precision`` is ``f32`` (the
graph's own arithmetic, also for the int8 graph's quantised weights) or ``bf16`` (OpenVINO's
``INFERENCE_PRECISION_HINT``: matmuls in bfloat16 on AMX / AVX-512 BF16; refused on a CPU
without either, where it would be emulated and slower).

``run`` is safe from many threads: each call takes its own infer request.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ese.format.contract import ATTENTION_MASK, INPUT_IDS, OUTPUT, TOKEN_TYPE_IDS
from ese.format.errors import IntegrityError
from ese.runtime.backends.onnxruntime.graph_io import contract_input_names
from ese.runtime.backends.openvino.backend import OPENVINO, OPENVINO_BF16
from ese.runtime.backends.openvino.cache import compiled_cache_dir, file_sha256
from ese.runtime.backends.openvino.imports import load_openvino, openvino_version
from ese.runtime.backends.runner import HostArrayRunner
from ese.runtime.errors import ProviderError
from ese.runtime.machine import has_bf16

INFERENCE_PRECISIONS = ("f32", "bf16")
_DIGESTS: dict[tuple[str, int, int], str] = {}


class OpenVINORunner(HostArrayRunner):
    """An OpenVINO compiled model of one graph, fed by input name like ``GraphRunner``."""

    buckets = None
    placement = None

    def __init__(
        self,
        path: Path,
        *,
        inference_precision: str = "f32",
        threads: int | None = None,
        digests: Sequence[str] | None = None,
        cache: bool = True,
    ) -> None:
        if inference_precision not in INFERENCE_PRECISIONS:
            raise ProviderError(
                f"OpenVINO inference precision {inference_precision!r} is not one of "
                f"{', '.join(INFERENCE_PRECISIONS)}"
            )
        if inference_precision == "bf16" and not has_bf16():
            raise ProviderError(
                "OpenVINO bf16 needs a CPU with AMX or AVX-512 BF16 (neither flag is in "
                "/proc/cpuinfo here): it would be emulated and slower; use providers='openvino' "
                "(fp32)"
            )
        ov = load_openvino()
        self.path = Path(path)
        provider = OPENVINO_BF16 if inference_precision == "bf16" else OPENVINO
        self.requested = [provider]
        self.active = [provider]
        self.inference_precision = inference_precision
        self.cache_dir: Path | None = None
        if cache:
            graph_digest, weights_digest = _content_digests(self.path, digests)
            self.cache_dir = compiled_cache_dir(
                self.path.parent.parent,
                openvino_version(),
                graph_digest,
                weights_digest,
                inference_precision,
            )
        config: dict[str, Any] = {
            "INFERENCE_PRECISION_HINT": inference_precision,
            "PERFORMANCE_HINT": "LATENCY",
        }
        if threads is not None:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        if self.cache_dir is not None:
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                config["CACHE_DIR"] = str(self.cache_dir)
            except OSError as exc:  # a read-only export still runs, compiled each time
                warnings.warn(
                    f"cannot cache OpenVINO's compiled model in {self.cache_dir} ({exc}); it is "
                    "compiled again in every process",
                    stacklevel=3,
                )
                self.cache_dir = None
        start = time.perf_counter()
        try:
            self.compiled = ov.Core().compile_model(str(self.path), "CPU", config)
        except RuntimeError as exc:  # OpenVINO raises RuntimeError for unreadable models
            raise IntegrityError(
                f"OpenVINO cannot load {self.path} ({exc}); re-export the model"
            ) from exc
        self.load_seconds = time.perf_counter() - start
        self.loaded_from_cache = bool(self.compiled.get_property("LOADED_FROM_CACHE"))
        self._check_contract()

    def _check_contract(self) -> None:
        names = [n for i in self.compiled.inputs for n in i.get_names()]
        outputs = [n for o in self.compiled.outputs for n in o.get_names()]
        self.input_names = contract_input_names(self.path.name, names, outputs, extra_inputs=True)
        self.uses_token_type_ids = TOKEN_TYPE_IDS in self.input_names
        shape = self.compiled.output(OUTPUT).get_partial_shape()
        last = shape[shape.rank.get_length() - 1]
        self.width = last.get_length() if last.is_static else None

    def check_provider(self) -> str:
        return self.requested[0]

    def run(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray
    ) -> np.ndarray:
        feed = {INPUT_IDS: input_ids, ATTENTION_MASK: attention_mask}
        if self.uses_token_type_ids:
            feed[TOKEN_TYPE_IDS] = token_type_ids
        if input_ids.shape[0] == 0:
            return np.zeros((0, int(self.width or 0)), dtype=np.float32)
        request = self.compiled.create_infer_request()
        result = request.infer(feed)
        return np.array(result[self.compiled.output(OUTPUT)], dtype=np.float32)


def _content_digests(path: Path, digests: Sequence[str] | None) -> tuple[str, str]:
    """The graph file's sha256 and one digest of the external data files it reads.

    ``digests`` (the manifest's: graph first, then its external data) skips the hashing.
    Without them the graph is hashed, and so is each ``*.bin`` beside it that it names.
    """
    if digests:
        graph, *external = digests
        return graph, _combined(external)
    graph = _cached_sha256(path)
    names = path.read_bytes()
    external = [
        _cached_sha256(p) for p in sorted(path.parent.glob("*.bin")) if p.name.encode() in names
    ]
    return graph, _combined(external)


def _combined(digests: Sequence[str]) -> str:
    return hashlib.sha256("".join(digests).encode()).hexdigest()


def _cached_sha256(path: Path) -> str:
    """A file's sha256, remembered per (path, size, mtime) for this process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = file_sha256(path)
    return _DIGESTS[key]
