"""ese.exporter: one validated ONNX graph per layer cut-off, in one export directory.

Needs the ``export`` extra: ``pip install 'ese-toolchain[export]'``.
"""

from __future__ import annotations

try:
    import onnx  # noqa: F401
    import torch  # noqa: F401
    import transformers  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        f"ese.exporter needs the export extra ({exc.name} is missing): "
        "pip install 'ese-toolchain[export]'"
    ) from exc

from ese.exporter.export import DepthReport, ExportResult, export

__all__ = ["DepthReport", "ExportResult", "export"]
