"""One function makes every ONNX Runtime session: ``start_session`` (quiet on stdout, never
silently on the CPU, load failures as typed errors), whatever package opens the graph."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("format", "console", "runtime", "exporter", "benchmarks", "training", "serving")
PACKAGES += ("engines",)
MAKER = "runtime/backends/onnxruntime/session_start.py"


def test_every_onnxruntime_session_is_made_by_start_session() -> None:
    elsewhere = []
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "InferenceSession"
                ):
                    elsewhere.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert [w for w in elsewhere if not w.startswith(MAKER)] == []
    assert len(elsewhere) == 1
