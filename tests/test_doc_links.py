"""Every relative link in README.md and the guides resolves (scripts/check_doc_links.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def checker():
    spec = importlib.util.spec_from_file_location(
        "check_doc_links", ROOT / "scripts" / "check_doc_links.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_link_in_the_docs_resolves(capsys):
    assert checker().main(ROOT) == 0, capsys.readouterr().out


def test_a_missing_file_and_a_missing_heading_are_reported(tmp_path, capsys):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# The guide\n\n## Second part\n")
    (tmp_path / "README.md").write_text(
        "# Title\n\n[a](docs/gone.md) [b](docs/guide.md#second-part) [c](docs/guide.md#third)\n"
        "[d](https://example.org/x)\n\n```\n[in a fence](nowhere.md)\n```\n"
    )
    assert checker().main(tmp_path) == 1
    assert capsys.readouterr().out.splitlines() == [
        "README.md:3: docs/gone.md (no such file)",
        "README.md:3: docs/guide.md#third (no heading #third)",
    ]
