"""--projection auto chosen per depth on the labelled probe; the probe grid in every export;
the deepest depth, and every depth of a model declaring a trained prefix, keep the source
model's own vectors, and every depth that differs says so.

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

import numpy as np
import onnxruntime as ort
import pytest
import torch
from tiny_models import write_st_modules

from ese.exporter import export
from ese.exporter.cli import main as export_main
from ese.exporter.projection.choice import ProjectionRequest, choose_projection, decide
from ese.exporter.source.load import bundled_model_path
from ese.exporter.source.tokenizer_files import tokenize
from ese.format import contract
from ese.format.contract import Projection
from ese.format.errors import UserError
from ese.format.manifest import read_manifest
from ese.runtime import Embedder
from ese.runtime.choice.budget import Budget
from ese.runtime.choice.quality_task import SNLI_PROBE, ranking_budget

pytestmark = pytest.mark.usefixtures("torch_one_thread")

HIDDEN = 64
HALF = HIDDEN // 2
# Probe points by which one order measures clearly better (about twice the probe's noise).
CLEARLY = 1.0
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
        assert chosen.scores["none"] > chosen.scores["pca"] + CLEARLY, chosen
        assert chosen.matches_source is True
        assert manifest.graph(chosen.depth).quality[SNLI_PROBE].keys() == {32, 64}
    assert projection.probe is not None and projection.probe.widths == (32, 64)


def _graph_vectors(export_dir: Path, depth: int, texts: list[str]) -> np.ndarray:
    """What the exported graph at ``depth`` outputs for ``texts`` (one padded batch)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(export_dir / contract.TOKENIZER_FILE))
    arrays = tokenize(tokenizer, texts)
    session = ort.InferenceSession(
        str(export_dir / contract.graph_file(depth)), providers=["CPUExecutionProvider"]
    )
    names = [i.name for i in session.get_inputs()]
    (out,) = session.run([contract.OUTPUT], {n: arrays[n] for n in names})
    return np.asarray(out)


def test_auto_keeps_the_source_vectors_at_the_deepest_depth_and_says_where_they_differ(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model the PCA measures clearly better at every depth (no card): the shallower depth
    fuses the PCA and says so everywhere; the deepest keeps sentence-transformers' vectors."""
    from sentence_transformers import SentenceTransformer

    model = _constructed_model(tmp_path / "m", signal_leads=False, noise_scale=0.2)
    out = tmp_path / "out"
    assert export_main([str(model), "--depths", "1,2", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    manifest = read_manifest(out)
    shallow, deepest = manifest.projection.depths
    assert shallow.scores["pca"] > shallow.scores["none"] + CLEARLY
    assert deepest.scores["pca"] > deepest.scores["none"] + CLEARLY
    assert deepest.kind is Projection.NONE, deepest  # the source model's vectors kept
    assert shallow.kind is Projection.PCA and shallow.matches_source is False
    assert "a PCA fitted at depth 1 is fused" in shallow.source_note
    assert deepest.matches_source is True
    assert deepest.source_note == "the source model's own vectors (all 2 layers, mean pooling)"
    assert "the deepest graph keeps the source model's own vectors" in deepest.reason
    # the deepest graph gives sentence-transformers' own vectors
    texts = ["a man is playing a guitar", "hi", "two dogs run in the park on a sunny day"]
    want = SentenceTransformer(str(model), device="cpu").encode(texts)
    np.testing.assert_allclose(_graph_vectors(out, 2, texts), want, atol=1e-4, rtol=1e-4)
    # ese-export prints where the vectors differ, and the flag that keeps them
    assert "vectors: differs from the source model's vectors: a PCA fitted at depth 1" in printed
    assert "note: at depth 1 the vectors differ from the source model's own" in printed
    assert "--projection none for the source model's own vectors at every depth" in printed
    assert "note: at depth 2 the snli-probe probe scored the PCA higher" in printed
    assert "pooling: mean (from sentence-transformers Pooling module" in printed
    # Embedder.choice says it
    choice = Embedder(out, depth=1).choice
    assert choice.matches_source is False
    assert "vectors at depth 1: differs from the source model's vectors" in choice.reason
    assert "vectors" in choice.explain() and choice.to_dict()["matches_source"] is False
    full = Embedder(out, depth=2).choice
    assert full.matches_source is True and "vectors at depth" not in full.reason
    assert full.vectors == deepest.source_note


@pytest.mark.parametrize(
    ("declare", "where"),
    [
        ("card", "training_card.json says ese"),
        ("flag", "--trained-prefix"),
        ("st-card", "README.md (sentence-transformers model card) tags loss:MatryoshkaLoss"),
    ],
)
def test_a_declared_trained_prefix_is_never_overridden(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], declare: str, where: str
) -> None:
    """The PCA measures clearly better at every depth, but the model declares a trained prefix:
    its own order is kept at every depth, with both scores recorded and a printed note."""
    model = _constructed_model(
        tmp_path / "m",
        signal_leads=False,
        noise_scale=0.2,
        method="ese" if declare == "card" else None,
    )
    if declare == "st-card":
        (model / "README.md").write_text(
            "---\ntags:\n- sentence-transformers\n- loss:MatryoshkaLoss\n"
            "- loss:MultipleNegativesRankingLoss\n---\n# a model\n",
            encoding="utf-8",
        )
    out = tmp_path / "out"
    flag = ["--trained-prefix"] if declare == "flag" else []
    assert export_main([str(model), "--depths", "1,2", "--out", str(out), "--quiet", *flag]) == 0
    projection = read_manifest(out).projection
    assert projection.kind is Projection.NONE and where in (projection.reason or "")
    for chosen in projection.depths:
        assert chosen.kind is Projection.NONE, chosen
        assert chosen.matches_source is True
        assert chosen.scores["pca"] > chosen.scores["none"] + CLEARLY
        assert "never overrides a declared trained prefix" in chosen.reason
    assert "note: at depths 1, 2 the snli-probe probe scored the PCA higher" in (
        capsys.readouterr().out
    )


def test_a_manifest_without_the_source_fields_still_says_where_vectors_differ(
    tiny_export: Path, tmp_path: Path
) -> None:
    """Manifests written before matches_source: read as before, the match derived from the
    fused kind at each depth."""
    old = tmp_path / "old"
    shutil.copytree(tiny_export, old)
    data = json.loads((old / "manifest.json").read_text(encoding="utf-8"))
    for entry in data["projection"]["depths"]:
        del entry["matches_source"], entry["source_note"]
    data["projection"]["depths"][0]["kind"] = "pca"  # as auto once fused at every depth
    data["projection"]["depths"][1]["kind"] = "pca"
    (old / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    manifest = read_manifest(old)
    assert all(d.matches_source is None for d in manifest.projection.depths)
    assert "matches_source" not in json.dumps(manifest.to_dict())
    for depth in (1, 2):
        match = manifest.source_match(depth)
        assert not match.matches and f"a PCA fitted at depth {depth} is fused" in match.note
    fresh = read_manifest(tiny_export)
    assert fresh.source_match(2).matches and fresh.projection.depths[1].matches_source is True


def test_trained_prefix_with_a_forced_pca_is_refused(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = [str(tiny_model_dir), "--depths", "1", "--out", str(out), "--projection", "pca"]
    assert export_main([*argv, "--trained-prefix", "--quiet"]) == 2
    assert "--trained-prefix keeps the model's own order" in capsys.readouterr().err
    assert not out.exists()


def test_a_matryoshka_tag_outside_the_front_matter_declares_nothing(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(
        "# notes\n\nWe did not use\n- loss:MatryoshkaLoss\n", encoding="utf-8"
    )
    assert choose_projection("auto", tmp_path).trained_prefix is None


@pytest.mark.parametrize(
    ("method", "none", "pca", "deepest", "kind"),
    [
        (None, 70.0, 70.4, False, Projection.PCA),  # no card: the better one, however slightly
        (None, 70.4, 70.0, False, Projection.NONE),
        (None, 70.0, 70.0, False, Projection.PCA),  # a tie goes to the PCA
        (None, 60.0, 75.0, True, Projection.NONE),  # the deepest keeps the source's vectors
        ("ese", 70.0, 81.0, False, Projection.NONE),  # a trained prefix is never overridden
        ("matryoshka2d", 72.0, 60.0, False, Projection.NONE),
        ("mnrl", 70.0, 71.0, False, Projection.PCA),  # a card naming no trained prefix
    ],
)
def test_decide_table(
    tmp_path: Path, method: str | None, none: float, pca: float, deepest: bool, kind: Projection
) -> None:
    request = _auto_request(tmp_path, method)
    chosen = decide(request, 3, none, pca, deepest=deepest)
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
    with pytest.raises(UserError, match=message):
        export(tiny_model_dir, [1], out, quality_set=path)
    assert not out.exists()


@pytest.mark.slow
def test_bundled_model_picks_pca_from_the_probe_scores(minilm_export: Path) -> None:
    """PCA at depths 2 and 4 (measured better, no card); depth 6, the deepest, keeps the
    source model's own vectors although the probe scores the PCA higher there too."""
    manifest = read_manifest(minilm_export)
    for chosen in manifest.projection.depths:
        deepest = chosen.depth == 6
        kind = Projection.NONE if deepest else Projection.PCA
        assert chosen.kind is kind and chosen.matches_source is deepest, chosen
        assert chosen.scores["pca"] > chosen.scores["none"], chosen  # measured, no card
        grid = manifest.graph(chosen.depth).quality[SNLI_PROBE]
        assert set(grid) == {32, 64, 128, 256, 384}
        kept = chosen.scores[kind.value]
        assert sum(grid.values()) / len(grid) == pytest.approx(kept, abs=1e-3)
    choice = Embedder(minilm_export).choice
    assert choice.quality_task == SNLI_PROBE and choice.quality_measured
