"""EngineRunner: run one TensorRT engine of an export, fed by the graph contract.

A context manager: entering checks the engine's sidecar against this GPU, this TensorRT and
the export's graph (a stale engine is refused), deserialises it and allocates device buffers
for the profile's largest shapes; leaving frees them. ``run`` has the signature of the
runtime's ONNX Runtime graph runner, so the runtime can use either, and records how long each
inference took (host to host, stream synchronised). CUDA's current context is per thread, so
every TensorRT and CUDA call is made with the context pushed for its duration: ``run`` works
from any thread, not only the one that entered. Runs are serialised (a lock): the engine has
one execution context and one set of device buffers, which concurrent calls would overwrite.
"""

from __future__ import annotations

import ctypes
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from ese.engines.build_all import wanted_key
from ese.engines.cuda_driver import DeviceContext
from ese.engines.errors import StaleEngineError
from ese.engines.key import EngineKey, check_fresh, read_sidecar
from ese.engines.shapes import ProfileShapes, ShapeRange
from ese.engines.trt_version import import_tensorrt
from ese.format import ATTENTION_MASK, INPUT_IDS, OUTPUT, TOKEN_TYPE_IDS, Precision, open_export
from ese.format.errors import EseError, InternalError
from ese.runtime.backends.cuda_device import query_gpu

# Shapes only locate the plan; the engine's own ranges are read from its sidecar.
_ANY_SHAPES = ProfileShapes(ShapeRange(1, 1, 1), ShapeRange(1, 1, 1))


class EngineRunner:
    """One engine of ``export_dir`` at ``depth`` and ``precision`` on GPU 0."""

    def __init__(self, export_dir: str | Path, depth: int, precision: Precision | str) -> None:
        self.export_dir = Path(export_dir)
        self.depth = depth
        self.precision = Precision(precision)
        self.inference_times: list[float] = []
        self._cuda: DeviceContext | None = None
        self._engine: Any = None
        self._context: Any = None
        self._buffers: dict[str, tuple[int, int]] = {}
        self._runtime: Any = None
        self._lock = threading.Lock()  # one execution context, one set of buffers

    def __enter__(self) -> EngineRunner:
        trt = import_tensorrt()
        export = open_export(self.export_dir)
        device = query_gpu()
        plan_dir_key = wanted_key(
            export,
            self.depth,
            self.precision,
            _ANY_SHAPES,
            device,
            trt.__version__,
        )
        plan = export.root / plan_dir_key.plan
        if not plan.is_file():
            raise StaleEngineError(
                f"no engine {plan_dir_key.plan} for this GPU ({device.name}) and TensorRT "
                f"{trt.__version__}: build it here with `ese-engines {export.root} --precision "
                f"{self.precision.value}`"
            )
        built = read_sidecar(export.root / plan_dir_key.sidecar)
        check_serves_callers(built, plan_dir_key)
        self.shapes = built.shapes
        self._cuda = DeviceContext(device.index)
        try:
            with self._cuda.current():
                logger = trt.Logger(trt.Logger.WARNING)
                self._runtime = trt.Runtime(logger)
                self._engine = self._runtime.deserialize_cuda_engine(plan.read_bytes())
                if self._engine is None:
                    raise StaleEngineError(
                        f"TensorRT {trt.__version__} could not deserialise {plan_dir_key.plan}; "
                        "rebuild it with ese-engines --force"
                    )
                self._context = self._engine.create_execution_context()
                self._allocate(trt)
        except BaseException:
            self._release()
            raise
        return self

    def _allocate(self, trt: Any) -> None:
        if self._cuda is None:
            raise InternalError("device buffers requested before the CUDA context exists")
        batch, seq = self.shapes.batch.max, self.shapes.seq.max
        self.io: dict[str, tuple[bool, np.dtype]] = {}
        for index in range(self._engine.num_io_tensors):
            name = self._engine.get_tensor_name(index)
            is_input = self._engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            dtype = np.dtype(trt.nptype(self._engine.get_tensor_dtype(name)))
            shape = self._engine.get_tensor_shape(name)  # trt.Dims: no negative indexing
            width = seq if is_input else int(shape[len(shape) - 1])
            nbytes = batch * width * dtype.itemsize
            address = self._cuda.alloc(nbytes)
            self._buffers[name] = (address, nbytes)
            self._context.set_tensor_address(name, address)
            self.io[name] = (is_input, dtype)
        if OUTPUT not in self.io:
            raise InternalError(f"the engine has no output {OUTPUT!r}: {sorted(self.io)}")

    def run(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray
    ) -> np.ndarray:
        if self._context is None or self._cuda is None:
            raise InternalError("EngineRunner.run called outside its `with` block")
        batch, seq = (int(n) for n in input_ids.shape)
        self.shapes.check_input(batch, seq)
        feeds = {
            INPUT_IDS: input_ids,
            ATTENTION_MASK: attention_mask,
            TOKEN_TYPE_IDS: token_type_ids,
        }
        with self._lock, self._cuda.current():
            started = time.perf_counter()
            output = self._run_current(batch, seq, feeds)
            self.inference_times.append(time.perf_counter() - started)
        return output.astype(np.float32, copy=False)

    def _run_current(self, batch: int, seq: int, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """One inference; the CUDA context is current on this thread."""
        if self._cuda is None:
            raise InternalError("EngineRunner.run called outside its `with` block")
        keep: list[np.ndarray] = []
        for name, (is_input, dtype) in self.io.items():
            if not is_input:
                continue
            host = np.ascontiguousarray(feeds[name], dtype=dtype)
            keep.append(host)
            self._context.set_input_shape(name, (batch, seq))
            self._cuda.to_device(self._buffers[name][0], host.ctypes.data, host.nbytes)
        out_shape = tuple(self._context.get_tensor_shape(OUTPUT))
        output = np.empty(out_shape, dtype=self.io[OUTPUT][1])
        if not self._context.execute_async_v3(self._cuda.stream_handle):
            raise InternalError(f"TensorRT execute_async_v3 failed for batch {batch} x {seq}")
        self._cuda.to_host(
            output.ctypes.data_as(ctypes.c_void_p).value or 0,
            self._buffers[OUTPUT][0],
            output.nbytes,
        )
        self._cuda.synchronize()
        return output

    def _release(self) -> None:
        if self._cuda is not None:
            with self._cuda.current():  # TensorRT frees its device memory in this context
                self._context = None
                self._engine = None
                self._runtime = None
            self._cuda.close()
            self._cuda = None
        self._buffers.clear()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._release()


def engine_available(export_dir: str | Path, depth: int, precision: Precision | str) -> str | None:
    """None when a fresh engine for (depth, precision) can run here; else why not.

    For the runtime's choice: an export whose engine is missing or stale falls back to ONNX
    Runtime graphs instead of failing.
    """
    try:
        trt = import_tensorrt()
        export = open_export(export_dir, verify=False)
        key = wanted_key(
            export, depth, Precision(precision), _ANY_SHAPES, query_gpu(), trt.__version__
        )
        if not (export.root / key.plan).is_file():
            return f"no engine {key.plan} (run ese-engines on this machine)"
        check_serves_callers(read_sidecar(export.root / key.sidecar), key)
    except EseError as exc:
        return str(exc)
    return None


def check_serves_callers(built: EngineKey, wanted: EngineKey) -> None:
    """Refuse an engine built elsewhere or from another graph, or whose profile minimums are
    above 1 (the runtime sends batches of any size, padded only to their longest text)."""
    check_fresh(built, wanted, wanted.plan)
    gap = built.shapes.callers_gap()
    if gap:
        raise StaleEngineError(
            f"engine {wanted.plan} was built with {gap.axes}, so it refuses short texts and "
            "small batches the runtime sends: rebuild it with `ese-engines DIR --precision "
            f"{wanted.precision.value} {gap.flags} --force`"
        )
