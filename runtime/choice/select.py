"""Choose the (depth, dims, precision) that fits a budget: a pure function, tested as a table."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

from ese.format.contract import DIMS_LADDER, Precision
from ese.format.errors import ProfileError
from ese.format.manifest import GraphEntry
from ese.format.profile import ProfileEntry
from ese.runtime.choice.budget import Budget
from ese.runtime.choice.chosen import Candidate, Choice
from ese.runtime.choice.quality_task import fallback_note, ranking_budget
from ese.runtime.errors import BudgetError

# Among graphs whose quality was never measured, higher precision ranks higher.
_FIDELITY = {Precision.FP32: 2, Precision.FP16: 1, Precision.INT8: 0, Precision.INT8_OPENVINO: 0}

Measurements = Mapping[tuple[int, Precision], ProfileEntry]


def widest_allowed(graph: GraphEntry, budget: Budget) -> int:
    """The graph's full width, or the budget's vector-size cap (rounded down to even) below it."""
    cap = budget.dims_cap
    if cap is None or cap >= graph.dims:
        return graph.dims
    return cap - cap % 2 if cap >= 2 else cap


def dims_candidates(graph: GraphEntry, budget: Budget) -> tuple[int, ...]:
    """The widths considered for one graph, narrowest first.

    Only a bound of the budget narrows a vector; measured quality never does on its own (the
    grid's differences between widths are mostly within its noise, and a width that changed
    with each new measurement would change the vectors users have indexed). So without a
    quality floor there is one width: the widest the budget allows (:func:`widest_allowed`).
    Under a quality floor (``min_quality``) the width may narrow: the widths with measured
    quality for the budget's task, the ladder (32, 64, 128, 256) and the widest allowed, all
    within it.
    """
    widest = widest_allowed(graph, budget)
    if budget.min_quality is None:
        return (widest,)
    measured = graph.quality.get(budget.quality_task, {})
    widths = {d for d in (*measured, *DIMS_LADDER) if 1 <= d <= widest}
    return tuple(sorted(widths | {widest}))


def candidates(
    graphs: Sequence[GraphEntry],
    measurements: Measurements,
    budget: Budget,
    precisions: Collection[Precision] | None = None,
) -> list[Candidate]:
    """Every (depth, dims, precision) the export offers, with its known figures."""
    out = []
    for graph in graphs:
        if precisions is not None and graph.precision not in precisions:
            continue
        measured = measurements.get(graph.key)
        if budget.bounds_speed_or_memory and measured is None:
            raise ProfileError(
                f"no measurement of depth {graph.depth} ({graph.precision.value}) at batch "
                f"{budget.batch_size} x seq {budget.seq_len} on this device, and the budget "
                f"bounds latency or memory; run `ese-bench profile` or let the runtime measure"
            )
        scores = graph.quality.get(budget.quality_task, {})
        for dims in dims_candidates(graph, budget):
            out.append(
                Candidate(
                    depth=graph.depth,
                    dims=dims,
                    precision=graph.precision,
                    graph_dims=graph.dims,
                    quality=scores.get(dims),
                    latency_ms=_latency(measured, budget) if measured else None,
                    memory_mb=measured.peak_memory_mb if measured else None,
                )
            )
    return out


def select(
    graphs: Sequence[GraphEntry],
    measurements: Measurements,
    budget: Budget | None = None,
    *,
    precisions: Collection[Precision] | None = None,
    profile: str = "none needed (the budget bounds neither latency nor memory)",
    provider: str = "",
) -> Choice:
    """The candidate of highest quality that satisfies every bound of ``budget``.

    ``measurements`` maps (depth, precision) to this device's profile entry at the budget's
    shape (batch_size x seq_len); it may be empty when the budget bounds neither latency nor
    memory. ``precisions`` restricts the graphs considered. The cases, in order:

    1. Candidates: every graph of an allowed precision, times the widths of
       :func:`dims_candidates`: the widest the budget allows (the graph's full width, or
       the vector-size cap), and under a quality floor the narrower measured and ladder
       widths too. Measured quality alone never narrows the vector.
    2. A budget that bounds latency or memory needs a measurement for every candidate graph;
       a missing one raises ``ProfileError`` (the caller measures first).
    3. A candidate fits when every bound that is set holds: latency (the budget's
       percentile) <= ``latency_ms``; measured memory <= ``memory_mb``; measured quality >=
       ``min_quality`` (a never-measured quality does not meet a floor). Width bounds are
       met by construction (case 1).
    4. Among fitting candidates, those with measured quality rank above those without (a
       measurement is evidence, a rank by size is a guess). Under a quality floor the
       narrowest fitting width ranks first (the floor says what is good enough, so the
       smallest vector that meets it wins), then quality; otherwise measured ones rank by
       quality, higher first. Unmeasured ones rank by depth, then width, then precision
       (fp32 > fp16 > int8), larger first.
    5. Ties (equal quality) go to the lower latency, then the narrower vector, then the
       shallower graph: the cheaper of two equals.
    6. Nothing fits: ``BudgetError`` naming the closest candidate (the one whose worst
       bound is overshot by the smallest factor) with its figures, and which bound to
       loosen.
    7. No budget (None): every graph at its full width fits, so the result is the best
       measured quality among depths and precisions, or the deepest graph when nothing
       was measured.

    Quality is the budget's ``quality_task``; when no graph has it and no floor is set, the
    export's own probe grid stands in, and the reason says so (``quality_task``).
    """
    asked = budget or Budget()
    budget = ranking_budget(graphs, asked)
    pool = candidates(graphs, measurements, budget, precisions)
    if not pool:
        have = ", ".join(sorted({g.precision.value for g in graphs}))
        wanted = ", ".join(sorted(p.value for p in precisions or ()))
        offers = (
            f"it has: {have}. Pass one of those as precision=, or export that precision"
            if have
            else "it has no graph to choose from; export one (ese-export, ese-variants)"
        )
        raise BudgetError(f"the export has no graph at precision {wanted or '(any)'}; {offers}")
    fitting = [c for c in pool if not violations(c, budget)]
    if not fitting:
        raise BudgetError(no_fit_message(pool, budget))
    narrowest_first = budget.min_quality is not None
    winner = min(fitting, key=lambda c: rank_key(c, narrowest_first=narrowest_first))
    return Choice.of(
        winner,
        budget,
        profile=profile,
        reason=_reason(winner, budget) + fallback_note(asked, budget),
        considered=len(pool),
        fitting=len(fitting),
        provider=provider,
    )


def rank_key(c: Candidate, *, narrowest_first: bool = False) -> tuple[float, ...]:
    """Sort key, best first (cases 4 and 5); ``narrowest_first`` under a quality floor."""
    latency = c.latency_ms if c.latency_ms is not None else 0.0
    if c.quality is not None:
        return (0, c.dims if narrowest_first else 0, -c.quality, latency, c.dims, c.depth)
    return (1, 0, -c.depth, -c.dims, -_FIDELITY[c.precision], latency)


def violations(c: Candidate, budget: Budget) -> dict[str, float]:
    """Each broken bound with its overshoot factor (> 1; inf for an unmeasured quality)."""
    out: dict[str, float] = {}
    if (
        budget.latency_ms is not None
        and c.latency_ms is not None
        and (c.latency_ms > budget.latency_ms)
    ):
        out["latency"] = c.latency_ms / budget.latency_ms
    if (
        budget.memory_mb is not None
        and c.memory_mb is not None
        and (c.memory_mb > budget.memory_mb)
    ):
        out["memory"] = c.memory_mb / budget.memory_mb
    if budget.min_quality is not None:
        if c.quality is None:
            out["quality"] = math.inf
        elif c.quality < budget.min_quality:
            out["quality"] = _shortfall(c.quality, budget.min_quality)
    return out


def no_fit_message(pool: Sequence[Candidate], budget: Budget) -> str:
    closest = min(pool, key=lambda c: (max(violations(c, budget).values()), rank_key(c)))
    broken = violations(closest, budget)
    fixes = []
    if "latency" in broken and closest.latency_ms is not None:
        fixes.append(f"a latency bound of at least {closest.latency_ms:.2f} ms")
    if "memory" in broken and closest.memory_mb is not None:
        fixes.append(f"a memory bound of at least {closest.memory_mb:.1f} MB")
    if "quality" in broken:
        fixes.append(
            f"a quality floor of at most {closest.quality:.2f}"
            if closest.quality is not None
            else "measured quality (`ese-bench quality`) or no quality floor"
        )
    return (
        f"no (depth, dims) of this export fits the budget ({budget.describe()}); "
        f"{len(pool)} candidates considered. Closest: {closest.label}: "
        f"{closest.figures(budget)}; it breaks {', '.join(sorted(broken))}. "
        f"It would fit with {' and '.join(fixes)}; otherwise export shallower depths, "
        "a smaller batch or sequence length, or a faster device"
    )


def _reason(c: Candidate, budget: Budget) -> str:
    bounded = budget.describe() != "no bounds"
    scope = "that fits every bound" if bounded else "(no budget given)"
    if c.quality is not None:
        rank = f"highest measured {budget.quality_task} quality {scope}"
    else:
        rank = f"deepest {scope}; quality was never measured, so size decides"
    return f"{rank}; {_width_reason(c, budget)}"


def _width_reason(c: Candidate, budget: Budget) -> str:
    """Why the vector has ``c.dims`` dimensions (case 1)."""
    if budget.min_quality is not None:
        return (
            f"{c.dims} of {c.graph_dims} dims: the narrowest width whose measured "
            f"{budget.quality_task} quality meets the floor {budget.min_quality:g}"
        )
    if c.dims < c.graph_dims:
        return f"{c.dims} of {c.graph_dims} dims: the widest the vector-size bound allows"
    return f"the full {c.graph_dims} dims: no bound of the budget asks for fewer"


def _latency(entry: ProfileEntry, budget: Budget) -> float:
    return {
        "p50": entry.latency_ms_p50,
        "p90": entry.latency_ms_p90,
        "p99": entry.latency_ms_p99,
    }[budget.latency_percentile.value]


def _shortfall(quality: float, floor: float) -> float:
    """How far below a floor, as a factor comparable to the other overshoots."""
    if quality <= 0:
        return math.inf
    return floor / quality if floor > 0 else 1.0 + (floor - quality) / max(abs(floor), 1.0)
