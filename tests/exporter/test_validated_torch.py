"""The exporter's reliance on torch internals refuses a PyTorch release it was not validated on."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ese.exporter.graph.validated_torch import VALIDATED_TORCH, require_validated_torch
from ese.format.errors import InternalError

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_the_validated_release_is_the_pinned_one() -> None:
    assert f'"torch=={VALIDATED_TORCH}.*"' in PYPROJECT.read_text(encoding="utf-8")
    require_validated_torch("the check", "nothing")  # the installed torch passes


@pytest.mark.parametrize("version", [f"{VALIDATED_TORCH}.0", f"{VALIDATED_TORCH}.2+cpu"])
def test_patch_releases_of_the_validated_one_pass(version: str) -> None:
    require_validated_torch("the check", "nothing", version)


@pytest.mark.parametrize("version", ["2.14.0", "2.12.1+cu121", "3.0.0", "2.1.3"])
def test_another_release_fails_naming_both_and_what_to_recheck(version: str) -> None:
    with pytest.raises(InternalError) as caught:
        require_validated_torch("the weightless shape inference", "its memory test", version)
    message = str(caught.value)
    assert f"validated on torch {VALIDATED_TORCH}.*" in message
    assert f"this is torch {version}" in message
    assert "re-check its memory test" in message


def test_weightless_shape_inference_refuses_an_unvalidated_torch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not a silent replacement of a private pass that may have changed: the export stops."""
    from ese.exporter.graph.weightless_shape_inference import _PASS, weightless_shape_inference

    original = getattr(torch._C, _PASS)
    monkeypatch.setattr(torch, "__version__", "2.14.0")
    refused = pytest.raises(InternalError, match=f"torch._C.{_PASS}.*this is torch 2.14.0")
    with refused, weightless_shape_inference():
        pytest.fail("the block ran under an unvalidated torch")
    assert getattr(torch._C, _PASS) is original


def test_weightless_shape_inference_refuses_a_torch_without_the_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ese.exporter.graph.weightless_shape_inference import _PASS, weightless_shape_inference

    monkeypatch.delattr(torch._C, _PASS)
    refused = pytest.raises(InternalError, match=f"has no torch._C.{_PASS}")
    with refused, weightless_shape_inference():
        pytest.fail("the block ran without the pass")


def test_binding_parameters_refuses_an_unvalidated_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    import onnx

    from ese.exporter.graph.weights import bind_parameters

    model = onnx.ModelProto()
    monkeypatch.setattr(torch, "__version__", "2.14.0")
    with pytest.raises(InternalError, match=r"weights\.py.*this is torch 2\.14\.0"):
        bind_parameters(model, 2, {})
