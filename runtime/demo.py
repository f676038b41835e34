"""``python -m ese.runtime.demo DIR``: the runtime's choice under two budgets, and what it embeds.

Runs the export under a roomy budget (best quality), then under a tighter one (60% of the
first choice's latency at batch 1 x 32 tokens, at most 64 dims), and prints each choice
with a cosine-similarity table of a few sentences. The first run measures this device
briefly and caches the profile in DIR/profiles/.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from ese.format.errors import EseError
from ese.runtime.choice.budget import Budget
from ese.runtime.embedder import Embedder
from ese.runtime.errors import BudgetError

SENTENCES = (
    ("cat 1", "A cat is sleeping on the sofa."),
    ("cat 2", "The kitten naps on the couch."),
    ("guitar 1", "A man is playing the guitar."),
    ("guitar 2", "Someone strums a guitar on stage."),
    ("market", "Stock markets fell sharply on Monday."),
    ("cooking", "She is cooking pasta in the kitchen."),
)


class Style:
    """ANSI styling when writing to a terminal, plain text otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text

    def heat(self, value: float, text: str) -> str:
        """Background from dim (dissimilar) to bright green (similar)."""
        if not self.enabled:
            return text
        levels = (236, 238, 22, 28, 34, 40)
        index = min(len(levels) - 1, max(0, int((value + 0.1) / 1.1 * len(levels))))
        return f"\x1b[48;5;{levels[index]}m\x1b[97m{text}\x1b[0m"


def similarity_table(vectors: np.ndarray, labels: Sequence[str], style: Style) -> str:
    sims = vectors @ vectors.T
    width = max(len(label) for label in labels)
    head = " " * (width + 2) + " ".join(f"{label:>8}" for label in labels)
    rows = [style(head, "1")]
    for i, label in enumerate(labels):
        cells = [style.heat(float(sims[i, j]), f"{sims[i, j]:>8.3f}") for j in range(len(labels))]
        rows.append(f"{label:>{width}}  " + " ".join(cells))
    return "\n".join(rows)


def show(title: str, embedder: Embedder, style: Style) -> None:
    labels = [label for label, _ in SENTENCES]
    vectors = embedder.encode([text for _, text in SENTENCES])
    bar = "─" * 72
    print(style(bar, "2"))
    print(style(f" {title}", "1;36"))
    print(style(bar, "2"))
    print(embedder.choice.explain())
    print()
    print(similarity_table(vectors, labels, style))
    print()


def quality_note(task: str, measured: bool) -> str:
    """Where the quality figures that ranked the choices come from."""
    if not measured:
        return "Quality was never measured for this export, so size decides."
    if task == "stsb":
        return "Quality: STS-B test, measured by `ese-bench quality`."
    return (
        f"Quality: the {task} grid ese-export measured on its labelled probe; "
        "`ese-bench quality DIR --task stsb` adds the STS-B reference, which then ranks."
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print("usage: python -m ese.runtime.demo DIR   (DIR: an ese-export output)")
        return 0 if args and args[0] in ("-h", "--help") else 2
    style = Style(sys.stdout.isatty())
    try:
        roomy = Budget(latency_ms=10_000, batch_size=1, seq_len=32)
        best = Embedder(args[0], budget=roomy)
        show(f"A roomy budget ({roomy.describe()}): best quality", best, style)
        print(style(quality_note(best.choice.quality_task, best.choice.quality_measured), "2"))
        print()
        full_ms = best.choice.latency_ms or 0.0
        tight_ms = round(max(full_ms * 0.6, 0.01), 2)
        tight = Budget(latency_ms=tight_ms, batch_size=1, seq_len=32, max_dims=64)
        try:
            small = Embedder(args[0], budget=tight)
        except BudgetError as exc:
            print(style(f"Tight budget ({tight.describe()}): nothing fits.", "1;33"))
            print(str(exc))
            return 0
        show(f"A smaller device: {tight.describe()}", small, style)
        print(
            style(
                "Paraphrase pairs (cat 1/2, guitar 1/2) should score well above unrelated "
                "pairs; compare how much of that gap the smaller choice keeps.",
                "2",
            )
        )
    except EseError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
