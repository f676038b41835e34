"""ONNX Runtime sessions for one graph: options, creation, and feeding by the graph contract.

Sessions start in :mod:`.session_start` (quiet on stdout, refused when the provider asked for
did not start). On a GPU provider a :class:`GraphRunner` runs through IO binding
(:mod:`.bound_run`), checks where ONNX Runtime placed each node with one profiled run at load
(:mod:`.placement`; a compute node left on the CPU is a ``ProviderFallbackWarning`` naming
it), and on CUDA serves small batches from fixed (batch, seq) buckets (:mod:`.buckets`)
captured as CUDA graphs when :mod:`.capture` allows it. On the CPU provider it runs plain
``session.run`` unless asked otherwise.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ese.format.contract import ATTENTION_MASK, INPUT_IDS, OUTPUT, TOKEN_TYPE_IDS
from ese.runtime.backends.onnxruntime import providers as prov
from ese.runtime.backends.onnxruntime.bound_run import FixedShapeRun, run_bound
from ese.runtime.backends.onnxruntime.buckets import Buckets, pad_to_bucket
from ese.runtime.backends.onnxruntime.capture import decide_capture
from ese.runtime.backends.onnxruntime.graph_io import contract_input_names
from ese.runtime.backends.onnxruntime.placement import (
    NodePlacement,
    read_profile_file,
    warn_on_fallback,
)
from ese.runtime.backends.onnxruntime.session_start import start_session
from ese.runtime.backends.thread_limit import checked_threads


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
        options.log_severity_level = 3  # errors only (session_start.py: stdout stays clean)
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
    fixed device buffers, padded up to it; ``check_placement`` (default: on for GPU providers,
    always on CUDA with buckets) profiles one run at load and warns naming any node that fell
    back. On CUDA the buckets are captured as CUDA graphs only when that run showed every
    compute node on CUDA (:func:`.capture.decide_capture`; :attr:`capture` says why or why not):
    a second session with capture on then serves the buckets alone, one graph id per bucket,
    one run at a time; every other shape runs on the plain session, which never captures
    (the price: the weights are on the device twice, once per session).
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
        wanted: Buckets | None = buckets or None
        check = on_gpu if check_placement is None else bool(check_placement)
        check = check or (first == prov.CUDA and wanted is not None)
        # Capture is decided here only, after the placement run: never by a caller's option.
        options = {k: dict(v) for k, v in (provider_options or {}).items()}
        options.get(prov.CUDA, {}).pop(CUDA_GRAPH_OPTION, None)
        self._options = options
        self._threads = threads
        session_options = threads.options()
        profile_dir = tempfile.TemporaryDirectory(prefix="ese-placement-") if check else None
        if profile_dir is not None:
            session_options.enable_profiling = True
            session_options.profile_file_prefix = str(Path(profile_dir.name) / "run")
        try:
            self.session = self._start(session_options, options)
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
        self.capture = decide_capture(
            first,
            self.placement,
            ort.__version__,
            buckets=wanted is not None,
            width_known=self.width is not None,
        )
        self.cuda_graph = self.capture.on
        # On CUDA, padding to a bucket pays only with capture; without a width, no buffers.
        keep = wanted is not None and self.width is not None
        keep = keep and (self.cuda_graph or first != prov.CUDA)
        self.buckets: Buckets | None = wanted if keep else None
        self._captured: ort.InferenceSession | None = None
        if self.cuda_graph:
            captured = {k: dict(v) for k, v in options.items()}
            captured.setdefault(prov.CUDA, {})[CUDA_GRAPH_OPTION] = "1"
            self._captured = self._start(threads.options(), captured)
        self._fixed: dict[tuple[int, int], FixedShapeRun] = {}
        self._lock = threading.Lock()

    def _start(
        self, options: ort.SessionOptions, provider_options: Mapping[str, Mapping[str, str]]
    ) -> ort.InferenceSession:
        providers = with_options(self.requested, provider_options)
        return start_session(self.path, options, providers, self.requested)

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
        run_bound(self.session, feed, self.device)
        return read_profile_file(self.session.end_profiling())

    def check_provider(self) -> str:
        """The provider really running the graph (a silent fallback was refused at start)."""
        return prov.check_active(self.requested, self.active)

    def running_note(self) -> str:
        """On CUDA: whether small batches replay CUDA graphs, and why (empty elsewhere)."""
        if self.check_provider() != prov.CUDA:
            return ""
        state = "on" if self.capture.on else "off"
        return f"CUDA graphs {state}: {self.capture.reason}"

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
        return run_bound(self.session, feed, self.device)  # capture is never on here

    def _run_fixed(self, bucket: tuple[int, int], feed: dict[str, np.ndarray]) -> np.ndarray:
        """One bucket's run: on the capturing session (its own graph id) when capture is on.

        Serialised: each bucket has one set of buffers, and a captured graph replays on them.
        """
        session = self._captured if self._captured is not None else self.session
        with self._lock:
            fixed = self._fixed.get(bucket)
            if fixed is None:
                graph_id = len(self._fixed) + 1 if self.cuda_graph else None  # 0 is ORT's own
                fixed = FixedShapeRun(
                    session,
                    self.input_names,
                    bucket,
                    int(self.width or 0),
                    self.device,
                    graph_id,
                )
                self._fixed[bucket] = fixed
            return fixed.run(session, feed)
