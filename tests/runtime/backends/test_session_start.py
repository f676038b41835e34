"""Sessions start quiet on stdout and never silently on the CPU, with real ONNX Runtime sessions.

The CPU-only onnxruntime here has no CUDA provider: asked for ``[CUDA, CPU]`` it warns that
CUDA is not available and runs the session on the CPU provider, the silent fallback a GPU
machine with a missing cuDNN shows too.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import onnxruntime as ort
import pytest

from ese.runtime.backends.onnxruntime.session import GraphRunner, Threads
from ese.runtime.backends.onnxruntime.session_start import stdout_to_stderr
from ese.runtime.backends.providers import CPU, CUDA
from ese.runtime.errors import ProviderError

needs_cpu_only_build = pytest.mark.skipif(
    CUDA in ort.get_available_providers(), reason="this onnxruntime has the CUDA provider"
)


@needs_cpu_only_build
def test_a_cuda_session_that_runs_on_the_cpu_is_refused_and_stdout_stays_clean(
    tiny_export: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    graph = tiny_export / "graphs" / "depth-02.onnx"
    with pytest.raises(ProviderError, match=r"asked for CUDAExecutionProvider.*onnxruntime-gpu"):
        GraphRunner(graph, [CUDA, CPU], Threads(intra_op=1))
    out, _ = capfd.readouterr()
    assert out == "", f"onnxruntime wrote to stdout: {out!r}"


def test_prints_at_python_and_c_level_go_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    print("before")
    with stdout_to_stderr():
        print("python-level")
        os.write(1, b"c-level\n")  # what a C library's printf to stdout does
    sys.stdout.flush()
    os.write(1, b"after\n")
    out, err = capfd.readouterr()
    assert out == "before\nafter\n"
    assert "python-level" in err and "c-level" in err


def test_a_cpu_session_is_unchanged(tiny_export: Path, capfd: pytest.CaptureFixture[str]) -> None:
    runner = GraphRunner(tiny_export / "graphs" / "depth-01.onnx", [CPU], Threads(intra_op=1))
    assert runner.check_provider() == CPU and runner.capture.on is False
    assert capfd.readouterr().out == ""
