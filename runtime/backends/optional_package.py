"""Whether an optional backend's package can be imported, answered without importing it."""

from __future__ import annotations

import importlib.util
import sys


def importable(name: str) -> bool:
    """Whether ``import name`` can work here (a module set to None in ``sys.modules``, as a
    test does to hide one, cannot)."""
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
