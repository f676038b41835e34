"""The serve throughput benchmark runs end to end (tiny counts: a smoke test, not a timing)."""

from __future__ import annotations

from pathlib import Path

from ese.studies.serve_throughput import main


def test_serve_throughput_benchmark_smoke(tiny_export: Path, tmp_path: Path, capsys):
    out = tmp_path / "serve_throughput.md"
    argv = [str(tiny_export), "--clients", "3", "--requests", "4", "--sequential", "4"]
    assert main([*argv, "--out", str(out), "--", "--max-queue-delay-us", "500"]) == 0
    text = out.read_text()
    assert text in capsys.readouterr().out  # the report goes to stdout too
    assert "| sequential | 1 | 4 |" in text and "| concurrent | 3 | 12 |" in text
    assert "throughput ratio" in text and "mean dynamic batch" in text
    assert "--max-queue-delay-us 500" in text


def test_cpu_saving_is_not_a_ratio_when_a_run_was_too_short_to_measure() -> None:
    import numpy as np

    from ese.studies.serve_throughput import Run, cpu_saving

    def run(clients: int, cpu_s: float) -> Run:
        return Run("r", clients, 12, 0.04, np.ones(12), cpu_s, 1.0)

    assert cpu_saving(run(1, 0.06), run(3, 0.03)) == "2.00x lower"
    assert "not comparable" in cpu_saving(run(1, 0.06), run(3, 0.0))
