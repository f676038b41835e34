"""The systems ``ese-bench compare`` times on the same sentences, one depth at a time.

* ``st-torch``: sentence-transformers ``encode`` on PyTorch (the model cut to the depth).
* ``st-onnx``: sentence-transformers ``backend="onnx"`` (optimum's export of the same cut
  model) with ``CPUExecutionProvider`` given explicitly (it would otherwise pick
  AzureExecutionProvider first) and the same thread count.
* ``st-openvino``: sentence-transformers ``backend="openvino"`` (optimum-intel's export of
  the same cut model, OpenVINO's own defaults, the same thread count). Only where
  optimum-intel is importable (the ``bench-openvino`` extra, which pins optimum-intel 1.27 to
  bench's optimum / transformers line); skipped with the reason otherwise.
* ``ort-bare``: a bare ``InferenceSession.run`` on our graph, fed pre-tokenised batches built
  as the runtime builds them (length-sorted, padded to the longest): no tokenising, slicing or
  normalising is timed.
* ``runtime``: ``ese.runtime.Embedder(dir, depth=d).encode`` end to end (tokenise, sort,
  pad, run, slice, normalise).
* ``runtime-int8``, ``openvino-fp32``, ``openvino-bf16``, ``openvino-int8``,
  ``openvino-int8-nncf``: the same ``Embedder`` on another backend or graph: ONNX Runtime on
  the gated int8 graph, OpenVINO on the fp32 graph (its own precision, or bf16 inference
  precision), on ONNX Runtime's int8 graph and on the int8-openvino graph (NNCF,
  ``ese-variants --precision int8-openvino``). Each is skipped, with the reason, where it
  cannot run (no openvino, no AMX / AVX-512 BF16, no such graph at that depth).

Every encoder takes ``(texts, batch_size)`` and returns nothing worth keeping: only time counts.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from ese.format import ATTENTION_MASK, INPUT_IDS, OUTPUT, TOKEN_TYPE_IDS, ExportDir, Precision
from ese.format.errors import UserError
from ese.runtime import Embedder
from ese.runtime.backends.onnxruntime.session_start import start_session
from ese.runtime.backends.openvino.imports import INSTALL_LINE, openvino_available
from ese.runtime.backends.optional_package import importable
from ese.runtime.backends.providers import CPU
from ese.runtime.machine import has_bf16
from ese.runtime.tokens import TextTokenizer

ST_TORCH = "st-torch"
ST_ONNX = "st-onnx"
ST_OPENVINO = "st-openvino"
# The provider names a user passes (Embedder(providers=...)).
OPENVINO, OPENVINO_BF16 = "openvino", "openvino-bf16"
ORT_BARE = "ort-bare"
RUNTIME = "runtime"
RUNTIME_INT8 = "runtime-int8"
OV_FP32 = "openvino-fp32"
OV_BF16 = "openvino-bf16"
OV_INT8 = "openvino-int8"
OV_INT8_NNCF = "openvino-int8-nncf"
# Each backend system: the providers and the graph precision its Embedder runs.
BACKENDS = {
    RUNTIME_INT8: (CPU, Precision.INT8),
    OV_FP32: (OPENVINO, Precision.FP32),
    OV_BF16: (OPENVINO_BF16, Precision.FP32),
    OV_INT8: (OPENVINO, Precision.INT8),
    OV_INT8_NNCF: (OPENVINO, Precision.INT8_OPENVINO),
}
ALL_SYSTEMS = (ST_TORCH, ST_ONNX, ORT_BARE, RUNTIME)  # the default --systems
# Named in --systems to add them: the runtime on other backends and graphs.
KNOWN_SYSTEMS = (*ALL_SYSTEMS, ST_OPENVINO, *BACKENDS)
# Each sentence-transformers system on another backend: its ``backend=`` (StBackendSystem).
ST_BACKENDS = {ST_ONNX: "onnx", ST_OPENVINO: "openvino"}


def _sentence_transformers() -> Any:
    try:
        import sentence_transformers
        import torch
    except ImportError:
        raise UserError(
            "compare needs sentence-transformers and torch: pip install 'ese-toolchain[bench]'"
        ) from None
    return sentence_transformers, torch


class RuntimeSystem:
    name = RUNTIME

    def __init__(self, export: ExportDir, depth: int, threads: int) -> None:
        self.embedder = Embedder(
            export.root, depth=depth, providers=[CPU], intra_op_threads=threads
        )

    def encode(self, texts: Sequence[str], batch_size: int) -> None:
        self.embedder.encode(list(texts), batch_size=batch_size)


class BackendSystem:
    """The runtime's ``Embedder`` on one backend and graph precision (see ``BACKENDS``)."""

    def __init__(self, name: str, export: ExportDir, depth: int, threads: int) -> None:
        provider, precision = BACKENDS[name]
        self.name = name
        self.embedder = Embedder(
            export.root,
            depth=depth,
            providers=provider,
            precision=precision,
            intra_op_threads=threads,
        )

    def encode(self, texts: Sequence[str], batch_size: int) -> None:
        self.embedder.encode(list(texts), batch_size=batch_size)


def backend_missing(name: str, export: ExportDir, depth: int) -> str | None:
    """Why the backend system ``name`` cannot run here, or None when it can."""
    provider, precision = BACKENDS[name]
    if provider != CPU and not openvino_available():
        return f"openvino is not installed ({INSTALL_LINE})"
    if provider == OPENVINO_BF16 and not has_bf16():
        return "this CPU has neither AMX nor AVX-512 BF16"
    if (depth, precision) not in {g.key for g in export.manifest.graphs}:
        return f"the export has no {precision.value} graph at depth {depth} (ese-variants)"
    return None


class BareOrtSystem:
    """Our graph in a plain session; batches are built (untimed) before ``encode`` runs."""

    name = ORT_BARE

    def __init__(self, export: ExportDir, depth: int, threads: int) -> None:
        graph = export.manifest.graph(depth, Precision.FP32)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = start_session(export.path(graph.file), options, [CPU], [CPU])
        self.input_names = {i.name for i in self.session.get_inputs()}
        source = export.manifest.source
        self.tokenizer = TextTokenizer(export.tokenizer_file, source.max_seq_length)
        self._feeds: dict[tuple[tuple[str, ...], int], list[dict[str, np.ndarray]]] = {}

    def prepare(self, texts: Sequence[str], batch_size: int) -> None:
        """Tokenise, sort by length and pad exactly as the runtime does; keep the feeds."""
        key = (tuple(texts), batch_size)
        if key in self._feeds:
            return
        encodings, _ = self.tokenizer.encode(list(texts))
        order = np.argsort(-np.array([len(e.ids) for e in encodings]), kind="stable")
        feeds = []
        for start in range(0, len(order), batch_size):
            batch = self.tokenizer.pad([encodings[i] for i in order[start : start + batch_size]])
            feed = {INPUT_IDS: batch.input_ids, ATTENTION_MASK: batch.attention_mask}
            if TOKEN_TYPE_IDS in self.input_names:
                feed[TOKEN_TYPE_IDS] = batch.token_type_ids
            feeds.append(feed)
        self._feeds[key] = feeds

    def encode(self, texts: Sequence[str], batch_size: int) -> None:
        self.prepare(texts, batch_size)
        for feed in self._feeds[(tuple(texts), batch_size)]:
            self.session.run([OUTPUT], feed)


class StTorchSystem:
    """sentence-transformers on PyTorch, its transformer cut to ``depth`` layers."""

    name = ST_TORCH

    def __init__(self, model_path: Path, depth: int, threads: int) -> None:
        from ese.exporter.graph.depth_cut import cut_to_depth
        from ese.exporter.source.load import read_model_dir

        st, torch = _sentence_transformers()
        torch.set_num_threads(threads)
        self.model = st.SentenceTransformer(str(model_path), device="cpu")
        self._cut = contextlib.ExitStack()
        self._cut.enter_context(
            cut_to_depth(self.model[0].auto_model, read_model_dir(model_path).layer_path, depth)
        )

    def encode(self, texts: Sequence[str], batch_size: int) -> None:
        self.model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True)

    def save(self, out: Path) -> Path:
        """Save the cut model (config and weights of ``depth`` layers only)."""
        self.model.save(str(out))
        return out


def st_openvino_missing() -> str | None:
    """Why sentence-transformers' OpenVINO backend cannot run here, or None when it can."""
    if not openvino_available():
        return f"openvino is not installed ({INSTALL_LINE})"
    if not importable("optimum.intel"):
        return "optimum-intel is not installed (pip install 'ese-toolchain[bench-openvino]')"
    return None


class StBackendSystem:
    """sentence-transformers on another backend (``ST_BACKENDS``), same cut model, same threads.

    The cut model is saved to a temporary directory (removed by :meth:`close`) for optimum to
    export: ``onnx`` runs with ``CPUExecutionProvider`` given explicitly, ``openvino`` with
    OpenVINO's own defaults.
    """

    def __init__(self, name: str, cut_model: StTorchSystem, threads: int) -> None:
        st, _ = _sentence_transformers()
        self.name = name
        backend = ST_BACKENDS[name]
        self._tmp = tempfile.TemporaryDirectory(prefix=f"ese-bench-{name}-")
        saved = cut_model.save(Path(self._tmp.name) / "model")
        self.model = st.SentenceTransformer(
            str(saved),
            device="cpu",
            backend=backend,
            model_kwargs=_st_model_kwargs(backend, threads),
        )
        if backend == "onnx":
            active = self.model[0].auto_model.providers
            if active[:1] != [CPU]:
                raise UserError(f"sentence-transformers' ONNX backend runs on {active}, not CPU")

    def encode(self, texts: Sequence[str], batch_size: int) -> None:
        self.model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True)

    def close(self) -> None:
        self._tmp.cleanup()


def _st_model_kwargs(backend: str, threads: int) -> dict[str, Any]:
    """sentence-transformers' ``model_kwargs`` that pin ``backend`` to the CPU and ``threads``."""
    if backend == "onnx":
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        return {"provider": CPU, "session_options": options}
    return {"ov_config": {"INFERENCE_NUM_THREADS": threads}}
