"""AdamW parameter groups with a peak learning rate per transformer layer.

``scales[i]`` multiplies the peak lr of transformer layer ``i + 1`` (BERT-family parameter names,
``...layer.<i>...``). The embeddings train with layer 1's scale; every other parameter (the
pooler, a final norm) with the last layer's. No scales: one group at the peak lr.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from torch import nn

from ese.format.errors import UserError

_LAYER = re.compile(r"(?:^|\.)layers?\.(\d+)\.")


def layer_of(name: str, num_layers: int) -> int:
    """1-based transformer layer a parameter belongs to (embeddings: 1, anything else: last)."""
    if (match := _LAYER.search(name)) is not None:
        return int(match.group(1)) + 1
    return 1 if "embeddings" in name else num_layers


def layer_param_groups(
    model: nn.Module, lr: float, scales: Sequence[float], num_layers: int
) -> list[dict[str, Any]]:
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not scales:
        return [{"params": [p for _, p in params], "lr": lr}]
    if len(scales) != num_layers:
        raise UserError(
            f"--layer-lr-scales has {len(scales)} values for a model of {num_layers} layers: "
            "give one per layer"
        )
    if any(not s > 0 for s in scales):
        raise UserError(f"--layer-lr-scales {list(scales)}: every scale must be positive")
    if not any(_LAYER.search(n) for n, _ in params):
        raise UserError(
            "--layer-lr-scales: no parameter of this model is named by layer (layer.<i>.); "
            "leave the option out for this architecture"
        )
    groups: dict[int, list[nn.Parameter]] = {}
    for name, param in params:
        layer = min(layer_of(name, num_layers), num_layers)
        groups.setdefault(layer, []).append(param)
    return [{"params": groups[layer], "lr": lr * scales[layer - 1]} for layer in sorted(groups)]
