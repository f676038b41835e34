"""ese-train end to end on a tiny random BERT (4 layers, hidden 32) and real STS-B rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ese.training.cli import main
from ese.training.loop.batches import BatchPlan
from ese.training.loop.encoder import LayerwiseEncoder
from ese.training.loop.objective import ESEConfig, ESEObjective
from ese.training.loop.peer import Matryoshka2dObjective
from ese.training.readers import read_dataset
from ese.training.run import load_model

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
STS = DATA / "stsb"
TRIPLETS = DATA / "nli" / "snli_dev_test.triplets.tsv"


pytestmark = pytest.mark.usefixtures("torch_one_thread")


WIDTHS = "8,16"


def _head(source: Path, rows: int, target: Path, header: bool = False) -> Path:
    lines = source.read_text(encoding="utf-8").splitlines()[: rows + int(header)]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("data")
    return {
        "train": _head(STS / "sts-train.csv", 48, root / "train.csv"),
        "dev": _head(STS / "sts-dev.csv", 40, root / "dev.csv"),
        "triplets": _head(TRIPLETS, 24, root / "triplets.tsv", header=True),
    }


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 4-layer, hidden-32 BERT with a WordPiece vocabulary learnt from STS-B train."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path = tmp_path_factory.mktemp("tiny-bert")
    lines = (STS / "sts-train.csv").read_text(encoding="utf-8").splitlines()[:2000]
    sentences = [cell for line in lines for cell in line.split("\t")[5:7]]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer.train_from_iterator(
        sentences, trainers.WordPieceTrainer(vocab_size=600, special_tokens=special)
    )
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    fast = BertTokenizerFast(tokenizer_object=tokenizer, model_max_length=64)
    fast.save_pretrained(path)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(path, safe_serialization=True)
    return path


def _train(model: Path, files: dict[str, Path], out: Path, *extra: str) -> int:
    args = [
        str(model),
        "--train",
        str(files["train"]),
        "--dev",
        str(files["dev"]),
        "--out",
        str(out),
    ]
    args += ["--batch-size", "8", "--widths", WIDTHS, "--k", "16", "--lr", "1e-3", "--no-progress"]
    return main([*args, *extra])


def _fixed_batch_losses(objective: ESEObjective | Matryoshka2dObjective, steps: int) -> list[float]:
    encoder = objective.encoder
    optimizer = torch.optim.AdamW(encoder.model.parameters(), lr=1e-3)
    batch = BatchPlan([read_dataset(STS / "sts-dev.csv")], 12, seed=0).batch(0)
    losses = []
    encoder.model.eval()  # no dropout: the loss on one fixed batch must fall
    for _ in range(steps):
        loss, _ = objective.loss(batch)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return losses


@pytest.mark.parametrize("variant", ["ese", "ese-reference", "matryoshka2d"])
def test_loss_is_finite_and_falls_on_a_fixed_batch(tiny_model: Path, variant: str) -> None:
    torch.manual_seed(0)
    encoder = LayerwiseEncoder(load_model(tiny_model, torch.device("cpu")))
    if variant == "matryoshka2d":
        objective: ESEObjective | Matryoshka2dObjective = Matryoshka2dObjective(encoder, (8, 16))
    else:
        config = ESEConfig(k=16, widths=(8, 16), reference=variant == "ese-reference")
        objective = ESEObjective(encoder, config)
    losses = _fixed_batch_losses(objective, 8)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]


def test_ese_objective_trains_layers_one_to_last(tiny_model: Path) -> None:
    encoder = LayerwiseEncoder(load_model(tiny_model, torch.device("cpu")))
    objective = ESEObjective(encoder, ESEConfig(k=16, widths=(8, 16)))
    assert objective.shallow == [1, 2, 3] and objective.widths_shallow == (8, 16, 32)
    assert objective.shallow_scale == 2.0  # default s = 2(L-1): each shallow layer weighs 2 w_l
    reference = ESEObjective(encoder, ESEConfig(k=16, widths=(8, 16), reference=True))
    assert reference.shallow == [0, 1, 2] and reference.shallow_scale == pytest.approx(1 / 3)
    batch = BatchPlan([read_dataset(STS / "sts-dev.csv")], 8, seed=0).batch(0)
    loss, parts = objective.loss(batch)
    loss.backward()
    embeddings = encoder.transformer.auto_model.embeddings.word_embeddings.weight
    assert embeddings.grad is not None and embeddings.grad.abs().sum() > 0
    assert set(parts) == {"task_last", "distill_last", "task_shallow", "distill_shallow"}
    assert sorted(objective.target.means) == [1, 2, 3, 4]  # every layer 1..L, never the embeddings


def test_cli_writes_a_sentence_transformers_dir_with_a_card(
    tiny_model: Path, files: dict[str, Path], tmp_path: Path
) -> None:
    from sentence_transformers import SentenceTransformer

    out = tmp_path / "model"
    extra = ["--train", str(files["triplets"]), "--steps", "4", "--eval-every", "2"]
    assert _train(tiny_model, files, out, *extra) == 0
    names = {p.name for p in out.iterdir()}
    assert {
        "modules.json",
        "config.json",
        "model.safetensors",
        "sentence_bert_config.json",
    } <= names
    assert (out / "1_Pooling" / "config.json").is_file()
    assert not [p for p in out.rglob("*") if p.suffix in (".bin", ".pt", ".pkl")]
    assert json.loads((out / "sentence_bert_config.json").read_text())["max_seq_length"] > 0
    assert not (tmp_path / "model.ese-train-work").exists()
    card = json.loads((out / "training_card.json").read_text())
    assert card["steps"] == 4 and card["settings"]["seed"] == 42
    assert [t["format"] for t in card["train"]] == ["sts", "triplets"]
    assert [e["step"] for e in card["dev_evaluations"]] == [0, 2, 4]
    final = card["dev_evaluations"][-1]["grid"]
    assert sorted(final) == ["1", "2", "3", "4"] and sorted(final["2"], key=int) == [
        "8",
        "16",
        "32",
    ]
    assert "STS-B dev" in (out / "README.md").read_text()
    vectors = SentenceTransformer(str(out), device="cpu").encode(["A man plays a guitar."])
    assert vectors.shape == (1, 32)
    from ese.studies.training.card_table import final_dev_grid, table

    grid, card = final_dev_grid(out)
    text = table({"a": grid, "b": grid}, {"a": card, "b": card}, base="a")
    assert "| 4 | b | " in text and "(+0.00)" in text
    # a second run refuses to replace the first without --force
    assert _train(tiny_model, files, out, "--steps", "1") == 2
    assert (out / "training_card.json").is_file()


def test_export_of_a_trained_model_keeps_its_trained_dimension_order(
    tiny_model: Path, files: dict[str, Path], tmp_path: Path
) -> None:
    from ese.exporter import export
    from ese.format.contract import Projection

    out = tmp_path / "model"
    assert _train(tiny_model, files, out, "--steps", "2", "--no-start-eval") == 0
    projection = export(out, [2, 4], tmp_path / "export").manifest.projection
    assert "training_card.json says ese" in (projection.reason or "")
    for depth in projection.depths:  # the card's trained prefix is kept whatever the probe says
        assert depth.kind is Projection.NONE and depth.matches_source is True
        assert set(depth.scores) == {"none", "pca"}  # both measured and recorded
        assert "training_card.json says ese: the trained prefix is kept" in depth.reason
    # an explicit choice still wins over the card
    chosen = export(out, [2], tmp_path / "pca", projection="pca").manifest.projection
    assert chosen.kind is Projection.PCA and chosen.reason == "--projection pca"


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(
    tiny_model: Path, files: dict[str, Path], tmp_path: Path
) -> None:
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    common = ["--steps", "6", "--checkpoint-every", "2", "--seed", "3"]
    assert _train(tiny_model, files, whole, *common) == 0
    assert _train(tiny_model, files, parts, *common, "--stop-after", "3") == 0
    assert not parts.exists() and (tmp_path / "parts.ese-train-work" / "checkpoint").is_dir()
    assert _train(tiny_model, files, parts, *common, "--lr", "2e-3", "--resume") == 2
    assert _train(tiny_model, files, parts, *common, "--resume") == 0
    a, b = load_file(str(whole / "model.safetensors")), load_file(str(parts / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    card_a = json.loads((whole / "training_card.json").read_text())
    card_b = json.loads((parts / "training_card.json").read_text())
    assert card_a["loss_last_step"] == card_b["loss_last_step"]
    assert card_a["dev_evaluations"] == card_b["dev_evaluations"]


def test_matryoshka2d_peer_runs_from_the_cli(
    tiny_model: Path, files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "peer"
    assert _train(tiny_model, files, out, "--method", "matryoshka2d", "--steps", "3") == 0
    card = json.loads((out / "training_card.json").read_text())
    assert card["method"] == "matryoshka2d" and card["objective"]["matryoshka_dims"] == [32, 16, 8]


def test_compare_scores_each_model_per_depth_and_dims(
    tiny_model: Path, files: dict[str, Path], tmp_path: Path
) -> None:
    from ese.studies.training.compare import main as compare

    out = tmp_path / "report.md"
    args = [
        "--model",
        f"tiny={tiny_model}",
        "--test",
        str(files["dev"]),
        "--fit",
        str(files["train"]),
    ]
    args += [
        "--triplets",
        str(files["triplets"]),
        "--depths",
        "2,4",
        "--dims",
        "32,8",
        "--out",
        str(out),
    ]
    assert compare(args) == 0
    results = json.loads(out.with_suffix(".json").read_text())
    assert sorted(results["pca"]["tiny"]) == ["2", "4"]
    assert sorted(results["nli_raw"]["tiny"]["4"], key=int) == ["8", "32"]
    assert "| tiny | 2 |" in out.read_text()


def test_projection_study_scores_raw_centred_and_pca(
    tiny_model: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from ese.studies.training.projection_study import main as study

    assert study([str(tiny_model), "--dev", str(files["dev"]), "--depths", "1,4"]) == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("## ")] == [
        "## raw",
        "## centred",
        "## pca",
    ]
    # the tiny model is 32 wide: the default widths above it collapse to 32
    assert "| depth | 32 |\n" in out and "| 4 | " in out


def test_layer_lr_scales_set_each_layers_step_size(
    tiny_model: Path, files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "scaled"
    extra = ["--steps", "3", "--no-start-eval", "--layer-lr-scales", "1,1,1,1e-9"]
    assert _train(tiny_model, files, out, *extra) == 0
    base, trained = (
        load_file(str(tiny_model / "model.safetensors")),
        load_file(str(out / "model.safetensors")),
    )

    def moved(prefix: str) -> float:
        keys = [k for k in base if k.startswith(prefix)]
        assert keys
        return max(float((base[k] - trained[k]).abs().max()) for k in keys)

    assert moved("encoder.layer.0.") > 1e-4 and moved("embeddings.word_embeddings") > 1e-4
    assert moved("encoder.layer.3.") < 1e-7  # the last layer trained at 1e-9 x lr
    card = json.loads((out / "training_card.json").read_text())
    assert card["settings"]["layer_lr_scales"] == [1, 1, 1, 1e-9]


@pytest.mark.parametrize(
    ("scales", "message"),
    [("1,1,1", "3 values for a model of 4 layers"), ("1,1,0,1", "must be positive")],
)
def test_layer_lr_scales_are_checked_against_the_model(
    tiny_model: Path,
    files: dict[str, Path],
    tmp_path: Path,
    scales: str,
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "refused"
    assert _train(tiny_model, files, out, "--steps", "1", "--layer-lr-scales", scales) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "refused.ese-train-work").exists()


def test_selection_scores_each_run_once_and_reports_the_rule(
    tiny_model: Path, files: dict[str, Path], tmp_path: Path
) -> None:
    from ese.studies.training.selection import SCORES
    from ese.studies.training.selection import main as select

    runs = {}
    for name, lr in (("slow", "1e-4"), ("fast", "1e-3")):
        runs[name] = tmp_path / name
        extra = ["--steps", "2", "--no-start-eval", "--lr", lr]
        assert _train(tiny_model, files, runs[name], *extra) == 0
    out = tmp_path / "selection.md"
    args = ["--model", f"slow={runs['slow']}", "--model", f"fast={runs['fast']}"]
    args += ["--reference", "slow", "--triplets", str(files["triplets"]), "--triplet-skip", "8"]
    args += ["--depths", "2,4", "--dims", "32,8", "--out", str(out)]
    assert select(args) == 0
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["chosen"] in ("slow", "fast")
    assert [v["name"] for v in summary["verdicts"]] == ["slow", "fast"]
    assert next(v for v in summary["verdicts"] if v["name"] == "slow")["qualifies"]
    cached = json.loads((runs["slow"] / SCORES).read_text())
    assert cached["key"]["skip"] == 8 and sorted(cached["grid"]) == ["2", "4"]
    assert "**chosen**" in out.read_text() and "SNLI-sel depth 4" in out.read_text()
    assert select([*args[:-2], "--out", str(out), "--reference", "none"]) == 2
