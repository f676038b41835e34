"""Whether a graph's buckets are captured as CUDA graphs: decided from facts, purely.

ONNX Runtime's CUDA graphs (CUDA provider option ``enable_cuda_graph``) replay a captured
launch sequence on fixed device addresses. The decision is taken only after a plain session
(capture off) has run the graph once with profiling and shown where every node ran
(:mod:`.placement`): ONNX Runtime captures only when every compute node is on the CUDA provider
(CPU nodes only for shapes, no copies). Capture also needs onnxruntime >= 1.18, the release
that lets one session hold several graphs, each selected by the run option ``gpu_graph_id``;
below it, one session would replay its single graph for every shape. An older onnxruntime is
not an error (CUDA runs correctly without capture, only with more launch overhead): capture is
off and :attr:`Capture.reason` says why, as every other "off" does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ese.runtime.backends.onnxruntime.placement import NodePlacement

CUDA = "CUDAExecutionProvider"
MIN_ONNXRUNTIME = (1, 18)


@dataclass(frozen=True)
class Capture:
    """Capture on or off for one graph, and why."""

    on: bool
    reason: str


def version_tuple(version: str) -> tuple[int, int] | None:
    """(1, 18) for ``1.18.1`` or ``1.18.0.dev20240101``; None when unreadable."""
    found = re.match(r"^(\d+)\.(\d+)", version)
    return (int(found.group(1)), int(found.group(2))) if found else None


def decide_capture(
    provider: str,
    placement: NodePlacement | None,
    onnxruntime_version: str,
    *,
    buckets: bool,
    width_known: bool,
) -> Capture:
    """Capture the buckets as CUDA graphs only on CUDA, with buckets, on onnxruntime >= 1.18,
    with an output width known up front, and after a placement run showed every compute node
    on CUDA."""
    if provider != CUDA:
        return Capture(False, f"CUDA graphs are captured on {CUDA} only, not {provider}")
    if not buckets:
        return Capture(False, "no buckets were asked for")
    version = version_tuple(onnxruntime_version)
    if version is None or version < MIN_ONNXRUNTIME:
        need = ".".join(map(str, MIN_ONNXRUNTIME))
        return Capture(
            False,
            f"onnxruntime {onnxruntime_version} is older than {need}, the first release that "
            f"keeps one CUDA graph per shape (run option gpu_graph_id): upgrade onnxruntime-gpu "
            "to use CUDA graphs",
        )
    if not width_known:
        return Capture(False, "the graph's output width is not fixed, so no buffer is bound")
    if placement is None:
        return Capture(False, "node placement was not checked, so capture is not attempted")
    if not placement.allows_cuda_graph(provider):
        fallen = placement.fallback_nodes(provider)
        shown = ", ".join(fallen[:4]) + (" ..." if len(fallen) > 4 else "")
        return Capture(
            False,
            f"{len(fallen)} node(s) did not run on CUDA ({shown or 'none ran on CUDA'}); "
            "ONNX Runtime captures only graphs wholly on CUDA",
        )
    return Capture(True, "every compute node ran on CUDA: small buckets replay CUDA graphs")
