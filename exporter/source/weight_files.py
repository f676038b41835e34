"""The safetensors files a model directory's weights are loaded from, exactly as transformers
picks them: ``model.safetensors``, else the shards ``model.safetensors.index.json`` names.

A shard name is data from the directory, so it is confined: a relative ``.safetensors`` path
that stays inside the directory (no ``..``, not absolute, no symlink out of it; a Hugging Face
cache snapshot's links into its own ``blobs`` folder are the one allowed way out). Every file's
header is read before any weights are: a 0-byte, truncated or garbage file is a
``UserError`` naming it. The digest the manifest records covers these files and no other.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

from safetensors import SafetensorError, safe_open

from ese.exporter.source.model_json import json_object, read_json_file
from ese.format.errors import UserError

SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")
_CONVERT = (
    "convert them with `AutoModel.from_pretrained(dir).save_pretrained(dir, "
    "safe_serialization=True)`"
)


def _allowed_roots(directory: Path) -> tuple[Path, ...]:
    roots = [directory.resolve()]
    if directory.parent.name == "snapshots":  # a Hugging Face cache: snapshots/<rev> -> blobs
        roots.append((directory.parent.parent / "blobs").resolve())
    return tuple(roots)


def _shard_path(directory: Path, name: object, index: Path) -> Path:
    if not isinstance(name, str) or not name:
        raise UserError(f"{index}: a weight_map value is not a file name; restore the index")
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or "\\" in name or "\0" in name:
        raise UserError(
            f"{index}: shard {name[:80]!r} is not a file inside {directory}; shards must be "
            "relative paths inside the model directory"
        )
    if pure.suffix != ".safetensors":
        raise UserError(
            f"{index}: shard {name[:80]!r} is not a .safetensors file; only safetensors "
            f"weights are loaded ({_CONVERT})"
        )
    path = directory / pure
    resolved = path.resolve()
    if not any(resolved.is_relative_to(root) for root in _allowed_roots(directory)):
        raise UserError(
            f"{index}: shard {name[:80]!r} is a link to {resolved}, outside {directory}; "
            "copy the shard into the model directory"
        )
    if not path.is_file():
        raise UserError(f"{index}: shard {name[:80]!r} does not exist in {directory}")
    return path


def _indexed_shards(directory: Path) -> tuple[Path, ...]:
    index = directory / INDEX_FILE
    data = json_object(read_json_file(index), str(index))
    weight_map = data.get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map:
        raise UserError(f"{index} has no weight_map object; restore it from the model")
    if not isinstance(data.get("metadata"), dict):  # transformers reads it; without it, KeyError
        raise UserError(f"{index} has no metadata object; restore it from the model")
    names = sorted({str(v) if isinstance(v, str) else "" for v in weight_map.values()})
    return tuple(_shard_path(directory, name, index) for name in names)


def find_weight_files(directory: Path) -> tuple[Path, ...]:
    """The files transformers loads from ``directory`` (one file, or the indexed shards)."""
    if (directory / SINGLE_FILE).is_file():
        return (directory / SINGLE_FILE,)
    if (directory / INDEX_FILE).is_file():
        return _indexed_shards(directory)
    others = sorted(p.name for p in directory.glob("*.safetensors"))
    pickled = sorted(p.name for p in directory.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickled:
        hint = f" It has {', '.join(pickled)}: pickle weights are never loaded; {_CONVERT}."
    elif others:
        hint = f" It has {', '.join(others)}, which transformers does not load as the model."
    else:
        hint = ""
    raise UserError(
        f"{directory} has no .safetensors weights ({SINGLE_FILE} or {INDEX_FILE}).{hint}"
    )


def _header_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    try:
        with safe_open(str(path), framework="pt") as f:
            return {key: tuple(f.get_slice(key).get_shape()) for key in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError) as exc:
        raise UserError(
            f"{path} is not a readable safetensors file ({exc}); it is empty, truncated or "
            "not safetensors: restore it from the model's source"
        ) from exc


def checkpoint_shapes(directory: Path, files: tuple[Path, ...]) -> dict[str, tuple[int, ...]]:
    """Every tensor's name and shape in ``files``, from their headers; a bad file is refused, and
    so is an index whose weight_map does not say which shard holds each tensor (transformers
    trusts the index, and leaves a tensor it names but cannot find unloaded)."""
    found = {path: _header_shapes(path) for path in files}
    if files != (directory / SINGLE_FILE,):
        index = directory / INDEX_FILE
        weight_map = json_object(read_json_file(index), str(index))["weight_map"]
        for path, keys in found.items():
            claimed = {k for k, v in weight_map.items() if directory / str(v) == path}
            if claimed != set(keys):
                wrong = sorted(claimed ^ set(keys))
                raise UserError(
                    f"{index}: its weight_map does not list what {path.name} holds (differ: "
                    f"{', '.join(wrong[:4])}{', ...' if len(wrong) > 4 else ''}); restore the "
                    "index or the shards from the model's source"
                )
    return {key: shape for shapes in found.values() for key, shape in shapes.items()}


def weights_digest(directory: Path, files: tuple[Path, ...]) -> str:
    """One sha256 over ``files`` (each name relative to ``directory``, then its bytes)."""
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.relative_to(directory).as_posix()):
        digest.update(path.relative_to(directory).as_posix().encode())
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()
