"""ese-train's frozen teacher (issue 16) on a tiny random BERT and real STS-B / SciFact rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from tiny_models import make_tiny_model

from ese.format.errors import UserError
from ese.training.cli import main
from ese.training.loop.batches import BatchPlan, UnlabelledPlan
from ese.training.loop.encoder import LayerwiseEncoder
from ese.training.loop.losses import teacher_loss
from ese.training.loop.objective import ESEConfig, ESEObjective, batch_texts, dataset_texts
from ese.training.loop.teacher import Teacher, weights_digest
from ese.training.loop.trainer import Trainer, TrainSettings
from ese.training.readers import read_dataset, read_distill_texts
from ese.training.run import load_model

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
STS = DATA / "stsb"
CPU = torch.device("cpu")

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "bert", "bert", layers=3)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("data")
    out = {}
    for name, source, rows in (("train", "sts-train.csv", 24), ("dev", "sts-dev.csv", 20)):
        lines = (STS / source).read_text(encoding="utf-8").splitlines()[:rows]
        out[name] = root / f"{name}.csv"
        out[name].write_text("\n".join(lines) + "\n", encoding="utf-8")
    out["distill"] = root / "domain.txt"
    out["distill"].write_text("A protein binds the receptor.\n\nCells divide.\n", encoding="utf-8")
    return out


def _train(model: Path, files: dict[str, Path], out: Path, *extra: str) -> int:
    args = [str(model), "--train", str(files["train"]), "--dev", str(files["dev"])]
    args += ["--out", str(out), "--batch-size", "8", "--widths", "8,16", "--k", "16"]
    return main([*args, "--no-progress", "--no-start-eval", *extra])


def test_teacher_is_frozen_and_embeds_each_distinct_text_once(
    tiny: Path, files: dict[str, Path], tmp_path: Path
) -> None:
    student = LayerwiseEncoder(load_model(tiny, CPU))
    teacher = Teacher(LayerwiseEncoder(load_model(tiny, CPU)), str(tiny))
    before = weights_digest(teacher.encoder.model)
    assert before == teacher.digest == weights_digest(student.model)
    train = [read_dataset(files["train"])]
    distill = read_distill_texts(files["distill"])
    extra = UnlabelledPlan(distill.texts, 2, seed=42)
    plan = BatchPlan(train, 8, 42, extra)
    objective = ESEObjective(student, ESEConfig(k=16, widths=(8, 16)), teacher, (distill,))
    texts = [*dataset_texts(train), *distill.texts]
    teacher.prepare(texts)
    teacher.prepare(texts)  # a second call (a resumed run) embeds nothing again
    settings = TrainSettings(steps=3 * plan.steps_per_epoch, eval_at_start=False, lr=1e-3)
    Trainer(student, objective, plan, settings, tmp_path / "work").run()
    # three epochs later: the student moved, the teacher did not, and every text the batches
    # held was embedded exactly once
    assert weights_digest(student.model) != before
    assert weights_digest(teacher.encoder.model) == before
    assert not any(p.requires_grad for p in teacher.encoder.model.parameters())
    assert not teacher.encoder.model.training
    seen = set()
    for step in range(settings.steps):
        batch = plan.batch(step)
        seen |= set(batch_texts(batch)[0]) | set(batch.unlabelled)
    assert seen == set(texts)
    assert teacher.encoded == teacher.cached == len(set(texts))


def test_teacher_loss_is_zero_for_the_teacher_itself_at_full_depth(
    tiny: Path, files: dict[str, Path]
) -> None:
    encoder = LayerwiseEncoder(load_model(tiny, CPU))
    teacher = Teacher(LayerwiseEncoder(load_model(tiny, CPU)), str(tiny))
    texts = [*dataset_texts([read_dataset(files["train"])])][:12]
    teacher.prepare(texts)
    encoder.model.eval()
    with torch.no_grad():
        pooled = encoder.pooled_layers(encoder.tokenize(texts))
    target = teacher.targets(texts, CPU)
    cosine, structure = teacher_loss(pooled[encoder.num_layers], target)
    assert abs(cosine.item()) < 1e-6 and structure.item() < 1e-10
    shallow_cosine, shallow_structure = teacher_loss(pooled[1], target)
    # the same loss at layer 1 is far from zero: the zero above is not a loss that is always 0
    assert shallow_cosine.item() > 100 * abs(cosine.item()) + 1e-5
    assert shallow_structure.item() > 100 * structure.item() + 1e-9


def test_prefix_structure_term_is_the_mean_over_the_whole_vector_and_each_leading_slice() -> None:
    torch.manual_seed(0)
    teacher = torch.randn(6, 16)
    student = torch.cat([teacher[:, :8], torch.randn(6, 8)], dim=1)

    def cosines(x: torch.Tensor) -> torch.Tensor:
        x = x / x.norm(dim=1, keepdim=True)
        return x @ x.T

    def mse(x: torch.Tensor) -> float:
        return float(((cosines(x) - cosines(teacher)) ** 2).mean())

    _, whole = teacher_loss(student, teacher)
    _, prefixed = teacher_loss(student, teacher, (4, 8, 8, 16))  # 16: the whole vector, once
    assert whole.item() == pytest.approx(mse(student), rel=1e-5)
    expected = (mse(student) + mse(student[:, :4]) + mse(student[:, :8])) / 3
    assert prefixed.item() == pytest.approx(expected, rel=1e-5)
    # the teacher itself as the student: nothing to learn on the whole vector, but its own
    # short prefixes do not rank the batch as its whole vector does, and the prefix term says so
    _, itself = teacher_loss(teacher, teacher)
    _, itself_prefixed = teacher_loss(teacher, teacher, (4,))
    assert itself.item() < 1e-12 < mse(teacher[:, :4]) / 2 == pytest.approx(itself_prefixed.item())


def test_unlabelled_rows_are_a_pure_function_of_seed_and_step() -> None:
    texts = tuple(f"text {i}" for i in range(7))
    first = [UnlabelledPlan(texts, 3, seed=1).texts_of(s) for s in range(5)]
    fresh = UnlabelledPlan(texts, 3, seed=1)
    assert [fresh.texts_of(s) for s in (4, 0, 3, 1, 2)] == [first[i] for i in (4, 0, 3, 1, 2)]
    assert sorted(first[0] + first[1] + (first[2][0],)) == sorted(texts)  # one full pass
    assert [UnlabelledPlan(texts, 3, seed=2).texts_of(s) for s in range(5)] != first
    assert UnlabelledPlan((), 3, seed=1).per_batch == 0


def test_card_records_the_teacher_the_texts_and_the_weights(
    tiny: Path, files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "model"
    extra = ["--steps", "2", "--teacher", "--distill-text", str(files["distill"])]
    extra += ["--teacher-weight", "3", "--teacher-prefixes"]
    assert _train(tiny, files, out, *extra, "--distill-batch", "2") == 0
    card = json.loads((out / "training_card.json").read_text())
    term = card["objective"]["teacher_term"]
    assert term["teacher"] == {
        "path": str(tiny),
        "weights_sha256": weights_digest(load_model(tiny, CPU)),
    }
    assert term["weight"] == 3.0 and term["sim_weight"] == 100.0 and term["prefixes"] is True
    assert term["distill_texts"] == [read_distill_texts(files["distill"]).describe()]
    assert term["distill_texts"][0]["texts"] == 2  # the blank line is not a text
    assert term["layers"] == [1, 2, 3]
    assert card["settings"]["distill_batch"] == 2
    none = tmp_path / "none"
    assert _train(tiny, files, none, "--steps", "1") == 0  # the default: no teacher term
    card = json.loads((none / "training_card.json").read_text())
    assert card["objective"]["teacher_term"] == "absent"
    assert card["settings"]["distill_batch"] == 0


def test_default_distill_texts_are_the_exporters_calibration_corpus() -> None:
    from ese.exporter.projection.calibration import default_corpus

    texts = read_distill_texts(None)
    assert texts.texts == default_corpus().texts and len(texts.texts) == 3000


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"\n  \n", "no text in it"),
        (b"fine\n\xff\xfe broken\n", "not UTF-8"),
    ],
)
def test_bad_distill_text_files_are_refused_before_anything_is_written(
    tiny: Path,
    files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes | None,
    message: str,
) -> None:
    path = tmp_path / "texts.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=message) as caught:
        read_distill_texts(path)
    assert str(path) in str(caught.value)
    out = tmp_path / "model"
    assert _train(tiny, files, out, "--steps", "1", "--teacher", "--distill-text", str(path)) == 2
    error = capsys.readouterr().err
    assert message in error and str(path) in error and "--distill-text" in error
    assert not out.exists() and not (tmp_path / "model.ese-train-work").exists()


def test_selection_scores_scifact_train_and_never_test(
    tiny: Path, files: dict[str, Path], tmp_path: Path
) -> None:
    from ese.benchmarks.quality.datasets import read_scifact
    from ese.studies.training.retrieval import read_selection_split
    from ese.studies.training.selection import RETRIEVAL_SCORES
    from ese.studies.training.selection import main as select

    split = read_selection_split(DATA, corpus_limit=1100)
    test = read_scifact(DATA, "test")
    assert set(split.retrieval.qrels) == set(read_scifact(DATA, "train").qrels)
    assert not set(split.retrieval.qrels) & set(test.qrels)
    judged = {d for docs in split.retrieval.qrels.values() for d in docs}
    assert judged <= set(split.retrieval.doc_ids) and len(split.retrieval.doc_ids) == 1100
    triplets = tmp_path / "triplets.tsv"
    source = DATA / "nli" / "snli_dev_test.triplets.tsv"
    triplets.write_text("\n".join(source.read_text().splitlines()[:21]) + "\n")
    runs = {name: tmp_path / name for name in ("plain", "taught")}
    assert _train(tiny, files, runs["plain"], "--steps", "2", "--no-teacher") == 0
    assert _train(tiny, files, runs["taught"], "--steps", "2", "--teacher") == 0
    out = tmp_path / "selection.md"
    args = [f"--model=plain={runs['plain']}", f"--model=taught={runs['taught']}"]
    args += ["--reference", "plain", "--triplets", str(triplets), "--triplet-skip", "10"]
    args += ["--depths", "1,3", "--dims", "32,8", "--scifact", "--scifact-dims", "32"]
    args += ["--scifact-corpus-limit", "1100", "--retrieval-base", str(tiny), "--out", str(out)]
    assert select(args) == 0
    summary = json.loads(out.with_suffix(".json").read_text())
    verdicts = {v["name"]: v for v in summary["verdicts"]}
    assert all(0 <= v["deep_retrieval"] <= 100 for v in verdicts.values())
    cached = json.loads((runs["taught"] / RETRIEVAL_SCORES).read_text())
    assert cached["key"]["split"] == "scifact-train, corpus 1100"
    assert cached["grid"]["3"]["32"] == pytest.approx(verdicts["taught"]["deep_retrieval"])
    text = out.read_text()
    assert "### SciFact train, nDCG@10" in text and "| base |" in text
    # a guard nobody can pass: no candidate is chosen, and the report says so
    assert select([*args, "--retrieval-tolerance", "-100"]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["chosen"] is None
    assert "No candidate qualifies" in out.read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--no-teacher", "--teacher", "{tiny}"], "--teacher has no use with --no-teacher"),
        (["--method", "matryoshka2d", "--distill-text", "{distill}"], "the peer has no teacher"),
        (["--reference", "--teacher", "{tiny}"], "--reference"),
        (["--distill-text", "{distill}"], "--distill-text has no use with no --teacher"),
        (["--teacher-prefixes"], "--teacher-prefixes has no use with no --teacher"),
    ],
)
def test_teacher_options_without_a_teacher_term_are_refused(
    tiny: Path,
    files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    values = {"tiny": str(tiny), "distill": str(files["distill"])}
    args = [arg.format(**values) for arg in extra]
    assert _train(tiny, files, tmp_path / "model", "--steps", "1", *args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "model").exists()
