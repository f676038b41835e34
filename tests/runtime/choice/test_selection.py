"""The (depth, dims, precision) choice as a table: a pure function of manifest, profile, budget."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest

from ese.format.errors import ProfileError
from ese.format.manifest import FileEntry, GraphEntry, Parity
from ese.format.profile import ProfileEntry
from ese.runtime import Budget, Precision
from ese.runtime.choice.select import dims_candidates, select
from ese.runtime.errors import BudgetError

FP32, INT8 = Precision.FP32, Precision.INT8
SHA = "0" * 64
SHAPE = {"batch_size": 8, "seq_len": 64}


def graph(
    depth: int,
    precision: Precision = FP32,
    dims: int = 384,
    stsb: Mapping[int, float] | None = None,
) -> GraphEntry:
    suffix = "" if precision is FP32 else f".{precision.value}"
    return GraphEntry(
        depth=depth,
        precision=precision,
        file=FileEntry(path=f"graphs/depth-{depth:02d}{suffix}.onnx", sha256=SHA, bytes=1),
        external_data=(),
        opset=17,
        dims=dims,
        parity=Parity(max_abs_diff=0.0, min_cosine=1.0, probes=1, tolerance=1e-4),
        quality={"stsb": dict(stsb)} if stsb else {},
    )


def entry(depth: int, p90: float, memory: float, precision: Precision = FP32) -> ProfileEntry:
    return ProfileEntry(
        depth=depth,
        precision=precision,
        batch_size=8,
        seq_len=64,
        latency_ms_p50=p90 * 0.8,
        latency_ms_p90=p90,
        latency_ms_p99=p90 * 1.3,
        sentences_per_s=1.0,
        tokens_per_s=1.0,
        peak_memory_mb=memory,
        runs=10,
    )


# Three depths of a 6-layer model, 384 wide. Quality measured (STS-B x 100) per width.
MEASURED = [
    graph(2, stsb={32: 70.0, 64: 74.0, 128: 76.0, 256: 77.0, 384: 77.5}),
    graph(4, stsb={32: 73.0, 64: 78.0, 128: 80.0, 256: 81.0, 384: 81.5}),
    graph(6, stsb={32: 74.0, 64: 79.0, 128: 81.2, 256: 82.0, 384: 82.0}),
]
UNMEASURED = [graph(2), graph(4), graph(6)]
PROFILE = {
    (2, FP32): entry(2, p90=2.0, memory=60.0),
    (4, FP32): entry(4, p90=4.0, memory=75.0),
    (6, FP32): entry(6, p90=6.0, memory=90.0),
}

# (case, graphs, budget, expected (depth, dims, precision))
TABLE = [
    ("7: no budget, measured -> best quality at full width", MEASURED, None, (6, 384, FP32)),
    ("7: no budget, unmeasured -> deepest at full width", UNMEASURED, None, (6, 384, FP32)),
    ("3: latency bound drops depth 6", MEASURED, Budget(latency_ms=5.0, **SHAPE), (4, 384, FP32)),
    ("3: latency bound is inclusive", MEASURED, Budget(latency_ms=6.0, **SHAPE), (6, 384, FP32)),
    ("3: memory bound", MEASURED, Budget(memory_mb=70.0, **SHAPE), (2, 384, FP32)),
    ("1: max_dims caps the width", MEASURED, Budget(max_dims=128), (6, 128, FP32)),
    (
        "1: max_vector_bytes caps the width (4 bytes per dim)",
        MEASURED,
        Budget(max_vector_bytes=256),
        (6, 64, FP32),
    ),
    (
        "1: the cap is the width, measured or not; depth by size",
        MEASURED,
        Budget(max_dims=100),
        (6, 100, FP32),
    ),
    (
        "1: unmeasured: the cap itself is a width, kept even",
        UNMEASURED,
        Budget(max_dims=101),
        (6, 100, FP32),
    ),
    (
        "4: quality floor: the narrowest width that passes, within latency",
        MEASURED,
        Budget(min_quality=80.0, latency_ms=4.5, **SHAPE),
        (4, 128, FP32),
    ),
    (
        "4: quality floor: narrowest width first, then the better depth",
        MEASURED,
        Budget(min_quality=80.0),
        (6, 128, FP32),
    ),
    (
        "5: equal quality -> lower latency",
        [graph(2, stsb={384: 80.0}), graph(4, stsb={384: 80.0})],
        None,
        (2, 384, FP32),
    ),
    (
        "all bounds at once",
        MEASURED,
        Budget(latency_ms=4.0, memory_mb=80.0, max_dims=64, min_quality=70.0, **SHAPE),
        (4, 32, FP32),
    ),
    (
        "4: unmeasured: fp32 above int8 at the same depth",
        [graph(6), graph(6, INT8)],
        None,
        (6, 384, FP32),
    ),
    (
        "4: measured int8 deeper beats fp32 shallower within latency",
        [graph(4, stsb={384: 80.0}), graph(6, INT8, stsb={384: 81.5}), graph(6, stsb={384: 82.0})],
        Budget(latency_ms=4.0, **SHAPE),
        (6, 384, INT8),
    ),
    (
        "narrow graphs: ladder stops at the graph width",
        [graph(1, dims=32), graph(2, dims=32)],
        None,
        (2, 32, FP32),
    ),
]


@pytest.mark.parametrize(("case", "graphs", "budget", "expected"), TABLE, ids=[t[0] for t in TABLE])
def test_select_table(
    case: str, graphs: list[GraphEntry], budget: Budget | None, expected: tuple[int, int, Precision]
) -> None:
    profile = {
        **PROFILE,
        (6, INT8): entry(6, p90=3.5, memory=40.0, precision=INT8),
    }
    choice = select(graphs, profile, budget)
    assert (choice.depth, choice.dims, choice.precision) == expected, case


def test_choice_carries_its_figures_and_reason() -> None:
    choice = select(MEASURED, PROFILE, Budget(latency_ms=5.0, **SHAPE), profile="profiles/x.json")
    assert (choice.latency_ms, choice.memory_mb, choice.quality) == (4.0, 75.0, 81.5)
    assert choice.profile == "profiles/x.json"
    assert "highest measured stsb quality" in choice.reason
    assert choice.considered == 3 and choice.fitting == 2
    text = choice.explain()
    for needle in ("depth 4", "384 of 384", "4.00 ms", "75.0 MB", "81.50", "profiles/x.json"):
        assert needle in text


def test_percentile_picks_the_measured_figure() -> None:
    budget = Budget(latency_ms=5.0, percentile="p50", **SHAPE)  # p50 of depth 6 is 4.8
    assert select(MEASURED, PROFILE, budget).depth == 6
    assert select(MEASURED, PROFILE, Budget(latency_ms=5.0, percentile="p99", **SHAPE)).depth == 2


def test_nothing_fits_names_the_closest_pair_and_its_figures() -> None:
    with pytest.raises(BudgetError) as info:
        select(MEASURED, PROFILE, Budget(latency_ms=1.5, memory_mb=200.0, **SHAPE))
    message = str(info.value)
    assert "Closest: depth 2 x 384 dims (fp32)" in message
    assert "latency p90 2.00 ms" in message and "memory 60.0 MB" in message
    assert "breaks latency" in message
    assert "latency bound of at least 2.00 ms" in message


def test_nothing_fits_on_quality_says_what_to_measure() -> None:
    with pytest.raises(BudgetError, match="measured quality"):
        select(UNMEASURED, PROFILE, Budget(min_quality=50.0))
    with pytest.raises(BudgetError, match=r"quality floor of at most 82\.00"):
        select(MEASURED, PROFILE, Budget(min_quality=90.0))


def test_closest_is_the_smallest_overshoot_across_bounds() -> None:
    # depth 2 overshoots memory by 1.2x; depth 4 overshoots latency by 1.33x and memory 1.5x
    with pytest.raises(BudgetError, match="Closest: depth 2 x 384"):
        select(MEASURED, PROFILE, Budget(latency_ms=3.0, memory_mb=50.0, **SHAPE))


def test_a_speed_bound_without_a_measurement_is_refused() -> None:
    with pytest.raises(ProfileError, match="depth 6"):
        select(MEASURED, {k: v for k, v in PROFILE.items() if k[0] != 6}, Budget(latency_ms=9.0))


def test_no_measurement_needed_without_speed_or_memory_bounds() -> None:
    choice = select(MEASURED, {}, Budget(max_dims=32, min_quality=72.0))
    assert (choice.depth, choice.dims) == (6, 32)
    assert choice.latency_ms is None and choice.memory_mb is None


def test_precision_restriction_and_missing_precision() -> None:
    graphs = [graph(6), graph(6, INT8)]
    assert select(graphs, {}, None, precisions={INT8}).precision is INT8
    with pytest.raises(BudgetError, match=r"no graph at precision fp16.*it has: fp32, int8"):
        select(graphs, {}, None, precisions={Precision.FP16})
    with pytest.raises(BudgetError, match=r"it has no graph to choose from; export one"):
        select([], {}, None, precisions={Precision.FP16})


FLOOR = Budget(min_quality=1.0)


@pytest.mark.parametrize(
    ("dims", "stsb", "budget", "expected"),
    [
        (384, None, Budget(), (384,)),
        (384, {48: 1.0, 384: 2.0}, Budget(), (384,)),
        (384, None, Budget(max_dims=64), (64,)),
        (384, None, Budget(max_dims=65), (64,)),
        (384, None, Budget(max_dims=1), (1,)),
        (384, None, Budget(max_dims=1000), (384,)),
        (384, None, FLOOR, (32, 64, 128, 256, 384)),
        (384, None, Budget(max_dims=64, min_quality=1.0), (32, 64)),
        (384, None, Budget(max_dims=65, min_quality=1.0), (32, 64)),
        (384, None, Budget(max_dims=48, min_quality=1.0), (32, 48)),
        (384, {48: 1.0, 384: 2.0}, FLOOR, (32, 48, 64, 128, 256, 384)),
        (100, None, FLOOR, (32, 64, 100)),
        (16, None, FLOOR, (16,)),
    ],
)
def test_dims_candidates(
    dims: int, stsb: dict[int, float] | None, budget: Budget, expected: tuple[int, ...]
) -> None:
    assert dims_candidates(graph(6, dims=dims, stsb=stsb), budget) == expected


def test_widths_are_even_under_odd_caps() -> None:
    for cap in range(2, 400, 7):
        for budget in (Budget(max_dims=cap), Budget(max_dims=cap, min_quality=1.0)):
            assert all(d % 2 == 0 for d in dims_candidates(graph(6), budget))


def test_select_is_pure() -> None:
    budget = Budget(latency_ms=5.0, **SHAPE)
    first = select(MEASURED, PROFILE, budget)
    assert select(MEASURED, PROFILE, budget) == first
    assert not math.isnan(first.latency_ms or 0.0)


# A grid as the probe measures it: the widths differ by less than its noise, and a narrower
# width happens to score highest.
NOISY = [
    graph(4, stsb={32: 92.5, 64: 92.6, 128: 92.8, 256: 92.7, 384: 92.6}),
    graph(6, stsb={32: 92.6, 64: 92.7, 128: 92.9, 256: 92.8, 384: 92.7}),
]


def test_no_budget_gives_the_full_width_whatever_the_grid_says() -> None:
    choice = select(NOISY, {}, None)
    assert (choice.depth, choice.dims, choice.quality) == (6, 384, 92.7)
    assert "the full 384 dims: no bound of the budget asks for fewer" in choice.reason
    # A new measurement of the grid moves the narrow widths; the width stays.
    remeasured = [graph(6, stsb={64: 93.5, 128: 93.1, 256: 92.9, 384: 92.7})]
    assert select(remeasured, {}, None).dims == 384


def test_only_a_bound_narrows_and_the_reason_says_which() -> None:
    capped = select(NOISY, {}, Budget(max_dims=200))
    assert (capped.depth, capped.dims) == (6, 200)
    assert "200 of 384 dims: the widest the vector-size bound allows" in capped.reason
    floored = select(NOISY, {}, Budget(min_quality=92.75))
    assert (floored.depth, floored.dims) == (6, 128)
    assert "the narrowest width whose measured stsb quality meets the floor 92.75" in (
        floored.reason
    )
