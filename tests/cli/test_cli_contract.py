"""Every console script keeps one contract: a bad argument exits 2 with one line naming it,
no traceback; an internal error exits 70 with one "please report it" line, the traceback only
under --debug or ESE_DEBUG=1. The scripts are read from pyproject, so a new one is covered."""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from commands import installed_script, run_python, run_script

from ese.console.runner import ArgumentParser, ExitCode, run_console
from ese.format.errors import InternalError

REPO = Path(__file__).resolve().parents[2]


def _console_scripts(pyproject: str) -> dict[str, str]:
    """``[project.scripts]`` of pyproject.toml (no tomllib: Python 3.10 is supported)."""
    section = pyproject.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    return dict(re.findall(r'^([\w-]+)\s*=\s*"([^"]+)"', section, flags=re.MULTILINE))


SCRIPTS = _console_scripts((REPO / "pyproject.toml").read_text())


def _main(script: str) -> Callable[[list[str]], int]:
    module, func = SCRIPTS[script].split(":")
    main: Callable[[list[str]], int] = getattr(importlib.import_module(module), func)
    return main


def _one_line_error(stderr: str, prog: str) -> str:
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr, stderr
    assert len(lines) >= 1, stderr
    last = lines[-1]
    assert last.startswith(f"{prog}: error: "), stderr
    return last


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_installed_script_refuses_an_unknown_flag_in_one_line(script: str) -> None:
    """A real subprocess of the installed script: exit 2, the flag named, no usage dump."""
    argv = ["profile", "x"] if script == "ese-bench" else []
    done = run_script(script, *argv, "--no-such-flag")
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    line = _one_line_error(done.stderr, script)
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "--no-such-flag" in line or "required" in line, line


def _bad_values(export: Path, a_file: Path, out: Path) -> list[tuple[str, list[str], str]]:
    """(script, argv, words the one line must contain) for bad values of every kind."""
    missing = str(export.parent / "no-such-export")
    d, f, o = str(export), str(a_file), str(out)
    return [
        ("ese-export", ["--depths", "1,x", "--out", o], "--depths"),
        ("ese-export", [missing, "--depths", "1", "--out", o], "no-such-export"),
        ("ese-embed", [d, "--batch-size", "-1"], "--batch-size"),
        ("ese-embed", [d, "--precision", "fp32,,int8"], "--precision"),
        ("ese-embed", [d, "--threads", "x"], "--threads"),
        ("ese-embed", [missing], "does not exist"),
        ("ese-embed", [f], "is a file"),
        ("ese-bench", ["profile", d, "--batch", "1,x"], "--batch"),
        ("ese-bench", ["profile", d, "--precision", "zz"], "zz"),
        ("ese-bench", ["quality", d, "--limit", "-1"], "--limit"),
        ("ese-bench", ["report", d, "--batch", "-1"], "--batch"),
        ("ese-bench", ["profile", missing], "does not exist"),
        ("ese-bench", ["compare", d, "--systems", "runtime,,"], "--systems"),
        ("ese-variants", [d, "--precision", "fp16,zz"], "zz"),
        ("ese-variants", [missing, "--precision", "fp16"], "does not exist"),
        ("ese-engines", [d, "--depths", "4,x"], "--depths"),
        ("ese-engines", [d, "--workspace-mb", "-5"], "--workspace-mb"),
        ("ese-triton", [d, "--out", o, "--max-batch-size", "-1"], "--max-batch-size"),
        ("ese-triton", [d, "--out", o, "--precision", "fp32,zz"], "--precision"),
        ("ese-triton", [f, "--out", o], "is a file"),
        ("ese-serve", [d, "--workers", "-1"], "--workers"),
        ("ese-serve", [d, "--precision", ",,"], "--precision"),
        ("ese-serve", [d, "--http-port", "x"], "--http-port"),
        ("ese-train", ["--train", f, "--out", o, "--widths", "8,a"], "--widths"),
        ("ese-train", ["--train", f, "--out", o, "--epochs", "-1"], "--epochs"),
        ("ese-train", ["--train", f, "--out", o, "--layer-lr-scales", "1,,2"], "--layer-lr"),
        ("ese-train", ["--train", missing, "--out", o], "no such file"),
    ]


def test_the_script_list_is_read() -> None:
    assert {"ese-export", "ese-embed", "ese-serve"} <= set(SCRIPTS), SCRIPTS


def test_every_script_has_bad_value_cases() -> None:
    covered = {script for script, _, _ in _bad_values(Path("e"), Path("f"), Path("o"))}
    assert covered == set(SCRIPTS), f"add bad-value cases for {set(SCRIPTS) - covered}"


def test_bad_values_exit_2_with_one_line_naming_the_problem(
    tiny_export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = Path(shutil.copytree(tiny_export, tmp_path / "export"))
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("not a directory\n")
    failures = []
    for script, argv, needle in _bad_values(export, a_file, tmp_path / "out"):
        code = _main(script)(argv)
        err = capsys.readouterr().err
        last = err.strip().splitlines()[-1] if err.strip() else ""
        ok = (
            code == 2
            and "Traceback" not in err
            and last.startswith(f"{script}: error: ")
            and needle in last
        )
        if not ok:
            failures.append(f"{script} {argv}: exit {code}, stderr {err!r}")
    assert not failures, "\n".join(failures)
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in export.iterdir()) == sorted(p.name for p in tiny_export.iterdir())


def _parser() -> ArgumentParser:
    parser = ArgumentParser(prog="ese-probe")
    parser.add_argument("--count", type=int, default=1)
    return parser


def _divide(args: argparse.Namespace) -> int:
    return 10 // (args.count - 1)


def _broken_contract(args: argparse.Namespace) -> int:
    raise InternalError("the manifest writer produced no graphs")


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (_divide, "ZeroDivisionError: integer division or modulo by zero"),
        (_broken_contract, "InternalError: the manifest writer produced no graphs"),
    ],
)
def test_an_internal_error_is_one_line_and_exit_70(
    command: Callable[[argparse.Namespace], int],
    words: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("ESE_DEBUG", raising=False)
    assert run_console(_parser(), command, []) == ExitCode.INTERNAL_ERROR == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("ese-probe: internal error (please report it): ")
    assert words in err and "--debug" in err


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback(
    how: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ESE_DEBUG", raising=False)
    argv = ["--debug"] if how == "flag" else []
    if how == "env":
        monkeypatch.setenv("ESE_DEBUG", "1")
    assert run_console(_parser(), _divide, argv) == 70
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "in _divide" in err


def test_a_process_reports_an_internal_error_in_one_line() -> None:
    """The same in a fresh interpreter: the exit status and stderr a shell would see."""
    probe = (
        "import sys; from ese.console.runner import ArgumentParser, run_console\n"
        "sys.exit(run_console(ArgumentParser(prog='ese-probe'), lambda a: {}['missing'], []))\n"
    )
    done = run_python("-c", probe, timeout=60)
    assert done.returncode == 70, done.stderr
    assert done.stderr.strip() == (
        "ese-probe: internal error (please report it): KeyError: 'missing' "
        "(run again with --debug or ESE_DEBUG=1 for the traceback)"
    )


def test_help_still_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_console(_parser(), _divide, ["--help"]) == 0
    assert "--debug" in capsys.readouterr().out


# --- A full disk and a read-only output: the user's to fix, exit 2 in one line ----------------


@contextmanager
def _tmpfs(path: Path, size: str, *, copy: Path | None = None) -> Iterator[Path]:
    """A tmpfs of ``size`` at ``path`` (holding a copy of ``copy``); skipped where mount fails."""
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        if copy is not None:
            shutil.copytree(copy, path / copy.name)
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(disk: Path) -> None:
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass  # the disk is full
    finally:
        os.close(fd)


def _read_only(disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)


def _storage_cases(
    model: Path, export: Path, train: Path, disk: Path
) -> list[tuple[str, list[str]]]:
    """(script, argv) writing onto ``disk`` (the export's copy lives there as ``disk/tiny``).

    ese-embed writes to stdout only (covered by ``> /dev/full`` below); ese-engines needs a
    GPU and ese-serve writes nothing."""
    on_disk = str(disk / export.name)
    training = ["--train", str(train), "--no-teacher", "--batch-size", "8", "--widths", "8,16"]
    training += ["--k", "16", "--no-progress", "--no-start-eval", "--threads", "1", "--steps", "1"]
    return [
        ("ese-train", [str(model), *training, "--out", f"{disk}/model"]),
        ("ese-export", [str(model), "--depths", "1", "--projection", "none", "--out", f"{disk}/o"]),
        ("ese-variants", [on_disk, "--precision", "fp16", "--quiet"]),
        ("ese-triton", [str(export), "--out", f"{disk}/repo"]),
        ("ese-bench", ["quality", on_disk, "--task", "stsb", "--limit", "4"]),
        ("ese-bench", ["report", str(export), "--out", f"{disk}/report", "--batch", "1"]),
    ]


def _exit_2_in_one_line(
    script: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> str | None:
    code = _main(script)(argv)
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1] if err.strip() else ""
    # ese-bench quality checks that it can write into the export before it measures
    measured = argv[0] == "quality" and "done" in err and "read-only" in err
    if code == 2 and "Traceback" not in err and last.startswith(f"{script}: error: "):
        return f"{script} {argv}: measured before refusing: {err!r}" if measured else None
    return f"{script} {argv}: exit {code}, stderr {err[-600:]!r}"


@pytest.mark.parametrize("how", ["full", "read-only"])
def test_a_full_disk_or_a_read_only_output_exits_2(
    how: str,
    tiny_model_dir: Path,
    tiny_export: Path,
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = (data_dir / "stsb" / "sts-train.csv").read_text(encoding="utf-8").splitlines()[:16]
    train = tmp_path / "train.csv"
    train.write_text("\n".join(rows) + "\n", encoding="utf-8")
    failures = []
    with _tmpfs(tmp_path / "disk", "1m", copy=tiny_export) as disk:
        _fill(disk) if how == "full" else _read_only(disk)
        for script, argv in _storage_cases(tiny_model_dir, tiny_export, train, disk):
            failure = _exit_2_in_one_line(script, argv, capsys)
            if failure:
                failures.append(failure)
        # ese-train keeps its work directory (checkpoints for --resume) by design
        kept = ("filler", tiny_export.name, "model.ese-train-work")
        leftovers = [p.name for p in disk.iterdir() if p.name not in kept]
    assert not failures, "\n".join(failures)
    assert leftovers == [], "a failed run left files behind"


def test_embed_to_a_full_stdout_exits_2(tiny_export: Path) -> None:
    with open(os.devnull if not Path("/dev/full").exists() else "/dev/full", "wb") as full:
        if full.name == os.devnull:
            pytest.skip("no /dev/full here")
        done = subprocess.run(
            [str(installed_script("ese-embed")), str(tiny_export)],
            input=b"hello\nworld\n",
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert err.strip() == (
        "ese-embed: error: cannot write standard output: no space left on the device; "
        "free some space, or write somewhere else"
    ), err
