"""ONNX Runtime sessions for one graph: options, creation, and feeding by the graph contract.

On a GPU provider a :class:`GraphRunner` runs through IO binding (:mod:`.bound_run`), checks
where ONNX Runtime placed each node with one profiled run at load (:mod:`.placement`; a compute
node left on the CPU is a ``ProviderFallbackWarning`` naming it), and on CUDA serves small
batches from fixed (batch, seq) buckets captured as CUDA graphs (:mod:`.buckets`). On the CPU
provider it runs plain ``session.run`` unless asked otherwise.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ese.runtime.backends import providers as prov
from ese.runtime.backends.bound_run import FixedShapeRun, run_bound, run_options
from ese.runtime.backends.buckets import Buckets, pad_to_bucket
from ese.runtime.backends.graph_io import contract_input_names
from ese.runtime.backends.placement import NodePlacement, read_profile_file, warn_on_fallback
from ese.runtime.backends.thread_limit import checked_threads
from ese.runtime.errors import IntegrityError, ProviderError
from ese.runtime.format.contract import ATTENTION_MASK, INPUT_IDS, OUTPUT, TOKEN_TYPE_IDS


@dataclass(frozen=True)
class Threads:
    """CPU thread counts for a session; None leaves ONNX Runtime's default."""

    intra_op: int | None = None
    inter_op: int | None = None

    def __post_init__(self) -> None:
        for name in ("intra_op", "inter_op"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, checked_threads(f"{name}_threads", value))

    def options(self) -> ort.SessionOptions:
        options = ort.SessionOptions()
        if self.intra_op is not None:
            options.intra_op_num_threads = self.intra_op
        if self.inter_op is not None:
            options.inter_op_num_threads = self.inter_op
        options.log_severity_level = 3  # errors only: fallback is reported by check_active
        return options


# Where each provider keeps its tensors, as OrtValue / IO binding name them.
DEVICES = {prov.CUDA: "cuda", prov.TENSORRT: "cuda"}
CUDA_GRAPH_OPTION = "enable_cuda_graph"
PROBE_SHAPE = (1, 8)  # the placement check's one profiled run


def with_options(
    providers: Sequence[str], options: Mapping[str, Mapping[str, str]]
) -> list[str | tuple[str, dict[str, str]]]:
    """ONNX Runtime's providers argument: a name, or (name, options) where options are given."""
    return [(name, dict(options[name])) if name in options else name for name in providers]


class GraphRunner:
    """One graph in one session, fed by input name; ``run`` is safe from many threads.

    ``io_binding`` (default: on for GPU providers) runs through IO binding; ``buckets``
    (default: :class:`Buckets` on CUDA, none elsewhere) serves batches that fit a bucket from
    fixed device buffers, padded up to it, captured as CUDA graphs on CUDA (then runs are
    serialised: a captured graph replays on fixed buffers); ``check_placement`` (default: on
    for GPU providers) profiles one run at load and warns naming any node that fell back.
    """

    def __init__(
        self,
        path: Path,
        providers: Sequence[str],
        threads: Threads,
        *,
        provider_options: Mapping[str, Mapping[str, str]] | None = None,
        io_binding: bool | None = None,
        buckets: Buckets | bool | None = True,
        check_placement: bool | None = None,
    ) -> None:
        self.path = Path(path)
        self.requested = list(providers)
        first = self.requested[0] if self.requested else prov.CPU
        on_gpu = first != prov.CPU
        self.device = DEVICES.get(first, "cpu")
        self.io_binding = on_gpu if io_binding is None else bool(io_binding)
        if buckets is True:
            buckets = Buckets() if first == prov.CUDA else None
        self.buckets: Buckets | None = buckets or None
        self.cuda_graph = first == prov.CUDA and self.buckets is not None
        options = {k: dict(v) for k, v in (provider_options or {}).items()}
        if self.cuda_graph:
            options.setdefault(prov.CUDA, {})[CUDA_GRAPH_OPTION] = "1"
        check = on_gpu if check_placement is None else bool(check_placement)
        session_options = threads.options()
        profile_dir = tempfile.TemporaryDirectory(prefix="ese-placement-") if check else None
        if profile_dir is not None:
            session_options.enable_profiling = True
            session_options.profile_file_prefix = str(Path(profile_dir.name) / "run")
        try:
            self.session = self._start(session_options, with_options(self.requested, options))
            self._check_contract()
            self.placement: NodePlacement | None = None
            if profile_dir is not None:
                self.placement = self._profiled_placement()
        finally:
            if profile_dir is not None:
                profile_dir.cleanup()
        self.fallback_nodes: tuple[str, ...] = ()
        if self.placement is not None:
            self.fallback_nodes = warn_on_fallback(self.placement, first, self.path.name)
            if self.cuda_graph and not self.placement.allows_cuda_graph(first):
                self.cuda_graph = False  # ONNX Runtime captures nothing then: no padding either
                self.buckets = None
        if self.buckets is not None and self.width is None:
            self.buckets = None  # an output of unknown width cannot be allocated up front
            self.cuda_graph = False
        self._fixed: dict[tuple[int, int], FixedShapeRun] = {}
        self._lock = threading.Lock()
        self._uncaptured = run_options(-1) if self.cuda_graph else None

    def _start(
        self, options: ort.SessionOptions, providers: list[str | tuple[str, dict[str, str]]]
    ) -> ort.InferenceSession:
        try:
            return ort.InferenceSession(str(self.path), sess_options=options, providers=providers)
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

    def _check_contract(self) -> None:
        self.active = list(self.session.get_providers())
        names = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        self.input_names = contract_input_names(self.path.name, names, outputs)
        self.uses_token_type_ids = TOKEN_TYPE_IDS in self.input_names
        width = self.session.get_outputs()[outputs.index(OUTPUT)].shape[-1]
        self.width = width if isinstance(width, int) else None

    def _profiled_placement(self) -> NodePlacement:
        """One profiled run at a small shape (never captured), then profiling is ended."""
        ids = np.ones(PROBE_SHAPE, dtype=np.int64)  # token 1 exists in every vocabulary
        feed = self._feed(ids, np.ones_like(ids), np.zeros_like(ids))
        run_bound(self.session, feed, self.device, run_options(-1) if self.cuda_graph else None)
        return read_profile_file(self.session.end_profiling())

    def check_provider(self) -> str:
        """Warn on a silent fallback; return the provider really running the graph."""
        return prov.check_active(self.requested, self.active)

    def uses_cuda_graph(self, batch_size: int, seq_len: int) -> bool:
        """Whether a batch of this shape is served by a captured CUDA graph."""
        return self.cuda_graph and self.bucket_for(batch_size, seq_len) is not None

    def bucket_for(self, batch_size: int, seq_len: int) -> tuple[int, int] | None:
        return None if self.buckets is None else self.buckets.bucket_for(batch_size, seq_len)

    def _feed(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray
    ) -> dict[str, np.ndarray]:
        feed = {INPUT_IDS: input_ids, ATTENTION_MASK: attention_mask}
        if self.uses_token_type_ids:
            feed[TOKEN_TYPE_IDS] = token_type_ids
        return feed

    def run(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray
    ) -> np.ndarray:
        rows, length = input_ids.shape
        bucket = self.bucket_for(rows, length)
        if bucket is not None and rows > 0:
            padded = pad_to_bucket((input_ids, attention_mask, token_type_ids), bucket)
            return self._run_fixed(bucket, self._feed(*padded))[:rows]
        feed = self._feed(input_ids, attention_mask, token_type_ids)
        if not self.io_binding:
            (out,) = self.session.run([OUTPUT], feed)
            return np.asarray(out, dtype=np.float32)
        if self.cuda_graph:
            with self._lock:
                return run_bound(self.session, feed, self.device, self._uncaptured)
        return run_bound(self.session, feed, self.device)

    def _run_fixed(self, bucket: tuple[int, int], feed: dict[str, np.ndarray]) -> np.ndarray:
        with self._lock:  # one set of buffers per bucket: one run at a time
            fixed = self._fixed.get(bucket)
            if fixed is None:
                graph_id = len(self._fixed) + 1 if self.cuda_graph else None  # 0 is ORT's own
                fixed = FixedShapeRun(
                    self.session,
                    self.input_names,
                    bucket,
                    int(self.width or 0),
                    self.device,
                    graph_id,
                )
                self._fixed[bucket] = fixed
            return fixed.run(self.session, feed)
