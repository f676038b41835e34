"""manifest.json: the schema-versioned index of an export directory.

Frozen dataclasses that validate themselves; ``Manifest.from_dict`` is the only reader and
``Manifest.to_dict`` the only writer, so the schema lives in this file alone.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from ese.format.confined import resolve_inside
from ese.format.contract import MANIFEST_FILE, Pooling, Precision, Projection
from ese.format.errors import ManifestError
from ese.format.fresh_paths import fresh_file
from ese.format.json_fields import Field, shown
from ese.format.source_vectors import SourceMatch, source_match

SCHEMA = "ese.export"
SCHEMA_VERSION = 1

ADVICE = "the manifest was edited or damaged: re-export the model"
# Ranges no real export leaves (they keep absurd values from overflowing further on).
MAX_LAYERS = 1000
MAX_WIDTH = 1 << 20  # hidden size, graph dims, sequence length
MAX_BYTES = 1 << 62
MAX_COUNT = 1 << 40  # probes, calibration sentences
MAX_OPSET = 1000
_SHA256 = re.compile(r"[0-9a-f]{64}")


def confined_path(relative: str) -> str:
    """Check that a manifest path is relative and stays inside the export directory."""
    path = PurePosixPath(relative)
    if (
        not relative
        or path.is_absolute()
        or ".." in path.parts
        or "\\" in relative
        or "\x00" in relative  # no file system takes it: every later use would fail
    ):
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
        if not _SHA256.fullmatch(self.sha256):
            raise ManifestError(f"{self.path}: sha256 {self.sha256!r} is not a hex digest")
        if self.bytes < 0:
            raise ManifestError(f"{self.path}: size {self.bytes} is negative")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | Field) -> FileEntry:
        f = _field(data)
        path = f["path"].as_str()
        sha256 = f["sha256"].as_str()
        if not _SHA256.fullmatch(sha256):
            raise f["sha256"].fail("is not a sha256 hex digest (64 characters 0-9, a-f)")
        try:
            confined_path(path)
        except ManifestError:
            raise f["path"].fail("is not a relative path inside the export directory") from None
        return cls(path=path, sha256=sha256, bytes=f["bytes"].as_int(0, MAX_BYTES))

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
    pooling_source: str | None = None  # where the pooling came from (declaration or --pooling)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | Field) -> SourceModel:
        f = _field(data)
        pooling_source = f.get("pooling_source")
        return cls(
            path=f["path"].as_str(),
            weights_sha256=f["weights_sha256"].as_str(),
            architecture=f["architecture"].as_str(),
            model_type=f["model_type"].as_str(),
            hidden_size=f["hidden_size"].as_int(1, MAX_WIDTH),
            num_layers=f["num_layers"].as_int(1, MAX_LAYERS),
            pooling=f["pooling"].as_enum(Pooling),
            normalize=f["normalize"].as_bool(),
            max_seq_length=f["max_seq_length"].as_int(1, MAX_WIDTH),
            uses_token_type_ids=f["uses_token_type_ids"].as_bool(),
            pooling_source=pooling_source.as_str() if pooling_source else None,
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
            **({"pooling_source": self.pooling_source} if self.pooling_source else {}),
        }


@dataclass(frozen=True)
class DepthProjection:
    """The projection fused at one depth, and the mean probe score of each kind measured.

    ``matches_source`` says whether the depth's vectors are the source model's own inference
    at that depth and ``source_note`` which they are, or why not (see ``source_match``); both
    are absent (None, "") in manifests written before they were recorded.
    """

    depth: int
    kind: Projection
    scores: Mapping[str, float] = field(default_factory=dict)  # {"none": 67.2, "pca": 70.3}
    reason: str = ""
    matches_source: bool | None = None
    source_note: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | Field) -> DepthProjection:
        f = _field(data)
        scores = f.get("scores")
        matches = f.get("matches_source")
        return cls(
            depth=f["depth"].as_int(1, MAX_LAYERS),
            kind=f["kind"].as_enum(Projection),
            scores={k: v.as_float(-1000.0, 1000.0) for k, v in scores.items()} if scores else {},
            reason=_optional_str(f, "reason") or "",
            matches_source=matches.as_bool() if matches is not None else None,
            source_note=_optional_str(f, "source_note") or "",
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "depth": self.depth,
            "kind": self.kind.value,
            "scores": dict(self.scores),
            "reason": self.reason,
        }
        if self.matches_source is not None:
            out["matches_source"] = self.matches_source
            out["source_note"] = self.source_note
        return out


@dataclass(frozen=True)
class QualityProbe:
    """The labelled set the per-depth choice and the graphs' ``task`` quality grid came from."""

    task: str
    source: str
    sha256: str
    layout: str  # triplets, pairs or stsb
    metric: str
    examples: int
    widths: tuple[int, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | Field) -> QualityProbe:
        f = _field(data)
        return cls(
            task=f["task"].as_str(nonempty=True),
            source=f["source"].as_str(),
            sha256=f["sha256"].as_str(),
            layout=f["layout"].as_str(),
            metric=f["metric"].as_str(),
            examples=f["examples"].as_int(0, MAX_COUNT),
            widths=tuple(w.as_int(1, MAX_WIDTH) for w in f["widths"].elements()),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "source": self.source,
            "sha256": self.sha256,
            "layout": self.layout,
            "metric": self.metric,
            "examples": self.examples,
            "widths": list(self.widths),
        }


@dataclass(frozen=True)
class ProjectionInfo:
    """The fused projection: a centred PCA per depth, or none.

    ``kind`` is pca when any depth fuses a PCA (its calibration corpus is then recorded);
    ``depths`` says which kind each depth fuses and the probe scores it was chosen on.
    """

    kind: Projection
    calibration_source: str | None = None
    calibration_sha256: str | None = None
    calibration_sentences: int = 0
    reason: str | None = None  # why the exporter chose this kind (e.g. from a training card)
    depths: tuple[DepthProjection, ...] = ()
    probe: QualityProbe | None = None

    def kind_at(self, depth: int) -> Projection:
        """The kind fused at ``depth`` (``kind`` for manifests written before per-depth kinds)."""
        return next((d.kind for d in self.depths if d.depth == depth), self.kind)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | Field) -> ProjectionInfo:
        f = _field(data)
        calibration = f.get("calibration")
        sentences = calibration.get("sentences") if calibration else None
        depths, probe = f.get("depths"), f.get("probe")
        return cls(
            kind=f["kind"].as_enum(Projection),
            calibration_source=_optional_str(calibration, "source"),
            calibration_sha256=_optional_str(calibration, "sha256"),
            calibration_sentences=sentences.as_int(0, MAX_COUNT) if sentences else 0,
            reason=_optional_str(f, "reason"),
            depths=tuple(DepthProjection.from_dict(d) for d in depths.elements()) if depths else (),
            probe=QualityProbe.from_dict(probe) if probe else None,
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
        if self.depths:
            out["depths"] = [d.to_dict() for d in self.depths]
        if self.probe is not None:
            out["probe"] = self.probe.to_dict()
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
    def from_dict(cls, data: Mapping[str, Any] | Field) -> Parity:
        f = _field(data)
        return cls(
            max_abs_diff=f["max_abs_diff"].as_float(0.0),
            min_cosine=f["min_cosine"].as_float(-1.5, 1.5),
            probes=f["probes"].as_int(0, MAX_COUNT),
            tolerance=f["tolerance"].as_float(0.0),
            reference=_optional_str(f, "reference") or "torch fp32",
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
    def from_dict(cls, data: Mapping[str, Any] | Field) -> GraphEntry:
        f = _field(data)
        dims = f["dims"].as_int(1, MAX_WIDTH)
        quality = f.get("quality")
        external = f.get("external_data")
        weight_bytes = f.get("weight_bytes")
        return cls(
            depth=f["depth"].as_int(1, MAX_LAYERS),
            precision=f["precision"].as_enum(Precision),
            file=FileEntry.from_dict(f["file"]),
            external_data=tuple(FileEntry.from_dict(e) for e in external.elements())
            if external
            else (),
            opset=f["opset"].as_int(1, MAX_OPSET),
            dims=dims,
            parity=Parity.from_dict(f["parity"]),
            quality=_quality(quality, dims) if quality else {},
            weight_bytes=weight_bytes.as_int(0, MAX_BYTES) if weight_bytes else 0,
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

    def source_match(self, depth: int) -> SourceMatch:
        """Whether ``depth``'s vectors are the source model's own inference there, and which:
        as recorded at export, or derived from the fused kind for older manifests."""
        recorded = next((d for d in self.projection.depths if d.depth == depth), None)
        if recorded is not None and recorded.matches_source is not None:
            return SourceMatch(recorded.matches_source, recorded.source_note)
        return source_match(
            self.projection.kind_at(depth),
            depth,
            self.source.num_layers,
            self.source.pooling,
            self.source.normalize,
        )

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
    def from_dict(cls, data: Mapping[str, Any], source: str = MANIFEST_FILE) -> Manifest:
        f = Field.root(data, source, ManifestError, ADVICE)
        f.obj()
        if data.get("schema") != SCHEMA:
            raise ManifestError(
                f"manifest schema is {shown(data.get('schema'))}, expected {SCHEMA!r}: "
                "this is not an ese export directory"
            )
        version = data.get("schema_version")
        if type(version) is not int or version != SCHEMA_VERSION:
            raise ManifestError(
                f"manifest schema_version is {shown(version)}; this ese reads version "
                f"{SCHEMA_VERSION}: re-export the model with this version of ese-export, "
                "or install the ese version that wrote it"
            )
        tools = f.get("tools")
        return cls(
            source=SourceModel.from_dict(f["source"]),
            tokenizer=tuple(FileEntry.from_dict(e) for e in f["tokenizer"]["files"].elements()),
            projection=ProjectionInfo.from_dict(f["projection"]),
            graphs=tuple(GraphEntry.from_dict(g) for g in f["graphs"].elements()),
            tools={k: v.as_str() for k, v in tools.items()} if tools else {},
            created=_optional_str(f, "created") or "",
        )

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


def _field(data: Mapping[str, Any] | Field) -> Field:
    """``data`` as a Field (callers in code pass a plain dict)."""
    if isinstance(data, Field):
        return data
    return Field.root(data, MANIFEST_FILE, ManifestError, ADVICE)


def _optional_str(f: Field | None, key: str) -> str | None:
    value = f.get(key) if f else None
    return value.as_str() if value else None


def _quality(f: Field, dims: int) -> dict[str, dict[int, float]]:
    """``{task: {dims: score}}``: every width within the graph's, every score finite."""
    return {
        task: {
            scores.as_int_key(width, 1, dims): score.as_float(-1000.0, 1000.0)
            for width, score in scores.items()
        }
        for task, scores in f.items()
    }


def read_manifest(export_dir: Path) -> Manifest:
    """Parse ``DIR/manifest.json`` (no file checks: see ``ese.format.export_dir``).

    The manifest itself must lie inside DIR (a symlink to a file outside is refused).
    """
    path = resolve_inside(export_dir, MANIFEST_FILE)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(
            f"{export_dir} has no {MANIFEST_FILE}: it is not an ese export directory "
            "(create one with `ese-export MODEL --out DIR`)"
        ) from None
    except OSError as exc:
        raise ManifestError(
            f"cannot read {path} ({exc.strerror or exc}): it must be the readable file "
            "ese-export wrote; re-export the model"
        ) from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ManifestError(
            f"{path} is not UTF-8 text (byte {exc.start}); it was damaged: re-export the model"
        ) from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, over-long integers, nesting
        raise ManifestError(f"{path} is not valid JSON ({exc}); re-export the model") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path} holds a {type(data).__name__}, not a JSON object")
    return Manifest.from_dict(data, source=str(path))


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON to a sibling temporary file, fsync it, then rename it over ``path``."""
    path = Path(path)
    fd, tmp = fresh_file(path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0666 less umask
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_manifest(export_dir: Path, manifest: Manifest) -> None:
    write_json_atomic(Path(export_dir) / MANIFEST_FILE, manifest.to_dict())
