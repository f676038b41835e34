"""Pooling from the model's own declaration (AnglE, sentence-transformers, training card) or
--pooling; a model that declares none, two that disagree, left padding, or what cannot be
exported faithfully, is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
import transformers
from tiny_models import make_angle_model, make_tiny_model
from tokenizers import Tokenizer

from ese.exporter import export
from ese.exporter.cli import main
from ese.exporter.errors import PoolingError
from ese.exporter.source.load import read_model_dir
from ese.format import contract
from ese.format.contract import Pooling
from ese.format.errors import UserError

TEXTS = [
    "a man is playing a guitar",
    "hi",
    "the quick brown fox jumps over the lazy dog in the park with two people",
    "",
    "a small red car",
]


def _numpy_pooling(strategy: str, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """AnglE's formulas, written here from its definitions (not through the exporter)."""
    m = mask[:, :, None].astype(np.float64)
    h = hidden.astype(np.float64)
    cls = h[:, 0]
    mean = (h * m).sum(axis=1) / m.sum(axis=1)
    maximum = np.where(m > 0, h, -np.inf).max(axis=1)
    last = h[np.arange(len(h)), mask.sum(axis=1) - 1]
    return {
        "cls": cls,
        "0": cls,
        "cls_avg": (cls + mean) / 2,
        "cls_max": (cls + maximum) / 2,
        "avg": mean,
        "mean": mean,
        "max": maximum,
        "last": last,
        "sum": (h * m).sum(axis=1),
    }[strategy]


@pytest.mark.parametrize(
    "strategy", ["cls", "cls_avg", "cls_max", "avg", "max", "last", "0", "--pooling sum"]
)
def test_angle_graph_equals_the_pooling_formula(
    strategy: str, tmp_path: Path, torch_one_thread: None
) -> None:
    """Each AnglE strategy (and --pooling sum, which AnglE itself does not run)."""
    pooling = strategy.removeprefix("--pooling ") if strategy.startswith("--") else None
    model = make_angle_model(tmp_path / "angle", "cls" if pooling else strategy, layers=2)
    out = tmp_path / "out"
    result = export(model, [1, 2], out, projection="none", pooling=pooling)
    declared = f"angle_config.json pooling_strategy {strategy!r}"
    assert result.manifest.source.pooling_source == (strategy if pooling else declared)
    strategy = pooling or strategy

    tokenizer = Tokenizer.from_file(str(out / contract.TOKENIZER_FILE))
    encodings = tokenizer.encode_batch(TEXTS)
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    assert mask.min() == 0  # the batch is padded: the formulas must ignore padding
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    reference = transformers.AutoModel.from_pretrained(model, attn_implementation="eager").eval()
    with torch.inference_mode():
        states = reference(
            input_ids=torch.from_numpy(ids),
            attention_mask=torch.from_numpy(mask),
            output_hidden_states=True,
        ).hidden_states
    for depth in (1, 2):
        session = ort.InferenceSession(
            str(out / contract.graph_file(depth)), providers=["CPUExecutionProvider"]
        )
        (got,) = session.run([contract.OUTPUT], feed)
        want = _numpy_pooling(strategy, states[depth].numpy(), mask)
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)


def test_angle_default_is_cls_and_max_length_sets_truncation(tmp_path: Path) -> None:
    model_dir = read_model_dir(make_angle_model(tmp_path / "a", None, max_length=16))
    assert model_dir.pooling is Pooling.CLS
    assert "AnglE's default cls" in model_dir.pooling_source
    assert model_dir.max_seq_length == 16
    # past the position embeddings (66 - 0 for BERT = 66): capped there
    capped = read_model_dir(make_angle_model(tmp_path / "b", "cls", max_length=512))
    assert capped.max_seq_length == 66


def test_angle_max_length_truncates_the_exported_tokenizer(tmp_path: Path) -> None:
    model = make_angle_model(tmp_path / "a", "cls_avg", max_length=8)
    result = export(model, [1], tmp_path / "out", projection="none")
    assert result.manifest.source.max_seq_length == 8
    assert result.manifest.source.pooling is Pooling.CLS_AVG
    tokenizer = Tokenizer.from_file(str(tmp_path / "out" / contract.TOKENIZER_FILE))
    assert len(tokenizer.encode(" ".join(["dog"] * 40)).ids) == 8


@pytest.mark.parametrize(
    ("declared", "error", "reason"),
    [
        ({"is_llm": True}, UserError, "is_llm"),
        ({"apply_lora": True}, UserError, "LoRA adapters are not merged"),
        (
            {"pooling_strategy": "last", "tokenizer_padding_side": "left"},
            UserError,
            r"angle_config\.json: tokenizer_padding_side is \"left\".*set tokenizer_padding_side",
        ),
        (
            {"pooling_strategy": "cls", "tokenizer_padding_side": "left"},
            UserError,
            r"angle_config\.json: tokenizer_padding_side is \"left\"; the exported graphs pad",
        ),
        (
            {"pooling_strategy": "avg", "tokenizer_padding_side": "left"},
            UserError,
            "tokenizer_padding_side",
        ),
        ({"pooling_strategy": "sum"}, PoolingError, "AnglE 0.6.1 raises NotImplementedError"),
        ({"pooling_strategy": "all"}, PoolingError, "'all' is not one the graphs can"),
        ({"pooling_strategy": "weighted"}, PoolingError, "pass --pooling"),
        ({"pooling_strategy": 3}, PoolingError, "shorter than 4 tokens in a batch with longer"),
        ({"pooling_strategy": -1}, PoolingError, "position -1 of AnglE's padded batch"),
        ({"pooling_strategy": ["cls"]}, PoolingError, "pooling_strategy is a list"),
        ({"max_length": "long"}, UserError, "max_length"),
        ({"tokenizer_padding_side": "middle"}, UserError, "tokenizer_padding_side"),
    ],
)
def test_unsupported_angle_declarations_are_refused_with_the_reason(
    declared: dict[str, object], error: type[Exception], reason: str, tmp_path: Path
) -> None:
    model = make_angle_model(tmp_path / "a", **declared)  # type: ignore[arg-type]
    with pytest.raises(error, match=reason):
        export(model, [1], tmp_path / "out", projection="none")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("strategy", [-1, 3, "2"])
def test_token_index_refusals_say_what_angle_does(strategy: int | str, tmp_path: Path) -> None:
    with pytest.raises(PoolingError) as caught:
        read_model_dir(make_angle_model(tmp_path / "a", strategy))
    message = str(caught.value)
    assert "shorter than 1 tokens" not in message and "fails there too" not in message
    assert "depend on the batch" in message and "--pooling" in message


@pytest.mark.parametrize("pooling", ["lasttoken", "cls", "mean"])
def test_left_padding_in_the_tokenizer_config_is_refused(pooling: str, tmp_path: Path) -> None:
    model = make_tiny_model(tmp_path / "m", "bert", pooling=pooling)
    config = {"padding_side": "left", "model_max_length": 48}
    (model / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(UserError, match=r"tokenizer_config\.json: padding_side is"):
        export(model, [1], tmp_path / "out", projection="none")
    assert not (tmp_path / "out").exists()
    config["padding_side"] = "right"
    (model / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    assert read_model_dir(model).pooling is Pooling(pooling)


def _st_and_angle(directory: Path, st_pooling: str, angle_strategy: str) -> Path:
    """A sentence-transformers directory that also holds AnglE's angle_config.json."""
    model = make_tiny_model(directory, "bert", pooling=st_pooling)
    angle = make_angle_model(directory.parent / "angle-src", angle_strategy)
    (model / "angle_config.json").write_bytes((angle / "angle_config.json").read_bytes())
    return model


def test_agreeing_st_and_angle_poolings_are_both_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = _st_and_angle(tmp_path / "m", "cls", "cls")
    out = tmp_path / "out"
    args = [str(model), "--depths", "1", "--out", str(out), "--projection", "none"]
    assert main([*args, "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert (
        "pooling: cls (from sentence-transformers Pooling module (1_Pooling/config.json), "
        "and angle_config.json pooling_strategy 'cls', agreeing)" in printed
    )


def test_disagreeing_st_and_angle_poolings_are_refused_unless_pooling_settles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = _st_and_angle(tmp_path / "m", "mean", "cls")
    out = tmp_path / "out"
    args = [str(model), "--depths", "1", "--out", str(out), "--projection", "none", "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "declares two poolings that disagree: mean in its sentence-transformers" in err
    assert "cls in its angle_config.json pooling_strategy 'cls'" in err and "--pooling" in err
    assert err.count("\n") == 1 and not out.exists()
    assert main([*args, "--pooling", "cls"]) == 0
    assert (
        "pooling: cls (from --pooling cls, over mean in the sentence-transformers Pooling "
        "module (1_Pooling/config.json) and 'cls' in angle_config.json)" in capsys.readouterr().out
    )


def test_unmerged_adapter_files_are_refused(tmp_path: Path) -> None:
    model = make_angle_model(tmp_path / "a", "cls")
    (model / "adapter_config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(UserError, match=r"adapter_config\.json"):
        read_model_dir(model)


def test_plain_directory_is_refused_and_exports_with_pooling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = make_tiny_model(tmp_path / "hf", "bert", sentence_transformers=False)
    with pytest.raises(PoolingError, match=r"declares no pooling.*--pooling"):
        export(model, [1], tmp_path / "out", projection="none")
    assert not (tmp_path / "out").exists()
    args = [str(model), "--depths", "1", "--out", str(tmp_path / "out"), "--projection", "none"]
    assert main([*args, "--quiet"]) == 2
    assert "--pooling" in capsys.readouterr().err
    assert main([*args, "--quiet", "--pooling", "cls_max"]) == 0
    source = json.loads((tmp_path / "out" / "manifest.json").read_text())["source"]
    assert (source["pooling"], source["pooling_source"]) == ("cls_max", "--pooling cls_max")


def test_pooling_overrides_the_declaration(tiny_model_dir: Path) -> None:
    declared = read_model_dir(tiny_model_dir)
    assert declared.pooling is Pooling.MEAN
    assert declared.pooling_source == "sentence-transformers Pooling module (1_Pooling/config.json)"
    overridden = read_model_dir(tiny_model_dir, "cls")
    assert (overridden.pooling, overridden.pooling_source) == (Pooling.CLS, "--pooling cls")


def test_training_card_pooling_is_the_last_declaration(tmp_path: Path) -> None:
    model = make_tiny_model(tmp_path / "m", "bert", sentence_transformers=False)
    (model / "training_card.json").write_text(json.dumps({"method": "ese", "pooling": "cls"}))
    chosen = read_model_dir(model)
    assert (chosen.pooling, chosen.pooling_source) == (
        Pooling.CLS,
        "training_card.json pooling cls",
    )
    (model / "training_card.json").write_text(json.dumps({"pooling": 7}))
    with pytest.raises(PoolingError, match=r"training_card\.json"):
        read_model_dir(model)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2, 3]", "entry 0 holds a number"),
        ('{"0": "Transformer"}', "not a list of modules"),
        ("\udcff", "cannot read"),
        ('[{"type": "sentence_transformers.models.Dense", "path": "2_Dense"}]', "Dense"),
        ('[{"type": "sentence_transformers.models.Transformer", "path": "../x"}]', "inside"),
    ],
)
def test_bad_modules_json_is_a_typed_error(
    text: str, needle: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    model = tmp_path / "m"
    model.mkdir()
    for item in tiny_model_dir.iterdir():
        if item.is_file() and item.name != "modules.json":
            (model / item.name).symlink_to(item)
    (model / "1_Pooling").symlink_to(tiny_model_dir / "1_Pooling")
    (model / "modules.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises((UserError, UserError), match=needle):
        read_model_dir(model)


def test_bad_modules_json_exits_2_from_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = make_tiny_model(tmp_path / "m", "bert")
    (model / "modules.json").write_text("[1, 2]", encoding="utf-8")
    assert main([str(model), "--depths", "1", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "modules.json entry 0 holds a number" in err and err.count("\n") == 1
