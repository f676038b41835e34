"""Session-wide fixtures: real exports of a tiny random BERT and of the bundled MiniLM."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="module")
def torch_one_thread() -> Iterator[None]:
    """Tiny tensors: one torch thread avoids OpenMP spin-waits on a shared, busy CPU."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.fail(f"the shared data sets are missing: expected {DATA} (see README)")
    return DATA


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, hidden-32 random BERT in sentence-transformers layout (mean pooling)."""
    from tiny_models import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "bert", "bert", layers=2)


@pytest.fixture(scope="session")
def tiny_export(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Export of the tiny BERT at depths 1 and 2 with the default PCA projection."""
    from ese.exporter import export

    out = tmp_path_factory.mktemp("exports") / "tiny"
    export(tiny_model_dir, [1, 2], out)
    return out


@pytest.fixture(scope="session")
def minilm_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Export of the bundled all-MiniLM-L6-v2 at depths 2, 4, 6 with the default PCA."""
    from ese.exporter import export

    out = tmp_path_factory.mktemp("exports") / "minilm"
    export(None, [2, 4, 6], out)
    return out
