"""ese-export --triton without the serve extra: refused with the install line, before and after
the export (ese-triton's module is made unimportable through sys.modules, as on a box without
it). The exporter never imports serving: the command line runs ese-triton on the export."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ese.exporter import cli
from ese.format.errors import BadInputError

INSTALL = "pip install 'ese-toolchain[serve]'"


def test_triton_without_the_serve_extra_is_refused_before_the_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ese.serving.triton_cli", None)
    out, repo = tmp_path / "export", tmp_path / "repo"
    argv = [str(tmp_path / "model"), "--depths", "1", "--out", str(out), "--triton", str(repo)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert (
        "--triton needs the serve extra (ese.serving.triton_cli is missing): "
        f"{INSTALL}, or export without --triton"
    ) in err
    assert not out.exists() and not repo.exists()


def test_triton_without_the_serve_extra_after_the_export_says_the_export_is_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ese.serving.triton_cli", None)
    with pytest.raises(BadInputError) as info:
        cli._write_triton_repository(str(tmp_path / "export"), str(tmp_path / "repo"), False)
    assert str(info.value) == (
        "--triton needs the serve extra (ese.serving.triton_cli is missing): "
        f"{INSTALL}; the export itself is complete"
    )
    assert not (tmp_path / "repo").exists()
