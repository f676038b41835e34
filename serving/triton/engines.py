"""TensorRT engines of an export: ``DIR/engines/<gpu>-trt<version>/depth-04.fp16.plan``.

Engines are built on the GPU that will run them, so an export may hold several engine
folders (one per GPU and TensorRT version); a repository is written for one of them. Each
plan's sidecar (``depth-04.fp16.json``, written by ``ese-engines``) says which graph it was
built from, its shape ranges and its TensorRT version: an engine built from a graph the
manifest no longer lists is refused, so is one whose profile minimums are above 1 (the front
model sends batches from 1 text, padded only to their longest), and so is one whose TensorRT
major.minor differs from the server's (Triton's TensorRT backend cannot deserialise it). Its
batch and sequence maxima bound the model's config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ese.engines.key import read_sidecar
from ese.engines.trt_version import library_version, major_minor
from ese.runtime.format import ENGINES_DIR, Manifest, Precision
from ese.serving.errors import RepositoryError

PLAN = re.compile(r"^depth-(?P<depth>\d+)(?:\.(?P<precision>fp32|fp16|int8))?\.plan$")


@dataclass(frozen=True)
class Engine:
    """One serialised TensorRT engine for a depth at a precision."""

    depth: int
    precision: Precision
    path: Path
    max_batch: int
    max_seq: int
    trt_version: str

    @property
    def key(self) -> tuple[int, Precision]:
        return (self.depth, self.precision)


def engine_folders(export_dir: Path) -> list[str]:
    """The engine folders of an export (``<gpu>-trt<version>``), sorted; [] when none."""
    root = Path(export_dir) / ENGINES_DIR
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.plan")))


def check_server_trt(plan: str, plan_version: str, server_version: str) -> None:
    """Refuse an engine whose TensorRT major.minor differs from the server's."""
    if major_minor(plan_version) != major_minor(server_version):
        raise RepositoryError(
            f"engine {plan} was built with TensorRT {plan_version}, the server has TensorRT "
            f"{server_version}: TensorRT engines only load on the major.minor that built them. "
            "Rebuild the engines with ese-engines where that TensorRT is (e.g. inside the "
            "Triton container), or pass --engines none"
        )


def find_engines(
    export_dir: Path,
    folder: str | None,
    manifest: Manifest,
    server_trt: str | None = None,
) -> dict[tuple[int, Precision], Engine]:
    """The engines of one folder, keyed by (depth, precision), checked against the manifest.

    ``folder`` None picks the only folder there is; with several, the caller must name one.
    A plan without a readable sidecar, or built from a graph the manifest does not list at
    its depth, is refused (``StaleEngineError`` / ``RepositoryError``), and so is one whose
    profile minimums are above 1. ``server_trt`` is the serving TensorRT's version (None: the
    libnvinfer this machine loads, if any); an engine of another major.minor is refused.
    """
    server_trt = server_trt or library_version()
    folders = engine_folders(export_dir)
    if folder is None:
        if not folders:
            return {}
        if len(folders) > 1:
            raise RepositoryError(
                f"{export_dir}/{ENGINES_DIR} holds engines for {len(folders)} GPUs "
                f"({', '.join(folders)}); an engine runs only on the GPU it was built on: "
                "pick one with --engines FOLDER (or --engines none for ONNX only)"
            )
        folder = folders[0]
    if folder not in folders:
        have = ", ".join(folders) or "none"
        raise RepositoryError(
            f"no engine folder {folder!r} in {export_dir}/{ENGINES_DIR}; it has: {have}"
        )
    found: dict[tuple[int, Precision], Engine] = {}
    for path in sorted((Path(export_dir) / ENGINES_DIR / folder).glob("*.plan")):
        match = PLAN.match(path.name)
        if match is None:
            continue
        key = read_sidecar(path.with_suffix(".json"))
        depth = int(match["depth"])
        sources = {g.file.sha256 for g in manifest.graphs if g.depth == depth}
        if key.graph_sha256 not in sources:
            raise RepositoryError(
                f"engine {folder}/{path.name} was built from a graph (sha256 "
                f"{key.graph_sha256[:12]}...) this export does not list at depth {depth}: "
                "it would compute an older model. Rebuild it with ese-engines, or pass "
                "--engines none"
            )
        gap = key.shapes.callers_gap()
        if gap:
            raise RepositoryError(
                f"engine {folder}/{path.name} was built with {gap.axes}; the front model sends "
                "batches from 1 text padded only to their longest, which Triton would refuse: "
                f"rebuild with ese-engines {gap.flags} --force, or pass --engines none"
            )
        if server_trt is not None:
            check_server_trt(f"{folder}/{path.name}", key.trt_version, server_trt)
        precision = Precision(match["precision"] or Precision.FP32.value)
        engine = Engine(
            depth, precision, path, key.shapes.batch.max, key.shapes.seq.max, key.trt_version
        )
        found[engine.key] = engine
    return found
