"""This device's profile: read when present, measured briefly and cached when not."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from ese.format.errors import ProfileError
from ese.format.profile import DeviceProfile, ProfileEntry, profile_path, write_profile
from ese.runtime import Budget, Embedder, Precision
from ese.runtime.backends.providers import CPU
from ese.runtime.device import this_device
from ese.runtime.errors import BudgetError

SHAPE = {"batch_size": 4, "seq_len": 16}


@pytest.fixture
def export_copy(tiny_export: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_export, tmp_path / "export"))


def device_id() -> str:
    return this_device(CPU).device_id()


def entry(
    depth: int, p90: float, memory: float, batch_size: int = 4, seq_len: int = 16
) -> ProfileEntry:
    return ProfileEntry(
        depth=depth,
        precision=Precision.FP32,
        batch_size=batch_size,
        seq_len=seq_len,
        latency_ms_p50=p90,
        latency_ms_p90=p90,
        latency_ms_p99=p90,
        sentences_per_s=1.0,
        tokens_per_s=1.0,
        peak_memory_mb=memory,
        runs=100,
    )


def bench_profile(root: Path, *entries: ProfileEntry) -> Path:
    """A profile as ese-bench would write it, with figures chosen by the test."""
    return write_profile(
        root,
        DeviceProfile(
            device_id=device_id(),
            device={"provider": CPU},
            entries=entries,
            measured_by="ese-bench profile",
            created="2026-01-01T00:00:00+00:00",
        ),
    )


def test_measures_once_then_reads_the_cache(export_copy: Path) -> None:
    budget = Budget(latency_ms=10_000, memory_mb=10_000, **SHAPE)
    first = Embedder(export_copy, budget=budget, measure_seconds=0.5)
    assert "measured now by ese.runtime: 2 graph(s)" in first.choice.profile
    path = profile_path(export_copy, device_id())
    data = json.loads(path.read_text())
    assert data["device_id"] == device_id() and data["device"]["threads"] >= 1
    keys = {(e["depth"], e["batch_size"], e["seq_len"]) for e in data["entries"]}
    assert keys == {(1, 4, 16), (2, 4, 16)}
    for e in data["entries"]:
        assert e["runs"] >= 1 and e["latency_ms_p90"] > 0 and e["peak_memory_mb"] >= 0
    assert first.choice.latency_ms is not None and first.choice.memory_mb is not None

    second = Embedder(export_copy, budget=budget, measure=False)
    assert second.choice.profile.startswith(f"profiles/{device_id()}.json (ese.runtime")
    assert second.choice.latency_ms == first.choice.latency_ms


def test_a_bench_profile_drives_the_choice(export_copy: Path) -> None:
    bench_profile(export_copy, entry(1, p90=3.0, memory=10.0), entry(2, p90=8.0, memory=12.0))
    fast = Embedder(export_copy, budget=Budget(latency_ms=5.0, **SHAPE), measure=False)
    assert fast.depth == 1 and fast.choice.latency_ms == 3.0
    assert "ese-bench profile" in fast.choice.profile
    roomy = Embedder(export_copy, budget=Budget(latency_ms=8.0, **SHAPE), measure=False)
    assert (fast.choice.fitting, roomy.choice.fitting) == (1, 2)  # then measured quality ranks
    with pytest.raises(BudgetError, match=r"Closest: depth 1 x 32 dims.*latency p90 3\.00 ms"):
        Embedder(export_copy, budget=Budget(latency_ms=1.0, **SHAPE), measure=False)
    with pytest.raises(BudgetError, match=r"memory bound of at least 10\.0 MB"):
        Embedder(export_copy, budget=Budget(memory_mb=9.0, **SHAPE), measure=False)


def test_only_missing_shapes_are_measured_and_merged(export_copy: Path) -> None:
    path = bench_profile(export_copy, entry(1, 3.0, 10.0, 8, 32), entry(2, 8.0, 12.0, 8, 32))
    Embedder(export_copy, budget=Budget(latency_ms=1e4, **SHAPE), measure_seconds=0.2)
    data = json.loads(path.read_text())
    keys = {(e["depth"], e["batch_size"], e["seq_len"]) for e in data["entries"]}
    assert keys == {(1, 8, 32), (2, 8, 32), (1, 4, 16), (2, 4, 16)}
    assert data["measured_by"] == "ese-bench profile + ese.runtime brief self-measurement"
    kept = [e for e in data["entries"] if e["batch_size"] == 8]
    assert {e["latency_ms_p90"] for e in kept} == {3.0, 8.0}


def test_no_profile_and_no_measuring_is_an_error(export_copy: Path) -> None:
    with pytest.raises(ProfileError, match=r"ese-bench profile .* --batch 4 --seq 16"):
        Embedder(export_copy, budget=Budget(latency_ms=5.0, **SHAPE), measure=False)


def test_a_broken_profile_is_ignored_with_a_warning(export_copy: Path) -> None:
    path = profile_path(export_copy, device_id())
    path.parent.mkdir(parents=True)
    path.write_text("[not a profile")
    with pytest.warns(UserWarning, match=r"ignoring unreadable profile"):
        emb = Embedder(export_copy, budget=Budget(latency_ms=1e4, **SHAPE), measure_seconds=0.2)
    assert "measured now" in emb.choice.profile
    assert DeviceProfile.from_dict(json.loads(path.read_text())).entries


def test_seq_len_beyond_the_model_is_measured_at_its_maximum(export_copy: Path) -> None:
    emb = Embedder(
        export_copy, budget=Budget(latency_ms=1e4, batch_size=2, seq_len=512), measure_seconds=0.2
    )
    assert "seq_len 512 capped at the model's 48" in emb.choice.profile
    assert emb.choice.budget.seq_len == 48
    data = json.loads(profile_path(export_copy, device_id()).read_text())
    assert {e["seq_len"] for e in data["entries"]} == {48}


def test_no_speed_bound_needs_no_profile(export_copy: Path) -> None:
    emb = Embedder(export_copy, budget=Budget(max_dims=8), measure=False)
    assert emb.dims == 8 and "none needed" in emb.choice.profile
    assert not (export_copy / "profiles").exists()


def test_threads_are_part_of_the_device_id(export_copy: Path) -> None:
    Embedder(
        export_copy,
        budget=Budget(latency_ms=1e4, **SHAPE),
        intra_op_threads=1,
        measure_seconds=0.2,
    )
    assert (export_copy / "profiles" / f"{this_device(CPU, 1).device_id()}.json").is_file()
    assert this_device(CPU, 1).device_id().endswith("-1t-cpu")


@pytest.mark.parametrize("seconds", [0, -1.0, float("nan"), float("inf")])
def test_measure_seconds_must_be_positive(tiny_export: Path, seconds: float) -> None:
    with pytest.raises(ValueError, match="measure_seconds"):
        Embedder(tiny_export, measure_seconds=seconds)


def test_a_thin_cached_entry_is_measured_again_and_replaced(export_copy: Path) -> None:
    """A profile entry resting on one timed run was cached for good: its p90 was one run."""
    thin = replace(entry(1, p90=0.001, memory=1.0), runs=1)
    full = entry(2, p90=0.002, memory=1.0)  # 100 runs: kept as it is
    bench_profile(export_copy, thin, full)
    budget = Budget(latency_ms=10_000, memory_mb=10_000, **SHAPE)

    offline = Embedder(export_copy, budget=budget, depth=1, measure=False)
    assert offline.choice.latency_ms == 0.001  # used when measuring is off, and said to be thin
    assert "thin: depth 1 measured from fewer than 3 timed runs" in offline.choice.profile

    # A time share that no load can cut below 3 timed runs (the measurement stops at 50 runs of
    # this tiny graph): the test asserts what the cache keeps, not how fast the machine is.
    emb = Embedder(export_copy, budget=budget, measure_seconds=60)
    assert "measured now by ese.runtime: 1 graph(s)" in emb.choice.profile
    data = json.loads(profile_path(export_copy, device_id()).read_text())
    runs = {e["depth"]: (e["runs"], e["latency_ms_p90"]) for e in data["entries"]}
    assert runs[1][0] >= 3 and runs[1][1] != 0.001
    assert runs[2] == (100, 0.002)
    assert "thin" not in Embedder(export_copy, budget=budget, measure=False).choice.profile


def test_a_fuller_cached_entry_is_not_replaced_by_a_thinner_one(export_copy: Path) -> None:
    from ese.runtime.choice.profile_cache import merge_entries

    cached = DeviceProfile(
        device_id=device_id(),
        device={"provider": CPU},
        entries=(entry(1, p90=2.0, memory=1.0),),
        measured_by="ese-bench profile",
        created="2026-01-01T00:00:00+00:00",
    )
    thinner = replace(entry(1, p90=9.0, memory=1.0), runs=2)
    merged = merge_entries(cached, [thinner], device_id(), this_device(CPU))
    assert [(e.runs, e.latency_ms_p90) for e in merged.entries] == [(100, 2.0)]
    fuller = replace(entry(1, p90=3.0, memory=1.0), runs=200)
    merged = merge_entries(cached, [fuller], device_id(), this_device(CPU))
    assert [(e.runs, e.latency_ms_p90) for e in merged.entries] == [(200, 3.0)]


def test_measuring_the_device_is_one_explicit_step_taken_only_without_a_profile(
    export_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Embedder measures through ``measure_device`` (the real one, counted) when its
    profile lacks the budget's shape, and says so; with a full profile it measures nothing."""
    from ese.runtime import embedder

    calls: list[int] = []
    real = embedder.measure_device

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(len(args[1]))  # type: ignore[arg-type]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(embedder, "measure_device", counted)
    budget = Budget(latency_ms=10_000, memory_mb=10_000, **SHAPE)
    first = Embedder(export_copy, budget=budget, measure_seconds=0.2)
    assert calls == [2] and "measured now by ese.runtime: 2 graph(s)" in first.choice.profile
    bench_profile(export_copy, entry(1, 2.0, 50.0), entry(2, 4.0, 60.0))  # full: 100 runs each
    second = Embedder(export_copy, budget=budget)
    assert calls == [2] and "measured now" not in second.choice.profile
    assert second.choice.profile.startswith(f"profiles/{device_id()}.json (ese-bench profile)")
