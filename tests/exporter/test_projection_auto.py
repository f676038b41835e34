"""--projection auto chosen per depth on the labelled probe; the probe grid in every export.

The constructed models are real BERT graphs whose weights are set by hand: every transformer
sublayer adds nothing (zero output projections), so a token's output is the LayerNorm of its
word and position embeddings, mean-pooled. One block of dimensions holds random word vectors
(a bag of words: it carries the probe's signal), the other random position vectors (it varies
with sentence length only). Which block leads, and which varies more, decides whether the
model's own order or the fitted PCA serves the narrow widths better.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from tiny_models import write_st_modules

from ese.exporter import export
from ese.exporter.cli import main as export_main
from ese.exporter.cli import projection_lines
from ese.exporter.errors import QualitySetError
from ese.exporter.projection.choice import (
    CLEAR_MARGIN,
    ProjectionRequest,
    choose_projection,
    decide,
)
from ese.exporter.source.load import bundled_model_path
from ese.runtime import Embedder
from ese.runtime.choice.budget import Budget
from ese.runtime.choice.quality_task import SNLI_PROBE, ranking_budget
from ese.runtime.format.contract import Projection
from ese.runtime.format.manifest import ProjectionInfo, read_manifest

pytestmark = pytest.mark.usefixtures("torch_one_thread")

HIDDEN = 64
HALF = HIDDEN // 2
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
)


def _write_card(directory: Path, method: str | None, **fields: str) -> None:
    """A training_card.json naming ``method`` (none where ``method`` is None)."""
    if method is not None:
        card = {"method": method, **fields}
        (directory / "training_card.json").write_text(json.dumps(card), encoding="utf-8")


def _auto_request(directory: Path, method: str | None) -> ProjectionRequest:
    """``--projection auto`` for a model in ``directory`` whose card (if any) names ``method``."""
    _write_card(directory, method)
    return choose_projection("auto", directory)


def _constructed_model(
    directory: Path, *, signal_leads: bool, noise_scale: float, method: str | None = None
) -> Path:
    """A 2-layer BERT (hidden 64, the bundled model's tokenizer) as the module doc describes."""
    from transformers import BertConfig, BertModel

    directory.mkdir(parents=True)
    for name in TOKENIZER_FILES:
        shutil.copy(bundled_model_path() / name, directory / name)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=HIDDEN,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    model = BertModel(config).eval()
    signal = slice(0, HALF) if signal_leads else slice(HALF, HIDDEN)
    noise = slice(HALF, HIDDEN) if signal_leads else slice(0, HALF)
    with torch.no_grad():
        emb = model.embeddings
        emb.word_embeddings.weight.zero_()
        emb.word_embeddings.weight[:, signal] = torch.randn(config.vocab_size, HALF)
        emb.position_embeddings.weight.zero_()
        emb.position_embeddings.weight[:, noise] = noise_scale * torch.randn(64, HALF)
        emb.token_type_embeddings.weight.zero_()
        for layer in model.encoder.layer:
            for dense in (layer.attention.output.dense, layer.output.dense):
                dense.weight.zero_()
                dense.bias.zero_()
    model.save_pretrained(directory, safe_serialization=True)
    write_st_modules(directory, hidden=HIDDEN, pooling="mean", normalize=False, max_seq_length=64)
    _write_card(directory, method, pooling="mean")
    return directory


def test_auto_keeps_the_model_order_when_its_leading_dims_carry_the_signal(
    tmp_path: Path,
) -> None:
    model = _constructed_model(tmp_path / "model", signal_leads=True, noise_scale=5.0)
    manifest = export(model, [1, 2], tmp_path / "out").manifest
    projection = manifest.projection
    assert projection.kind is Projection.NONE and projection.calibration_source is None
    for chosen in projection.depths:
        assert chosen.kind is Projection.NONE
        # the PCA leads with the length-only block: the model's order measures clearly better
        assert chosen.scores["none"] > chosen.scores["pca"] + CLEAR_MARGIN, chosen
        assert manifest.graph(chosen.depth).quality[SNLI_PROBE].keys() == {32, 64}
    assert projection.probe is not None and projection.probe.widths == (32, 64)


def test_a_clear_measured_loss_overrides_the_training_card(tmp_path: Path) -> None:
    """An ESE card whose model the PCA measures clearly better: the scores decide, not the card."""
    model = _constructed_model(tmp_path / "m", signal_leads=False, noise_scale=0.2, method="ese")
    projection = export(model, [2], tmp_path / "out").manifest.projection
    (chosen,) = projection.depths
    assert chosen.kind is Projection.PCA and projection.kind is Projection.PCA
    assert chosen.scores["pca"] > chosen.scores["none"] + CLEAR_MARGIN
    assert "overrides training_card.json (ese)" in chosen.reason
    # ese-export's summary says so, with the flag that keeps the trained order
    note = projection_lines(projection, tmp_path / "out")[-1]
    assert note.startswith("note: at depth 2 the snli-probe probe overrode")
    assert "--projection none" in note and f"quality {tmp_path / 'out'} --task stsb" in note


@pytest.mark.parametrize(
    ("method", "pca", "kind", "noted"),
    [("ese", 71.5, "pca", True), ("ese", 70.5, "none", False), (None, 75.0, "pca", False)],
)
def test_summary_notes_only_a_card_overridden(
    tmp_path: Path, method: str | None, pca: float, kind: str, noted: bool
) -> None:
    request = _auto_request(tmp_path, method)
    depths = (decide(request, 2, 70.0, pca), decide(request, 3, 70.0, 60.0))
    info = ProjectionInfo(kind=Projection.PCA, reason=request.reason, depths=depths)
    lines = projection_lines(info, tmp_path / "out")
    assert lines[1].startswith(f"  depth 2: {kind} (auto: probe none 70.00, pca {pca:.2f}")
    assert lines[2].startswith("  depth 3: none (auto: probe none 70.00, pca 60.00")
    assert lines[-1].startswith("note: at depth 2 the probe overrode") is noted


@pytest.mark.parametrize(
    ("method", "none", "pca", "kind"),
    [
        (None, 70.0, 70.4, Projection.PCA),  # no card: the better one, however slightly
        (None, 70.4, 70.0, Projection.NONE),
        ("ese", 70.0, 70.0 + CLEAR_MARGIN, Projection.NONE),  # within the margin: the card
        ("ese", 70.0, 71.5, Projection.PCA),  # beyond it: the measurement
        ("matryoshka2d", 72.0, 60.0, Projection.NONE),
    ],
)
def test_decide_table(
    tmp_path: Path, method: str | None, none: float, pca: float, kind: Projection
) -> None:
    request = _auto_request(tmp_path, method)
    chosen = decide(request, 3, none, pca)
    assert chosen.kind is kind and chosen.scores == {"none": none, "pca": pca}


def test_forced_projections_still_force(tiny_model_dir: Path, tmp_path: Path) -> None:
    none = export(tiny_model_dir, [1], tmp_path / "none", projection="none").manifest
    assert none.projection.kind_at(1) is Projection.NONE
    assert none.projection.reason == "--projection none"
    assert set(none.projection.depths[0].scores) == {"none"}  # no PCA fitted, none measured
    assert SNLI_PROBE in none.graph(1).quality  # the grid is measured all the same


def test_tiny_default_export_has_the_grid_and_the_choice_says_so(tiny_export: Path) -> None:
    manifest = read_manifest(tiny_export)
    for graph in manifest.graphs:
        assert set(graph.quality[SNLI_PROBE]) == {32}
    embedder = Embedder(tiny_export)
    choice = embedder.choice
    assert choice.quality_measured and choice.quality_task == SNLI_PROBE
    assert choice.quality == manifest.graph(choice.depth).quality[SNLI_PROBE][choice.dims]
    assert "highest measured snli-probe quality" in choice.reason
    assert "(snli-probe, measured)" in choice.explain()


def test_stsb_stays_the_reference_and_a_floor_keeps_its_task(tiny_export: Path) -> None:
    manifest = read_manifest(tiny_export)
    graphs = manifest.graphs
    assert ranking_budget(graphs, Budget()).quality_task == SNLI_PROBE
    with_stsb = manifest.with_quality(1, graphs[0].precision, "stsb", {32: 50.0}).graphs
    assert ranking_budget(with_stsb, Budget()).quality_task == "stsb"
    assert ranking_budget(graphs, Budget(min_quality=40.0)).quality_task == "stsb"


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _probe_rows(data_dir: Path, count: int) -> list[list[str]]:
    lines = (data_dir / "nli" / "snli_dev_test.triplets.tsv").read_text("utf-8").splitlines()
    return [line.split("\t")[1:] for line in lines[1 : count + 1]]


def test_quality_set_triplets_through_the_cli(
    tiny_model_dir: Path, tmp_path: Path, data_dir: Path
) -> None:
    rows = _probe_rows(data_dir, 30)
    triplets = _write(
        tmp_path / "t.tsv", ["anchor\tpositive\tnegative"] + ["\t".join(r) for r in rows]
    )
    out = tmp_path / "out"
    argv = [str(tiny_model_dir), "--depths", "1", "--out", str(out), "--projection", "none"]
    assert export_main([*argv, "--quality-set", str(triplets), "--quiet"]) == 0
    manifest = read_manifest(out)
    probe = manifest.projection.probe
    assert probe is not None and (probe.task, probe.layout, probe.examples) == (
        "quality-set",
        "triplets",
        30,
    )
    score = manifest.graph(1).quality["quality-set"][32]
    assert score * 30 / 100 == pytest.approx(round(score * 30 / 100))  # a count of 30 wins


@pytest.mark.parametrize("layout", ["pairs", "stsb"])
def test_quality_set_pairs_and_stsb(
    layout: str, tiny_model_dir: Path, tmp_path: Path, data_dir: Path
) -> None:
    sts = (data_dir / "stsb" / "sts-dev.csv").read_text("utf-8").splitlines()[:40]
    if layout == "stsb":
        path = _write(tmp_path / "dev.csv", sts)
    else:
        rows = [f"{c[5]}\t{c[6]}\t{c[4]}" for c in (line.split("\t") for line in sts)]
        path = _write(tmp_path / "pairs.txt", ["sentence1\tsentence2\tscore", *rows])
    manifest = export(
        tiny_model_dir, [1], tmp_path / "out", projection="none", quality_set=path
    ).manifest
    assert manifest.projection.probe is not None
    assert manifest.projection.probe.layout == layout
    assert manifest.projection.probe.examples == 40
    assert -100.0 <= manifest.graph(1).quality["quality-set"][32] <= 100.0


@pytest.mark.parametrize(
    ("name", "lines", "message"),
    [
        ("noheader.tsv", ["a\tb\t3.0"] * 20, "no header this tool reads"),
        ("bad.tsv", ["sentence1\tsentence2\tscore"] + ["a\tb\thigh"] * 20, "is not a number"),
        ("short.tsv", ["anchor\tpositive\tnegative"] + ["a\tb"] * 20, "3 non-empty"),
        ("few.tsv", ["anchor\tpositive\tnegative", "a\tb\tc"], "at least 10"),
        ("wrong.csv", ["x\ty\tz"] * 20, "STS-B rows have 7"),
    ],
)
def test_malformed_quality_set_is_refused_and_nothing_is_written(
    name: str, lines: list[str], message: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    path = _write(tmp_path / name, lines)
    out = tmp_path / "out"
    with pytest.raises(QualitySetError, match=message):
        export(tiny_model_dir, [1], out, quality_set=path)
    assert not out.exists()


@pytest.mark.slow
def test_bundled_model_picks_pca_from_the_probe_scores(minilm_export: Path) -> None:
    manifest = read_manifest(minilm_export)
    for chosen in manifest.projection.depths:
        assert chosen.kind is Projection.PCA, chosen
        assert chosen.scores["pca"] > chosen.scores["none"], chosen  # measured, no card
        grid = manifest.graph(chosen.depth).quality[SNLI_PROBE]
        assert set(grid) == {32, 64, 128, 256, 384}
        assert sum(grid.values()) / len(grid) == pytest.approx(chosen.scores["pca"], abs=1e-3)
    choice = Embedder(minilm_export).choice
    assert choice.quality_task == SNLI_PROBE and choice.quality_measured
