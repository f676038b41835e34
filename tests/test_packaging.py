"""The wheel's package list matches the folders: every folder that ships code or declared data
is a declared package, so setuptools neither drops it nor warns "Package would be ignored" on a
fresh install."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")


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
        undeclared |= _shipped_folders(REPO / folder, name, package_data) - packages
    assert undeclared == set(), f"folders the wheel would ignore: {sorted(undeclared)}"
