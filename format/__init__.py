"""The export format: the graph contract, the manifest, the export directory and device profiles.

The artefact between the two flows: the exporter writes it, the runtime reads it, every tool
opens it. Torch-free and at the bottom of the layers: it imports no other ese package. The two
error roots every package raises under are here too (:mod:`ese.format.errors`).
"""

from __future__ import annotations

from ese.format.contract import (
    ATTENTION_MASK,
    BATCH_AXIS,
    DIMS_LADDER,
    ENGINES_DIR,
    GRAPHS_DIR,
    INPUT_IDS,
    OUTPUT,
    PROFILES_DIR,
    REPORTS_DIR,
    TOKEN_TYPE_IDS,
    TOKENIZER_DIR,
    TOKENIZER_FILE,
    Pooling,
    Precision,
    Projection,
    dynamic_axes,
    graph_file,
    input_names,
)
from ese.format.errors import ExportDirError
from ese.format.export_dir import ExportDir, open_export, resolve_inside
from ese.format.export_lock import LOCK_WAIT_S, export_locked
from ese.format.files import file_entry
from ese.format.json_fields import Field
from ese.format.manifest import (
    DepthProjection,
    FileEntry,
    GraphEntry,
    Manifest,
    Parity,
    ProjectionInfo,
    QualityProbe,
    SourceModel,
    read_manifest,
    write_json_atomic,
    write_manifest,
)
from ese.format.profile import DeviceProfile, ProfileEntry, profile_path, write_profile
from ese.format.profile_lock import profiles_locked
from ese.format.source_vectors import SourceMatch, source_match

__all__ = [
    "ATTENTION_MASK",
    "BATCH_AXIS",
    "DIMS_LADDER",
    "ENGINES_DIR",
    "GRAPHS_DIR",
    "INPUT_IDS",
    "LOCK_WAIT_S",
    "OUTPUT",
    "PROFILES_DIR",
    "REPORTS_DIR",
    "TOKENIZER_DIR",
    "TOKENIZER_FILE",
    "TOKEN_TYPE_IDS",
    "DepthProjection",
    "DeviceProfile",
    "ExportDir",
    "ExportDirError",
    "Field",
    "FileEntry",
    "GraphEntry",
    "Manifest",
    "Parity",
    "Pooling",
    "Precision",
    "ProfileEntry",
    "Projection",
    "ProjectionInfo",
    "QualityProbe",
    "SourceMatch",
    "SourceModel",
    "dynamic_axes",
    "export_locked",
    "file_entry",
    "graph_file",
    "input_names",
    "open_export",
    "profile_path",
    "profiles_locked",
    "read_manifest",
    "resolve_inside",
    "source_match",
    "write_json_atomic",
    "write_manifest",
    "write_profile",
]
