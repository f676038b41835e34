"""Refuse a model declared to pad on the left: the exported graphs' contract pads on the right.

Every graph takes right-padded batches (the runtime and the exporter's tokenizer pad on the
right): the CLS token sits at position 0, the last real token at ``sum(mask) - 1``, and every
text's positions start at 0. A model whose own library pads on the left (AnglE's
``tokenizer_padding_side``, or ``padding_side`` in the tokenizer's ``tokenizer_config.json``,
which transformers and sentence-transformers follow) gives other vectors for every shorter
text of a batch, whatever the pooling: ``cls`` reads a pad token, ``last`` a shifted position,
``avg`` shifted position embeddings. The graphs cannot reproduce such vectors, so the export is
refused, naming the file and the field, whatever the pooling.
"""

from __future__ import annotations

from pathlib import Path

from ese.exporter.source.angle_config import AngleConfig
from ese.exporter.source.model_json import read_json_object
from ese.format.errors import UserError

TOKENIZER_CONFIG = "tokenizer_config.json"
_ADVICE = (
    "the exported graphs pad on the right, so the source library's left-padded batches would "
    "give other vectors than the graphs for every shorter text; if the model is used with right "
    'padding, set {field} to "right" in {file} and export again'
)


def check_right_padding(transformer_dir: Path, angle: AngleConfig | None) -> None:
    """UserError when AnglE's config or the tokenizer's config pads on the left."""
    if angle is not None and angle.padding_side == "left":
        raise UserError(
            f'{angle.where}: tokenizer_padding_side is "left"; '
            + _ADVICE.format(field="tokenizer_padding_side", file=angle.where)
        )
    config_file = transformer_dir / TOKENIZER_CONFIG
    if not config_file.is_file():
        return
    side = read_json_object(config_file).get("padding_side")
    if side == "left":
        raise UserError(
            f'{config_file}: padding_side is "left"; '
            + _ADVICE.format(field="padding_side", file=config_file)
        )
