"""ese-bench profile on the tiny export: the runtime's schema, the runtime reads it, Ctrl-C."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ese.benchmarks.cli import main
from ese.format.profile import DeviceProfile
from ese.runtime import Budget, Embedder
from ese.runtime.backends.providers import CPU
from ese.runtime.device import this_device

GRID = ["--batch", "1,2", "--seq", "8,16", "--runs", "3", "--warmup", "1", "--threads", "1"]


@pytest.fixture()
def export_copy(tiny_export: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_export, tmp_path / "export"))


def test_profile_writes_the_runtime_profile_the_runtime_selects_from(export_copy: Path) -> None:
    assert main(["profile", str(export_copy), *GRID, "--quiet"]) == 0
    device_id = this_device(CPU, 1).device_id("fp32")
    path = export_copy / "profiles" / f"{device_id}.json"
    profile = DeviceProfile.from_dict(json.loads(path.read_text()))
    assert {(e.depth, e.batch_size, e.seq_len) for e in profile.entries} == {
        (d, b, s) for d in (1, 2) for b in (1, 2) for s in (8, 16)
    }
    for e in profile.entries:
        assert 0 < e.latency_ms_p50 <= e.latency_ms_p90 <= e.latency_ms_p99
        assert e.runs == 3
        # throughput comes from the unrounded p50; the file keeps p50 to 0.1 us (0.00005 ms)
        p50_low, p50_high = e.latency_ms_p50 - 5e-5, e.latency_ms_p50 + 5e-5
        assert e.batch_size * 1000 / p50_high - 0.01 <= e.sentences_per_s
        assert e.sentences_per_s <= e.batch_size * 1000 / p50_low + 0.01
        assert e.tokens_per_s == pytest.approx(e.sentences_per_s * e.seq_len, rel=1e-4, abs=0.1)
        assert e.peak_memory_mb >= 0
    assert "warm-up" in profile.measured_by

    budget = Budget(latency_ms=1e6, batch_size=2, seq_len=16)
    embedder = Embedder(export_copy, budget=budget, intra_op_threads=1, measure=False)
    assert "ese-bench profile" in embedder.choice.profile


def test_profile_merges_with_what_the_file_holds(export_copy: Path) -> None:
    small = ["--batch", "1", "--runs", "3", "--warmup", "0", "--threads", "1", "--quiet"]
    assert main(["profile", str(export_copy), *small, "--seq", "8,16", "--depths", "1"]) == 0
    assert main(["profile", str(export_copy), *small, "--seq", "8", "--depths", "1,2"]) == 0
    (path,) = (export_copy / "profiles").glob("*.json")
    entries = json.loads(path.read_text())["entries"]
    assert sorted((e["depth"], e["seq_len"]) for e in entries) == [(1, 8), (1, 16), (2, 8)]


def test_the_default_sequence_lengths_stay_within_the_model(export_copy: Path) -> None:
    """16, 64, 128, 256 by default: on a model of 48 tokens, 16 and its longest, 48."""
    small = ["--batch", "1", "--runs", "3", "--warmup", "0", "--threads", "1", "--quiet"]
    assert main(["profile", str(export_copy), *small, "--depths", "1"]) == 0
    (path,) = (export_copy / "profiles").glob("*.json")
    entries = json.loads(path.read_text())["entries"]
    assert sorted(e["seq_len"] for e in entries) == [16, 48]


def test_ctrl_c_keeps_the_shapes_already_measured(export_copy: Path) -> None:
    argv = [
        sys.executable,
        "-m",
        "ese.benchmarks.cli",
        "profile",
        str(export_copy),
        "--batch",
        "1,2",
        "--seq",
        "8,16",
        "--threads",
        "1",
        "--runs",
        "100000",
        "--max-seconds",
        "0.7",
    ]
    # A job started with `&` by a non-interactive shell (as CI may run us) inherits SIGINT
    # ignored, and Python then never raises KeyboardInterrupt: give the child the default.
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("[  2/8]"):
            proc.send_signal(signal.SIGINT)
            break
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, "".join(seen) + err
    assert "interrupted after" in err
    (path,) = (export_copy / "profiles").glob("*.json")
    kept = DeviceProfile.from_dict(json.loads(path.read_text())).entries
    assert 2 <= len(kept) < 8


def test_torch_backend_profiles_each_depth_on_cpu(export_copy: Path) -> None:
    grid = ["--batch", "1,2", "--seq", "8", "--runs", "3", "--warmup", "1", "--threads", "1"]
    assert (
        main(
            ["profile", str(export_copy), "--backend", "torch", "--device", "cpu", *grid, "--quiet"]
        )
        == 0
    )
    (path,) = (export_copy / "reports" / "torch-profiles").glob("*-torch-cpu-fp32.json")
    data = json.loads(path.read_text())
    assert data["backend"] == "torch"
    assert {(e["depth"], e["batch_size"]) for e in data["entries"]} == {
        (1, 1),
        (1, 2),
        (2, 1),
        (2, 2),
    }
    weights = {e["depth"]: e["peak_memory_mb"] for e in data["entries"] if e["batch_size"] == 1}
    assert weights[1] < weights[2] or weights[1] == pytest.approx(weights[2], abs=0.5)
    assert not (export_copy / "profiles").exists(), "torch must not write runtime profiles"


def test_torch_backend_refuses_cuda_without_a_gpu(
    export_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["profile", str(export_copy), "--backend", "torch", "--device", "cuda"]) == 2
    assert "no CUDA device" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--batch", "0", "below the minimum"),
        ("--seq", "8,x", "not a whole number"),
        ("--depths", "3", "not in this export"),
        ("--runs", "1", "at least 3"),
        ("--seq", "8,1024", "exceed the model's 48 tokens"),  # beyond the graph's positions
    ],
)
def test_bad_grids_are_user_errors(
    export_copy: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    assert main(["profile", str(export_copy), flag, value]) == 2
    assert message in capsys.readouterr().err
    assert not (export_copy / "profiles").exists()  # refused before any shape ran


def test_a_run_that_measured_nothing_exits_with_a_code_of_the_shared_table() -> None:
    from ese.benchmarks.commands.profile import nothing_measured
    from ese.benchmarks.latency.profiler import ProfileRun
    from ese.console import ExitCode
    from ese.format.errors import InternalError

    interrupted = ProfileRun(measurements=(), planned=4, interrupted=True, seconds=0.0)
    assert nothing_measured(interrupted) == ExitCode.INTERRUPTED
    # Not interrupted yet nothing measured cannot come from a user's plan: our bug (exit 70),
    # never the 1 that no row of the table names.
    with pytest.raises(InternalError, match="4 shape"):
        nothing_measured(ProfileRun(measurements=(), planned=4, interrupted=False, seconds=0.0))
