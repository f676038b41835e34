"""What selection asks a backend: the description every registry entry gives (``runners.py``).

Selection (``runtime/choice/backend.py``, ``runtime/embedder.py``) never compares backend
names; it asks the entry whether this machine can run it, whether ``auto`` brings it in,
which graph precisions it runs, whether its fp16 or its win must pass a parity gate on this
device first, and to open a runner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ese.format.contract import Precision
from ese.format.export_dir import ExportDir
from ese.format.manifest import GraphEntry
from ese.runtime.backends.onnxruntime.session import Threads
from ese.runtime.backends.runner import Runner
from ese.runtime.choice.parity_gate import Parity
from ese.runtime.tokens import TextTokenizer

ProviderOptions = Mapping[str, Mapping[str, str]] | None
Opener = Callable[[Path, Sequence[str], Threads, ProviderOptions, Sequence[str] | None], Runner]
StandInGate = Callable[[ExportDir, GraphEntry, TextTokenizer, Threads], Parity]


def _always() -> bool:
    return True


@dataclass(frozen=True)
class Backend:
    """One backend as selection sees it, selected by the provider name ``provider``.

    ``family`` is the requested provider that brings in every backend of that family (one
    name for a backend's variants); ``joins_auto_with`` the provider request beside which
    ``auto`` lets it compete (on its cached profiles only). ``installed`` says whether its
    package is there, ``machine_can`` whether this machine can run it (a CPU feature).
    ``graph_precisions`` are the graph files it runs (None: every one). ``stand_in_gate``
    is the parity gate a win must pass before it may stand in for its graph's quality, and
    ``gate_refusal`` what to tell the user when it fails and nothing else is left.
    """

    provider: str
    open: Opener
    family: str | None = None
    joins_auto_with: str | None = None
    installed: Callable[[], bool] = _always
    machine_can: Callable[[], bool] = _always
    needs_cpu_feature: bool = False
    graph_precisions: tuple[Precision, ...] | None = None
    fp16_gated: bool = False
    stand_in_gate: StandInGate | None = None
    gate_refusal: str = ""

    def runs(self, precision: Precision) -> bool:
        """Whether it runs a graph file of ``precision``."""
        return self.graph_precisions is None or precision in self.graph_precisions
