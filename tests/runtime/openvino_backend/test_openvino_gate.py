"""The bf16 parity gate recorded in the device profile: measured once per graph content and
OpenVINO release, read back, and a bf16 candidate below 0.999 refused, never picked.

Real OpenVINO and ONNX Runtime on the tiny export (the bundled model's gate is checked in
test_openvino.py's slow parity test). Where a test needs bf16 to be the fastest backend, the
latencies are written into the profiles as ese-bench would (the selection is a pure function
of them); the gate itself is always a real measurement or a recorded figure under test.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from profiles import write_latency_profile

from ese.format.contract import Precision
from ese.format.errors import ProfileError
from ese.format.manifest import read_manifest
from ese.format.profile import DeviceProfile, profile_path
from ese.format.profile_gate import ParityGate
from ese.runtime import Budget, Embedder
from ese.runtime.backends.openvino.backend import OPENVINO, OPENVINO_BF16
from ese.runtime.backends.openvino.imports import openvino_available
from ese.runtime.device import this_device
from ese.runtime.errors import ProviderError
from ese.runtime.machine import has_bf16

needs_bf16 = pytest.mark.skipif(
    not (openvino_available() and has_bf16()),
    reason="needs openvino and a CPU with AMX or AVX-512 BF16 (bf16 is refused elsewhere)",
)
SHA = "ab" * 32
BATCH, SEQ = 2, 8


def _gate_dict(**changes: Any) -> dict[str, Any]:
    gate = {
        "depth": 2,
        "precision": "fp32",
        "inference_precision": "bf16",
        "files_sha256": [SHA, "cd" * 32],
        "backend": "openvino 2026.4.1",
        "min_cosine": 0.99995,
        "threshold": 0.999,
        "probes": 8,
        "reference": "onnxruntime CPUExecutionProvider fp32",
    }
    return {**gate, **changes}


def _profile_dict(version: int, gates: list[dict[str, Any]] | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema_version": version,
        "device_id": "amd-epyc-2t-openvino-bf16",
        "device": {"provider": OPENVINO_BF16},
        "entries": [],
    }
    if gates is not None:
        data["gates"] = gates
    return data


# ---------------------------------------------------------------- the profile format


def test_profile_gates_round_trip_and_version_1_profiles_still_read() -> None:
    profile = DeviceProfile.from_dict(_profile_dict(2, [_gate_dict()]))
    (gate,) = profile.gates
    assert gate.key == (2, Precision.FP32, "bf16") and profile.gate(gate.key) == gate
    assert DeviceProfile.from_dict(profile.to_dict()) == profile
    old = DeviceProfile.from_dict(_profile_dict(1, None))
    assert old.gates == () and old.to_dict()["schema_version"] == 2  # written back as v2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_profile_dict(1, [_gate_dict()]), "not part of schema version 1"),
        (_profile_dict(3, None), "this ese reads 1 and 2"),
        (_profile_dict(2, [_gate_dict(), _gate_dict(min_cosine=0.5)]), r"again \(first at"),
        (_profile_dict(2, [_gate_dict(files_sha256=["../x"])]), "not a sha256"),
        (_profile_dict(2, [_gate_dict(files_sha256=[])]), "1 to 64 digests"),
        (_profile_dict(2, [_gate_dict(inference_precision="f16")]), "one of bf16"),
        (_profile_dict(2, [_gate_dict(min_cosine=1.5)]), r"gates\[0\].min_cosine"),
        (_profile_dict(2, [_gate_dict(backend="")]), "non-empty string"),
    ],
)
def test_a_bad_gate_is_a_profile_error_naming_the_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        DeviceProfile.from_dict(data)


# ---------------------------------------------------------------- real OpenVINO, tiny model


@pytest.fixture
def export(tiny_export: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_export, tmp_path / "export"))


def _bf16_profile(export: Path) -> Path:
    return profile_path(export, this_device(OPENVINO_BF16, 1).device_id())


def _digests(export: Path, depth: int = 2) -> list[str]:
    graph = read_manifest(export).graph(depth, Precision.FP32)
    return [f.sha256 for f in graph.files()]


def _openvino_backend() -> str:
    from ese.runtime.backends.openvino.imports import openvino_version

    return f"openvino {openvino_version()}"


def _speeds(export: Path, fp32_ms: float, bf16_ms: float, gate: ParityGate | None) -> None:
    """Profiles of OpenVINO fp32 and bf16 at BATCH x SEQ, depth 2, with these latencies; the bf16
    profile records ``gate``."""
    for provider, ms in ((OPENVINO, fp32_ms), (OPENVINO_BF16, bf16_ms)):
        gates = (gate,) if gate and provider == OPENVINO_BF16 else ()
        write_latency_profile(export, provider, ms, batch_size=BATCH, seq_len=SEQ, gates=gates)


def _gate(export: Path, min_cosine: float, **changes: Any) -> ParityGate:
    fields: dict[str, Any] = {
        "depth": 2,
        "precision": Precision.FP32,
        "inference_precision": "bf16",
        "files_sha256": tuple(_digests(export)),
        "backend": _openvino_backend(),
        "min_cosine": min_cosine,
        "threshold": 0.999,
        "probes": 8,
        "reference": "onnxruntime CPUExecutionProvider fp32",
    }
    return ParityGate(**{**fields, **changes})


def _competing(export: Path) -> Embedder:
    """``providers='openvino'`` with a latency budget, from the profiles only (no measuring)."""
    budget = Budget(latency_ms=1e4, batch_size=BATCH, seq_len=SEQ)
    return Embedder(
        export,
        budget=budget,
        providers="openvino",
        precision="fp32",
        depth=2,
        intra_op_threads=1,
        measure=False,
    )


@needs_bf16
def test_bf16_gate_is_measured_once_and_recorded_in_the_device_profile(export: Path) -> None:
    first = Embedder(export, providers="openvino-bf16", depth=2, intra_op_threads=1)
    path = _bf16_profile(export)
    assert f"measured now, recorded in profiles/{path.name}" in first.choice.reason
    data = json.loads(path.read_text())
    assert data["schema_version"] == 2
    (gate,) = data["gates"]
    assert gate["files_sha256"] == _digests(export) and gate["backend"] == _openvino_backend()
    assert gate["min_cosine"] >= 0.999, gate  # a real measurement: bf16 of the tiny graph
    assert f"{gate['min_cosine']:.5f}" in first.choice.reason

    # Read back, not measured again: a recorded figure the probes cannot produce shows through.
    gate["min_cosine"] = 0.99951
    path.write_text(json.dumps(data))
    second = Embedder(export, providers="openvino-bf16", depth=2, intra_op_threads=1)
    read = "0.99951 vs ONNX Runtime fp32 on 8 probe texts (passes >= 0.999; as recorded in"
    assert f"{read} profiles/{path.name})" in second.choice.reason
    assert json.loads(path.read_text())["gates"] == [gate]


@needs_bf16
def test_bf16_below_its_recorded_gate_is_refused_even_where_it_measured_fastest(
    export: Path,
) -> None:
    # Passing gate: bf16, measured 100x faster, is chosen (so the gate is what decides below).
    _speeds(export, fp32_ms=100.0, bf16_ms=1.0, gate=_gate(export, 0.9995))
    assert _competing(export).choice.provider == OPENVINO_BF16

    # Recorded below 0.999 (and a threshold lowered in the file, which must not lower the bar).
    _speeds(export, fp32_ms=100.0, bf16_ms=1.0, gate=_gate(export, 0.998, threshold=0.5))
    chosen = _competing(export)
    assert chosen.choice.provider == OPENVINO, chosen.choice.reason
    assert "bf16 parity min cosine 0.99800" in chosen.choice.reason
    assert "fails >= 0.999; as recorded in" in chosen.choice.reason
    with pytest.raises(ProviderError, match=r"0\.99800 .*fails >= 0\.999.*providers='openvino'"):
        Embedder(export, providers="openvino-bf16", depth=2, intra_op_threads=1)
    recorded = json.loads(_bf16_profile(export).read_text())["gates"]
    assert [g["min_cosine"] for g in recorded] == [0.998]  # refused, not measured over


@needs_bf16
@pytest.mark.parametrize(
    "stale",
    [{"files_sha256": (SHA, SHA)}, {"backend": "openvino 2020.1.0"}],
    ids=["other-graph-content", "other-openvino-release"],
)
def test_a_gate_of_other_graph_content_or_openvino_release_is_measured_again(
    export: Path, stale: dict[str, Any]
) -> None:
    _speeds(export, fp32_ms=100.0, bf16_ms=1.0, gate=_gate(export, 0.5, **stale))
    chosen = _competing(export)
    assert chosen.choice.provider == OPENVINO_BF16, chosen.choice.reason
    assert "measured now, recorded in" in chosen.choice.reason
    (gate,) = json.loads(_bf16_profile(export).read_text())["gates"]
    assert gate["files_sha256"] == _digests(export) and gate["backend"] == _openvino_backend()
    assert gate["min_cosine"] >= 0.999
    # the latencies ese-bench wrote are kept beside the new gate
    assert len(json.loads(_bf16_profile(export).read_text())["entries"]) == 1


@needs_bf16
def test_ese_bench_profile_keeps_the_recorded_gate(export: Path) -> None:
    from ese.benchmarks.cli import main

    _speeds(export, fp32_ms=100.0, bf16_ms=1.0, gate=_gate(export, 0.99961))
    argv = ["profile", str(export), "--providers", "openvino-bf16", "--batch", "2", "--seq", "8"]
    argv += ["--depths", "2", "--precision", "fp32", "--runs", "3", "--threads", "1", "--quiet"]
    assert main(argv) == 0
    data = json.loads(_bf16_profile(export).read_text())
    assert [g["min_cosine"] for g in data["gates"]] == [0.99961]
    assert data["entries"][0]["latency_ms_p50"] != 1.0  # the entry was measured again
