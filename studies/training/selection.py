"""Choose a training recipe by a rule fixed in advance, on data that no final score uses.

Each ``--model NAME=DIR`` is one trained run; runs sharing a NAME are seeds of one candidate
recipe and are averaged. Two signals, neither of them STS-B test:

- STS-B dev, Spearman x 100, from each run's training card (measured during training);
- SNLI triplet accuracy x 100 on the triplets *after* the first ``--triplet-skip`` (2000), which
  ``ese.studies.training.compare`` keeps for the final held-out check;
- with ``--scifact`` (the retrieval target), SciFact nDCG@10 x 100 on ``qrels/train.tsv`` at
  ``--scifact-dims`` (retrieval.py; ``qrels/test.tsv`` stays the final check), for every run
  and for ``--retrieval-base DIR`` (the base model), scored the same way.

The rule: a candidate qualifies if, at the deepest depth, its mean over the widths is no more
than ``--snli-tolerance`` below the reference candidate's on SNLI and ``--dev-tolerance`` below
it on dev (the depth-6 guard: dev alone did not see depth 6 lose to a higher lr;
studies/training/RESULTS.md).
Of those that qualify, the highest mean dev score over the shallower depths and the widths wins.
With ``--scifact`` a candidate must also stay within ``--retrieval-tolerance`` of the base on
SciFact-train at the deepest depth, and the winner is the highest mean, over the shallower
depths, of (STS-B dev mean over the widths + SciFact-train nDCG@10) / 2. When no candidate
qualifies, none is chosen and the report says so::

    python -m ese.studies.training.selection --model lr1e-4=runs/a-42 --model lr1e-4=runs/a-43 \\
        --model lr2e-4=runs/b-42 --model lr2e-4=runs/b-43 --reference lr1e-4 \\
        --triplets ../shared/data/nli/snli_dev_test.triplets.tsv --out selection.md
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from ese.benchmarks.quality.datasets import DEFAULT_DATA
from ese.format.errors import UserError
from ese.studies.training.card_table import final_dev_grid
from ese.studies.training.compare import triplet_grid
from ese.studies.training.retrieval import RetrievalSplit, read_selection_split, retrieval_grid
from ese.training.card import file_sha256
from ese.training.evaluate import Grid, grid_from_json
from ese.training.loop.encoder import LayerwiseEncoder
from ese.training.readers import Triplet, read_dataset
from ese.training.run import bundled_model_path, load_model


@dataclass(frozen=True)
class Rule:
    reference: str
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    snli_tolerance: float = 0.5
    dev_tolerance: float = 0.3
    retrieval_tolerance: float = 1.0
    retrieval_widths: tuple[int, ...] = (384,)

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
    deep_retrieval: float | None = None
    shallow_retrieval: float | None = None

    @property
    def shallow_score(self) -> float:
        """What the winner is chosen by: dev, or the mean of dev and retrieval."""
        if self.shallow_retrieval is None:
            return self.shallow_dev
        return (self.shallow_dev + self.shallow_retrieval) / 2


def mean_grid(grids: list[Grid]) -> Grid:
    return {d: {w: statistics.fmean(g[d][w] for g in grids) for w in grids[0][d]} for d in grids[0]}


def cell_mean(grid: Grid, depths: tuple[int, ...], widths: tuple[int, ...]) -> float:
    return statistics.fmean(grid[d][w] for d in depths for w in widths)


@dataclass(frozen=True)
class RetrievalScores:
    """SciFact-train grids per candidate, and the base model's, for the retrieval guard."""

    runs: dict[str, Grid]
    base: Grid


def judge(
    dev: dict[str, Grid],
    snli: dict[str, Grid],
    seeds: dict[str, int],
    rule: Rule,
    retrieval: RetrievalScores | None = None,
) -> tuple[list[Verdict], Verdict | None]:
    """Each candidate's verdict, and the winner (None when no candidate qualifies)."""
    if rule.reference not in dev:
        raise UserError(f"--reference {rule.reference} is not one of {list(dev)}")
    deep = (rule.deep,)
    ref_dev = cell_mean(dev[rule.reference], deep, rule.widths)
    ref_snli = cell_mean(snli[rule.reference], deep, rule.widths)
    verdicts = []
    for name in dev:
        deep_dev = cell_mean(dev[name], deep, rule.widths)
        deep_snli = cell_mean(snli[name], deep, rule.widths)
        qualifies = (
            deep_snli >= ref_snli - rule.snli_tolerance and deep_dev >= ref_dev - rule.dev_tolerance
        )
        deep_retrieval = shallow_retrieval = None
        if retrieval is not None:
            widths = rule.retrieval_widths
            deep_retrieval = cell_mean(retrieval.runs[name], deep, widths)
            shallow_retrieval = cell_mean(retrieval.runs[name], rule.shallow, widths)
            base = cell_mean(retrieval.base, deep, widths)
            qualifies = qualifies and deep_retrieval >= base - rule.retrieval_tolerance
        verdicts.append(
            Verdict(
                name=name,
                seeds=seeds[name],
                shallow_dev=cell_mean(dev[name], rule.shallow, rule.widths),
                deep_dev=deep_dev,
                deep_snli=deep_snli,
                qualifies=qualifies,
                deep_retrieval=deep_retrieval,
                shallow_retrieval=shallow_retrieval,
            )
        )
    qualified = [v for v in verdicts if v.qualifies]
    winner = max(qualified, key=lambda v: v.shallow_score) if qualified else None
    return verdicts, winner


def report(
    dev: dict[str, Grid],
    snli: dict[str, Grid],
    verdicts: list[Verdict],
    winner: Verdict | None,
    rule: Rule,
    retrieval: RetrievalScores | None = None,
) -> str:
    shallow = ",".join(map(str, rule.shallow))
    scifact = retrieval is not None
    head = (
        f"| candidate | seeds | dev depths {shallow} | dev depth {rule.deep} | "
        f"SNLI-sel depth {rule.deep} |"
    )
    if scifact:
        head += f" SciFact-train depths {shallow} | SciFact-train depth {rule.deep} | score |"
    lines = [
        f"# Recipe selection (reference {rule.reference}; means over seeds)",
        "",
        head + " qualifies |",
        "|---|" + "---|" * (head.count("|") - 1),
    ]
    for v in verdicts:
        mark = " **chosen**" if v is winner else ""
        row = (
            f"| {v.name}{mark} | {v.seeds} | {v.shallow_dev:.2f} | {v.deep_dev:.2f} | "
            f"{v.deep_snli:.2f} |"
        )
        if scifact:
            row += f" {v.shallow_retrieval:.2f} | {v.deep_retrieval:.2f} | {v.shallow_score:.2f} |"
        lines.append(row + f" {'yes' if v.qualifies else 'no'} |")
    rule_text = (
        f"Rule: depth {rule.deep} (mean over {list(rule.widths)} dims) no more than "
        f"{rule.snli_tolerance} below {rule.reference} on SNLI-selection and "
        f"{rule.dev_tolerance} below it on STS-B dev"
    )
    if retrieval is not None:
        base = cell_mean(retrieval.base, (rule.deep,), rule.retrieval_widths)
        rule_text += (
            f", and SciFact-train nDCG@10 at {list(rule.retrieval_widths)} dims no more than "
            f"{rule.retrieval_tolerance} below the base model's {base:.2f}; then the highest "
            f"mean over depths {shallow} of (STS-B dev mean over the widths + SciFact-train "
            "nDCG@10) / 2."
        )
    else:
        rule_text += f"; then the highest STS-B dev mean over depths {shallow} x widths."
    lines += ["", rule_text, ""]
    if winner is None:
        lines += ["**No candidate qualifies**: none is chosen.", ""]
    tables = [("STS-B dev", dev, rule.widths), ("SNLI selection split", snli, rule.widths)]
    if retrieval is not None:
        runs = {"base": retrieval.base, **retrieval.runs}
        tables.append(("SciFact train, nDCG@10", runs, rule.retrieval_widths))
    for title, grids, widths in tables:
        head = " | ".join(f"d{d}@{w}" for d in rule.depths for w in widths)
        lines += [f"### {title}", "", f"| candidate | {head} |"]
        lines.append("|---|" + "---|" * (len(rule.depths) * len(widths)))
        for name, grid in grids.items():
            cells = " | ".join(f"{grid[d][w]:.2f}" for d in rule.depths for w in widths)
            lines.append(f"| {name} | {cells} |")
        lines.append("")
    return "\n".join(lines)


SCORES = "selection_scores.json"
RETRIEVAL_SCORES = "selection_retrieval.json"


def cached_grid(
    model_dir: Path,
    name: str,
    key: dict[str, Any],
    device: str,
    score: Callable[[LayerwiseEncoder], Grid],
) -> Grid:
    """``score`` of the model in ``model_dir``, cached there (file ``name``) under ``key``."""
    cache = model_dir / name
    if cache.is_file():
        saved = json.loads(cache.read_text(encoding="utf-8"))
        if saved.get("key") == key:
            return grid_from_json(saved["grid"])
    grid = score(LayerwiseEncoder(load_model(model_dir, torch.device(device))))
    cache.write_text(json.dumps({"key": key, "grid": grid}, indent=2), encoding="utf-8")
    return grid


def snli_selection_grid(
    model_dir: Path, triplets: list[Triplet], key: dict[str, Any], rule: Rule, device: str
) -> Grid:
    """The run's SNLI-selection grid, cached in the run directory under ``key``."""

    def score(encoder: LayerwiseEncoder) -> Grid:
        return triplet_grid(encoder, triplets, rule.depths, rule.widths, None)

    return cached_grid(model_dir, SCORES, key, device, score)


def retrieval_selection_grid(
    model_dir: Path, split: RetrievalSplit, key: dict[str, Any], rule: Rule, device: str
) -> Grid:
    """The run's SciFact-train grid (retrieval.py), cached in the run directory under ``key``."""

    def score(encoder: LayerwiseEncoder) -> Grid:
        return retrieval_grid(encoder, split, rule.depths, rule.retrieval_widths)

    return cached_grid(model_dir, RETRIEVAL_SCORES, key, device, score)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    p = argparse.ArgumentParser(
        prog="python -m ese.studies.training.selection", description=__doc__
    )
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
        "--scifact",
        action="store_true",
        help="add SciFact retrieval on qrels/train.tsv to the rule",
    )
    p.add_argument("--scifact-data", type=Path, default=DEFAULT_DATA, help="holds scifact/")
    p.add_argument(
        "--scifact-corpus-limit",
        type=int,
        help="judged documents + first distractors up to this many (default: whole corpus)",
    )
    p.add_argument("--scifact-dims", default="384", help="widths scored on SciFact-train")
    p.add_argument(
        "--retrieval-base",
        type=Path,
        metavar="DIR",
        help="the base model the retrieval guard compares with (default: the bundled model)",
    )
    p.add_argument("--retrieval-tolerance", type=float, default=1.0)
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
        retrieval_tolerance=args.retrieval_tolerance,
        retrieval_widths=tuple(int(w) for w in args.scifact_dims.split(",")),
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
    found: dict[str, list[Grid]] = {}
    retrieval: RetrievalScores | None = None
    try:
        split = None
        scifact_key: dict[str, Any] = {}
        if args.scifact:
            split = read_selection_split(args.scifact_data, args.scifact_corpus_limit)
            scifact_key = {
                "split": split.name,
                "queries": len(split.retrieval.queries),
                "documents": len(split.retrieval.doc_ids),
                "depths": list(rule.depths),
                "widths": list(rule.retrieval_widths),
            }
        for spec in args.model:
            name, _, path = spec.partition("=")
            dev_grid, _ = final_dev_grid(Path(path))
            snli_grid = snli_selection_grid(Path(path), triplets, key, rule, args.device)
            runs.setdefault(name, []).append((path, dev_grid, snli_grid))
            if split is not None:
                grid = retrieval_selection_grid(Path(path), split, scifact_key, rule, args.device)
                found.setdefault(name, []).append(grid)
            print(f"scored {name} ({path})", file=sys.stderr)
        if args.score_only:
            return 0
        if split is not None:
            base_dir = args.retrieval_base or bundled_model_path()
            base = LayerwiseEncoder(load_model(base_dir, torch.device(args.device)))
            base_grid = retrieval_grid(base, split, rule.depths, rule.retrieval_widths)
            retrieval = RetrievalScores({n: mean_grid(g) for n, g in found.items()}, base_grid)
        dev = {n: mean_grid([r[1] for r in rs]) for n, rs in runs.items()}
        snli = {n: mean_grid([r[2] for r in rs]) for n, rs in runs.items()}
        seeds = {n: len(rs) for n, rs in runs.items()}
        verdicts, winner = judge(dev, snli, seeds, rule, retrieval)
    except UserError as exc:
        print(f"selection: error: {exc}", file=sys.stderr)
        return 2
    text = report(dev, snli, verdicts, winner, rule, retrieval)
    assert args.out is not None
    args.out.write_text(text)
    per_run = {
        n: [{"model": path, "dev": d, "snli_selection": s} for path, d, s in rs]
        for n, rs in runs.items()
    }
    summary = {
        "rule": asdict(rule),
        "chosen": None if winner is None else winner.name,
        "retrieval": None if retrieval is None else asdict(retrieval),
        "verdicts": [asdict(v) for v in verdicts],
        "runs": per_run,
    }
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=2))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
