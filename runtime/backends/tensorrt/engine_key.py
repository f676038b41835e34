"""What an engine was built for, written beside it, and checked before it is used.

TensorRT engines do not move between GPUs or TensorRT versions, and an engine built from an
older graph silently computes the old model. Each ``depth-04.fp16.plan`` has a sidecar
``depth-04.fp16.json`` with the GPU name, compute capability, multiprocessor count and memory
(which tell Jetson Orin AGX, NX and Nano apart: all three are ``Orin``, sm 8.7), TensorRT
version, precision, shape ranges and the sha256 of the ONNX graph it was built from; a mismatch
is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ese.format import ENGINES_DIR, Precision, write_json_atomic
from ese.runtime.backends.tensorrt.errors import StaleEngineError
from ese.runtime.backends.tensorrt.shapes import ProfileShapes
from ese.runtime.machine import slug

SIDECAR_SCHEMA = "ese.engine"
SIDECAR_VERSION = 2  # 2: multiprocessors and total_memory_gib


def engine_dir(gpu_name: str, trt_version: str) -> str:
    """``engines/<gpu>-trt<version>``, relative to the export directory."""
    return f"{ENGINES_DIR}/{slug(gpu_name)}-trt{trt_version}"


def plan_name(depth: int, precision: Precision) -> str:
    return f"depth-{depth:02d}.{precision.value}.plan"


@dataclass(frozen=True)
class EngineKey:
    """Everything an engine depends on; two engines with equal keys are interchangeable."""

    gpu_name: str
    compute_capability: str
    multiprocessors: int
    total_memory_gib: int
    trt_version: str
    precision: Precision
    depth: int
    shapes: ProfileShapes
    graph_sha256: str
    # "strong": precision from the graph (TensorRT 11, or 10 with STRONGLY_TYPED);
    # "weak": precision from builder flags (TensorRT 10).
    typing: str = "weak"

    @property
    def directory(self) -> str:
        return engine_dir(self.gpu_name, self.trt_version)

    @property
    def plan(self) -> str:
        """The plan file, relative to the export directory."""
        return f"{self.directory}/{plan_name(self.depth, self.precision)}"

    @property
    def sidecar(self) -> str:
        return self.plan.removesuffix(".plan") + ".json"

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SIDECAR_SCHEMA,
            "schema_version": SIDECAR_VERSION,
            "gpu_name": self.gpu_name,
            "compute_capability": self.compute_capability,
            "multiprocessors": self.multiprocessors,
            "total_memory_gib": self.total_memory_gib,
            "trt_version": self.trt_version,
            "precision": self.precision.value,
            "depth": self.depth,
            "shapes": self.shapes.to_dict(),
            "graph_sha256": self.graph_sha256,
            "typing": self.typing,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineKey:
        if data.get("schema") != SIDECAR_SCHEMA or data.get("schema_version") != SIDECAR_VERSION:
            raise StaleEngineError(
                f"engine sidecar has schema {data.get('schema')!r} version "
                f"{data.get('schema_version')!r}, this ese reads {SIDECAR_SCHEMA!r} version "
                f"{SIDECAR_VERSION}: rebuild the engine with ese-engines"
            )
        return cls(
            gpu_name=str(data["gpu_name"]),
            compute_capability=str(data["compute_capability"]),
            multiprocessors=int(data["multiprocessors"]),
            total_memory_gib=int(data["total_memory_gib"]),
            trt_version=str(data["trt_version"]),
            precision=Precision(data["precision"]),
            depth=int(data["depth"]),
            shapes=ProfileShapes.from_dict(data["shapes"]),
            graph_sha256=str(data["graph_sha256"]),
            typing=str(data.get("typing", "weak")),
        )


def write_sidecar(root: Path, key: EngineKey, extra: dict[str, Any] | None = None) -> Path:
    path = Path(root) / key.sidecar
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {**key.to_dict(), **(extra or {})})
    return path


def read_sidecar(path: Path) -> EngineKey:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StaleEngineError(
            f"engine {Path(path).with_suffix('.plan').name} has no sidecar {Path(path).name}: "
            "its GPU, TensorRT version and source graph are unknown; rebuild it with ese-engines"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise StaleEngineError(
            f"cannot read the engine sidecar {path} ({exc}); rebuild it"
        ) from exc
    try:
        return EngineKey.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise StaleEngineError(
            f"the engine sidecar {path} is malformed ({exc}); rebuild it"
        ) from exc


_COMPARED = (
    "gpu_name",
    "compute_capability",
    "multiprocessors",
    "total_memory_gib",
    "trt_version",
    "precision",
    "depth",
    "graph_sha256",
)


def differences(built: EngineKey, wanted: EngineKey, *, shapes: bool = False) -> list[str]:
    """Each field where the engine on disk differs from what is wanted now."""
    out = []
    for name in (*_COMPARED, *(("shapes",) if shapes else ())):
        have, want = getattr(built, name), getattr(wanted, name)
        if have != want:
            label = {"graph_sha256": "source graph sha256"}.get(name, name.replace("_", " "))
            have_text = getattr(have, "value", have)
            want_text = getattr(want, "value", want)
            if name == "graph_sha256":
                have_text, want_text = f"{have[:12]}...", f"{want[:12]}..."
            if name == "shapes":
                have_text, want_text = have.to_dict(), want.to_dict()
            out.append(f"{label}: built for {have_text}, here {want_text}")
    return out


def check_fresh(built: EngineKey, wanted: EngineKey, plan: str, *, shapes: bool = False) -> None:
    """Refuse an engine built for another GPU, TensorRT, graph (or shape range)."""
    found = differences(built, wanted, shapes=shapes)
    if found:
        raise StaleEngineError(
            f"engine {plan} is stale: "
            + "; ".join(found)
            + ". TensorRT engines only run where they were built: rebuild on this machine with "
            f"`ese-engines DIR --precision {wanted.precision.value} --batch "
            f"{wanted.shapes.batch} --seq {wanted.shapes.seq}`"
        )
