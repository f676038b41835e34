"""Every weight the export uses came from the checkpoint, and every checkpoint tensor was used.

transformers initialises a weight the checkpoint lacks at random and drops a tensor it cannot
place, with a logged warning only; the parity check would then compare the graph against the
same random model and pass. So a loading report with a missing or an unused key is refused,
naming both lists. The one tolerated gap is a missing ``pooler.*`` (the graphs pool the last
hidden state themselves and never run the encoder's pooler; sentence-transformers models are
often saved without it). The pooling and projection the exporter adds are not part of the
encoder, so they never appear here; transformers' own ignored buffers (``position_ids``) are
already left out of its report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ese.format.errors import UserError

UNUSED_BY_THE_GRAPHS = ("pooler.",)
_SHOWN = 6


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOWN])
    return f"{shown}, ... ({len(keys)} in all)" if len(keys) > _SHOWN else shown


def check_loaded_keys(loading_info: Mapping[str, Iterable[object]], where: Path) -> None:
    """Raise UserError when transformers' ``output_loading_info`` reports a missing
    encoder weight, an unused checkpoint tensor, or a tensor of another shape."""
    missing = sorted(
        str(k)
        for k in loading_info.get("missing_keys", ())
        if not str(k).startswith(UNUSED_BY_THE_GRAPHS)
    )
    unexpected = sorted(str(k) for k in loading_info.get("unexpected_keys", ()))
    mismatched = sorted(
        str(k[0] if isinstance(k, tuple) else k) for k in loading_info.get("mismatched_keys", ())
    )
    if not (missing or unexpected or mismatched):
        return
    parts = []
    if missing:
        parts.append(f"missing from the checkpoint (would be random): {_listed(missing)}")
    if unexpected:
        parts.append(f"in the checkpoint but unused by the model: {_listed(unexpected)}")
    if mismatched:
        parts.append(f"of another shape than config.json says: {_listed(mismatched)}")
    raise UserError(
        f"the weights in {where} do not match its config.json; "
        + "; ".join(parts)
        + ". Save the encoder again with save_pretrained (or fix config.json's sizes)"
    )


def check_all_materialised(encoder: Any, where: Path) -> None:
    """Raise UserError when a parameter was left without data (on the meta device):
    transformers does that, unreported, for a tensor a shard index names but its shard lacks."""
    empty = sorted(name for name, p in encoder.named_parameters() if p.is_meta)
    if empty:
        raise UserError(
            f"the weights in {where} left {_listed(empty)} without data; restore the "
            "checkpoint from the model's source"
        )


def check_layer_count(keys: Iterable[str], layer_path: str, num_layers: int, where: Path) -> None:
    """Refuse, before transformers builds anything, a config.json whose layer count differs from
    the layers the checkpoint holds (a config of 100,000 layers would be built first)."""
    pattern = re.compile(rf"(?:^|\.){re.escape(layer_path)}\.(\d+)\.")
    held = {int(m.group(1)) for key in keys if (m := pattern.search(key))}
    wanted = set(range(num_layers))
    if not held or held == wanted:
        return
    missing = [f"{layer_path}.{i}.*" for i in sorted(wanted - held)]
    unused = [f"{layer_path}.{i}.*" for i in sorted(held - wanted)]
    parts = [f"config.json in {where} says {num_layers} layers, the checkpoint holds {len(held)}"]
    if missing:
        parts.append(f"missing from the checkpoint (would be random): {_listed(missing)}")
    if unused:
        parts.append(f"in the checkpoint but unused by the model: {_listed(unused)}")
    raise UserError("; ".join(parts) + ". Set num_hidden_layers to the checkpoint's, or restore it")
