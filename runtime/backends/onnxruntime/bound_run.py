"""Running a session through ONNX Runtime's IO binding: inputs copied once, output fetched once.

:func:`run_bound` binds the host arrays as inputs (ONNX Runtime copies each to the provider's
device once) and the output on that device, and fetches it once after the run: nothing
round-trips through the host between nodes, and no output is copied twice.

:class:`FixedShapeRun` is the CUDA-graph form: input and output buffers allocated once on the
device for one (batch, seq) bucket and bound once; each run overwrites the inputs in place
(``OrtValue.update_inplace``), so the addresses a captured CUDA graph baked in stay valid.
With ``graph_id`` set, the run options carry ONNX Runtime's ``gpu_graph_id``: one captured
graph per bucket in one session. Both run on the CPU provider too (device ``cpu``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnxruntime as ort

from ese.format.contract import OUTPUT

GRAPH_ID_KEY = "gpu_graph_id"  # ONNX Runtime's run option: -1 runs without capture or replay


def run_options(graph_id: int | None) -> ort.RunOptions | None:
    """Run options naming the CUDA graph to capture or replay (-1: none), or None."""
    if graph_id is None:
        return None
    options = ort.RunOptions()
    options.add_run_config_entry(GRAPH_ID_KEY, str(graph_id))
    return options


def run_bound(
    session: ort.InferenceSession,
    feed: Mapping[str, np.ndarray],
    device: str,
    options: ort.RunOptions | None = None,
) -> np.ndarray:
    """One run with the inputs bound from the host and the output bound on ``device``."""
    binding = session.io_binding()
    for name, array in feed.items():
        binding.bind_cpu_input(name, np.ascontiguousarray(array))
    binding.bind_output(OUTPUT, device, 0)
    session.run_with_iobinding(binding, options)
    (out,) = binding.copy_outputs_to_cpu()
    return np.asarray(out, dtype=np.float32)


class FixedShapeRun:
    """Device buffers for one (batch, seq) bucket, bound once and refilled in place."""

    def __init__(
        self,
        session: ort.InferenceSession,
        input_names: tuple[str, ...],
        shape: tuple[int, int],
        width: int,
        device: str,
        graph_id: int | None,
    ) -> None:
        self.shape = shape
        self.inputs = {
            name: ort.OrtValue.ortvalue_from_shape_and_type(list(shape), np.int64, device, 0)
            for name in input_names
        }
        self.output = ort.OrtValue.ortvalue_from_shape_and_type(
            [shape[0], width], np.float32, device, 0
        )
        self.binding = session.io_binding()
        for name, value in self.inputs.items():
            self.binding.bind_ortvalue_input(name, value)
        self.binding.bind_ortvalue_output(OUTPUT, self.output)
        self.options = run_options(graph_id)
        self.runs = 0

    def run(self, session: ort.InferenceSession, feed: Mapping[str, np.ndarray]) -> np.ndarray:
        """Copy ``feed`` (already padded to the bucket) in, run, fetch the output once."""
        for name, value in self.inputs.items():
            value.update_inplace(np.ascontiguousarray(feed[name]))
        session.run_with_iobinding(self.binding, self.options)
        self.runs += 1
        # A copy: on the CPU provider numpy() is a view of the buffer the next run refills.
        return np.array(self.output.numpy(), dtype=np.float32, copy=True)
