"""manifest.json: the schema-versioned index of an export directory.

Frozen dataclasses that validate themselves; ``Manifest.from_dict`` is the only reader and
``Manifest.to_dict`` the only writer, so the schema lives in this file alone.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from .contract import MANIFEST_FILE, Pooling, Precision, Projection
from .errors import ManifestError

SCHEMA = "ese.export"
SCHEMA_VERSION = 1


def confined_path(relative: str) -> str:
    """Check that a manifest path is relative and stays inside the export directory."""
    path = PurePosixPath(relative)
    if not relative or path.is_absolute() or ".." in path.parts or "\\" in relative:
        raise ManifestError(
            f"manifest path {relative!r} is not a relative path inside the export directory; "
            "the manifest was edited or written by another tool: re-export the model"
        )
    return relative


@dataclass(frozen=True)
class FileEntry:
    """A file of the export with its size and digest, checked at load."""

    path: str
    sha256: str
    bytes: int

    def __post_init__(self) -> None:
        confined_path(self.path)
        if len(self.sha256) != 64:
            raise ManifestError(f"{self.path}: sha256 {self.sha256!r} is not a hex digest")
        if self.bytes < 0:
            raise ManifestError(f"{self.path}: size {self.bytes} is negative")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FileEntry:
        return cls(path=str(data["path"]), sha256=str(data["sha256"]), bytes=int(data["bytes"]))

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "bytes": self.bytes}


@dataclass(frozen=True)
class SourceModel:
    """Where the graphs came from and what the model is."""

    path: str
    weights_sha256: str
    architecture: str
    model_type: str
    hidden_size: int
    num_layers: int
    pooling: Pooling
    normalize: bool
    max_seq_length: int
    uses_token_type_ids: bool

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SourceModel:
        return cls(
            path=str(data["path"]),
            weights_sha256=str(data["weights_sha256"]),
            architecture=str(data["architecture"]),
            model_type=str(data["model_type"]),
            hidden_size=int(data["hidden_size"]),
            num_layers=int(data["num_layers"]),
            pooling=Pooling(data["pooling"]),
            normalize=bool(data["normalize"]),
            max_seq_length=int(data["max_seq_length"]),
            uses_token_type_ids=bool(data["uses_token_type_ids"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "weights_sha256": self.weights_sha256,
            "architecture": self.architecture,
            "model_type": self.model_type,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "pooling": self.pooling.value,
            "normalize": self.normalize,
            "max_seq_length": self.max_seq_length,
            "uses_token_type_ids": self.uses_token_type_ids,
        }


@dataclass(frozen=True)
class ProjectionInfo:
    """The fused projection: a centred PCA per depth, or none."""

    kind: Projection
    calibration_source: str | None = None
    calibration_sha256: str | None = None
    calibration_sentences: int = 0
    reason: str | None = None  # why the exporter chose this kind (e.g. from a training card)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProjectionInfo:
        calibration = data.get("calibration") or {}
        return cls(
            kind=Projection(data["kind"]),
            calibration_source=calibration.get("source"),
            calibration_sha256=calibration.get("sha256"),
            calibration_sentences=int(calibration.get("sentences", 0)),
            reason=data.get("reason"),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value}
        if self.reason:
            out["reason"] = self.reason
        if self.kind is Projection.PCA:
            out["calibration"] = {
                "source": self.calibration_source,
                "sha256": self.calibration_sha256,
                "sentences": self.calibration_sentences,
            }
        return out


@dataclass(frozen=True)
class Parity:
    """How closely a graph reproduces the PyTorch model cut at the same depth."""

    max_abs_diff: float
    min_cosine: float
    probes: int
    tolerance: float
    reference: str = "torch fp32"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Parity:
        return cls(
            max_abs_diff=float(data["max_abs_diff"]),
            min_cosine=float(data["min_cosine"]),
            probes=int(data["probes"]),
            tolerance=float(data["tolerance"]),
            reference=str(data.get("reference", "torch fp32")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_abs_diff": self.max_abs_diff,
            "min_cosine": self.min_cosine,
            "probes": self.probes,
            "tolerance": self.tolerance,
            "reference": self.reference,
        }


# quality[task][dims] = score, e.g. {"stsb": {"64": 79.1, "384": 82.0}}
Quality = Mapping[str, Mapping[int, float]]


@dataclass(frozen=True)
class GraphEntry:
    """One ONNX graph: a depth at a precision, its files and its measured figures."""

    depth: int
    precision: Precision
    file: FileEntry
    external_data: tuple[FileEntry, ...]
    opset: int
    dims: int
    parity: Parity
    quality: Quality = field(default_factory=dict)
    # Bytes of the weights this graph reads (its file plus its share of external data).
    weight_bytes: int = 0

    @property
    def key(self) -> tuple[int, Precision]:
        return (self.depth, self.precision)

    def files(self) -> tuple[FileEntry, ...]:
        return (self.file, *self.external_data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GraphEntry:
        quality = {
            task: {int(d): float(v) for d, v in scores.items()}
            for task, scores in (data.get("quality") or {}).items()
        }
        return cls(
            depth=int(data["depth"]),
            precision=Precision(data["precision"]),
            file=FileEntry.from_dict(data["file"]),
            external_data=tuple(FileEntry.from_dict(f) for f in data.get("external_data", [])),
            opset=int(data["opset"]),
            dims=int(data["dims"]),
            parity=Parity.from_dict(data["parity"]),
            quality=quality,
            weight_bytes=int(data.get("weight_bytes", 0)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "depth": self.depth,
            "precision": self.precision.value,
            "file": self.file.to_dict(),
            "external_data": [f.to_dict() for f in self.external_data],
            "opset": self.opset,
            "dims": self.dims,
            "parity": self.parity.to_dict(),
            "weight_bytes": self.weight_bytes,
            "quality": {
                task: {str(d): v for d, v in sorted(scores.items())}
                for task, scores in self.quality.items()
            },
        }


@dataclass(frozen=True)
class Manifest:
    """The only index of an export directory."""

    source: SourceModel
    tokenizer: tuple[FileEntry, ...]
    projection: ProjectionInfo
    graphs: tuple[GraphEntry, ...]
    tools: Mapping[str, str]
    created: str
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not self.graphs:
            raise ManifestError("the manifest lists no graphs; re-export the model")
        keys = [g.key for g in self.graphs]
        if len(set(keys)) != len(keys):
            raise ManifestError(f"the manifest lists a (depth, precision) twice: {keys}")
        for g in self.graphs:
            if not 1 <= g.depth <= self.source.num_layers:
                raise ManifestError(
                    f"graph {g.file.path} has depth {g.depth}, outside the source model's "
                    f"1..{self.source.num_layers} layers"
                )

    @property
    def depths(self) -> tuple[int, ...]:
        return tuple(sorted({g.depth for g in self.graphs}))

    def graph(self, depth: int, precision: Precision = Precision.FP32) -> GraphEntry:
        for g in self.graphs:
            if g.key == (depth, precision):
                return g
        have = ", ".join(f"depth {d} {p.value}" for d, p in sorted(g.key for g in self.graphs))
        raise ManifestError(
            f"no graph for depth {depth} at {precision.value}; this export has: {have}"
        )

    def all_files(self) -> tuple[FileEntry, ...]:
        """Every file the manifest lists, each once (shared weight files are listed by many)."""
        seen: dict[str, FileEntry] = {}
        for entry in (*self.tokenizer, *(f for g in self.graphs for f in g.files())):
            seen.setdefault(entry.path, entry)
        return tuple(seen.values())

    def with_quality(
        self, depth: int, precision: Precision, task: str, scores: Mapping[int, float]
    ) -> Manifest:
        """A copy with ``scores`` recorded for one graph and one task."""
        graphs = tuple(
            replace(g, quality={**g.quality, task: dict(scores)})
            if g.key == (depth, precision)
            else g
            for g in self.graphs
        )
        return replace(self, graphs=graphs)

    def with_graphs(self, extra: tuple[GraphEntry, ...]) -> Manifest:
        """A copy with graphs added or replaced (by depth and precision)."""
        keys = {g.key for g in extra}
        kept = tuple(g for g in self.graphs if g.key not in keys)
        ordered = sorted((*kept, *extra), key=lambda g: (g.depth, g.precision.value))
        return replace(self, graphs=tuple(ordered))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        if data.get("schema") != SCHEMA:
            raise ManifestError(
                f"manifest schema is {data.get('schema')!r}, expected {SCHEMA!r}: "
                "this is not an ese export directory"
            )
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ManifestError(
                f"manifest schema_version is {version!r}; this ese reads version "
                f"{SCHEMA_VERSION}: re-export the model with this version of ese-export, "
                "or install the ese version that wrote it"
            )
        try:
            return cls(
                source=SourceModel.from_dict(data["source"]),
                tokenizer=tuple(FileEntry.from_dict(f) for f in data["tokenizer"]["files"]),
                projection=ProjectionInfo.from_dict(data["projection"]),
                graphs=tuple(GraphEntry.from_dict(g) for g in data["graphs"]),
                tools=dict(data.get("tools", {})),
                created=str(data.get("created", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(
                f"manifest.json is malformed ({type(exc).__name__}: {exc}); re-export the model"
            ) from exc

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "schema_version": self.schema_version,
            "created": self.created,
            "source": self.source.to_dict(),
            "tokenizer": {"files": [f.to_dict() for f in self.tokenizer]},
            "projection": self.projection.to_dict(),
            "graphs": [g.to_dict() for g in self.graphs],
            "tools": dict(self.tools),
        }


def read_manifest(export_dir: Path) -> Manifest:
    """Parse ``DIR/manifest.json`` (no file checks: see ``ese.runtime.export_dir``)."""
    path = Path(export_dir) / MANIFEST_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(
            f"{export_dir} has no {MANIFEST_FILE}: it is not an ese export directory "
            "(create one with `ese-export MODEL --out DIR`)"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path} is not valid JSON ({exc}); re-export the model") from exc
    if not isinstance(data, dict):
        raise ManifestError(f"{path} holds a {type(data).__name__}, not a JSON object")
    return Manifest.from_dict(data)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON to a sibling temporary file, fsync it, then rename it over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_manifest(export_dir: Path, manifest: Manifest) -> None:
    write_json_atomic(Path(export_dir) / MANIFEST_FILE, manifest.to_dict())
