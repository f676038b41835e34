"""ese-embed and the demo: texts in, vectors out, the choice on request, errors as exit codes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from commands import installed_script, run_script

from ese.format.contract import TOKENIZER_FILE
from ese.runtime import Budget, Embedder, demo
from ese.runtime.cli import embed as embed_cli

LINES = ["a man is playing the guitar", "", "the cat sits", "two people in the park"]


@pytest.fixture
def export_copy(tiny_export: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_export, tmp_path / "export"))


class Streams:
    """stdin/stdout/stderr stand-ins with the .buffer attributes the CLI uses."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, stdin: bytes) -> None:
        self.out = io.BytesIO()
        self.err = io.StringIO()
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(self.out, write_through=True))
        monkeypatch.setattr(sys, "stderr", self.err)


def embed(monkeypatch: pytest.MonkeyPatch, argv: list[str], stdin: bytes) -> tuple[int, Streams]:
    streams = Streams(monkeypatch, stdin)
    return embed_cli.main(argv), streams


def test_npy_output_matches_the_library(monkeypatch: pytest.MonkeyPatch, tiny_export: Path) -> None:
    code, s = embed(monkeypatch, [str(tiny_export), "--max-dims", "16"], "\n".join(LINES).encode())
    assert code == 0, s.err.getvalue()
    vectors = np.load(io.BytesIO(s.out.getvalue()))
    expected = Embedder(tiny_export, budget=Budget(max_dims=16)).encode(LINES)
    assert vectors.shape == (4, 16) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, expected, atol=1e-6)


def test_jsonl_output_and_explain(monkeypatch: pytest.MonkeyPatch, tiny_export: Path) -> None:
    argv = [str(tiny_export), "--format", "jsonl", "--dims", "4", "--explain", "--batch-size", "2"]
    code, s = embed(monkeypatch, argv, b"hi\r\nyes\n\nno")
    assert code == 0, s.err.getvalue()
    rows = [json.loads(line) for line in s.out.getvalue().decode().splitlines()]
    assert len(rows) == 4 and all(len(r) == 4 for r in rows)
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    explained = s.err.getvalue()
    best = Embedder(tiny_export).depth  # the best measured probe quality (ese-export's grid)
    assert f"graph  depth {best}, fp32" in explained and "dims  32 of 32" in explained


def test_latency_budget_measures_and_explains(
    monkeypatch: pytest.MonkeyPatch, export_copy: Path
) -> None:
    argv = [str(export_copy), "--latency-ms", "1e4", "--batch-size", "2", "--seq-len", "16"]
    argv += ["--measure-seconds", "0.2"]
    code, s = embed(monkeypatch, [*argv, "--explain"], b"hi\n")
    assert code == 0, s.err.getvalue()
    assert "latency p90" in s.err.getvalue() and "measured now" in s.err.getvalue()
    assert (export_copy / "profiles").is_dir()


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--latency-ms", "0"], "argument --latency-ms: 0 must be above 0"),
        (["--providers", "quantum"], "unknown execution provider 'quantum'"),
        (["--min-quality", "50"], "measured quality"),
        (["--dims", "64"], "--dims 64 is wider than the 32 dims chosen"),
        (["--precision", "int8"], "no graph at precision int8"),
    ],
)
def test_user_errors_exit_2_with_the_message(
    monkeypatch: pytest.MonkeyPatch, tiny_export: Path, argv: list[str], needle: str
) -> None:
    code, s = embed(monkeypatch, [str(tiny_export), *argv], b"hi\n")
    assert code == 2
    assert s.err.getvalue().startswith("ese-embed: error: ")
    assert needle in s.err.getvalue()
    assert s.out.getvalue() == b""


def test_invalid_utf8_names_the_line(monkeypatch: pytest.MonkeyPatch, tiny_export: Path) -> None:
    code, s = embed(monkeypatch, [str(tiny_export)], b"fine\n\xff\xfe bad\n")
    assert code == 2 and "input line 2 is not valid UTF-8" in s.err.getvalue()


def test_truncation_is_reported_as_a_warning_line(
    monkeypatch: pytest.MonkeyPatch, tiny_export: Path
) -> None:
    code, s = embed(monkeypatch, [str(tiny_export), "--format", "jsonl"], b"dog " * 500 + b"\n")
    assert code == 0
    assert "ese-embed: warning: 1 of 1 inputs were longer" in s.err.getvalue()


def test_console_script_end_to_end(tiny_export: Path, tmp_path: Path) -> None:
    done = run_script("ese-embed", str(tiny_export), "--format", "jsonl", stdin="one\ntwo\n")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2


def test_demo_prints_choices_and_a_similarity_table(
    export_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main([str(export_copy)]) == 0
    out = capsys.readouterr().out
    assert "best quality" in out and "graph  depth" in out
    # make demo's export carries ese-export's probe grid: the choice is by measured quality
    assert "(snli-probe, measured)" in out and "size decides" not in out
    assert "Quality: the snli-probe grid ese-export measured on its labelled probe" in out
    assert "cat 1    cat 2" in out and "1.000" in out
    assert "\x1b[" not in out  # no colour codes when not on a terminal


def test_demo_usage() -> None:
    assert demo.main([]) == 2


@pytest.mark.parametrize("extra", [1, 2**31], ids=["one-over-the-limit", "past-a-C-int"])
def test_threads_far_above_the_cpu_count_are_refused(
    monkeypatch: pytest.MonkeyPatch, tiny_export: Path, extra: int
) -> None:
    """Thousands of ONNX Runtime threads on a few cores spin for minutes (and past a C int the
    session fails as an internal error): refused with one line naming the CPU count."""
    threads = 4 * (os.cpu_count() or 1) + extra
    code, s = embed(monkeypatch, [str(tiny_export), "--threads", str(threads)], b"hi\n")
    assert code == 2, s.err.getvalue()
    lines = s.err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ese-embed: error: argument --threads: ")
    assert f"this machine has {os.cpu_count()} CPUs" in lines[0]
    assert s.out.getvalue() == b""


def test_threads_up_to_the_limit_run(monkeypatch: pytest.MonkeyPatch, tiny_export: Path) -> None:
    argv = [str(tiny_export), "--format", "jsonl", "--threads", str(2 * (os.cpu_count() or 1))]
    code, s = embed(monkeypatch, argv, b"hi\n")
    assert code == 0, s.err.getvalue()


def test_a_rust_panic_in_the_tokenizer_is_one_line_and_exit_70(
    tiny_export: Path, tmp_path: Path
) -> None:
    """A catastrophic-backtracking Split regex makes tokenizers' Rust code panic (pyo3's
    PanicException, a BaseException, not an Exception); it escaped the runner as exit 1 and a
    traceback."""
    export = Path(shutil.copytree(tiny_export, tmp_path / "export"))
    path = export / TOKENIZER_FILE
    config = json.loads(path.read_text(encoding="utf-8"))
    config["pre_tokenizer"] = {
        "type": "Split",
        "pattern": {"Regex": "(a+)+$"},
        "behavior": "Isolated",
        "invert": False,
    }
    path.write_text(json.dumps(config), encoding="utf-8")
    manifest = json.loads((export / "manifest.json").read_text())
    for entry in manifest["tokenizer"]["files"]:
        if entry["path"] == TOKENIZER_FILE:
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
            entry["bytes"] = path.stat().st_size
    (export / "manifest.json").write_text(json.dumps(manifest))
    env = {k: v for k, v in os.environ.items() if k not in ("RUST_BACKTRACE", "ESE_DEBUG")}
    done = subprocess.run(
        [str(installed_script("ese-embed")), str(export), "--format", "jsonl"],
        input="a" * 40 + "b\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 70, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    ours = [line for line in done.stderr.splitlines() if line.startswith("ese-embed")]
    assert len(ours) == 1, done.stderr
    assert ours[0].startswith("ese-embed: internal error (please report it): PanicException: ")
    assert done.stdout == ""


def test_onnx_runtime_writes_nothing_to_stdout(tiny_export: Path) -> None:
    """Asked for CUDA on a CPU-only onnxruntime, every notice goes to stderr: stdout is data."""
    argv = ["--format", "jsonl", "--providers", "cuda,cpu"]
    done = run_script("ese-embed", str(tiny_export), *argv, stdin="one\ntwo\n")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 2 and "CUDAExecutionProvider" in done.stderr
