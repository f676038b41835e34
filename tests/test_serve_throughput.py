"""The serve throughput benchmark runs end to end (tiny counts: a smoke test, not a timing)."""

from __future__ import annotations

from pathlib import Path

from ese.benchmarks.serve_throughput import main


def test_serve_throughput_benchmark_smoke(tiny_export: Path, tmp_path: Path, capsys):
    out = tmp_path / "serve_throughput.md"
    argv = [str(tiny_export), "--clients", "3", "--requests", "4", "--sequential", "4"]
    assert main([*argv, "--out", str(out), "--", "--max-queue-delay-us", "500"]) == 0
    text = out.read_text()
    assert text in capsys.readouterr().out  # the report goes to stdout too
    assert "| sequential | 1 | 4 |" in text and "| concurrent | 3 | 12 |" in text
    assert "throughput ratio" in text and "mean dynamic batch" in text
    assert "--max-queue-delay-us 500" in text
