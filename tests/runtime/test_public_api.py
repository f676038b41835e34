"""The runtime's public API is what a device user needs, and the export format is declared once."""

from __future__ import annotations

import ast
from pathlib import Path

import ese.runtime

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("format", "console", "runtime", "exporter", "benchmarks", "training", "serving")


def test_the_runtime_exports_the_names_a_user_needs_and_no_tool_plumbing() -> None:
    assert sorted(ese.runtime.__all__) == [
        "Budget",
        "Choice",
        "Embedder",
        "EseError",
        "InternalError",
        "Precision",
        "UserError",
    ]
    for name in ese.runtime.__all__:
        assert getattr(ese.runtime, name).__name__ == name
    assert issubclass(ese.runtime.UserError, ese.runtime.EseError)
    assert issubclass(ese.runtime.InternalError, ese.runtime.EseError)


def test_the_width_ladder_is_defined_once() -> None:
    """(32, 64, 128, 256) as a literal appears in one module only: ese.format.contract."""
    where = []
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Tuple) and [
                    getattr(e, "value", None) for e in node.elts
                ] == [32, 64, 128, 256]:
                    where.append(str(path.relative_to(REPO)))
    assert where == ["format/contract.py"]
