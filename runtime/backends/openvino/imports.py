"""OpenVINO, imported only when asked for: the base install never needs it.

``openvino_available()`` answers without importing it (``auto`` asks this); ``load_openvino()``
imports it and turns its absence into a ``ProviderError`` naming the extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ese.runtime.backends.optional_package import importable
from ese.runtime.errors import ProviderError

INSTALL_LINE = "pip install 'ese-toolchain[openvino]'"


def openvino_available() -> bool:
    """Whether ``import openvino`` can work here (checked without importing it)."""
    return importable("openvino")


def load_openvino() -> ModuleType:
    """The ``openvino`` module, or a ``ProviderError`` saying how to install it."""
    try:
        return importlib.import_module("openvino")
    except ImportError as exc:
        raise ProviderError(
            f"the OpenVINO provider was asked for but openvino cannot be imported ({exc}); "
            f"install it with `{INSTALL_LINE}`, or pass providers='cpu' (ONNX Runtime)"
        ) from exc


def openvino_version() -> str:
    """OpenVINO's release, ``2026.4.1`` (the build suffix dropped)."""
    return str(load_openvino().__version__).split("-")[0]
