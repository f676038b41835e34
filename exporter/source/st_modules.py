"""A sentence-transformers directory's ``modules.json`` and its Pooling module's ``config.json``:
read from a model, and written for the stand-in and test models built in code.

Only the modules the graphs reproduce are accepted (Transformer, Pooling, Normalize): a Dense or
other module left out of the graph would make every vector wrong, so it is refused by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ese.exporter.errors import PoolingError
from ese.exporter.source.model_json import json_object, optional_bool, optional_str, read_json_file
from ese.format import Pooling
from ese.format.errors import UserError

MODULES_FILE = "modules.json"
_KINDS = ("Transformer", "Pooling", "Normalize")

# sentence-transformers' Pooling config keys, one boolean per mode.
POOLING_KEYS = {
    "pooling_mode_cls_token": Pooling.CLS,
    "pooling_mode_mean_tokens": Pooling.MEAN,
    "pooling_mode_max_tokens": Pooling.MAX,
    "pooling_mode_mean_sqrt_len_tokens": Pooling.MEAN_SQRT_LEN,
    "pooling_mode_lasttoken": Pooling.LAST_TOKEN,
}
# Its ``pooling_mode`` strings.
POOLING_MODES = {
    "cls": Pooling.CLS,
    "mean": Pooling.MEAN,
    "max": Pooling.MAX,
    "mean_sqrt_len_tokens": Pooling.MEAN_SQRT_LEN,
    "lasttoken": Pooling.LAST_TOKEN,
}


@dataclass(frozen=True)
class StModules:
    """Where the Transformer and Pooling modules live, and whether vectors are normalised."""

    transformer_path: str
    pooling_path: str | None
    normalize: bool


def _module_kind(entry: object, where: str) -> tuple[str, str]:
    module = json_object(entry, where)
    kind = optional_str(module, "type", where)
    path = optional_str(module, "path", where) or ""
    if kind is None:
        raise UserError(f"{where} has no module type")
    short = kind.rsplit(".", 1)[-1]
    if short not in _KINDS:
        raise UserError(
            f"{where}: module {kind!r} is not supported; the graphs reproduce only "
            f"{', '.join(_KINDS)}, and leaving it out would change every vector"
        )
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or "\\" in path:
        raise UserError(f"{where}: module path {path!r} is not inside the model directory")
    return short, path


def st_modules_from_json(value: object, where: str = MODULES_FILE) -> StModules:
    """The parsed ``modules.json`` value -> StModules (or UserError / Unsupported...)."""
    if not isinstance(value, list):
        raise UserError(f"{where} is not a list of modules; restore it from the model")
    paths: dict[str, list[str]] = {kind: [] for kind in _KINDS}
    for i, entry in enumerate(value):
        kind, path = _module_kind(entry, f"{where} entry {i}")
        paths[kind].append(path)
    for kind in ("Transformer", "Pooling"):
        if len(paths[kind]) > 1:
            raise UserError(f"{where} lists {len(paths[kind])} {kind} modules")
    if not paths["Transformer"]:
        raise UserError(f"{where} lists no Transformer module")
    return StModules(
        transformer_path=paths["Transformer"][0],
        pooling_path=paths["Pooling"][0] if paths["Pooling"] else None,
        normalize=bool(paths["Normalize"]),
    )


def read_st_modules(path: Path) -> StModules | None:
    """``path/modules.json`` parsed; None when the directory has none."""
    modules_file = path / MODULES_FILE
    if not modules_file.is_file():
        return None
    return st_modules_from_json(read_json_file(modules_file), str(modules_file))


def pooling_from_st_config(value: object, where: str) -> Pooling:
    """A Pooling module's parsed ``config.json`` -> the one pooling mode it enables."""
    config = json_object(value, where)
    mode = optional_str(config, "pooling_mode", where)
    if mode is not None and mode in POOLING_MODES:
        return POOLING_MODES[mode]
    enabled: list[str] = []
    for key in config:
        if key.startswith("pooling_mode_") and optional_bool(config, key, where):
            enabled.append(key)
    chosen = [POOLING_KEYS[key] for key in enabled if key in POOLING_KEYS]
    if len(enabled) != 1 or len(chosen) != 1:
        raise PoolingError(
            f"{where}: pooling {enabled or mode or 'none'} is not supported; the exporter "
            f"supports exactly one of {', '.join(POOLING_KEYS)}; or pass --pooling"
        )
    return chosen[0]


def st_pooling(path: Path, modules: StModules) -> tuple[Pooling, str] | None:
    """The Pooling module's mode and the file that declares it; None without a Pooling module."""
    if modules.pooling_path is None:
        return None
    config_file = path / modules.pooling_path / "config.json"
    relative = f"{modules.pooling_path}/config.json" if modules.pooling_path else "config.json"
    return pooling_from_st_config(read_json_file(config_file), str(config_file)), relative


def write_st_modules(
    directory: Path, *, hidden: int, pooling: Pooling | str, normalize: bool, max_seq_length: int
) -> None:
    """The sentence-transformers files beside saved weights, as this module reads them:
    modules.json (Transformer, Pooling, and Normalize when ``normalize``), the Pooling module's
    config.json with ``pooling`` the one mode on, and sentence_bert_config.json."""
    paths = {"Transformer": "", "Pooling": "1_Pooling", "Normalize": "2_Normalize"}
    kinds = ["Transformer", "Pooling", *(["Normalize"] if normalize else [])]
    modules = [
        {
            "idx": i,
            "name": str(i),
            "path": paths[kind],
            "type": f"sentence_transformers.models.{kind}",
        }
        for i, kind in enumerate(kinds)
    ]
    (directory / MODULES_FILE).write_text(json.dumps(modules), encoding="utf-8")
    pooling_dir = directory / paths["Pooling"]
    pooling_dir.mkdir(exist_ok=True)
    modes = {key: mode is Pooling(pooling) for key, mode in POOLING_KEYS.items()}
    (pooling_dir / "config.json").write_text(
        json.dumps({"word_embedding_dimension": hidden, **modes}), encoding="utf-8"
    )
    (directory / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": max_seq_length}), encoding="utf-8"
    )
