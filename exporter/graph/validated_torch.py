"""The PyTorch release the exporter's reliance on torch internals was validated on.

Some of the exporter's memory work leans on how one PyTorch release behaves inside
``torch.onnx`` (a private pass it replaces). A newer release may rename or change it without
notice; rather than trust it silently, such code asks :func:`require_validated_torch` first,
which refuses any other release with what to re-check before the range is widened.
"""

from __future__ import annotations

import torch

from ese.format.errors import InternalError

# The pyproject pin (torch==2.13.*): the releases these checks were validated on.
VALIDATED_TORCH = "2.13"


def _release(version: str) -> str:
    """``major.minor`` of a PyTorch version string (``2.13.0+cpu`` -> ``2.13``)."""
    return ".".join(version.split("+", 1)[0].split(".")[:2])


def require_validated_torch(what: str, recheck: str, version: str | None = None) -> None:
    """Raise unless the running PyTorch (or ``version``) is a ``VALIDATED_TORCH`` release.

    ``what``: the reliance on torch internals; ``recheck``: what to measure or test again on the
    new release before :data:`VALIDATED_TORCH` is moved to it.
    """
    found = torch.__version__ if version is None else version
    if _release(found) != VALIDATED_TORCH:
        raise InternalError(
            f"{what} was validated on torch {VALIDATED_TORCH}.* and this is torch {found}: "
            f"re-check {recheck}, then move VALIDATED_TORCH in "
            f"ese/exporter/graph/validated_torch.py (or install torch=={VALIDATED_TORCH}.*)"
        )
