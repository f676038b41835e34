"""Output directories (issue 13): --force replaces only what the tool made; nothing is left over.

The severe cases are reproduced through the real entry points (ese-export's ``export``,
ese-triton's ``main``) on the tiny model; the helper itself is driven directly for the
interrupt cases, and through a real SIGTERM in a child process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from commands import run_python

from ese.console.errors import OutputDirError
from ese.console.output_dir import (
    MARKER_FILE,
    check_output_dir,
    marked_kind,
    staged_additions,
    staged_output_dir,
)
from ese.console.output_kinds import EXPORT_DIR
from ese.exporter import export
from ese.exporter.variants.stsb import StsbPairs
from ese.format.export_dir import open_export
from ese.serving.triton.repository import RepositoryOptions, repository_from_export
from ese.serving.triton_cli import main as triton_main


def _user_folder(path: Path) -> Path:
    """The folder the reviewer lost: thesis.txt and sub/notes.md."""
    (path / "sub").mkdir(parents=True)
    (path / "thesis.txt").write_text("four years of work")
    (path / "sub" / "notes.md").write_text("# notes")
    return path


def _snapshot(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): p.read_text() for p in sorted(path.rglob("*")) if p.is_file()}


def _hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".partial-" in p.name or ".old-" in p.name)


def test_export_force_refuses_a_folder_of_user_files(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = _user_folder(tmp_path / "thesis")
    before = _snapshot(out)
    with pytest.raises(OutputDirError, match=r"did not write \(sub, thesis.txt\)"):
        export(tiny_model_dir, [1], out, projection="none", force=True)
    assert _snapshot(out) == before
    assert _hidden(tmp_path) == []


def test_export_force_refuses_the_current_directory(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = _user_folder(tmp_path / "work")
    before = _snapshot(work)
    monkeypatch.chdir(work)
    for out in (Path("."), Path(".."), Path("sub/..")):
        with pytest.raises(OutputDirError, match="current directory"):
            export(tiny_model_dir, [1], out, projection="none", force=True)
    assert _snapshot(work) == before
    assert _hidden(tmp_path) == [] and _hidden(work) == []


def test_force_refuses_the_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _user_folder(tmp_path / "home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputDirError, match="home directory"):
        check_output_dir(home, EXPORT_DIR, force=True)
    assert (home / "thesis.txt").is_file()


def test_export_force_never_follows_a_symlink(tiny_model_dir: Path, tmp_path: Path) -> None:
    target = _user_folder(tmp_path / "target")
    before = _snapshot(target)
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    for force in (True, False):
        with pytest.raises(OutputDirError, match="symbolic link"):
            export(tiny_model_dir, [1], link, projection="none", force=force)
    assert link.is_symlink() and _snapshot(target) == before
    # a link to an export is refused too: the link, never its target, would be replaced
    real = tmp_path / "real"
    export(tiny_model_dir, [1], real, projection="none")
    (tmp_path / "to-export").symlink_to(real, target_is_directory=True)
    with pytest.raises(OutputDirError, match="symbolic link"):
        export(tiny_model_dir, [1], tmp_path / "to-export", projection="none", force=True)
    assert _hidden(tmp_path) == []


def test_export_force_replaces_an_export(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(tiny_model_dir, [1], out, projection="none")
    (out / "profiles").mkdir()
    export(tiny_model_dir, [2], out, projection="none", force=True)
    assert [g.depth for g in export(tiny_model_dir, [1], out, force=True).manifest.graphs] == [1]
    assert not (out / "profiles").exists()
    assert _hidden(tmp_path) == []


def test_export_force_refuses_a_folder_holding_the_model(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(OutputDirError, match="the model directory"):
        export(tiny_model_dir, [1], tiny_model_dir.parent, projection="none", force=True)
    assert (tiny_model_dir / "config.json").is_file()


def test_out_under_a_file_says_so_not_permission_denied(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "somefile").write_text("x")
    with pytest.raises(OutputDirError, match="somefile, which is a file, not a directory") as e:
        export(tiny_model_dir, [1], tmp_path / "somefile" / "sub" / "out", projection="none")
    assert "permission" not in str(e.value)
    # /sys refuses a new directory even to root (EPERM); a real permission problem says so
    with (
        pytest.raises(OutputDirError, match="permission denied"),
        staged_output_dir(Path("/sys/ese-output-test/out"), EXPORT_DIR, force=False),
    ):
        pass


def test_triton_force_refuses_a_triton_looking_folder_without_the_marker(
    tiny_export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _user_folder(tmp_path / "repo")
    (out / "m").mkdir()
    (out / "m" / "config.pbtxt").write_text('name: "m"')
    before = _snapshot(out)
    code = triton_main([str(tiny_export), "--out", str(out), "--force"])
    assert code == 2
    assert "did not write" in capsys.readouterr().err
    assert _snapshot(out) == before and _hidden(tmp_path) == []


def test_triton_force_replaces_its_own_repository(
    tiny_export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "repo"
    assert triton_main([str(tiny_export), "--out", str(out), "--name", "old"]) == 0
    assert (out / MARKER_FILE).is_file()
    assert triton_main([str(tiny_export), "--out", str(out), "--force"]) == 0
    assert (out / "ese" / "config.pbtxt").is_file() and not (out / "old").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]
    capsys.readouterr()


KIND = marked_kind("ese-test", "a test output")


@pytest.mark.parametrize("interrupt", [RuntimeError, KeyboardInterrupt, SystemExit])
def test_an_exception_in_the_block_keeps_the_old_output(
    tmp_path: Path, interrupt: type[BaseException]
) -> None:
    out = tmp_path / "deep" / "out"
    with staged_output_dir(out, KIND, force=False) as stage:
        (stage / "a.txt").write_text("old")
    with pytest.raises(interrupt), staged_output_dir(out, KIND, force=True) as stage:
        (stage / "a.txt").write_text("new, half written")
        raise interrupt()
    assert (out / "a.txt").read_text() == "old"
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]
    # parents made for a run that failed are removed with its stage
    fresh = tmp_path / "made" / "for" / "out"
    with pytest.raises(interrupt), staged_output_dir(fresh, KIND, force=False):
        raise interrupt()
    assert not (tmp_path / "made").exists()


def test_additions_keep_other_files_and_leave_nothing_on_failure(tmp_path: Path) -> None:
    into = tmp_path / "reports"
    with staged_additions(into, KIND) as stage:
        (stage / "report.md").write_text("one")
    (into / "compare.md").write_text("kept")
    with pytest.raises(KeyboardInterrupt), staged_additions(into, KIND) as stage:
        (stage / "report.md").write_text("two")
        raise KeyboardInterrupt
    with staged_additions(into, KIND) as stage:
        (stage / "report.md").write_text("three")
    assert (into / "report.md").read_text() == "three"
    assert (into / "compare.md").read_text() == "kept"
    assert _hidden(tmp_path) == []
    with (
        pytest.raises(OutputDirError, match="did not write"),
        staged_additions(_user_folder(tmp_path / "mine"), KIND),
    ):
        pass


def test_sigterm_leaves_nothing(tmp_path: Path) -> None:
    """A real SIGTERM, turned into an exception as the CLI layer does, mid-stage."""
    child = textwrap.dedent(
        """
        import signal, sys, time
        from pathlib import Path
        from ese.console.output_dir import staged_output_dir
        from ese.console.output_kinds import EXPORT_DIR

        def stop(signum, frame):
            raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, stop)
        with staged_output_dir(Path(sys.argv[1]), EXPORT_DIR, force=False) as stage:
            (stage / "weights.bin").write_bytes(b"x" * 1_000_000)
            print("staged", flush=True)
            time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child, str(tmp_path / "out")], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "staged"
    assert _hidden(tmp_path) != []  # the stage really was there
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_a_stage_left_by_a_killed_process_is_removed_by_the_next_run(tmp_path: Path) -> None:
    dead = run_python("-c", "import os; print(os.getpid())")
    assert dead.returncode == 0, dead.stderr
    pid = int(dead.stdout)
    abandoned = tmp_path / f".out.partial-{pid}-abc"
    abandoned.mkdir()
    (abandoned / "weights.bin").write_bytes(b"x")
    mine = tmp_path / f".out.partial-{os.getpid()}-abc"  # a live process: never touched
    mine.mkdir()
    with staged_output_dir(tmp_path / "out", KIND, force=False) as stage:
        (stage / "a.txt").write_text("a")
    assert sorted(p.name for p in tmp_path.iterdir()) == [mine.name, "out"]
    shutil.rmtree(mine)


def _copy(export_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "export"
    shutil.copytree(export_dir, out)
    return out


def test_variants_after_triton_and_triton_after_variants(
    tiny_export: Path, tmp_path: Path, few_pairs: StsbPairs
) -> None:
    from ese.exporter.variants.add import add_variants
    from ese.exporter.variants.record import Gates
    from ese.format.contract import Precision
    from ese.format.export_dir import open_export

    loose = Gates(int8_mean_cosine=0.5, stsb_max_drop=100.0, fp16_min_cosine=0.99)
    export_dir = _copy(tiny_export, tmp_path)
    repository_from_export(export_dir, tmp_path / "repo")
    # the repository shares the export's files: the case onnx.load refuses
    assert (export_dir / "graphs" / "weights.bin").stat().st_nlink > 1
    add_variants(export_dir, ["int8", "fp16"], stsb=few_pairs, gates=loose)
    keys = {g.key for g in open_export(export_dir).manifest.graphs}
    assert (2, Precision.INT8) in keys and (1, Precision.FP16) in keys
    options = RepositoryOptions(precisions=(Precision.INT8,), force=True)
    repo = repository_from_export(export_dir, tmp_path / "repo", options)
    assert {g.precision for g in repo.graphs} == {Precision.INT8}
    assert (export_dir / "graphs" / "weights.int8.bin").stat().st_nlink > 1
    add_variants(export_dir, ["fp16"], gates=loose)  # and again, over linked variant files
    assert _hidden(export_dir) == [] and _hidden(tmp_path) == []


def test_train_force_refuses_user_files_and_inputs(tmp_path: Path, tiny_model_dir: Path) -> None:
    from ese.training.output import WORK_DIR, check_out

    out = _user_folder(tmp_path / "model")
    with pytest.raises(OutputDirError, match="did not write"):
        check_out(out, True)
    with pytest.raises(OutputDirError, match="the base model"):
        check_out(tiny_model_dir.parent, True, [("the base model", tiny_model_dir)])
    work = _user_folder(tmp_path / "model.ese-train-work")
    with pytest.raises(OutputDirError, match="did not write"):
        check_output_dir(work, WORK_DIR, force=True)
    assert (out / "thesis.txt").is_file() and (work / "thesis.txt").is_file()


def test_bench_report_out_refuses_user_files(tiny_export: Path, tmp_path: Path) -> None:
    from ese.benchmarks.report.pages import Page, write_report

    page = Page("t")
    page.text("hello")
    out = _user_folder(tmp_path / "docs")
    with pytest.raises(OutputDirError, match="did not write"):
        write_report(page, out)
    assert sorted(p.name for p in out.iterdir()) == ["sub", "thesis.txt"]
    write_report(page, tmp_path / "rep")
    write_report(page, tmp_path / "rep")  # its own directory: written again
    assert (tmp_path / "rep" / MARKER_FILE).is_file()
    # an export's own reports/ keeps what other commands wrote there
    export_dir = _copy(tiny_export, tmp_path)
    (export_dir / "reports").mkdir()
    (export_dir / "reports" / "compare.md").write_text("kept")
    write_report(page, export_dir / "reports")
    assert (export_dir / "reports" / "compare.md").read_text() == "kept"
    assert "hello" in (export_dir / "reports" / "report.md").read_text()
    assert _hidden(tmp_path) == [] and _hidden(export_dir) == []


def test_engines_never_write_through_a_link(tiny_export: Path, tmp_path: Path) -> None:
    from ese.engines.build_all import engines_dir_inside

    export_dir = _copy(tiny_export, tmp_path)
    elsewhere = _user_folder(tmp_path / "elsewhere")
    (export_dir / "engines").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OutputDirError, match="symbolic link"):
        engines_dir_inside(export_dir, "engines/gpu-trt10.0")
    (export_dir / "engines").unlink()
    path = engines_dir_inside(export_dir, "engines/gpu-trt10.0")
    assert path == export_dir / "engines" / "gpu-trt10.0"


def test_edge_fusion_reads_an_export_ese_triton_has_linked(tmp_path: Path) -> None:
    import transformers
    from tiny_models import make_tiny_model

    from ese.studies.edge_fusion import run as fusion_report

    # the fusion timing feeds token ids 1000..1999: the tiny model with a 2,048-row table
    model_dir = make_tiny_model(tmp_path / "bert", layers=1)
    config = transformers.AutoConfig.from_pretrained(model_dir)
    config.vocab_size = 2048
    transformers.AutoModel.from_config(config).save_pretrained(model_dir, safe_serialization=True)
    export_dir = export(model_dir, [1], tmp_path / "export", projection="none").out
    repository_from_export(export_dir, tmp_path / "repo")
    assert (export_dir / "graphs" / "weights.bin").stat().st_nlink > 1  # onnx.load refuses it
    report = fusion_report(export_dir, [1])
    assert "| 1 | fp32 | fusion " in report and "| 1 | int8 | fusion " in report


def test_export_checks_triton_out_before_exporting(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ese.exporter.cli import main as export_main

    user = _user_folder(tmp_path / "user")
    before = _snapshot(user)
    (tmp_path / "a-file").write_text("x")
    out = tmp_path / "out"
    cases = [
        (user, ["--force"], "--triton"),  # user files: refused even with --force
        (user, [], "already exists"),
        (tmp_path / "a-file" / "repo", [], "which is a file"),
        (out, [], "the export directory --out"),  # the repository would be the export itself
    ]
    for repo, extra, words in cases:
        argv = [str(tiny_model_dir), "--depths", "1", "--out", str(out), "--triton", str(repo)]
        assert export_main([*argv, "--projection", "none", "--quiet", *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith("ese-export: error: ") and words in err, err
        assert "--triton" in err and "Traceback" not in err, err
        assert not out.exists(), f"{repo}: the export ran before --triton was checked"
    assert _snapshot(user) == before
    assert _hidden(tmp_path) == []


def test_train_force_replaces_its_own_model(
    tiny_model_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    from ese.training.cli import main as train_main
    from ese.training.output import work_dir_for

    rows = (data_dir / "stsb" / "sts-train.csv").read_text(encoding="utf-8").splitlines()[:16]
    train = tmp_path / "train.csv"
    train.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "model"
    argv = [str(tiny_model_dir), "--train", str(train), "--out", str(out), "--no-teacher"]
    argv += ["--batch-size", "8", "--widths", "8,16", "--k", "16", "--no-progress"]
    argv += ["--no-start-eval", "--threads", "1"]
    assert train_main([*argv, "--steps", "1"]) == 0
    assert train_main([*argv, "--steps", "2"]) == 2  # no --force: refused, first model kept
    assert json.loads((out / "training_card.json").read_text())["steps"] == 1
    assert train_main([*argv, "--steps", "2", "--force"]) == 0
    assert json.loads((out / "training_card.json").read_text())["steps"] == 2
    assert (out / MARKER_FILE).is_file() and (out / "model.safetensors").is_file()
    assert not work_dir_for(out).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "train.csv"]


def test_export_force_keeps_what_the_manifest_does_not_list(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """A forced re-export replaces the export (and profiles/, keyed by depth, not by graph
    content); the user's notes, .git/, reports/ and engines/ are carried into the new one."""
    out = tmp_path / "out"
    export(tiny_model_dir, [1], out, projection="none")
    (out / "notes.txt").write_text("my notes")
    (out / ".git" / "objects").mkdir(parents=True)
    (out / ".git" / "objects" / "ab").write_text("blob")
    (out / "engines" / "gpu-trt10").mkdir(parents=True)
    (out / "engines" / "gpu-trt10" / "depth-01.fp16.json").write_text("{}")
    (out / "reports").mkdir()
    (out / "reports" / "report.md").write_text("# report")
    (out / "profiles").mkdir()
    (out / "profiles" / "cpu.json").write_text("{}")
    (out / "latest").symlink_to("notes.txt")
    said: list[str] = []
    export(tiny_model_dir, [2], out, projection="none", force=True, progress=said.append)
    assert f"--force: keeping .git, engines, latest, notes.txt, reports of {out}" in said[0]
    assert "profiles/ goes with the old export" in said[1]
    assert (out / "notes.txt").read_text() == "my notes"
    assert (out / ".git" / "objects" / "ab").read_text() == "blob"
    assert (out / "engines" / "gpu-trt10" / "depth-01.fp16.json").read_text() == "{}"
    assert (out / "reports" / "report.md").read_text() == "# report"
    assert os.readlink(out / "latest") == "notes.txt"
    assert not (out / "profiles").exists()
    assert [g.depth for g in open_export(out).manifest.graphs] == [2]
    assert not (out / "graphs" / "depth-01.onnx").exists()
    assert _hidden(tmp_path) == []


def _bytes(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def test_a_swap_killed_between_its_renames_is_restored_by_the_next_run(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """SIGKILL after the old export was renamed aside and before the new one took its name:
    the next run puts the old copy back instead of deleting it as abandoned."""
    dead = run_python("-c", "import os; print(os.getpid())")
    pid = int(dead.stdout)
    old = tmp_path / f".out.old-{pid}-abcd"
    export(tiny_model_dir, [1], old, projection="none")
    before = _bytes(old)
    new_stage = tmp_path / f".out.partial-{pid}-ef01"
    new_stage.mkdir()
    (new_stage / "manifest.json").write_text("{}")
    out = tmp_path / "out"
    # without --force the restored export is refused as existing, and is there, whole
    with pytest.raises(OutputDirError, match="already exists"):
        export(tiny_model_dir, [2], out, projection="none")
    assert _bytes(out) == before
    assert [g.depth for g in open_export(out).manifest.graphs] == [1]
    export(tiny_model_dir, [2], out, projection="none", force=True)
    assert [g.depth for g in open_export(out).manifest.graphs] == [2]
    assert _hidden(tmp_path) == []


def test_writers_never_change_the_umask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.umask can only be read by setting it, which races with other threads creating
    files; the kernel applies the umask to the modes the writers create with instead."""
    from ese.format.manifest import write_json_atomic

    previous = os.umask(0o027)
    try:

        def no_umask(mask: int) -> int:
            raise AssertionError(f"os.umask({mask:o}) called: it changes the umask process-wide")

        monkeypatch.setattr(os, "umask", no_umask)
        write_json_atomic(tmp_path / "a.json", {"a": 1})
        with staged_output_dir(tmp_path / "out", KIND, force=False) as stage:
            (stage / "x").write_text("x")
        monkeypatch.undo()
    finally:
        os.umask(previous)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o750


def test_a_signal_during_the_merge_waits_for_the_step_that_lists_the_files(
    tmp_path: Path,
) -> None:
    """ese-variants moves its graphs and writes the manifest as one step: a SIGINT arriving
    between them is delivered once both are done, never between. (In a fresh interpreter, as a
    command runs: a signal sent to the test process would reach native libraries other tests
    loaded.)"""
    into = tmp_path / "graphs"
    listed = tmp_path / "manifest.json"
    program = textwrap.dedent(
        f"""
        import json, os, signal, sys
        from pathlib import Path
        from ese.console.output_dir import marked_kind, staged_additions

        into, listed = Path({str(into)!r}), Path({str(listed)!r})

        def write_listing():
            os.kill(os.getpid(), signal.SIGINT)  # as if Ctrl-C came right after the move
            listed.write_text(json.dumps(sorted(p.name for p in into.iterdir())))

        try:
            with staged_additions(
                into, marked_kind("ese-test", "a test output"), then=write_listing
            ) as stage:
                (stage / "depth-01.fp16.onnx").write_text("graph")
        except KeyboardInterrupt:
            print("interrupted after the listing")
        """
    )
    done = run_python("-c", program)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "interrupted after the listing"
    assert json.loads(listed.read_text()) == [MARKER_FILE, "depth-01.fp16.onnx"]
    assert _hidden(tmp_path) == []
