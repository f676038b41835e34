"""One markdown table per (depth, dims) from several training cards' STS-B dev evaluations.

Costs nothing to run (the dev scores were measured during training), so it is the cheap way to
compare ESE, ESE --reference and the Matryoshka2d peer trained with the same data and steps::

    python -m ese.studies.training.card_table ese=models/a ref=models/b peer=models/c [--base NAME]

With ``--base NAME`` each cell also shows the difference to that model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ese.format.errors import UserError
from ese.training.card import CARD_JSON, CardSummary, read_card
from ese.training.evaluate import Grid


def final_dev_grid(model_dir: Path) -> tuple[Grid, CardSummary]:
    card = read_card(model_dir)  # every field used here checked, UserError otherwise
    if not card.dev_evaluations:
        raise UserError(f"{model_dir / CARD_JSON} has no dev evaluation (the run had no --dev)")
    return card.dev_evaluations[-1][1], card


def table(grids: dict[str, Grid], cards: dict[str, CardSummary], base: str | None) -> str:
    widths = sorted({w for g in grids.values() for row in g.values() for w in row}, reverse=True)
    depths = sorted({d for g in grids.values() for d in g})
    lines = ["| depth | model | " + " | ".join(f"{w}" for w in widths) + " |"]
    lines.append("|---|---|" + "---|" * len(widths))
    for depth in depths:
        for name, grid in grids.items():
            cells = []
            for w in widths:
                value = grid.get(depth, {}).get(w)
                cell = "" if value is None else f"{value:.2f}"
                if base and name != base and value is not None:
                    cell += f" ({value - grids[base][depth][w]:+.2f})"
                cells.append(cell)
            lines.append(f"| {depth} | {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| model | method | steps | epochs | seed | minutes |",
        "|---|---|---|---|---|---|",
    ]
    for name, card in cards.items():
        lines.append(
            f"| {name} | {card.method} | {card.steps} | {card.epochs:.2f} | "
            f"{card.seed} | {card.seconds / 60:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m ese.studies.training.card_table", description=__doc__
    )
    p.add_argument("models", nargs="+", metavar="NAME=DIR")
    p.add_argument("--base", help="show differences to this model")
    args = p.parse_args(argv)
    grids: dict[str, Grid] = {}
    cards: dict[str, CardSummary] = {}
    try:
        for spec in args.models:
            name, _, path = spec.partition("=")
            grids[name], cards[name] = final_dev_grid(Path(path))
        if args.base and args.base not in grids:
            raise UserError(f"--base {args.base} is not one of {list(grids)}")
    except UserError as exc:
        print(f"card_table: error: {exc}", file=sys.stderr)
        return 2
    print("STS-B dev, Spearman x 100, raw dimension order (final evaluation of each run)\n")
    print(table(grids, cards, args.base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
