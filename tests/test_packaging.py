"""The wheel ships the product packages only; a development install also maps ese.studies."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_leaves_the_studies_out(tmp_path):
    offline = ["--no-deps", "--no-build-isolation"]  # the venv's own setuptools: no network
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", *offline, "-w", str(tmp_path), str(ROOT)],
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
