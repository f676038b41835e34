"""Which execution provider ran each node of a graph: ONNX Runtime's own profile, read once.

``session.get_providers()`` only lists the providers a session registered; ONNX Runtime
assigns each node separately, and a node the GPU provider has no kernel for runs on the CPU
provider with copies on both sides, silently. The session's profiler records, for every node
it ran, the provider and the output types (``SessionOptions.enable_profiling``; the events
named ``<node>_kernel_time``). From one profiled run this module tells apart:

- compute nodes on the CPU provider (a float output): a real fallback, warned about by name;
- shape computations on the CPU provider (integer or bool outputs only): ONNX Runtime puts
  these there on purpose, next to the CUDA provider, and they cost no copy;
- ``MemcpyToHost`` / ``MemcpyFromHost`` nodes: a device boundary inside the graph. ONNX
  Runtime refuses to capture a CUDA graph when it finds any (it allows CPU nodes only for
  shapes), so :attr:`NodePlacement.allows_cuda_graph` says the same.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ese.format.errors import InternalError
from ese.runtime.errors import ProviderFallbackWarning

CPU = "CPUExecutionProvider"
MEMCPY_OPS = ("MemcpyToHost", "MemcpyFromHost")
KERNEL_SUFFIX = "_kernel_time"
SHAPE_TYPES = frozenset({"int64", "int32", "int8", "uint8", "bool"})
NAMES_SHOWN = 12


@dataclass(frozen=True)
class NodePlacement:
    """The nodes of one profiled run, by provider, split into compute and shape nodes."""

    nodes: Mapping[str, tuple[str, ...]]  # provider -> node names
    cpu_compute: tuple[str, ...] = ()
    cpu_shape: tuple[str, ...] = ()
    memcpy: tuple[str, ...] = ()
    op_types: Mapping[str, str] = field(default_factory=dict)  # node name -> op type

    @property
    def providers(self) -> list[str]:
        return sorted(self.nodes)

    def fallback_nodes(self, wanted: str) -> tuple[str, ...]:
        """Compute nodes not run by ``wanted`` (shape computations on the CPU excepted)."""
        if wanted == CPU:
            return ()
        others = [n for p, names in self.nodes.items() if p not in (wanted, CPU) for n in names]
        return (*self.cpu_compute, *self.memcpy, *others)

    def allows_cuda_graph(self, wanted: str) -> bool:
        """ONNX Runtime's own rule: only ``wanted`` and CPU shape nodes, and no copies."""
        return bool(self.nodes.get(wanted)) and not self.fallback_nodes(wanted)

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodes_per_provider": {p: len(n) for p, n in sorted(self.nodes.items())},
            "cpu_compute_nodes": list(self.cpu_compute),
            "cpu_shape_nodes": list(self.cpu_shape),
            "memcpy_nodes": list(self.memcpy),
        }


def placement_from_events(events: Sequence[Mapping[str, Any]]) -> NodePlacement:
    """Read ONNX Runtime's profiling events (the JSON list ``end_profiling`` writes)."""
    nodes: dict[str, list[str]] = {}
    op_types: dict[str, str] = {}
    cpu_compute: list[str] = []
    cpu_shape: list[str] = []
    memcpy: list[str] = []
    for event in events:
        name = str(event.get("name", ""))
        args = event.get("args")
        if event.get("cat") != "Node" or not name.endswith(KERNEL_SUFFIX):
            continue
        if not isinstance(args, Mapping) or "provider" not in args:
            raise InternalError(f"onnxruntime's profile event {name!r} names no provider")
        node = name.removesuffix(KERNEL_SUFFIX)
        if node in op_types:
            continue  # a node runs once per run; keep its first event
        provider, op = str(args["provider"]), str(args.get("op_name", ""))
        op_types[node] = op
        nodes.setdefault(provider, []).append(node)
        if op in MEMCPY_OPS:
            memcpy.append(node)
        elif provider == CPU:
            types = {t for out in args.get("output_type_shape", []) for t in out}
            (cpu_shape if types and types <= SHAPE_TYPES else cpu_compute).append(node)
    return NodePlacement(
        nodes={p: tuple(n) for p, n in nodes.items()},
        cpu_compute=tuple(cpu_compute),
        cpu_shape=tuple(cpu_shape),
        memcpy=tuple(memcpy),
        op_types=op_types,
    )


def read_profile_file(path: str | Path) -> NodePlacement:
    """Parse and delete the file ``InferenceSession.end_profiling()`` returned."""
    file = Path(path)
    try:
        events = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InternalError(f"cannot read onnxruntime's profile {file}: {exc}") from exc
    finally:
        file.unlink(missing_ok=True)
    if not isinstance(events, list):
        raise InternalError(f"onnxruntime's profile {file} is not a list of events")
    return placement_from_events(events)


def warn_on_fallback(placement: NodePlacement, wanted: str, graph: str) -> tuple[str, ...]:
    """Warn (``ProviderFallbackWarning``) naming the nodes ``wanted`` did not run; return them."""
    fallen = placement.fallback_nodes(wanted)
    if fallen:
        shown = ", ".join(f"{n} ({placement.op_types.get(n, '?')})" for n in fallen[:NAMES_SHOWN])
        more = f" and {len(fallen) - NAMES_SHOWN} more" if len(fallen) > NAMES_SHOWN else ""
        ran = ", ".join(f"{p}: {len(n)}" for p, n in sorted(placement.nodes.items()))
        warnings.warn(
            f"{graph}: {len(fallen)} node(s) did not run on {wanted} ({ran} nodes per "
            f"provider): {shown}{more}. They cost a copy between devices each run; this "
            "onnxruntime build has no kernel for them on that provider",
            ProviderFallbackWarning,
            stacklevel=4,
        )
    return fallen
