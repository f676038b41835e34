"""What selection asks a backend: the description every registry entry gives (``registry.py``).

Selection (``runtime/choice/backend.py``, ``runtime/embedder.py``) and the provider request
(``providers.py``) never compare backend names; they ask the entry which names select it,
whether this machine can run it, whether ``auto`` brings it in, which graph precisions it
runs, whether a graph can run on it here, whether its fp16 or its win must pass a parity gate
on this device first, and to open a runner. An entry is a declaration: its opener and gate
import the backend's own modules (and its package) only when called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ese.format.contract import Precision
from ese.format.export_dir import ExportDir
from ese.format.manifest import GraphEntry

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ese.runtime.backends.onnxruntime.session import Threads
    from ese.runtime.backends.runner import Runner
    from ese.runtime.choice.parity_gate import Parity
    from ese.runtime.tokens import TextTokenizer

Opener = Callable[[ExportDir, GraphEntry, "Sequence[str]", "Threads"], "Runner"]
StandInGate = Callable[[ExportDir, GraphEntry, "TextTokenizer", "Threads"], "Parity"]
GraphCheck = Callable[[ExportDir, GraphEntry], "str | None"]


def _always() -> bool:
    return True


def _every_graph(export: ExportDir, graph: GraphEntry) -> str | None:
    return None


def _no_release() -> str:
    return ""


@dataclass(frozen=True)
class Backend:
    """One backend as selection sees it, selected by the provider name ``provider``.

    ``names`` are what a user may pass for it (the first is its short name in device ids and
    messages); it runs a graph alone, never in a list with other providers. ``family`` is the
    name that brings in every backend of that family (one name for a backend's variants);
    ``joins_auto_with`` the providers beside which ``auto`` lets it compete (on its cached
    profiles only). ``installed`` says whether its package is there (``install_line`` how to
    get it, the command in backticks), ``machine_can`` whether this machine can run it (a CPU
    feature, a GPU), and ``on_cpu`` whether it runs on the CPU (CPU threads, and a device id
    by CPU model). ``graph_precisions`` are the graph files it runs (None: every one),
    ``precisions`` those an unrestricted choice considers (``fp16_alone``: only the fp16
    graphs, when the export has them), and ``serves`` why a graph cannot run here (None: it
    can; e.g. no engine was built for it). ``release`` names its library and version, which
    key the parity gates it records (another release is measured again). ``stand_in_gate``
    is the parity gate a win must pass before it may stand in for its graph's quality, and
    ``gate_refusal`` what to tell the user when it fails and nothing else is left.
    """

    provider: str
    open: Opener
    names: tuple[str, ...] = ()
    family: str | None = None
    joins_auto_with: tuple[str, ...] = ()
    installed: Callable[[], bool] = _always
    install_line: str = ""
    machine_can: Callable[[], bool] = _always
    needs_cpu_feature: bool = False
    on_cpu: bool = False
    graph_precisions: tuple[Precision, ...] | None = None
    precisions: tuple[Precision, ...] = (Precision.FP32,)
    serves: GraphCheck = _every_graph
    release: Callable[[], str] = _no_release
    fp16_gated: bool = False
    fp16_alone: bool = False
    stand_in_gate: StandInGate | None = None
    gate_refusal: str = ""

    @property
    def short_name(self) -> str:
        return self.names[0] if self.names else self.provider.lower()

    def runs(self, precision: Precision) -> bool:
        """Whether it runs a graph file of ``precision``."""
        return self.graph_precisions is None or precision in self.graph_precisions
