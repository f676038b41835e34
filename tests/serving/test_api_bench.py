"""The bench commands of the embedding API run end to end at tiny counts (no timing checked):
``serve_vs_infinity`` with ese's servers alone (infinity is not installed here) and the
profile's attribution of py-spy samples to parts."""

from __future__ import annotations

from pathlib import Path

from ese.studies.serve_profile import OTHER, WAITING, parts_from_raw
from ese.studies.serve_vs_infinity import main


def test_the_bench_runs_every_load_against_every_ese_server(tiny_export: Path, tmp_path: Path):
    out = tmp_path / "report.md"
    argv = [str(tiny_export), "--ese", "1:fp32,2:fp32", "--infinity-engines", "",
            "--loads", "2x1,1x3", "--seconds", "0.5", "--bare-seconds", "0.1",
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| 2 x 1 |")]
    rows += [line for line in out.read_text().splitlines() if line.startswith("| 1 x 3 |")]
    assert [r.split("|")[2].strip() for r in rows] == ["ese d1 fp32", "ese d2 fp32"] * 2
    for row in rows:
        texts_per_s = float(row.split("|")[3])
        assert texts_per_s > 0, row


def test_py_spy_samples_go_to_the_innermost_part_and_waits_are_set_apart():
    raw = "\n".join(
        [
            "_work (batcher.py:1);encode (embedder.py:2);run (onnxruntime/capi/session.py:3) 7",
            "_work (batcher.py:1);encode_batch (tokenizers/x.py:4) 2",
            "serve (socketserver.py:5);handle (http/server.py:6);wait (threading.py:7) 5",
            "main (api_at_depth.py:8) 1",
        ]
    )
    counts = parts_from_raw(raw)
    assert counts == {"ONNX Runtime run": 7, "tokenise": 2, WAITING: 5, OTHER: 1}
