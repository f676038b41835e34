"""A tqdm progress bar with the loss, and one line per dev evaluation (used by the CLI)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm.auto import tqdm

from ese.training.loop.trainer import Callbacks, Evaluation


def _eval_line(evaluation: Evaluation) -> str:
    cells = []
    for depth, row in sorted(evaluation.grid.items()):
        widths = sorted(row, reverse=True)
        shown = [w for w in widths if w in (max(widths), 128, 64)]
        cells.append(f"d{depth} " + "/".join(f"{row[w]:.1f}" for w in shown))
    return (
        f"dev step {evaluation.step}: " + "  ".join(cells) + "  (Spearman x100 at full/128/64 dims)"
    )


@contextmanager
def progress_callbacks(enabled: bool = True) -> Iterator[Callbacks]:
    bar: tqdm | None = None

    def on_step(step: int, total: int, record: dict[str, float]) -> None:
        nonlocal bar
        if not enabled:
            return
        if bar is None:
            bar = tqdm(
                total=total, initial=step - 1, desc="ese-train", unit="step", dynamic_ncols=True
            )
        bar.update(1)
        bar.set_postfix(loss=f"{record['loss']:.4f}", lr=f"{record['lr']:.2e}", refresh=False)

    def on_eval(evaluation: Evaluation) -> None:
        tqdm.write(_eval_line(evaluation))

    def on_checkpoint(step: int, path: Path) -> None:
        if bar is not None:
            bar.set_description(f"ese-train (checkpoint {step})")

    try:
        yield Callbacks(on_step=on_step, on_eval=on_eval, on_checkpoint=on_checkpoint)
    finally:
        if bar is not None:
            bar.close()
