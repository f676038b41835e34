"""Every parser of outside data that ese.runtime (and ese-train's card) owns, fed any JSON value in
any field, gives a valid object or its typed error, never another exception.

The inputs are realistic mutations of a VALID manifest, profile and training card (one to three
edits: a value anywhere in the tree replaced by any JSON value, a field dropped, junk added), so
the parsers' deep branches are reached, plus arbitrary JSON and damaged bytes. A valid result is
checked too: it serialises as strict JSON (no NaN or infinity anywhere) and parses back to itself.
Derandomised with fixed example counts, so CI is reproducible; the whole file runs in seconds.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ese.format.errors import BadInputError, ExportDirError, ManifestError, ProfileError, UserError
from ese.format.manifest import Manifest, read_manifest
from ese.format.profile import DeviceProfile
from ese.runtime.choice.budget import Budget
from ese.training.card import CardSummary, read_card

T = TypeVar("T")

SHA = "0123456789abcdef" * 4
EDGES = [
    0, -1, 1, 2, 10**400, -(10**400), 2**63, float("inf"), float("-inf"), float("nan"), 1e308,
    -0.0, 0.5, "", "64", "fp32", "int8", "mean", "pca", "../x", "/etc/passwd", "graphs/x.onnx",
    SHA, SHA.upper(), True, False, [], {},
]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=10)
    # a fresh copy each draw: EDGES holds a [] and a {} that an "add" edit would otherwise grow
    # for every later example (hypothesis then sees its data generation change: flaky)
    | st.sampled_from(EDGES).map(copy.deepcopy)
)
JSON = st.recursive(
    SCALARS,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
    max_leaves=5,
)


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def _file(path: str) -> dict[str, Any]:
    return {"path": path, "sha256": SHA, "bytes": 1234}


def _graph(depth: int, precision: str, quality: dict[str, Any]) -> dict[str, Any]:
    suffix = "" if precision == "fp32" else f".{precision}"
    return {
        "depth": depth,
        "precision": precision,
        "file": _file(f"graphs/depth-{depth:02d}{suffix}.onnx"),
        "external_data": [_file("graphs/weights.bin")],
        "opset": 17,
        "dims": 32,
        "parity": {
            "max_abs_diff": 2.7e-07,
            "min_cosine": 0.9999998,
            "probes": 10,
            "tolerance": 0.0001,
            "reference": "torch fp32",
        },
        "weight_bytes": 88013,
        "quality": quality,
    }


VALID_MANIFEST: dict[str, Any] = {
    "schema": "ese.export",
    "schema_version": 1,
    "created": "2026-12-01T05:00:12+00:00",
    "source": {
        "path": "/models/tiny",
        "weights_sha256": SHA,
        "architecture": "BertModel",
        "model_type": "bert",
        "hidden_size": 32,
        "num_layers": 2,
        "pooling": "mean",
        "normalize": False,
        "max_seq_length": 48,
        "uses_token_type_ids": True,
    },
    "tokenizer": {"files": [_file("tokenizer/tokenizer.json"), _file("tokenizer/vocab.txt")]},
    "projection": {
        "kind": "pca",
        "reason": "auto: no ESE or Matryoshka training card",
        "calibration": {"source": "calibration.txt", "sha256": SHA, "sentences": 3000},
    },
    "graphs": [
        _graph(1, "fp32", {"stsb": {"16": 61.5, "32": 63.25}}),
        _graph(2, "fp32", {"stsb": {"8": 60.0, "32": 66.0}, "scifact": {"32": 40.1}}),
        _graph(2, "int8", {}),
    ],
    "tools": {"ese-toolchain": "0.1.0", "onnxruntime": "1.32.0"},
}


def _entry(depth: int, batch: int) -> dict[str, Any]:
    return {
        "depth": depth,
        "precision": "fp32",
        "batch_size": batch,
        "seq_len": 64,
        "latency_ms_p50": 1.5,
        "latency_ms_p90": 1.75,
        "latency_ms_p99": 2.0,
        "sentences_per_s": 5333.3,
        "tokens_per_s": 341333.3,
        "peak_memory_mb": 12.5,
        "runs": 200,
    }


VALID_PROFILE: dict[str, Any] = {
    "schema_version": 2,
    "device_id": "amd-epyc-2t-openvino-bf16",
    "device": {"provider": "OpenVINO-bf16", "threads": 2},
    "measured_by": "ese-bench profile",
    "created": "2026-12-01T05:00:12+00:00",
    "entries": [_entry(1, 8), _entry(2, 8), _entry(2, 32)],
    "gates": [  # quality gates measured on the device (OpenVINO bf16, schema version 2)
        {
            "depth": 2,
            "precision": "fp32",
            "inference_precision": "bf16",
            "files_sha256": [SHA, SHA],
            "backend": "openvino 2026.4.1",
            "min_cosine": 0.99996,
            "threshold": 0.999,
            "probes": 8,
            "reference": "onnxruntime CPUExecutionProvider fp32",
        }
    ],
}

VALID_CARD: dict[str, Any] = {
    "base_model": "all-MiniLM-L6-v2",
    "method": "ese",
    "objective": {"method": "ese", "alpha": 1.0},
    "settings": {"steps": 540, "batch_size": 32, "lr": 0.0001, "seed": 44},
    "steps": 540,
    "epochs": 3.0,
    "seconds": 1560.5,
    "dev_evaluations": [
        {"step": 0, "grid": {"1": {"32": 70.5, "384": 72.0}, "6": {"384": 82.0}}},
        {"step": 540, "grid": {"1": {"32": 76.0, "384": 78.6}, "6": {"384": 84.1}}},
    ],
}


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path below ``node`` (dict keys and list indices)."""
    if isinstance(node, (dict, list)):
        for key, child in node.items() if isinstance(node, dict) else enumerate(node):
            yield (*prefix, key)
            yield from _paths(child, (*prefix, key))


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        node = node[key]
    return node


@st.composite
def mutations(draw: st.DrawFn, valid: dict[str, Any]) -> Any:
    """``valid`` with one to three edits anywhere in its tree."""
    data = copy.deepcopy(valid)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(data))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _at(data, path[:-1]), path[-1]
        edit = draw(st.sampled_from(["replace", "drop", "add"]))
        target = parent[key]
        if edit == "replace" or (edit == "add" and not isinstance(target, (dict, list))):
            parent[key] = draw(JSON)
        elif edit == "drop":
            del parent[key]
        elif isinstance(target, dict):
            target[draw(st.text(max_size=6) | st.sampled_from(list(target) or ["x"]))] = draw(JSON)
        else:
            target.append(draw(JSON))
    return data


def _strict_json(data: dict[str, Any]) -> str:
    """``data`` as JSON that refuses NaN and infinity (a valid object holds neither)."""
    return json.dumps(data, allow_nan=False)


def _read_damaged(
    read: Callable[[Path], T],
    error: type[Exception],
    valid: dict[str, Any],
    name: str,
    cut: int,
    junk: bytes,
) -> T | None:
    """``read`` of a folder whose file ``name`` is ``valid`` as JSON with ``junk`` put in at
    ``cut``; None where it raised its typed ``error`` (any other exception fails the test)."""
    text = json.dumps(valid).encode()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / name).write_bytes(text[:cut] + junk + text[cut:])
        try:
            return read(Path(tmp))
        except error:
            return None


def _check_manifest(manifest: Manifest) -> None:
    out = manifest.to_dict()
    _strict_json(out)
    assert Manifest.from_dict(json.loads(json.dumps(out))).to_dict() == out
    assert manifest.source.max_seq_length >= 1 and manifest.source.hidden_size >= 1
    for graph in manifest.graphs:
        assert 1 <= graph.depth <= manifest.source.num_layers and graph.dims >= 1
        for scores in graph.quality.values():
            assert all(1 <= d <= graph.dims and math.isfinite(v) for d, v in scores.items())


def _check_profile(profile: DeviceProfile) -> None:
    out = profile.to_dict()
    _strict_json({k: v for k, v in out.items() if k != "device"})  # "device" is free-form
    assert DeviceProfile.from_dict(json.loads(json.dumps(out))) == profile
    for e in profile.entries:
        figures = (e.latency_ms_p50, e.latency_ms_p90, e.latency_ms_p99, e.peak_memory_mb)
        assert all(math.isfinite(x) and x >= 0 for x in figures) and e.runs >= 1
    for g in profile.gates:
        assert -1 <= g.min_cosine <= 1 and g.files_sha256 and g.probes >= 1


def _check_card(card: CardSummary) -> None:
    assert card.method and card.steps >= 0 and math.isfinite(card.epochs)
    for step, grid in card.dev_evaluations:
        assert step >= 0
        assert all(math.isfinite(s) for row in grid.values() for s in row.values())


@pytest.mark.parametrize(
    ("parse", "error", "check", "inputs", "examples"),
    [
        pytest.param(
            Manifest.from_dict,
            ManifestError,
            _check_manifest,
            mutations(VALID_MANIFEST),  # any other JSON: test_any_json_is_a_manifest_error
            600,
            id="manifest",
        ),
        pytest.param(
            DeviceProfile.from_dict,
            ProfileError,
            _check_profile,
            mutations(VALID_PROFILE) | JSON,
            400,
            id="profile",
        ),
        pytest.param(
            CardSummary.from_json,
            UserError,
            _check_card,
            mutations(VALID_CARD) | JSON,
            400,
            id="card",
        ),
    ],
)
def test_mutations_parse_or_raise_the_typed_error(
    parse: Callable[[Any], Any],
    error: type[Exception],
    check: Callable[[Any], None],
    inputs: st.SearchStrategy[Any],
    examples: int,
) -> None:
    """Each parser's own error, or an object that passes that parser's checks."""

    @_settings(examples)
    @given(data=inputs)
    def parses_or_raises(data: Any) -> None:
        try:
            parsed = parse(data)
        except error:
            return
        check(parsed)

    parses_or_raises()


@_settings(200)
@given(data=JSON)
def test_any_json_is_a_manifest_error(data: Any) -> None:
    with pytest.raises(ManifestError):
        Manifest.from_dict(data)


@_settings(150)
@given(
    cut=st.integers(0, 4000),
    junk=st.binary(min_size=1, max_size=8) | st.sampled_from([b"\xff\xfe", b"\x80", b"[" * 5000]),
)
def test_damaged_manifest_bytes_are_a_manifest_error(cut: int, junk: bytes) -> None:
    # ExportDirError: ManifestError, or IntegrityError from the confinement check
    manifest = _read_damaged(
        read_manifest, ExportDirError, VALID_MANIFEST, "manifest.json", cut, junk
    )
    if manifest is not None:
        _check_manifest(manifest)


def test_valid_examples_are_valid() -> None:
    """The mutations start from objects the parsers accept (else every case is an error)."""
    _check_manifest(Manifest.from_dict(VALID_MANIFEST))
    profile = DeviceProfile.from_dict(VALID_PROFILE)
    assert len(profile.entries) == 3 and len(profile.gates) == 1
    assert CardSummary.from_json(VALID_CARD).dev_evaluations[-1] == (
        540,
        {1: {32: 76.0, 384: 78.6}, 6: {384: 84.1}},
    )


BUDGET_FIELDS = {
    "latency_ms": st.floats(0.1, 1e4) | JSON,
    "batch_size": st.integers(1, 64) | JSON,
    "seq_len": st.integers(1, 512) | JSON,
    "memory_mb": st.floats(1, 1e4) | JSON,
    "max_dims": st.integers(1, 1024) | JSON,
    "max_vector_bytes": st.integers(4, 4096) | JSON,
    "min_quality": st.floats(-100, 100) | JSON,
    "quality_task": st.sampled_from(["stsb", "scifact"]) | JSON,
    "percentile": st.sampled_from(["p50", "p90", "p99"]) | JSON,
}


@_settings(400)
@given(fields=st.fixed_dictionaries({}, optional=BUDGET_FIELDS))
def test_budget_fields_give_a_budget_or_budget_value_error(fields: dict[str, Any]) -> None:
    try:
        budget = Budget(**fields)
    except BadInputError:
        return
    budget.describe()
    assert budget.dims_cap is None or budget.dims_cap >= 1
    for name in ("latency_ms", "memory_mb", "min_quality"):
        value = getattr(budget, name)
        assert value is None or math.isfinite(value)


@_settings(100)
@given(cut=st.integers(0, 1000), junk=st.binary(min_size=1, max_size=6))
def test_damaged_card_bytes_are_a_training_error(cut: int, junk: bytes) -> None:
    card = _read_damaged(read_card, UserError, VALID_CARD, "training_card.json", cut, junk)
    if card is not None:
        assert card.method and card.steps >= 0
