"""SIGINT and SIGTERM alike: a command interrupted mid-run exits 130 and leaves nothing behind."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from commands import installed_script, run_python


def _default_sigint() -> None:
    # A job started with `&` by a non-interactive shell (as CI may run us) inherits SIGINT
    # ignored; give the child the default so that it sees Ctrl-C as a user would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for(parent: Path, pattern: str, proc: subprocess.Popen[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if list(parent.glob(pattern)):
            return
        if proc.poll() is not None:
            pytest.fail(f"the command ended (exit {proc.returncode}) before {pattern} appeared")
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f"{pattern} did not appear within {seconds} s")


def _few_triplets(data_dir: Path, path: Path) -> Path:
    """The first 10 SNLI triplets (the least --quality-set takes): the stage, which opens after
    the calibration pass, then exists within seconds instead of after ~6,000 sentences."""
    lines = (data_dir / "nli" / "snli_dev_test.triplets.tsv").read_text("utf-8").splitlines()
    rows = ["\t".join(line.split("\t")[1:]) for line in lines[1:11]]
    path.write_text("\n".join(["anchor\tpositive\tnegative", *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_export_interrupted_leaves_nothing_and_exits_130(
    signum: signal.Signals, tiny_model_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    probe = _few_triplets(data_dir, tmp_path / "probe.tsv")
    parent = tmp_path / "exports"
    parent.mkdir()
    (parent / "keep.txt").write_text("a file of the user's\n")
    before = sorted(p.name for p in parent.iterdir())
    argv = [str(tiny_model_dir), "--depths", "1,2", "--out", str(parent / "tiny")]
    argv += ["--projection", "none", "--quality-set", str(probe)]
    _interrupt("ese-export", argv, parent, ".tiny.partial-*", signum)
    assert sorted(p.name for p in parent.iterdir()) == before


SIGNALS = pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"]
)


def _listing(root: Path) -> dict[str, str]:
    """Every entry under ``root``: a file's sha256, a directory as such (hidden ones included)."""
    found = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.is_symlink() or not path.is_file():
            found[name] = "dir" if path.is_dir() else "other"
        else:
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _interrupt(
    script: str, argv: list[str], parent: Path, pattern: str, signum: signal.Signals
) -> None:
    """Run ``script``, send ``signum`` once ``pattern`` exists in ``parent``: exit 130, one line."""
    proc = subprocess.Popen(
        [str(installed_script(script)), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    _wait_for(parent, pattern, proc, seconds=120)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith(f"{script}: interrupted ({signum.name})"), err


@SIGNALS
def test_variants_interrupted_leave_the_export_as_it_was(
    signum: signal.Signals, tiny_export: Path, data_dir: Path, tmp_path: Path
) -> None:
    """int8 (calibration, quantisation, the STS-B gate): signalled while its stage exists."""
    export_dir = Path(shutil.copytree(tiny_export, tmp_path / "export"))
    before = _listing(tmp_path)
    argv = [
        str(export_dir),
        "--precision",
        "int8",
        "--stsb",
        str(data_dir / "stsb" / "sts-test.csv"),
    ]
    _interrupt("ese-variants", argv, export_dir, ".graphs.partial-*", signum)
    assert _listing(tmp_path) == before


@SIGNALS
def test_train_interrupted_leaves_nothing(
    signum: signal.Signals, tiny_model_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    """A tiny run of many steps, signalled once its work directory is marked (no checkpoint yet)."""
    rows = (data_dir / "stsb" / "sts-train.csv").read_text(encoding="utf-8").splitlines()[:64]
    train = tmp_path / "train.csv"
    train.write_text("\n".join(rows) + "\n", encoding="utf-8")
    parent = tmp_path / "models"
    parent.mkdir()
    (parent / "keep.txt").write_text("a file of the user's\n")
    before = _listing(tmp_path)
    argv = [str(tiny_model_dir), "--train", str(train), "--out", str(parent / "model")]
    argv += ["--no-teacher", "--steps", "100000", "--checkpoint-every", "100000"]
    argv += ["--batch-size", "8", "--widths", "8,16", "--k", "16", "--no-start-eval"]
    argv += ["--no-progress", "--threads", "1"]
    _interrupt("ese-train", argv, parent, "model.ese-train-work/.ese-output.json", signum)
    assert _listing(tmp_path) == before


def test_sigterm_unwinds_like_ctrl_c_and_handlers_are_restored() -> None:
    """SIGTERM becomes Terminated, every finally runs, the old handler comes back.

    In a fresh interpreter: the suite's own process has loaded gRPC, Triton's client and ONNX
    Runtime threads by now, and a signal sent to it crashed it once in CI.
    """
    child = """
import os, signal, sys, time
from ese.console.runner import ArgumentParser, Terminated, run_console
ran = []
def command(args):
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)
        ran.append("not interrupted")
    except Terminated:
        ran.append("Terminated")
        raise
    finally:
        ran.append("finally")
    return 0
before = signal.getsignal(signal.SIGTERM)
code = run_console(ArgumentParser(prog="ese-probe"), command, [])
print(code, ",".join(ran), signal.getsignal(signal.SIGTERM) is before)
"""
    done = run_python("-c", child)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["130", "Terminated,finally", "True"]
    assert done.stderr == "ese-probe: interrupted (SIGTERM)\n"


def test_a_signal_whose_exception_python_dropped_still_rolls_back_and_exits_130(
    tmp_path: Path,
) -> None:
    """A signal handled inside a ``__del__`` (as inside importlib's weakref callbacks): Python
    prints "Exception ignored" and goes on, so the stage must not commit all the same."""
    child = """
import os, signal, sys
from pathlib import Path
from ese.console.runner import ArgumentParser, run_console
from ese.console.output_dir import staged_output_dir
from ese.console.output_kinds import EXPORT_DIR

class SignalsWhileCollected:
    def __del__(self):
        signal.raise_signal(signal.SIGTERM)

def command(args):
    with staged_output_dir(Path(sys.argv[1]), EXPORT_DIR, force=False) as stage:
        (stage / "model.onnx").write_bytes(b"x")
        SignalsWhileCollected()  # collected at once; its Terminated is dropped
        print("went on", flush=True)
    return 0

sys.exit(run_console(ArgumentParser(prog="ese-probe"), command, []))
"""
    out = tmp_path / "out"
    done = run_python("-c", child, str(out))
    assert done.stdout == "went on\n"  # the exception really was dropped
    assert "Exception ignored" in done.stderr
    assert done.returncode == 130, done.stderr
    assert done.stderr.endswith("ese-probe: interrupted (SIGTERM)\n")
    assert list(tmp_path.iterdir()) == []


# Put first on PYTHONPATH, this sitecustomize blocks the first `import numpy` (which every
# command's start-up makes) after writing a marker: the test then signals a process that is
# certainly inside its start-up imports, with no timing involved.
BLOCK_NUMPY_IMPORT = """
import os, sys, time

class _BlockNumpy:
    def find_spec(self, name, path=None, target=None):
        if name != "numpy":
            return None
        sys.meta_path.remove(self)
        open(os.environ["ESE_TEST_STARTING"], "w").close()
        while True:
            time.sleep(0.05)

sys.meta_path.insert(0, _BlockNumpy())
"""


@SIGNALS
@pytest.mark.parametrize("script", ["ese-embed", "ese-export", "ese-serve"])
def test_a_signal_during_start_up_imports_exits_130_in_one_line(
    script: str, signum: signal.Signals, tmp_path: Path
) -> None:
    """Console scripts import their module before its main() runs: Ctrl-C there printed a
    traceback, and SIGTERM killed the process (exit 143)."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(BLOCK_NUMPY_IMPORT, encoding="utf-8")
    marker = tmp_path / "starting"
    path = os.pathsep.join(p for p in (str(hook), os.environ.get("PYTHONPATH", "")) if p)
    proc = subprocess.Popen(
        [str(installed_script(script)), str(tmp_path / "anything")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
        env={**os.environ, "PYTHONPATH": path, "ESE_TEST_STARTING": str(marker)},
    )
    _wait_for(tmp_path, marker.name, proc, seconds=120)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    assert err.splitlines() == [f"{script}: interrupted ({signum.name}) while starting"], err
    assert out == ""
