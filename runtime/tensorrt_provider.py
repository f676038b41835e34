"""ONNX Runtime's TensorRT execution provider for an export: options with an engine cache.

The TensorRT provider builds its engines when a session starts, which takes minutes; with the
engine cache on, it builds once per GPU and reuses them. The cache lives inside the export
(``DIR/engines/<gpu>-ort-trt/``), next to the engines ``ese-engines`` builds natively, with an
explicit optimisation profile (min / opt / max batch and sequence) so that one engine serves
every batch the runtime feeds. Nothing here imports tensorrt: ONNX Runtime loads it.

The runtime hook is one line where it creates a session for a graph::

    providers = [tensorrt_provider(root, precision) if p == TENSORRT else p for p in providers]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from .contract import ATTENTION_MASK, ENGINES_DIR, INPUT_IDS, TOKEN_TYPE_IDS, Precision

TENSORRT = "TensorrtExecutionProvider"
# Default profile: batch 1..32 (tuned for 8), sequence 1..256 (tuned for 128).
DEFAULT_BATCH = (1, 8, 32)
DEFAULT_SEQ = (1, 128, 256)


def _gpu_slug(device_id: int) -> str:
    """A directory-safe GPU name via the CUDA driver, or ``gpu<id>`` when it cannot be read."""
    try:
        from ese.engines.cuda_driver import gpu

        name = gpu(device_id).name
    except Exception:  # no driver here: the provider will not start either; keep a stable name
        name = f"gpu{device_id}"
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "gpu"


def cache_dir(export_dir: str | Path, device_id: int = 0) -> Path:
    return Path(export_dir) / ENGINES_DIR / f"{_gpu_slug(device_id)}-ort-trt"


def _shape_option(inputs: Sequence[str], batch: int, seq: int) -> str:
    return ",".join(f"{name}:{batch}x{seq}" for name in inputs)


def tensorrt_options(
    export_dir: str | Path,
    precision: Precision | str,
    *,
    uses_token_type_ids: bool,
    batch: tuple[int, int, int] = DEFAULT_BATCH,
    seq: tuple[int, int, int] = DEFAULT_SEQ,
    device_id: int = 0,
    workspace_bytes: int = 1 << 30,
) -> dict[str, str]:
    """Provider options for ``TensorrtExecutionProvider`` on one graph of ``export_dir``.

    fp16: the fp32 graph is given to the provider with ``trt_fp16_enable`` (TensorRT 10
    weak typing); an fp16 graph is passed as is and its types are kept.
    """
    precision = Precision(precision)
    inputs = [INPUT_IDS, ATTENTION_MASK] + ([TOKEN_TYPE_IDS] if uses_token_type_ids else [])
    cache = cache_dir(export_dir, device_id)
    cache.mkdir(parents=True, exist_ok=True)
    return {
        "device_id": str(device_id),
        "trt_fp16_enable": "True" if precision is Precision.FP16 else "False",
        "trt_engine_cache_enable": "True",
        "trt_engine_cache_path": str(cache),
        "trt_timing_cache_enable": "True",
        "trt_timing_cache_path": str(cache),
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
    device_id: int = 0,
) -> tuple[str, dict[str, str]]:
    """``(TensorrtExecutionProvider, options)`` for ``InferenceSession(providers=[...])``."""
    return (
        TENSORRT,
        tensorrt_options(
            export_dir, precision, uses_token_type_ids=uses_token_type_ids, device_id=device_id
        ),
    )
