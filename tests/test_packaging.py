"""The wheel ships the product packages only; a development install also maps ese.studies."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def clean_copy(destination: Path) -> Path:
    """The tracked files as they are in the working tree: no stale build/ folder to pack."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    return destination


def test_the_wheel_leaves_the_studies_out(tmp_path):
    source = clean_copy(tmp_path / "source")
    offline = ["-q", "--no-deps", "--no-build-isolation"]  # the venv's setuptools: no network
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", *offline, "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("ese_toolchain-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "ese/runtime/__init__.py" in names
    assert [n for n in names if n.startswith("ese/studies/")] == []


def test_the_development_install_maps_the_studies():
    import ese.studies.training.selection as selection

    assert Path(selection.__file__).resolve().is_relative_to(ROOT / "studies")
