"""EngineRunner: one native TensorRT engine of an export, behind the runtime's runner protocol.

``open_engine`` (or ``with EngineRunner(...)``) finds the plan for a graph's depth and precision
on GPU 0 through the loader (a missing or stale engine is refused), deserialises it and
allocates device buffers for the profile's largest shapes; ``close()`` frees them, and so does
garbage collection of an unclosed runner (``weakref.finalize``). ``run`` has the signature of
every runner (:class:`ese.runtime.backends.runner.Runner`): host arrays in, float32 vectors
out, and records how long each inference took (host to host, stream synchronised). CUDA's
current context is per thread, so every TensorRT and CUDA call is made with the context pushed
for its duration: ``run`` works from any thread, not only the one that opened. Runs are
serialised (a lock): the engine has one execution context and one set of device buffers,
which concurrent calls would overwrite.
"""

from __future__ import annotations

import ctypes
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from ese.format import (
    ATTENTION_MASK,
    INPUT_IDS,
    OUTPUT,
    TOKEN_TYPE_IDS,
    ExportDir,
    GraphEntry,
    Precision,
    open_export,
)
from ese.format.errors import InternalError
from ese.runtime.backends.cuda_device import query_gpu
from ese.runtime.backends.onnxruntime.session import Threads
from ese.runtime.backends.runner import HostArrayRunner, Runner
from ese.runtime.backends.tensorrt.cuda_driver import DeviceContext
from ese.runtime.backends.tensorrt.errors import StaleEngineError
from ese.runtime.backends.tensorrt.imports import import_tensorrt
from ese.runtime.backends.tensorrt.loader import PROVIDER, checked_plan


class OpenedEngine:
    """What an opened engine holds on the GPU: the CUDA context (with the device buffers and
    stream it allocated) and TensorRT's runtime, engine and execution context."""

    def __init__(self, cuda: DeviceContext) -> None:
        self.cuda = cuda
        self.runtime: Any = None
        self.engine: Any = None
        self.context: Any = None

    def release(self) -> None:
        """TensorRT's objects first, inside the context they freed memory in; then the
        context, its buffers and its stream."""
        with self.cuda.current():
            self.context = None
            self.engine = None
            self.runtime = None
        self.cuda.close()


class EngineRunner(HostArrayRunner):
    """One engine of ``export_dir`` at ``depth`` and ``precision`` on GPU 0 (inputs and outputs
    are host arrays)."""

    def __init__(
        self,
        export_dir: str | Path,
        depth: int,
        precision: Precision | str,
        *,
        requested: Sequence[str] = (PROVIDER,),
    ) -> None:
        self.export_dir = Path(export_dir)
        self.depth = depth
        self.precision = Precision(precision)
        self.requested = list(requested)
        self.active = [PROVIDER]
        self.path = self.export_dir  # the ONNX graph it stands for, once opened
        self.plan: Path | None = None
        self.width: int | None = None
        self.uses_token_type_ids = False
        self.inference_times: list[float] = []
        self.io: dict[str, tuple[bool, np.dtype]] = {}
        self._buffers: dict[str, tuple[int, int]] = {}
        self._opened: OpenedEngine | None = None
        self._release: weakref.finalize | None = None
        self._lock = threading.Lock()  # one execution context, one set of buffers

    def open(self, export: ExportDir, graph: GraphEntry | None = None) -> EngineRunner:
        """Check, deserialise and allocate the engine; ``graph`` is the ONNX graph it stands
        for (default: the one it was built from)."""
        if self._opened is not None:
            return self
        trt = import_tensorrt()
        device = query_gpu()
        checked = checked_plan(
            export, self.depth, self.precision, device=device, trt_version=trt.__version__
        )
        self.path = export.path((graph or checked.source).file)
        self.plan = checked.plan
        self.shapes = checked.built.shapes
        opened = OpenedEngine(DeviceContext(device.index))
        self._hold(opened)
        try:
            with opened.cuda.current():
                logger = trt.Logger(trt.Logger.WARNING)
                opened.runtime = trt.Runtime(logger)
                opened.engine = opened.runtime.deserialize_cuda_engine(checked.plan.read_bytes())
                if opened.engine is None:
                    raise StaleEngineError(
                        f"TensorRT {trt.__version__} could not deserialise {checked.plan}; "
                        "rebuild it with ese-engines --force"
                    )
                opened.context = opened.engine.create_execution_context()
                self._allocate(trt, opened)
        except BaseException:
            self.close()
            raise
        self._opened = opened
        return self

    def _hold(self, opened: OpenedEngine) -> None:
        """``opened`` is released by ``close()``, or when this runner is collected unclosed
        (a finalizer holds ``opened``, never the runner)."""
        self._release = weakref.finalize(self, opened.release)

    def _allocate(self, trt: Any, opened: OpenedEngine) -> None:
        batch, seq = self.shapes.batch.max, self.shapes.seq.max
        engine = opened.engine
        for index in range(engine.num_io_tensors):
            name = engine.get_tensor_name(index)
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(name)))
            shape = engine.get_tensor_shape(name)  # trt.Dims: no negative indexing
            width = seq if is_input else int(shape[len(shape) - 1])
            nbytes = batch * width * dtype.itemsize
            address = opened.cuda.alloc(nbytes)
            self._buffers[name] = (address, nbytes)
            opened.context.set_tensor_address(name, address)
            self.io[name] = (is_input, dtype)
            if name == OUTPUT:
                self.width = width if width > 0 else None
        if OUTPUT not in self.io:
            raise InternalError(f"the engine has no output {OUTPUT!r}: {sorted(self.io)}")
        self.uses_token_type_ids = TOKEN_TYPE_IDS in self.io

    def check_provider(self) -> str:
        return PROVIDER

    def running_note(self) -> str:
        return f"native TensorRT engine {self.plan}"

    def run(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray
    ) -> np.ndarray:
        batch, seq = (int(n) for n in input_ids.shape)
        if batch == 0 and self.width is not None:
            return np.zeros((0, self.width), dtype=np.float32)
        feeds = {
            INPUT_IDS: input_ids,
            ATTENTION_MASK: attention_mask,
            TOKEN_TYPE_IDS: token_type_ids,
        }
        with self._lock:
            opened = self._opened
            if opened is None:
                raise InternalError("EngineRunner.run called before open or after close")
            self.shapes.check_input(batch, seq)
            with opened.cuda.current():
                started = time.perf_counter()
                output = self._run_current(opened, batch, seq, feeds)
                self.inference_times.append(time.perf_counter() - started)
        return output.astype(np.float32, copy=False)

    def _run_current(
        self, opened: OpenedEngine, batch: int, seq: int, feeds: dict[str, np.ndarray]
    ) -> np.ndarray:
        """One inference; the CUDA context is current on this thread."""
        keep: list[np.ndarray] = []
        for name, (is_input, dtype) in self.io.items():
            if not is_input:
                continue
            host = np.ascontiguousarray(feeds[name], dtype=dtype)
            keep.append(host)
            opened.context.set_input_shape(name, (batch, seq))
            opened.cuda.to_device(self._buffers[name][0], host.ctypes.data, host.nbytes)
        out_shape = tuple(opened.context.get_tensor_shape(OUTPUT))
        output = np.empty(out_shape, dtype=self.io[OUTPUT][1])
        if not opened.context.execute_async_v3(opened.cuda.stream_handle):
            raise InternalError(f"TensorRT execute_async_v3 failed for batch {batch} x {seq}")
        opened.cuda.to_host(
            output.ctypes.data_as(ctypes.c_void_p).value or 0,
            self._buffers[OUTPUT][0],
            output.nbytes,
        )
        opened.cuda.synchronize()
        return output

    def close(self) -> None:
        """Free the engine, its buffers and the CUDA context (idempotent); waits for a run."""
        with self._lock:
            self._opened = None
            if self._release is not None:
                self._release()  # runs OpenedEngine.release once, then never again
            self._buffers.clear()

    def __enter__(self) -> EngineRunner:
        return self.open(open_export(self.export_dir))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def open_engine(
    export: ExportDir, graph: GraphEntry, providers: Sequence[str], threads: Threads
) -> Runner:
    """The opened engine for ``graph``'s depth and precision on GPU 0; ``close()`` frees it.

    ``threads`` is the CPU thread setting every opener takes: TensorRT runs on the GPU and has
    none to set.
    """
    del threads
    runner = EngineRunner(export.root, graph.depth, graph.precision, requested=providers)
    return runner.open(export, graph)
