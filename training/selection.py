"""Choose a training recipe by a rule fixed in advance, on data that no final score uses.

Each ``--model NAME=DIR`` is one trained run; runs sharing a NAME are seeds of one candidate
recipe and are averaged. Two signals, neither of them STS-B test:

- STS-B dev, Spearman x 100, from each run's training card (measured during training);
- SNLI triplet accuracy x 100 on the triplets *after* the first ``--triplet-skip`` (2000), which
  ``ese.training.compare`` keeps for the final held-out check.

The rule: a candidate qualifies if, at the deepest depth, its mean over the widths is no more
than ``--snli-tolerance`` below the reference candidate's on SNLI and ``--dev-tolerance`` below
it on dev (the depth-6 guard: dev alone did not see depth 6 lose to a higher lr, session 3).
Of those that qualify, the highest mean dev score over the shallower depths and the widths wins::

    python -m ese.training.selection --model lr1e-4=runs/a-42 --model lr1e-4=runs/a-43 \\
        --model lr2e-4=runs/b-42 --model lr2e-4=runs/b-43 --reference lr1e-4 \\
        --triplets ../shared/data/nli/snli_dev_test.triplets.tsv --out selection.md
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from .card import file_sha256
from .card_table import final_dev_grid
from .compare import triplet_grid
from .encoder import LayerwiseEncoder
from .errors import TrainingError
from .evaluate import Grid, grid_from_json
from .readers import Triplet, read_dataset
from .run import load_model


@dataclass(frozen=True)
class Rule:
    reference: str
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    snli_tolerance: float = 0.5
    dev_tolerance: float = 0.3

    @property
    def deep(self) -> int:
        return max(self.depths)

    @property
    def shallow(self) -> tuple[int, ...]:
        return tuple(d for d in self.depths if d < self.deep)


@dataclass(frozen=True)
class Verdict:
    name: str
    seeds: int
    shallow_dev: float
    deep_dev: float
    deep_snli: float
    qualifies: bool


def mean_grid(grids: list[Grid]) -> Grid:
    return {d: {w: statistics.fmean(g[d][w] for g in grids) for w in grids[0][d]} for d in grids[0]}


def cell_mean(grid: Grid, depths: tuple[int, ...], widths: tuple[int, ...]) -> float:
    return statistics.fmean(grid[d][w] for d in depths for w in widths)


def judge(
    dev: dict[str, Grid], snli: dict[str, Grid], seeds: dict[str, int], rule: Rule
) -> tuple[list[Verdict], Verdict]:
    """Each candidate's verdict, and the winner (the reference always qualifies)."""
    if rule.reference not in dev:
        raise TrainingError(f"--reference {rule.reference} is not one of {list(dev)}")
    deep = (rule.deep,)
    ref_dev = cell_mean(dev[rule.reference], deep, rule.widths)
    ref_snli = cell_mean(snli[rule.reference], deep, rule.widths)
    verdicts = []
    for name in dev:
        deep_dev = cell_mean(dev[name], deep, rule.widths)
        deep_snli = cell_mean(snli[name], deep, rule.widths)
        verdicts.append(
            Verdict(
                name=name,
                seeds=seeds[name],
                shallow_dev=cell_mean(dev[name], rule.shallow, rule.widths),
                deep_dev=deep_dev,
                deep_snli=deep_snli,
                qualifies=deep_snli >= ref_snli - rule.snli_tolerance
                and deep_dev >= ref_dev - rule.dev_tolerance,
            )
        )
    winner = max((v for v in verdicts if v.qualifies), key=lambda v: v.shallow_dev)
    return verdicts, winner


def report(
    dev: dict[str, Grid],
    snli: dict[str, Grid],
    verdicts: list[Verdict],
    winner: Verdict,
    rule: Rule,
) -> str:
    shallow = ",".join(map(str, rule.shallow))
    lines = [
        f"# Recipe selection (reference {rule.reference}; means over seeds)",
        "",
        f"| candidate | seeds | dev depths {shallow} | dev depth {rule.deep} | "
        f"SNLI-sel depth {rule.deep} | qualifies |",
        "|---|---|---|---|---|---|",
    ]
    for v in verdicts:
        mark = " **chosen**" if v is winner else ""
        lines.append(
            f"| {v.name}{mark} | {v.seeds} | {v.shallow_dev:.2f} | {v.deep_dev:.2f} | "
            f"{v.deep_snli:.2f} | {'yes' if v.qualifies else 'no'} |"
        )
    lines += [
        "",
        f"Rule: depth {rule.deep} (mean over {list(rule.widths)} dims) no more than "
        f"{rule.snli_tolerance} below {rule.reference} on SNLI-selection and "
        f"{rule.dev_tolerance} below it on STS-B dev; then the highest STS-B dev mean over "
        f"depths {shallow} x widths.",
        "",
    ]
    for title, grids in (("STS-B dev", dev), ("SNLI selection split", snli)):
        head = " | ".join(f"d{d}@{w}" for d in rule.depths for w in rule.widths)
        lines += [f"### {title}", "", f"| candidate | {head} |"]
        lines.append("|---|" + "---|" * (len(rule.depths) * len(rule.widths)))
        for name, grid in grids.items():
            cells = " | ".join(f"{grid[d][w]:.2f}" for d in rule.depths for w in rule.widths)
            lines.append(f"| {name} | {cells} |")
        lines.append("")
    return "\n".join(lines)


SCORES = "selection_scores.json"


def snli_selection_grid(
    model_dir: Path, triplets: list[Triplet], key: dict[str, Any], rule: Rule, device: str
) -> Grid:
    """The run's SNLI-selection grid, cached in the run directory under ``key``."""
    cache = model_dir / SCORES
    if cache.is_file():
        saved = json.loads(cache.read_text(encoding="utf-8"))
        if saved.get("key") == key:
            return grid_from_json(saved["grid"])
    encoder = LayerwiseEncoder(load_model(model_dir, torch.device(device)))
    grid = triplet_grid(encoder, triplets, rule.depths, rule.widths, None)
    cache.write_text(json.dumps({"key": key, "grid": grid}, indent=2), encoding="utf-8")
    return grid


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    p = argparse.ArgumentParser(prog="python -m ese.training.selection", description=__doc__)
    p.add_argument("--model", action="append", required=True, metavar="NAME=DIR")
    p.add_argument("--reference", required=True, help="the candidate the guard compares with")
    p.add_argument("--triplets", type=Path, required=True)
    p.add_argument("--triplet-skip", type=int, default=2000, help="leading triplets left out")
    p.add_argument("--depths", default="2,3,6")
    p.add_argument("--dims", default="384,128,64")
    p.add_argument("--snli-tolerance", type=float, default=0.5)
    p.add_argument("--dev-tolerance", type=float, default=0.3)
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--score-only",
        action="store_true",
        help=f"score each run and cache it in its directory ({SCORES}), judge nothing",
    )
    p.add_argument("--out", type=Path, help="markdown report (a .json is added)")
    args = p.parse_args(argv)
    if not args.score_only and args.out is None:
        p.error("--out is required unless --score-only")
    rule = Rule(
        reference=args.reference,
        depths=tuple(int(d) for d in args.depths.split(",")),
        widths=tuple(int(w) for w in args.dims.split(",")),
        snli_tolerance=args.snli_tolerance,
        dev_tolerance=args.dev_tolerance,
    )
    rows = read_dataset(args.triplets, "triplets").examples[args.triplet_skip :]
    triplets = [t for t in rows if isinstance(t, Triplet)]
    if not triplets:
        print(f"selection: error: no triplets after the first {args.triplet_skip}", file=sys.stderr)
        return 2
    key = {
        "triplets": file_sha256(args.triplets),
        "skip": args.triplet_skip,
        "depths": list(rule.depths),
        "widths": list(rule.widths),
    }
    runs: dict[str, list[tuple[str, Grid, Grid]]] = {}
    try:
        for spec in args.model:
            name, _, path = spec.partition("=")
            dev_grid, _ = final_dev_grid(Path(path))
            snli_grid = snli_selection_grid(Path(path), triplets, key, rule, args.device)
            runs.setdefault(name, []).append((path, dev_grid, snli_grid))
            print(f"scored {name} ({path})", file=sys.stderr)
        if args.score_only:
            return 0
        dev = {n: mean_grid([r[1] for r in rs]) for n, rs in runs.items()}
        snli = {n: mean_grid([r[2] for r in rs]) for n, rs in runs.items()}
        verdicts, winner = judge(dev, snli, {n: len(rs) for n, rs in runs.items()}, rule)
    except TrainingError as exc:
        print(f"selection: error: {exc}", file=sys.stderr)
        return 2
    text = report(dev, snli, verdicts, winner, rule)
    assert args.out is not None
    args.out.write_text(text)
    per_run = {
        n: [{"model": path, "dev": d, "snli_selection": s} for path, d, s in rs]
        for n, rs in runs.items()
    }
    summary = {
        "rule": asdict(rule),
        "chosen": winner.name,
        "verdicts": [asdict(v) for v in verdicts],
        "runs": per_run,
    }
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=2))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
