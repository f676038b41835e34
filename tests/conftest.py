"""Session-wide fixtures: real exports of a tiny random BERT and of the bundled MiniLM."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ese.exporter.variants.stsb import StsbPairs

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# One torch (OpenMP) thread here and in every command a test starts: the tests' tensors are
# tiny, and on the shared, loaded 2-core machine a second thread's spin-waits made each tiny
# export ~7x slower (22 s against 3 s). Set before anything imports torch.
os.environ.setdefault("OMP_NUM_THREADS", "1")

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
def few_pairs(data_dir: Path) -> StsbPairs:
    """The first 40 STS-B test pairs: enough for the variant gates' mechanics."""
    from ese.exporter.variants.stsb import read_stsb

    return read_stsb(data_dir / "stsb" / "sts-test.csv").head(40)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, hidden-32 random BERT in sentence-transformers layout (mean pooling)."""
    from tiny_models import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "bert", "bert", layers=2)


@pytest.fixture(scope="session")
def tiny_export(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Export of the tiny BERT at depths 1 and 2 with the default (auto) projection."""
    from ese.exporter import export

    out = tmp_path_factory.mktemp("exports") / "tiny"
    export(tiny_model_dir, [1, 2], out)
    yield from _kept_unchanged(out)


@pytest.fixture(scope="session")
def minilm_export(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Export of the bundled all-MiniLM-L6-v2 at depths 2, 4, 6 with the default (auto)
    projection: PCA at depths 2 and 4, the model's own vectors at depth 6."""
    from ese.exporter import export

    out = tmp_path_factory.mktemp("exports") / "minilm"
    export(None, [2, 4, 6], out)
    yield from _kept_unchanged(out)


def _files(root: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*"))


def _kept_unchanged(export: Path) -> Iterator[Path]:
    """Hands out a session-wide export and fails the session if a test wrote into it (a measured
    profile, a variant): such a test copies the export first, or the tests after it see its
    files and pass or fail by the order they run in."""
    before = _files(export)
    yield export
    after = _files(export)
    assert after == before, (
        f"a test wrote into the shared export {export.name}: copy it first "
        f"(shutil.copytree); added or changed: {sorted(set(after) - set(before))}"
    )
