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

from collections.abc import Iterable, Mapping
from pathlib import Path

from ese.exporter.errors import WeightsMismatchError

UNUSED_BY_THE_GRAPHS = ("pooler.",)
_SHOWN = 6


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOWN])
    return f"{shown}, ... ({len(keys)} in all)" if len(keys) > _SHOWN else shown


def check_loaded_keys(loading_info: Mapping[str, Iterable[object]], where: Path) -> None:
    """Raise WeightsMismatchError when transformers' ``output_loading_info`` reports a missing
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
    raise WeightsMismatchError(
        f"the weights in {where} do not match its config.json; "
        + "; ".join(parts)
        + ". Save the encoder again with save_pretrained (or fix config.json's sizes)"
    )
