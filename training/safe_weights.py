"""ese-train loads safetensors weights only, as ese-export does: a pickle (pytorch_model.bin,
.pt, ...) can run code when it is read, so a directory that offers one where no safetensors file
sits beside it is refused with how to convert it, before sentence-transformers opens anything."""

from __future__ import annotations

from pathlib import Path

from ese.exporter.source.model_json import read_json_file
from ese.exporter.source.weight_files import PICKLE_SUFFIXES
from ese.format.errors import UserError

_CONVERT = (
    "convert it once, where you trust the file: `AutoModel.from_pretrained(dir)"
    ".save_pretrained(dir, safe_serialization=True)` (or SentenceTransformer(dir).save(dir))"
)


def _module_dirs(path: Path) -> tuple[list[Path], Path]:
    """The model directory and the folder of each module modules.json lists; and the folder of
    the Transformer module (the directory itself without modules.json)."""
    dirs, transformer = [path], path
    if (path / "modules.json").is_file():
        try:
            modules = read_json_file(path / "modules.json")
        except UserError as exc:
            raise UserError(str(exc)) from exc
        for entry in modules if isinstance(modules, list) else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                continue
            dirs.append(path / entry["path"])
            if str(entry.get("type", "")).endswith("Transformer"):
                transformer = path / entry["path"]
    return [d for d in dirs if d.is_dir()], transformer


def require_safetensors(path: Path) -> None:
    """UserError when ``path`` has no safetensors weights or a module offers only a pickle."""
    folders, transformer = _module_dirs(path)
    for folder in folders:
        if any(folder.glob("*.safetensors")):
            continue
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
        if pickles:
            raise UserError(
                f"{folder} has pickle weights ({', '.join(pickles)}) and no .safetensors; "
                f"pickles are never loaded (they can run code): {_CONVERT}"
            )
    if not any(transformer.glob("*.safetensors")):
        raise UserError(f"{transformer} has no .safetensors weights; {_CONVERT}")
