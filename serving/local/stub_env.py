"""Make Triton's Python-backend stub load *this* interpreter's libpython.

PyTriton's ``triton_python_backend_stub`` is linked against ``libpython3.X.so.1.0`` and the
dynamic loader finds the system's copy first. When the running interpreter is another patch
release (here: system 3.11.2, interpreter 3.11.7), the stub runs PyTriton's proxy with a
libpython that does not match the standard library it imports, and multiprocessing breaks
("'_thread.RLock' object has no attribute '_recursion_count'", pytriton issue 51). Putting
the interpreter's own LIBDIR first on ``LD_LIBRARY_PATH`` of the server process (which
starts the stubs, and passes its environment on) makes the stub load the matching library.

The same environment also picks PyTriton's transport between the stub and this process:
``PYTRITON_NO_TENSORSTORE=1`` sends tensors inline (base64 over its sockets) instead of
through a TensorStore shared-memory service. For strings in and one short vector out per
sentence that costs less: measured here (tiny export, one client) 3.9 instead of 5.7 ms of
server CPU per request, and 1.2 instead of 2.1 with 16 clients. A value the user set wins.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

VARIABLE = "LD_LIBRARY_PATH"
TRANSPORT = "PYTRITON_NO_TENSORSTORE"


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
def server_environment() -> Iterator[None]:
    """Set the stub's environment in this process while a server is bound and started.

    PyTriton reads the transport when a model is bound and copies ``os.environ`` when it
    launches tritonserver; the previous values are restored afterwards so nothing else
    this process starts is affected.
    """
    names = (VARIABLE, TRANSPORT)
    before = {name: os.environ.get(name) for name in names}
    fixed = with_python_library(os.environ)
    if VARIABLE in fixed:
        os.environ[VARIABLE] = fixed[VARIABLE]
    os.environ.setdefault(TRANSPORT, "1")
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
