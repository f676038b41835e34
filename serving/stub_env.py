"""Make Triton's Python-backend stub load *this* interpreter's libpython.

PyTriton's ``triton_python_backend_stub`` is linked against ``libpython3.X.so.1.0`` and the
dynamic loader finds the system's copy first. When the running interpreter is another patch
release (here: system 3.11.2, interpreter 3.11.7), the stub runs PyTriton's proxy with a
libpython that does not match the standard library it imports, and multiprocessing breaks
("'_thread.RLock' object has no attribute '_recursion_count'", pytriton issue 51). Putting
the interpreter's own LIBDIR first on ``LD_LIBRARY_PATH`` of the server process (which
starts the stubs, and passes its environment on) makes the stub load the matching library.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

VARIABLE = "LD_LIBRARY_PATH"


def python_library_dir() -> str | None:
    """The running interpreter's directory of ``libpython3.X.so*``; None if it has none."""
    libdir = sysconfig.get_config_var("LIBDIR")
    if not libdir:
        return None
    name = f"libpython{sys.version_info.major}.{sys.version_info.minor}"
    found = any(Path(libdir).glob(f"{name}*.so*"))
    return str(libdir) if found else None


def with_python_library(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with the interpreter's LIBDIR first on ``LD_LIBRARY_PATH`` (once)."""
    out = dict(env)
    libdir = python_library_dir()
    if libdir is None:
        return out
    parts = [p for p in out.get(VARIABLE, "").split(os.pathsep) if p and p != libdir]
    out[VARIABLE] = os.pathsep.join([libdir, *parts])
    return out


@contextmanager
def python_library_on_path() -> Iterator[None]:
    """Set the fixed ``LD_LIBRARY_PATH`` in this process while a server is started.

    PyTriton copies ``os.environ`` when it launches tritonserver; the previous value is
    restored afterwards so nothing else this process starts is affected.
    """
    before = os.environ.get(VARIABLE)
    fixed = with_python_library(os.environ)
    if VARIABLE in fixed:
        os.environ[VARIABLE] = fixed[VARIABLE]
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(VARIABLE, None)
        else:
            os.environ[VARIABLE] = before
