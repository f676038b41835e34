"""config.pbtxt contents for the repository's models, as nested values for :mod:`.pbtxt`.

Graph models follow the graph contract (``ese.format.contract``): int64 ``input_ids``,
``attention_mask`` (and ``token_type_ids`` where the model uses it) of dims [-1] (the
sequence; the batch dimension is Triton's, implicit under ``max_batch_size``), and float32
``sentence_embedding`` of the graph's width. The front model takes strings and gives
embeddings: the same ``text`` in, ``embedding`` out as ``ese-serve``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from ese.format import OUTPUT, Precision, input_names
from ese.format.errors import UserError
from ese.serving.triton.pbtxt import Symbol

TEXT_INPUT = "text"
DIMS_INPUT = "dims"
EMBEDDING_OUTPUT = "embedding"
ONNX_PLATFORM = "onnxruntime_onnx"
TENSORRT_PLATFORM = "tensorrt_plan"
ONNX_FILE = "model.onnx"
PLAN_FILE = "model.plan"
PYTHON_FILE = "model.py"


class InstanceKind(str, Enum):
    """Where Triton runs a model's instances (``auto``: a GPU when there is one)."""

    AUTO = "auto"
    CPU = "cpu"
    GPU = "gpu"

    @property
    def symbol(self) -> Symbol:
        return Symbol(f"KIND_{self.value.upper()}")


@dataclass(frozen=True)
class BatchingOptions:
    """Batch and instance settings shared by every model of a repository."""

    max_batch_size: int = 32
    max_queue_delay_us: int = 1000
    instances: int = 1
    kind: InstanceKind = InstanceKind.AUTO

    def __post_init__(self) -> None:
        for name, low in (("max_batch_size", 1), ("max_queue_delay_us", 0), ("instances", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise UserError(f"{name}={value!r} must be a whole number >= {low}")
        object.__setattr__(self, "kind", InstanceKind(self.kind))


@dataclass(frozen=True)
class Scheduling:
    """How Triton batches one model's requests: the repository's batching options and the batch
    sizes the profile measured fastest (Triton waits to fill these)."""

    batching: BatchingOptions
    preferred: tuple[int, ...]

    def within(self, max_batch: int) -> Scheduling:
        """At most ``max_batch`` requests a batch (an engine's largest profile shape)."""
        if max_batch >= self.batching.max_batch_size:
            return self
        return Scheduling(
            replace(self.batching, max_batch_size=max_batch),
            tuple(b for b in self.preferred if b <= max_batch),
        )


def graph_model_name(prefix: str, depth: int, precision: Precision) -> str:
    """``ese_depth_04_fp32``: one Triton model per depth and precision."""
    return f"{prefix}_depth_{depth:02d}_{precision.value}"


def graph_config(
    name: str,
    *,
    platform: str,
    dims: int,
    uses_token_type_ids: bool,
    scheduling: Scheduling,
    parameters: Mapping[str, str],
) -> dict[str, Any]:
    """The config of one depth's graph (ONNX Runtime) or engine (TensorRT)."""
    batching = scheduling.batching
    kind = InstanceKind.GPU if platform == TENSORRT_PLATFORM else batching.kind
    return {
        "name": name,
        "platform": platform,
        "max_batch_size": batching.max_batch_size,
        "input": [
            {"name": n, "data_type": Symbol("TYPE_INT64"), "dims": [-1]}
            for n in input_names(uses_token_type_ids)
        ],
        "output": [{"name": OUTPUT, "data_type": Symbol("TYPE_FP32"), "dims": [dims]}],
        "dynamic_batching": _dynamic_batching(scheduling),
        "instance_group": [{"count": batching.instances, "kind": kind.symbol}],
        "default_model_filename": PLAN_FILE if platform == TENSORRT_PLATFORM else ONNX_FILE,
        "parameters": _parameters(parameters),
    }


def front_config(
    name: str,
    *,
    scheduling: Scheduling,
    parameters: Mapping[str, str],
) -> dict[str, Any]:
    """The Python-backend front model: strings in, the chosen depth's embeddings out (BLS).

    The output's width is each request's optional ``dims`` input (default: the parameter
    ``dims``), so the output is declared [-1]."""
    batching = scheduling.batching
    return {
        "name": name,
        "backend": "python",
        "max_batch_size": batching.max_batch_size,
        "input": [
            {"name": TEXT_INPUT, "data_type": Symbol("TYPE_STRING"), "dims": [1]},
            {"name": DIMS_INPUT, "data_type": Symbol("TYPE_INT32"), "dims": [1], "optional": True},
        ],
        "output": [{"name": EMBEDDING_OUTPUT, "data_type": Symbol("TYPE_FP32"), "dims": [-1]}],
        "dynamic_batching": _dynamic_batching(scheduling),
        # Tokenising is CPU work; the graph it calls runs wherever its own config says.
        "instance_group": [{"count": batching.instances, "kind": InstanceKind.CPU.symbol}],
        "parameters": _parameters(parameters),
    }


def _dynamic_batching(scheduling: Scheduling) -> dict[str, Any]:
    return {
        "preferred_batch_size": list(scheduling.preferred) or None,
        "max_queue_delay_microseconds": scheduling.batching.max_queue_delay_us,
    }


def _parameters(parameters: Mapping[str, str]) -> list[dict[str, Any]] | None:
    items = [
        {"key": key, "value": {"string_value": str(value)}}
        for key, value in sorted(parameters.items())
    ]
    return items or None
