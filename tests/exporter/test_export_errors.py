"""Every bad input gets a clear, typed error and leaves nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from commands import run_python
from tiny_models import make_tiny_model

from ese.console.errors import OutputDirError
from ese.exporter import export
from ese.exporter.depths import check_depths, parse_depths
from ese.format.errors import UserError


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".partial-" in p.name or ".old-" in p.name)


def test_missing_model_path(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        export(tmp_path / "nope", [1], tmp_path / "out")


def test_file_instead_of_directory(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"x")
    with pytest.raises(UserError, match="is a file"):
        export(path, [1], tmp_path / "out")


def test_directory_that_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"no config\.json"):
        export(tmp_path / "empty", [1], tmp_path / "out")


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}, "gpt2"),
        ({"model_type": "llama", "is_decoder": True}, "not a supported encoder"),
        ({"model_type": "albert"}, "shared layers"),
    ],
)
def test_unsupported_architectures(config: dict, needle: str, tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match=needle):
        export(tmp_path / "m", [1], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_pickle_weights_are_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    import shutil

    model = tmp_path / "pickled"
    shutil.copytree(tiny_model_dir, model)
    (model / "model.safetensors").rename(model / "pytorch_model.bin")
    with pytest.raises(UserError, match="pickle weights are never loaded"):
        export(model, [1], tmp_path / "out")


@pytest.mark.parametrize(
    ("text", "needle"),
    [("", "empty"), ("2,,4", "empty"), ("two", "integers"), ("2;4", "integers")],
)
def test_unparseable_depths(text: str, needle: str) -> None:
    with pytest.raises(UserError, match=needle):
        parse_depths(text)


@pytest.mark.parametrize(
    ("depths", "needle"),
    [
        ([], "no depths"),
        ([0], r"outside this model's 1\.\.2"),
        ([3], "outside"),
        ([1, 1], "more than once"),
        ([-1, 2], "outside"),
    ],
)
def test_depths_out_of_range_duplicated_or_empty(depths: list[int], needle: str) -> None:
    with pytest.raises(UserError, match=needle):
        check_depths(depths, num_layers=2)


def test_depth_error_before_any_work(tiny_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="outside"):
        export(tiny_model_dir, [1, 7], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_existing_output_is_refused_without_force(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputDirError, match="--force"):
        export(tiny_model_dir, [1], out, projection="none")
    assert (out / "keep.txt").read_text() == "mine"


def test_output_under_a_file(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputDirError):
        export(tiny_model_dir, [1], tmp_path / "afile" / "out", projection="none")


def test_unwritable_output_directory(tiny_model_dir: Path) -> None:
    with pytest.raises(OutputDirError, match="cannot"):
        export(tiny_model_dir, [1], Path("/proc/ese-export-test/out"), projection="none")


def test_too_few_calibration_sentences(tiny_model_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "few.txt"
    corpus.write_text("\n".join(f"sentence {i}" for i in range(10)) + "\n\n")
    with pytest.raises(UserError, match=r"has 10 distinct sentences.*at least 32"):
        export(tiny_model_dir, [1], tmp_path / "out", calibration=corpus)


def test_unreadable_calibration_file(tiny_model_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "binary.txt"
    corpus.write_bytes(b"\xff\xfe\x00garbage" * 100)
    with pytest.raises(UserError, match="not UTF-8"):
        export(tiny_model_dir, [1], tmp_path / "out", calibration=corpus)
    with pytest.raises(UserError, match="does not exist"):
        export(tiny_model_dir, [1], tmp_path / "out", calibration=tmp_path / "missing.txt")


def test_parity_failure_names_the_depth_and_leaves_nothing(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(UserError, match=r"depth 1: max abs difference .* > tolerance 0"):
        export(tiny_model_dir, [1, 2], tmp_path / "out", projection="none", tolerance=0.0)
    assert not (tmp_path / "out").exists()
    assert _leftovers(tmp_path) == []


def test_interrupt_leaves_nothing(tiny_model_dir: Path, tmp_path: Path) -> None:
    def interrupt(message: str) -> None:
        if message.startswith("validating depth 2"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export(tiny_model_dir, [1, 2], tmp_path / "out", projection="none", progress=interrupt)
    assert not (tmp_path / "out").exists()
    assert _leftovers(tmp_path) == []


def test_failed_forced_export_keeps_the_old_one(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(tiny_model_dir, [1], out, projection="none")
    before = (out / "manifest.json").read_text()
    with pytest.raises(UserError, match="exported graphs do not match the PyTorch model"):
        export(tiny_model_dir, [1, 2], out, projection="none", force=True, tolerance=0.0)
    assert (out / "manifest.json").read_text() == before
    export(tiny_model_dir, [2], out, projection="none", force=True)
    assert json.loads((out / "manifest.json").read_text())["graphs"][0]["depth"] == 2
    assert _leftovers(tmp_path) == []


def test_cli_reports_errors_and_exits_2(tmp_path: Path) -> None:
    argv = [str(tmp_path / "nope"), "--depths", "2", "--out", str(tmp_path / "out")]
    done = run_python("-m", "ese.exporter.cli", *argv)
    assert done.returncode == 2
    assert "ese-export: error:" in done.stderr and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_exports_and_prints_a_summary(tmp_path: Path) -> None:
    model = make_tiny_model(tmp_path / "m", "bert", layers=2)
    argv = [str(model), "--depths", "1,2", "--out", str(tmp_path / "out"), "--projection", "none"]
    done = run_python("-m", "ese.exporter.cli", *argv, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "depth" in done.stdout and "parity" in done.stdout
    assert "validating depth 2" in done.stderr
    assert (tmp_path / "out" / "manifest.json").is_file()


def _with_card(model: Path, tmp_path: Path, card: str) -> Path:
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(model, copy)
    (copy / "training_card.json").write_text(card)
    return copy


def test_unreadable_training_card_is_named(tiny_model_dir: Path, tmp_path: Path) -> None:
    model = _with_card(tiny_model_dir, tmp_path, "{not json")
    with pytest.raises(UserError, match=r"training_card.json is not a readable"):
        export(model, [1], tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # naming the projection does not need the card
    export(model, [1], tmp_path / "out", projection="none")


def test_calibration_without_a_pca_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(f"sentence number {i}" for i in range(100)))
    with pytest.raises(UserError, match="--projection pca"):
        export(tiny_model_dir, [1], tmp_path / "out", projection="none", calibration=corpus)
    # (with a training card, auto still fits the PCA on it: it is measured against the order)
    assert not (tmp_path / "out").exists()
