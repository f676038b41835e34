"""The ``serve`` extra, checked where it is imported, with the install line in the error."""

from __future__ import annotations

import importlib
from types import ModuleType

from ese.serving.errors import ServeExtraError

INSTALL = "pip install 'ese-toolchain[serve]'"


def require(module: str) -> ModuleType:
    """Import ``module`` from the serve extra, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ServeExtraError(
            f"serving needs {module.split('.')[0]} ({exc}); install the serve extra: {INSTALL} "
            "(nvidia-pytriton runs on linux x86_64 with glibc >= 2.35 and needs numpy < 2)"
        ) from exc
