"""Every model-config parser of ese-export, fed any JSON value in any field, gives a valid
result or a typed UserError: modules.json, the sentence-transformers Pooling config, AnglE's
angle_config.json, the training card's pooling field, and the JSON file reader itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ese.exporter.source.angle_config import AngleConfig
from ese.exporter.source.model_json import read_json_file
from ese.exporter.source.pooling_choice import card_pooling
from ese.exporter.source.st_modules import StModules, pooling_from_st_config, st_modules_from_json
from ese.format.contract import Pooling
from ese.format.errors import UserError

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["cls", "0", "7", "last", "left", "right", "mean", "cls_avg", "sum", ""])
)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=6,
)
FAST = settings(
    max_examples=500,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _fields(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects holding any of the parser's own keys with any JSON value, and a stray key."""
    return st.fixed_dictionaries({}, optional={**{key: JSON for key in keys}, "x": JSON})


MODULE = _fields(["type", "path", "idx", "name"]) | st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            [
                "sentence_transformers.models.Transformer",
                "sentence_transformers.models.Pooling",
                "sentence_transformers.models.Normalize",
                "sentence_transformers.models.Dense",
            ]
        ),
        "path": JSON | st.sampled_from(["", "1_Pooling", "../up", "/abs"]),
    }
)
POOLING_CONFIG = _fields(
    [
        "pooling_mode",
        "pooling_mode_cls_token",
        "pooling_mode_mean_tokens",
        "pooling_mode_max_tokens",
        "pooling_mode_mean_sqrt_len_tokens",
        "pooling_mode_lasttoken",
        "pooling_mode_weightedmean_tokens",
        "word_embedding_dimension",
    ]
)
ANGLE = _fields(
    ["pooling_strategy", "max_length", "is_llm", "apply_lora", "tokenizer_padding_side"]
)


@FAST
@given(value=JSON | st.lists(MODULE, max_size=4))
def test_modules_json(value: object) -> None:
    try:
        modules = st_modules_from_json(value)
    except UserError:
        return
    assert isinstance(modules, StModules) and isinstance(modules.transformer_path, str)


@FAST
@given(value=JSON | POOLING_CONFIG)
def test_sentence_transformers_pooling_config(value: object) -> None:
    try:
        mode = pooling_from_st_config(value, "1_Pooling/config.json")
    except UserError:
        return
    assert isinstance(mode, Pooling)


@FAST
@given(value=JSON | ANGLE)
def test_angle_config(value: object) -> None:
    try:
        config = AngleConfig.from_json(value)
        reason = config.refusal()
        mode = config.pooling()
    except UserError:
        return
    assert reason is None or isinstance(reason, str)
    assert isinstance(mode, Pooling)
    assert config.max_length is None or config.max_length >= 1


@FAST
@given(value=JSON | _fields(["pooling", "method"]))
def test_training_card_pooling(value: object) -> None:
    try:
        mode = card_pooling(value)
    except UserError:
        return
    assert mode is None or isinstance(mode, Pooling)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=64) | st.text(max_size=32).map(str.encode))
def test_json_file_reader(raw: bytes, tmp_path: Path) -> None:
    path = tmp_path / "modules.json"
    path.write_bytes(raw)
    try:
        read_json_file(path)
    except UserError:
        return
