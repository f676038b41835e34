"""ONNX Runtime sessions for one graph: options, creation, and feeding by the graph contract."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from . import providers as prov
from .contract import ATTENTION_MASK, INPUT_IDS, OUTPUT, TOKEN_TYPE_IDS
from .errors import IntegrityError, ProviderError


@dataclass(frozen=True)
class Threads:
    """CPU thread counts for a session; None leaves ONNX Runtime's default."""

    intra_op: int | None = None
    inter_op: int | None = None

    def __post_init__(self) -> None:
        for name in ("intra_op", "inter_op"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(f"{name}_threads={value!r} must be a whole number >= 1")

    def options(self) -> ort.SessionOptions:
        options = ort.SessionOptions()
        if self.intra_op is not None:
            options.intra_op_num_threads = self.intra_op
        if self.inter_op is not None:
            options.inter_op_num_threads = self.inter_op
        options.log_severity_level = 3  # errors only: fallback is reported by check_active
        return options


def with_options(
    providers: Sequence[str], options: Mapping[str, Mapping[str, str]]
) -> list[str | tuple[str, dict[str, str]]]:
    """ONNX Runtime's providers argument: a name, or (name, options) where options are given."""
    return [(name, dict(options[name])) if name in options else name for name in providers]


class GraphRunner:
    """One graph in one session, fed by input name; ``run`` is safe from many threads."""

    def __init__(
        self,
        path: Path,
        providers: Sequence[str],
        threads: Threads,
        *,
        provider_options: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.path = Path(path)
        self.requested = list(providers)
        try:
            self.session = ort.InferenceSession(
                str(self.path),
                sess_options=threads.options(),
                providers=with_options(self.requested, provider_options or {}),
            )
        except Exception as exc:  # onnxruntime raises its own untyped exceptions
            if any(p in str(exc) for p in self.requested if p != prov.CPU):
                raise ProviderError(
                    f"onnxruntime could not start {self.requested} for {self.path.name}: "
                    f"{exc}. Check the GPU libraries, or pass providers=['cpu']"
                ) from exc
            raise IntegrityError(
                f"onnxruntime cannot load {self.path} ({type(exc).__name__}: {exc}); "
                "re-export the model"
            ) from exc
        self.active = list(self.session.get_providers())
        names = [i.name for i in self.session.get_inputs()]
        required = {INPUT_IDS, ATTENTION_MASK}
        if not required <= set(names) or not set(names) <= {*required, TOKEN_TYPE_IDS}:
            raise IntegrityError(
                f"{self.path.name} has inputs {names}; the graph contract is input_ids, "
                "attention_mask and optionally token_type_ids: re-export the model"
            )
        outputs = [o.name for o in self.session.get_outputs()]
        if OUTPUT not in outputs:
            raise IntegrityError(
                f"{self.path.name} has outputs {outputs}, not {OUTPUT!r}: re-export the model"
            )
        self.uses_token_type_ids = TOKEN_TYPE_IDS in names
        width = self.session.get_outputs()[outputs.index(OUTPUT)].shape[-1]
        self.width = width if isinstance(width, int) else None

    def check_provider(self) -> str:
        """Warn on a silent fallback; return the provider really running the graph."""
        return prov.check_active(self.requested, self.active)

    def run(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray
    ) -> np.ndarray:
        feed = {INPUT_IDS: input_ids, ATTENTION_MASK: attention_mask}
        if self.uses_token_type_ids:
            feed[TOKEN_TYPE_IDS] = token_type_ids
        (out,) = self.session.run([OUTPUT], feed)
        return np.asarray(out, dtype=np.float32)
