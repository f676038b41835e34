"""A variant graph run by OpenVINO for its gate, with the two calls the gate makes of a session.

The int8-openvino graph is gated where it will run: OpenVINO on this CPU (the runtime's own
``OpenVINORunner``, uncached: the graph is still in the stage), against ONNX Runtime fp32.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ese.format import ATTENTION_MASK, INPUT_IDS, TOKEN_TYPE_IDS
from ese.format.errors import UserError
from ese.runtime.backends.openvino.imports import openvino_available, openvino_version
from ese.runtime.backends.openvino.runner import OpenVINORunner


@dataclass(frozen=True)
class _Input:
    name: str


class OpenVINOSession:
    """``get_inputs()`` and ``run([output], feed)`` over an OpenVINO compiled model."""

    def __init__(self, path: Path) -> None:
        self._runner = OpenVINORunner(path, cache=False)

    def get_inputs(self) -> list[_Input]:
        return [_Input(n) for n in self._runner.input_names]

    def run(self, outputs: Sequence[str], feed: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        ids = feed[INPUT_IDS]
        types = feed.get(TOKEN_TYPE_IDS, np.zeros_like(ids))
        return [self._runner.run(ids, feed[ATTENTION_MASK], types)]


def provider_label() -> str:
    """``OpenVINO 2026.4.1 CPU``: what ran the gate, for the manifest's parity record."""
    return f"OpenVINO {openvino_version()} CPU"


def openvino_reason(path: Path) -> str | None:
    """None when OpenVINO can load the graph here, else the reason it cannot."""
    if not openvino_available():
        return "openvino is not installed (pip install 'ese-toolchain[openvino]')"
    try:
        OpenVINOSession(path)
    except UserError as exc:
        return f"OpenVINO cannot load {path.name}: {str(exc).splitlines()[0][:200]}"
    return None
