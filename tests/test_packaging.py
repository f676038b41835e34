"""The wheel's package list matches the folders: every folder that ships code or declared data
is a declared package, so setuptools neither drops it nor warns "Package would be ignored" on a
fresh install. The studies are the exception: left out of the wheel, mapped by a development
install (setup.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Mapped in package-dir for the development install only (setup.py); never in the wheel.
DEVELOPMENT_ONLY = "ese.studies"

tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")


def clean_copy(destination: Path) -> Path:
    """The tracked files as they are in the working tree: no stale build/ folder to pack."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, check=True, capture_output=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, destination / name)
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

    assert Path(selection.__file__).resolve().is_relative_to(REPO / "studies")


def _setuptools() -> dict[str, object]:
    table = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert isinstance(table, dict)
    return table


def _shipped_folders(root: Path, name: str, package_data: dict[str, list[str]]) -> set[str]:
    """Dotted names of the folders under ``root`` (package ``name``) that hold Python files or
    files that ``package-data`` ships (a key naming the folder, or a pattern ``sub/*.txt``)."""
    found = {
        ".".join([name, *p.parent.relative_to(root).parts])
        for p in root.rglob("*.py")
        if "__pycache__" not in p.parts
    }
    for key, patterns in package_data.items():
        if key == name or key.startswith(name + "."):
            found.add(key)
            for pattern in patterns:
                folders = Path(pattern).parent.parts
                if folders:
                    found.add(".".join([key, *folders]))
    return found


def test_every_shipped_folder_is_a_declared_package() -> None:
    table = _setuptools()
    package_dir = table["package-dir"]
    package_data = table.get("package-data", {})
    packages = set(table["packages"])  # type: ignore[arg-type]
    assert isinstance(package_dir, dict) and isinstance(package_data, dict)
    undeclared: set[str] = set()
    for name, folder in package_dir.items():
        if name == DEVELOPMENT_ONLY:
            continue
        undeclared |= _shipped_folders(REPO / folder, name, package_data) - packages
    assert undeclared == set(), f"folders the wheel would ignore: {sorted(undeclared)}"
