"""ese-train units: readers, batch plan, losses, PCA targets and the layer/width rules."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ese.format.errors import UserError
from ese.training.loop.batches import BatchPlan
from ese.training.loop.losses import angle_loss, cosent_loss, distill_loss, infonce_loss, task_loss
from ese.training.loop.objective import ESEConfig, express_layers, layer_weight
from ese.training.loop.pca_target import CompressionTarget, TargetKind, centred_pca
from ese.training.readers import DataFormat, ScoredPair, Triplet, read_dataset

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
STS = DATA / "stsb"
TRIPLETS = DATA / "nli" / "snli_dev_test.triplets.tsv"


pytestmark = pytest.mark.usefixtures("torch_one_thread")


# --- readers -----------------------------------------------------------------------------


def test_sts_test_keeps_every_row_despite_unbalanced_quotes() -> None:
    dataset = read_dataset(STS / "sts-test.csv")
    assert dataset.format is DataFormat.STS
    assert len(dataset) == 1379  # the default csv quoting would merge rows down to 1119
    first = dataset.examples[0]
    assert isinstance(first, ScoredPair) and 0.0 <= first.score <= 5.0


def test_triplets_with_header_are_recognised() -> None:
    dataset = read_dataset(TRIPLETS)
    assert dataset.format is DataFormat.TRIPLETS
    assert len(dataset) == 6503
    assert isinstance(dataset.examples[0], Triplet)
    assert dataset.examples[0].anchor.startswith("Two women are embracing")


def _write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = "main-captions\tMSRvid\t2012test\t0001\t5.000\tA plane is taking off.\tA plane takes off."


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("main-captions\tMSRvid\t2012test\t0002\tfive\tA cat.\tA dog.", "not a number"),
        ("main-captions\tMSRvid\t2012test\t0002\t7.5\tA cat.\tA dog.", "outside [0, 5]"),
        ("main-captions\tMSRvid\t2012test\t0002\t2.0\tA cat.", "6 tab-separated fields"),
        ("main-captions\tMSRvid\t2012test\t0002\t2.0\t \tA dog.", "empty sentence1"),
    ],
)
def test_malformed_sts_row_names_file_and_line(tmp_path: Path, bad_row: str, message: str) -> None:
    path = _write(tmp_path, "train.csv", [GOOD, GOOD, bad_row, GOOD])
    with pytest.raises(UserError) as caught:
        read_dataset(path)
    assert str(caught.value).startswith(f"{path}:3: ")
    assert message in str(caught.value)
    assert isinstance(caught.value, UserError)


def test_malformed_triplet_row_names_file_and_line(tmp_path: Path) -> None:
    header = "split\tanchor\tpositive\tnegative"
    path = _write(tmp_path, "t.tsv", [header, "dev\ta\tb\tc", "dev\ta\tb", "dev\ta\tb\tc"])
    with pytest.raises(UserError, match=r"t\.tsv:3: 3 tab-separated fields, the header has 4"):
        read_dataset(path)


def test_unknown_format_and_missing_header_column(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"x\.tsv:1: cannot tell the format"):
        read_dataset(_write(tmp_path, "x.tsv", ["just one column"]))
    path = _write(tmp_path, "y.tsv", ["anchor\tpositive", "a\tb"])
    with pytest.raises(UserError, match=r"y\.tsv:1: .*lacks the column\(s\) \['negative'\]"):
        read_dataset(path, "triplets")


def test_extra_licence_columns_are_ignored(tmp_path: Path) -> None:
    path = _write(tmp_path, "l.csv", [GOOD + "\tlicence\tsource", GOOD])
    assert len(read_dataset(path)) == 2


# --- batch plan --------------------------------------------------------------------------


def test_batch_plan_is_a_pure_function_of_seed_and_step() -> None:
    sts = read_dataset(STS / "sts-dev.csv")
    triplets = read_dataset(TRIPLETS)
    plan = BatchPlan([sts, triplets], 32, seed=7)
    again = BatchPlan([sts, triplets], 32, seed=7)
    steps = [0, 5, plan.steps_per_epoch + 3, 3]  # out of order, across an epoch boundary
    assert [plan.batch(s) for s in steps] == [again.batch(s) for s in steps]
    assert plan.batch(0) != BatchPlan([sts, triplets], 32, seed=8).batch(0)
    assert {plan.batch(s).source for s in range(40)} == {0, 1}
    for step in range(plan.steps_per_epoch):
        batch = plan.batch(step)
        kinds = {type(e) for e in batch.examples}
        assert len(kinds) == 1 and 2 <= len(batch.examples) <= 32


# --- losses ------------------------------------------------------------------------------


def test_cosent_and_angle_reward_the_gold_order() -> None:
    torch.manual_seed(0)
    first = torch.randn(8, 16)
    scores = torch.linspace(0, 5, 8)
    noise = torch.randn(8, 16)
    good = first + noise * (5 - scores)[:, None]  # high score: close to first
    bad = first + noise * scores[:, None]
    assert cosent_loss(first, good, scores) < cosent_loss(first, bad, scores)
    assert math.isfinite(float(angle_loss(first, good, scores)))
    tied = torch.ones(8)
    assert float(cosent_loss(first, bad, tied)) == pytest.approx(0.0)  # no ordered pair


def test_infonce_prefers_the_positive() -> None:
    torch.manual_seed(0)
    anchor = torch.randn(6, 16)
    easy = infonce_loss(anchor, anchor + 0.01 * torch.randn(6, 16), torch.randn(6, 16), 20.0)
    hard = infonce_loss(anchor, torch.randn(6, 16), anchor.clone(), 20.0)
    assert easy < 0.1 < hard
    assert task_loss(torch.randn(18, 16), None).shape == ()


def test_distill_is_zero_at_the_target_and_stops_gradient() -> None:
    target = torch.randn(4, 8, requires_grad=True)
    assert float(distill_loss(target.detach().clone(), target, 1.0)) == pytest.approx(0.0, abs=1e-6)
    student = torch.randn(4, 8, requires_grad=True)
    distill_loss(student, target, 1.0).backward()
    assert student.grad is not None and target.grad is None


# --- learn-to-compress targets -----------------------------------------------------------


def _correlated(n: int = 256, d: int = 12) -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randn(n, d) @ torch.randn(d, d) + 3.0  # far from centred


def test_batch_pca_target_is_centred_and_ordered_by_variance() -> None:
    h = _correlated()
    target = CompressionTarget(TargetKind.BATCH, k=4)(1, h)
    assert target.mean(dim=0).abs().max() < 1e-4
    variances = target.var(dim=0)
    assert torch.all(variances[:-1] >= variances[1:] - 1e-4)
    mean, components = centred_pca(h, 4)
    expected = (h - mean) @ components
    assert torch.allclose(target, expected, atol=1e-3)
    assert torch.allclose(components.T @ components, torch.eye(4), atol=1e-4)


def test_running_pca_target_is_centred_on_the_running_mean() -> None:
    h = _correlated()
    target = CompressionTarget(TargetKind.RUNNING, k=4)
    for chunk in h.split(64):
        out = target(2, chunk)
    assert out.shape == (64, 4)
    assert target.means[2].sub(h.mean(dim=0)).abs().max() < 0.6  # tracks the data mean, not 0
    state = target.state_dict()
    restored = CompressionTarget(TargetKind.RUNNING, k=4)
    restored.load_state_dict(state)
    assert torch.equal(restored(2, h[:64]), target(2, h[:64]))


def test_reference_gram_svd_target_is_not_centred() -> None:
    h = _correlated()
    target = CompressionTarget(TargetKind.GRAM_SVD, k=4)(0, h)
    assert target.mean(dim=0).abs().max() > 1.0


# --- which layers and widths are trained -------------------------------------------------


def test_layer_indexing_covers_every_transformer_layer_below_the_last() -> None:
    assert express_layers(6, reference=False) == [1, 2, 3, 4, 5]
    assert express_layers(6, reference=True) == [0, 1, 2, 3, 4]  # the reference's defect
    assert layer_weight(1, reference=False) == 1.0 == layer_weight(0, reference=True)
    weights = [layer_weight(i, reference=False) for i in range(1, 6)]
    assert weights == sorted(weights, reverse=True)


def test_odd_and_oversized_widths_are_refused() -> None:
    with pytest.raises(UserError, match="--widths 63 is odd"):
        ESEConfig(widths=(32, 63)).validate(hidden_size=384, num_layers=6)
    with pytest.raises(UserError, match=r"--k 512 is outside 2\.\.384"):
        ESEConfig(k=512).validate(hidden_size=384, num_layers=6)
    ESEConfig().validate(hidden_size=384, num_layers=6)


def test_layer_of_maps_parameter_names_to_transformer_layers() -> None:
    from ese.training.loop.layer_lr import layer_of

    assert layer_of("0.auto_model.embeddings.word_embeddings.weight", 6) == 1
    assert layer_of("0.auto_model.encoder.layer.0.attention.self.query.weight", 6) == 1
    assert layer_of("0.auto_model.encoder.layer.5.output.dense.bias", 6) == 6
    assert layer_of("transformer.layers.3.ffn.weight", 6) == 4
    assert layer_of("0.auto_model.pooler.dense.weight", 6) == 6


def test_selection_rule_guards_the_deepest_depth_then_prefers_shallow_dev() -> None:
    from ese.studies.training.selection import Rule, judge

    def grid(shallow: float, deep: float) -> dict[int, dict[int, float]]:
        return {2: {64: shallow}, 3: {64: shallow}, 6: {64: deep}}

    rule = Rule(reference="ref", depths=(2, 3, 6), widths=(64,))
    dev = {"ref": grid(80, 86), "greedy": grid(83, 86), "steady": grid(81.5, 85.9)}
    snli = {"ref": grid(0, 91), "greedy": grid(0, 89.5), "steady": grid(0, 90.6)}
    verdicts, winner = judge(dev, snli, {n: 2 for n in dev}, rule)
    assert [v.qualifies for v in verdicts] == [True, False, True]  # greedy loses 1.5 on SNLI d6
    assert winner.name == "steady" and winner.shallow_dev == 81.5
