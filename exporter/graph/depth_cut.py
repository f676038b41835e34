"""Cut an encoder to its first d layers, in place and reversibly, without copying weights."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from torch import nn

from ese.format.errors import UserError


def layer_list(encoder: nn.Module, layer_path: str) -> tuple[nn.Module, str, nn.ModuleList]:
    """The module holding the layers, the attribute name, and the layer list itself."""
    *parents, attr = layer_path.split(".")
    holder: Any = encoder
    for name in parents:
        holder = getattr(holder, name, None)
    layers = getattr(holder, attr, None)
    if not isinstance(layers, nn.ModuleList):
        raise UserError(
            f"{type(encoder).__name__} has no layer list at {layer_path!r}; "
            "it cannot be cut by depth"
        )
    return holder, attr, layers


@contextmanager
def cut_to_depth(encoder: nn.Module, layer_path: str, depth: int) -> Iterator[nn.Module]:
    """Within the block, ``encoder`` runs its embeddings and first ``depth`` layers only."""
    holder, attr, layers = layer_list(encoder, layer_path)
    config = encoder.config
    count_attr = "num_hidden_layers" if hasattr(config, "num_hidden_layers") else "n_layers"
    full = getattr(config, count_attr)
    setattr(holder, attr, nn.ModuleList(list(layers)[:depth]))
    setattr(config, count_attr, depth)
    try:
        yield encoder
    finally:
        setattr(holder, attr, layers)
        setattr(config, count_attr, full)
