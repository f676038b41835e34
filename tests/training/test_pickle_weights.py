"""ese-train refuses pickle weights as ese-export does, before anything reads them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tiny_models import make_tiny_model

from ese.format.errors import UserError
from ese.training.run import load_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "bert", "bert", layers=1)


def test_pytorch_model_bin_is_refused_with_how_to_convert(tiny: Path, tmp_path: Path) -> None:
    model = Path(shutil.copytree(tiny, tmp_path / "pickled"))
    weights = load_file(model / "model.safetensors")
    (model / "model.safetensors").unlink()
    torch.save(weights, model / "pytorch_model.bin")  # a plain state dict: weights_only loads it
    with pytest.raises(UserError, match=r"pytorch_model\.bin.*safe_serialization=True"):
        load_model(model, torch.device("cpu"))


def test_safetensors_model_still_loads(tiny: Path) -> None:
    model = load_model(tiny, torch.device("cpu"))
    assert model.encode(["a man is playing a guitar"]).shape == (1, 32)
