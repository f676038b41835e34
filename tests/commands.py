"""Commands run as a shell runs them: this virtualenv's console scripts and fresh interpreters.

Output is captured as text and the exit status is left to the test to assert (no ``check``), so
a failure shows the command's own stderr.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def installed_script(name: str) -> Path:
    """The console script ``name`` (ese-embed, ese-export, ...); skips the test without it."""
    exe = BIN / name
    if not exe.exists():
        pytest.skip(f"{exe} is not installed (run make install)")
    return exe


def _run(argv: list[str], stdin: str | None, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )


def run_script(
    name: str, *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The installed console script ``name`` with ``args``."""
    return _run([str(installed_script(name)), *args], stdin, timeout)


def run_python(
    *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter of this virtualenv (``-c program ...``, ``-m module ...``)."""
    return _run([sys.executable, *args], stdin, timeout)
