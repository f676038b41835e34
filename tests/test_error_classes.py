"""The errors a caller can catch: the two roots and the classes caught by name, nothing more.

Every other failure is an instance of one of these with a message that names what was wrong
and what to do; a new class belongs here only when a caller (or our own code) catches it.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("format", "console", "runtime", "exporter", "benchmarks", "training", "serving")
PACKAGES += ("engines", "studies")

KEPT = {
    # the roots, and what an export directory can be wrong with (ese.format.errors)
    "EseError",
    "UserError",
    "InternalError",
    "BadInputError",
    "ExportDirError",
    "ManifestError",
    "IntegrityError",
    "ProfileError",
    # the command line: an output directory, a service that stopped (exit 69)
    "OutputDirError",
    "ServiceStoppedError",
    # the runtime's, caught by name by its callers
    "BudgetError",
    "ProviderError",
    "ClosedError",
    # caught by name inside the toolchain
    "ProtobufError",
    "PoolingError",
    "ServeExtraError",
    "BadRequestError",
    "StaleEngineError",
    "RequestRefused",  # an HTTP API refusal: its kind picks the status and the error shape
}


def _error_classes() -> dict[str, str]:
    """Every class defined in the packages whose bases make it an exception (by name)."""
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.ClassDef):
                    continue
                bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
                if any(b.endswith(("Error", "Exception")) or b in found for b in bases):
                    found[node.name] = str(path.relative_to(REPO))
    return found


def test_only_the_errors_a_caller_catches_are_classes() -> None:
    classes = _error_classes()
    extra = {name: where for name, where in classes.items() if name not in KEPT}
    assert extra == {}, f"error classes no caller catches by name: {extra}"
    assert set(classes) == KEPT
