"""Where OpenVINO's compiled models are cached inside an export, and what keys them.

OpenVINO compiles an ONNX graph for this CPU when a model is loaded; with ``CACHE_DIR`` set it
writes the compiled blob once and imports it on the next load. The cache lives in the export
like TensorRT engines (``DIR/engines/<cpu>-openvino<version>/``), one folder per graph
content and inference precision: ``<graph sha256[:16]>-<weights sha256[:8]>-<f32|bf16>/``.
The graph's digest is part of the key because OpenVINO's own cache key does not hash external
weights: an updated export copied over the old one would otherwise import a blob compiled
from the old weights. The CPU model and OpenVINO version name the parent folder, since a blob
is only valid for the instruction set and release that made it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ese.format.contract import ENGINES_DIR
from ese.format.errors import BadInputError
from ese.runtime.machine import cpu_model, slug

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
SHA_PREFIX = 16  # characters of the graph's sha256 in a folder name (64 bits)
WEIGHTS_PREFIX = 8
_CHUNK = 1 << 20


def device_folder_name(version: str) -> str:
    """``<cpu slug>-openvino<version>``, e.g. ``amd-epyc-9r14-openvino2026.4.1``."""
    return f"{slug(cpu_model())}-openvino{version}"


def compiled_cache_dir(
    export_dir: str | Path,
    version: str,
    graph_sha256: str,
    weights_sha256: str,
    inference_precision: str,
) -> Path:
    """The CACHE_DIR for one graph's content at one inference precision on this CPU."""
    for name, digest in (("graph", graph_sha256), ("weights", weights_sha256)):
        if not _SHA256.match(digest):
            raise BadInputError(
                f"{name} sha256 {digest!r} is not 64 lower-case hex digits: pass the digest "
                "from the manifest (or file_sha256 of the file)"
            )
    if inference_precision not in ("f32", "bf16"):
        raise BadInputError(f"inference precision {inference_precision!r} is not f32 or bf16")
    leaf = f"{graph_sha256[:SHA_PREFIX]}-{weights_sha256[:WEIGHTS_PREFIX]}-{inference_precision}"
    return Path(export_dir) / ENGINES_DIR / device_folder_name(version) / leaf


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
