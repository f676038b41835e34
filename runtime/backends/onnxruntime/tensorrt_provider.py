"""ONNX Runtime's TensorRT execution provider for an export: options with an engine cache.

The TensorRT provider builds its engines when a session starts, which takes minutes; with the
engine cache on, it builds once per GPU and graph and reuses them. The caches live inside the
export: ``DIR/engines/<gpu>-<sms>sm-<memory>gib-ort-trt/`` holds the timing cache (kernel
timings, valid for any graph on this GPU) and one engine folder per graph, named by the
graph's sha256 (``<gpu>-...-ort-trt/<sha256[:16]>/``). ONNX Runtime's own cache id does not
hash the weights, so without that folder an updated export copied over the old one (``rsync
-a`` without ``--delete``) would silently run engines built from the old weights.

The optimisation profile is explicit (min / opt / max batch and sequence) so that one engine
serves every batch the runtime feeds: the runtime pads a batch only to its longest text, so
both minimums are 1. Nothing here imports tensorrt: ONNX Runtime loads it.

Every session of an export's graph gets its options from :func:`provider_options_for`: the
Embedder's, the brief measurement's, ``ese-bench profile``'s and the fp16 parity gate's alike,
so a profile measures the engines the Embedder then runs (cached, with the same profile shapes).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ese.format.contract import ATTENTION_MASK, ENGINES_DIR, INPUT_IDS, TOKEN_TYPE_IDS, Precision
from ese.format.errors import BadInputError, EseError
from ese.format.manifest import GraphEntry
from ese.runtime.backends.cuda_device import GpuInfo, query_gpu
from ese.runtime.machine import slug

TENSORRT = "TensorrtExecutionProvider"
# Default profile: batch 1..32 (tuned for 8), sequence 1..256 (tuned for 128).
DEFAULT_BATCH = (1, 8, 32)
DEFAULT_SEQ = (1, 128, 256)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Characters of the graph's sha256 that name its engine folder (64 bits: no collisions).
SHA_PREFIX = 16


def gpu_folder_name(device_id: int = 0, gpu: GpuInfo | None = None) -> str:
    """``<gpu slug>-<sms>sm-<memory>gib-ort-trt``: the GPU as the CUDA driver reports it, keyed
    like engine sidecars (Orin AGX, NX and Nano are all ``Orin``); ``gpu<id>`` without one."""
    try:
        hardware = (gpu or query_gpu(device_id)).hardware
    except EseError:  # no driver here: the provider will not start either; keep a stable name
        hardware = f"gpu{device_id}"
    return f"{slug(hardware)}-ort-trt"


def cache_dir(export_dir: str | Path, device_id: int = 0) -> Path:
    """This GPU's TensorRT provider folder in the export (the timing cache lives here)."""
    return Path(export_dir) / ENGINES_DIR / gpu_folder_name(device_id)


def engine_cache_dir(export_dir: str | Path, graph_sha256: str, device_id: int = 0) -> Path:
    """The engine cache of one graph on this GPU: keyed by the graph's weights, not its name."""
    if not _SHA256.match(graph_sha256):
        raise BadInputError(
            f"graph sha256 {graph_sha256!r} is not 64 lower-case hex digits: pass the graph's "
            "sha256 from the manifest (GraphEntry.file.sha256)"
        )
    return cache_dir(export_dir, device_id) / graph_sha256[:SHA_PREFIX]


def check_profile(axis: str, shape: tuple[int, int, int]) -> None:
    """Refuse a profile the runtime's batches can fall outside of (min must be 1)."""
    low, opt, high = shape
    if not 1 <= low <= opt <= high:
        raise BadInputError(f"{axis} profile {shape} must satisfy 1 <= min <= opt <= max")
    if low != 1:
        raise BadInputError(
            f"{axis} profile minimum {low}: the runtime feeds batches of any size down to 1 and "
            f"pads only to the batch's longest text, so TensorRT would refuse smaller inputs; "
            f"use ({1}, {opt}, {high})"
        )


def _shape_option(inputs: Sequence[str], batch: int, seq: int) -> str:
    return ",".join(f"{name}:{batch}x{seq}" for name in inputs)


def tensorrt_options(
    export_dir: str | Path,
    precision: Precision | str,
    *,
    uses_token_type_ids: bool,
    graph_sha256: str,
    batch: tuple[int, int, int] = DEFAULT_BATCH,
    seq: tuple[int, int, int] = DEFAULT_SEQ,
    device_id: int = 0,
    workspace_bytes: int = 1 << 30,
) -> dict[str, str]:
    """Provider options for ``TensorrtExecutionProvider`` on the graph of ``graph_sha256``.

    fp16: the fp32 graph is given to the provider with ``trt_fp16_enable`` (TensorRT 10
    weak typing); an fp16 graph is passed as is and its types are kept.
    """
    precision = Precision(precision)
    check_profile("batch", batch)
    check_profile("sequence", seq)
    inputs = [INPUT_IDS, ATTENTION_MASK] + ([TOKEN_TYPE_IDS] if uses_token_type_ids else [])
    engines = engine_cache_dir(export_dir, graph_sha256, device_id)
    engines.mkdir(parents=True, exist_ok=True)
    return {
        "device_id": str(device_id),
        "trt_fp16_enable": "True" if precision is Precision.FP16 else "False",
        "trt_engine_cache_enable": "True",
        "trt_engine_cache_path": str(engines),
        "trt_timing_cache_enable": "True",
        "trt_timing_cache_path": str(engines.parent),
        "trt_max_workspace_size": str(workspace_bytes),
        "trt_profile_min_shapes": _shape_option(inputs, batch[0], seq[0]),
        "trt_profile_opt_shapes": _shape_option(inputs, batch[1], seq[1]),
        "trt_profile_max_shapes": _shape_option(inputs, batch[2], seq[2]),
    }


def tensorrt_provider(
    export_dir: str | Path,
    precision: Precision | str,
    *,
    uses_token_type_ids: bool,
    graph_sha256: str,
    device_id: int = 0,
) -> tuple[str, dict[str, str]]:
    """``(TensorrtExecutionProvider, options)`` for ``InferenceSession(providers=[...])``."""
    return (
        TENSORRT,
        tensorrt_options(
            export_dir,
            precision,
            uses_token_type_ids=uses_token_type_ids,
            graph_sha256=graph_sha256,
            device_id=device_id,
        ),
    )


def provider_options_for(
    export_dir: str | Path,
    graph: GraphEntry,
    providers: Sequence[str],
    *,
    uses_token_type_ids: bool,
) -> dict[str, dict[str, str]]:
    """The provider options of every session of ``graph``: TensorRT's (engine and timing
    caches in the export, explicit profile shapes) where TensorRT is asked for, else none."""
    if TENSORRT not in providers:
        return {}
    options = tensorrt_options(
        export_dir,
        graph.precision,
        uses_token_type_ids=uses_token_type_ids,
        graph_sha256=graph.file.sha256,
    )
    return {TENSORRT: options}
