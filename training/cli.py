"""ese-train: ESE fine-tuning of a sentence-transformers / BERT-family model (see --help)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from . import recipe

T = TypeVar("T")

DESCRIPTION = """\
Fine-tune MODEL (default: the bundled all-MiniLM-L6-v2) with ESE so that its shallow layers and
leading dimensions embed well, and write a sentence-transformers model directory that
ese-export reads. --train files are STS-B scored pairs (no header) or anchor/positive/negative
triplets (with a header); the format is recognised from the first line or given with --format.
"""


def _comma_list(kind: Callable[[str], T], noun: str) -> Callable[[str], tuple[T, ...]]:
    """An argparse ``type`` for "a,b,c" lists of ``kind``."""

    def parse(text: str) -> tuple[T, ...]:
        try:
            return tuple(kind(item) for item in text.split(",") if item.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a comma-separated list of {noun}"
            ) from None

    return parse


_widths = _comma_list(int, "integers")
_scales = _comma_list(float, "numbers")


class _Defaults(argparse.HelpFormatter):
    """Shows a default only where there is one worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
            text += f" (default: {action.default})"
        return text


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ese-train",
        description=DESCRIPTION,
        formatter_class=_Defaults,
    )
    p.add_argument(
        "model", nargs="?", help="local model directory (default: bundled all-MiniLM-L6-v2)"
    )
    p.add_argument(
        "--train",
        action="append",
        required=True,
        type=Path,
        metavar="FILE",
        help="training file; repeat for several (each batch draws from one file)",
    )
    p.add_argument(
        "--format",
        action="append",
        choices=["sts", "scored", "triplets"],
        help="format of the --train files, in order (one value: all); default: detect",
    )
    p.add_argument("--dev", type=Path, help="STS-B style dev file, evaluated per depth and width")
    p.add_argument("--out", type=Path, required=True, help="output model directory")
    p.add_argument("--force", action="store_true", help="replace --out, discard an unfinished run")
    p.add_argument(
        "--method",
        choices=["ese", "matryoshka2d"],
        default="ese",
        help="ese or the peer: sentence-transformers' Matryoshka2dLoss",
    )
    p.add_argument(
        "--reference",
        action="store_true",
        help="ESE exactly as the authors' code does it (for measuring the fixes)",
    )
    p.add_argument(
        "--epochs", type=float, default=recipe.EPOCHS, help="epochs over the training files"
    )
    p.add_argument("--steps", type=int, help="optimizer steps (overrides --epochs)")
    p.add_argument("--batch-size", type=int, default=recipe.BATCH_SIZE, help="rows per step")
    p.add_argument("--lr", type=float, default=recipe.LR, help="peak learning rate (AdamW)")
    p.add_argument(
        "--layer-lr-scales",
        type=_scales,
        metavar="S1,...,SL",
        help="one factor per transformer layer on the peak lr (embeddings: layer 1's); "
        "default: every layer at --lr",
    )
    p.add_argument(
        "--warmup-ratio",
        type=float,
        default=recipe.WARMUP_RATIO,
        help="linear warm-up share, then linear decay",
    )
    p.add_argument("--k", type=int, default=recipe.K, help="compression size (learn-to-compress)")
    p.add_argument(
        "--temperature", type=float, default=recipe.TEMPERATURE, help="KL temperature of Distill"
    )
    p.add_argument(
        "--widths",
        type=_widths,
        default=recipe.WIDTHS,
        help="trained widths at every depth, even (hidden size added); default "
        + ",".join(str(w) for w in recipe.WIDTHS),
    )
    p.add_argument(
        "--target",
        choices=["running", "batch", "gram-svd"],
        default="running",
        help="learn-to-compress target: centred PCA (running or batch) or the reference's",
    )
    p.add_argument(
        "--shallow-weight",
        type=float,
        help="scale s of the layers below the last, s/(L-1) * sum w_l * loss_l; default 2(L-1) "
        "(each weighs 2 w_l), 1 with --reference (the method's average)",
    )
    p.add_argument(
        "--distill-weight",
        type=float,
        default=recipe.DISTILL_WEIGHT,
        help="scale of the learn-to-compress term",
    )
    p.add_argument(
        "--seed", type=int, default=recipe.SEED, help="seeds data order, dropout and sampling"
    )
    p.add_argument(
        "--eval-every", type=int, default=0, help="steps between dev evaluations (0: per epoch)"
    )
    p.add_argument("--no-start-eval", action="store_true", help="skip the dev evaluation at step 0")
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=recipe.CHECKPOINT_EVERY,
        help="steps between checkpoints",
    )
    p.add_argument("--resume", action="store_true", help="continue the unfinished run of --out")
    p.add_argument("--stop-after", type=int, help="stop (with a checkpoint) after this many steps")
    p.add_argument("--keep-work", action="store_true", help="keep checkpoints after finishing")
    p.add_argument(
        "--device", default="auto", help="auto (cuda when present), cpu, cuda, cuda:1, ..."
    )
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    from ese.runtime.errors import UserError

    from .progress import progress_callbacks
    from .run import RunOptions, run_training

    try:
        options = RunOptions.from_args(args)
        with progress_callbacks(enabled=not args.no_progress) as callbacks:
            outcome = run_training(options, callbacks)
    except UserError as exc:
        print(f"ese-train: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "ese-train: interrupted; continue with --resume from the last checkpoint",
            file=sys.stderr,
        )
        return 130
    print(outcome)
    return 0


if __name__ == "__main__":
    sys.exit(main())
