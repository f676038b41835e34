"""A study's report: printed, and written to ``--out`` as well when one is given."""

from __future__ import annotations

import sys
from pathlib import Path


def print_and_write(report: str, out: Path | None) -> None:
    """``report`` to stdout, and to ``out`` too (its folder made) when ``out`` is given."""
    sys.stdout.write(report)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report, encoding="utf-8")
