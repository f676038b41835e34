"""TensorRT engines of an export: ``DIR/engines/<gpu>-trt<version>/depth-04.fp16.plan``.

Engines are built on the GPU that will run them, so an export may hold several engine
folders (one per GPU and TensorRT version); a repository is written for one of them. Each
plan's sidecar (``depth-04.fp16.json``, written by ``ese-engines``) says which graph it was
built from, its shape ranges and its TensorRT version: an engine built from a graph the
manifest no longer lists is refused, so is one whose profile minimums are above 1 (the front
model sends batches from 1 text, padded only to their longest), and so is one whose TensorRT
version is not exactly the server's: an engine runs only on the TensorRT build that made it.
The server's version is given explicitly (``ese-triton --server-trt VERSION``: the TensorRT of
the Triton container that will serve the repository, not of the machine running ese-triton);
engines without it are an error. Its batch and sequence maxima bound the model's config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ese.format import ENGINES_DIR, Manifest, Precision
from ese.format.errors import UserError
from ese.runtime.backends.tensorrt.engine_key import read_sidecar

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


def version_parts(version: str, what: str) -> tuple[int, ...]:
    """(10, 3, 0, 30) for ``10.3.0.30``; at least major.minor.patch, digits only."""
    parts = version.strip().split(".")
    if len(parts) < 3 or not all(p.isdigit() for p in parts):
        raise UserError(
            f"{what} {version!r} is not a TensorRT version of at least major.minor.patch "
            "(e.g. 10.3.0 or 10.3.0.30); inside the Triton container, "
            "`python3 -c 'import tensorrt; print(tensorrt.__version__)'` or "
            "`dpkg -l | grep libnvinfer` prints it"
        )
    return tuple(int(p) for p in parts)


def check_server_trt(plan: str, plan_version: str, server_version: str) -> None:
    """Refuse an engine whose TensorRT is not exactly the server's (compared to the precision
    both give: ``10.3.0`` matches ``10.3.0.30``, ``10.3.0.26`` does not)."""
    built = version_parts(plan_version, f"the TensorRT version of engine {plan}")
    server = version_parts(server_version, "--server-trt")
    common = min(len(built), len(server))
    if built[:common] != server[:common]:
        raise UserError(
            f"engine {plan} was built with TensorRT {plan_version}, the server has TensorRT "
            f"{server_version}: a TensorRT engine runs only on the exact TensorRT build that "
            "made it. Rebuild the engines with ese-engines where that TensorRT is (e.g. inside "
            "the Triton container), or pass --engines none"
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
    its depth, is refused (``StaleEngineError`` / ``UserError``), and so is one whose
    profile minimums are above 1. ``server_trt`` is the serving TensorRT's version, required
    when there are engines (None is an error, never a skip); an engine built by any other
    TensorRT is refused.
    """
    folders = engine_folders(export_dir)
    if folder is None:
        if not folders:
            return {}
        if len(folders) > 1:
            raise UserError(
                f"{export_dir}/{ENGINES_DIR} holds engines for {len(folders)} GPUs "
                f"({', '.join(folders)}); an engine runs only on the GPU it was built on: "
                "pick one with --engines FOLDER (or --engines none for ONNX only)"
            )
        folder = folders[0]
    if folder not in folders:
        have = ", ".join(folders) or "none"
        raise UserError(
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
            raise UserError(
                f"engine {folder}/{path.name} was built from a graph (sha256 "
                f"{key.graph_sha256[:12]}...) this export does not list at depth {depth}: "
                "it would compute an older model. Rebuild it with ese-engines, or pass "
                "--engines none"
            )
        gap = key.shapes.callers_gap()
        if gap:
            raise UserError(
                f"engine {folder}/{path.name} was built with {gap.axes}; the front model sends "
                "batches from 1 text padded only to their longest, which Triton would refuse: "
                f"rebuild with ese-engines {gap.flags} --force, or pass --engines none"
            )
        if server_trt is None:
            raise UserError(
                f"engine {folder}/{path.name} was built with TensorRT {key.trt_version}; "
                "say which TensorRT the Triton server has with --server-trt VERSION (inside "
                "its container: `dpkg -l | grep libnvinfer`), or pass --engines none"
            )
        check_server_trt(f"{folder}/{path.name}", key.trt_version, server_trt)
        precision = Precision(match["precision"] or Precision.FP32.value)
        engine = Engine(
            depth, precision, path, key.shapes.batch.max, key.shapes.seq.max, key.trt_version
        )
        found[engine.key] = engine
    return found
