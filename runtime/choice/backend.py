"""Which backend runs the chosen graph: the requested one, or one of those the registry adds.

The selection (:func:`.selection.select`) picks (depth, dims, precision) on one backend; this
module says which backends compete and picks among their choices, as a pure function. It asks
the registry (``backends/registry.py``) and names no backend; each backend's folder says what
its entries answer.

1. Candidates (:func:`backend_candidates`): a backend family's name brings in the backends of
   that family this machine can run; ``auto`` adds, after the request, the installed
   backends that join it. A named provider other than these competes alone.
2. The best quality wins (the selection's own ranking without latency): a backend is never
   chosen for speed at the cost of quality. A backend with a stand-in gate (one that runs
   another precision's graph) counts as that graph's quality only when its parity gate
   passed on this device (the Embedder asks it, ``Embedder._compare_backends``).
3. Among equal quality, the lowest measured latency at the budget's shape wins.
4. When a latency is missing (nothing measured and the budget did not ask for a measurement),
   the earlier backend of the preference order wins.

Under ``auto`` only the requested backend is measured on the spot; the backends that join it
compete with the profiles this device already has for them (written by an Embedder that
named them with a budget, or by ``ese-bench``). So ``auto`` never compiles a model on another
backend just to find out, and such a backend is chosen only when its measured profile says it
is faster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ese.runtime.backends import providers as prov
from ese.runtime.backends import registry
from ese.runtime.backends.registry import Backend
from ese.runtime.choice.chosen import Choice
from ese.runtime.choice.select import rank_key

Option = tuple[list[str], Choice]


def backend_candidates(
    requested: Sequence[str], *, auto: bool, bf16: bool | None = None, installed: bool | None = None
) -> list[list[str]]:
    """The provider lists that compete, in preference order (case 1), asked of the registry.

    A one-name request that is a backend family brings in the family's backends this machine
    can run; under ``auto`` the installed backends that join the request compete after it.
    ``bf16`` (whether the CPU has the feature a backend needs) and ``installed`` (whether its
    package is there) override what the backends find on this machine.
    """

    def can_run(backend: Backend) -> bool:
        if bf16 is None or not backend.needs_cpu_feature:
            return backend.machine_can()
        return bf16

    def usable(backend: Backend) -> bool:
        return (backend.installed() if installed is None else installed) and can_run(backend)

    asked = list(requested)
    family = [[b.provider] for b in registry.BACKENDS if len(asked) == 1 and b.family == asked[0]]
    if family:  # a missing package is refused when the runner opens, naming what to install
        return [[b.provider] for b in registry.BACKENDS if b.family == asked[0] and can_run(b)]
    if auto and asked:  # auto's own list: the backends joining its first provider compete
        joining = [
            [b.provider] for b in registry.BACKENDS if asked[0] in b.joins_auto_with and usable(b)
        ]
        return [asked, *joining]
    return [asked]


def fastest_backend(options: Sequence[Option]) -> Option:
    """The option of best quality, then lowest latency, then earliest (cases 2 to 4)."""
    if not options:
        raise ValueError("no backend option to choose from")
    best = min(_quality_key(c) for _, c in options)
    equals = [(p, c) for p, c in options if _quality_key(c) == best]
    if any(c.latency_ms is None for _, c in equals):
        return equals[0]
    return min(equals, key=lambda o: o[1].latency_ms or 0.0)


def with_backend_note(option: Option, others: Sequence[Option]) -> Choice:
    """The winning choice, its provider set and a reason naming the backends it beat."""
    providers, choice = option
    beaten = [
        f"{prov.short_name(p[0])} (depth {c.depth} x {c.dims}, {c.precision.value}: "
        + (f"{c.latency_ms:.2f} ms)" if c.latency_ms is not None else "unmeasured)")
        for p, c in others
        if p != providers
    ]
    if not beaten:
        return replace(choice, provider=providers[0])
    note = f"; backend {prov.short_name(providers[0])} over {', '.join(beaten)}"
    return replace(choice, provider=providers[0], reason=choice.reason + note)


def _quality_key(c: Choice) -> tuple[float, ...]:
    narrowest_first = c.budget.min_quality is not None
    return rank_key(replace(c, latency_ms=None, memory_mb=None), narrowest_first=narrowest_first)
