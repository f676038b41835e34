"""ese-train: ESE fine-tuning of a sentence-transformers / BERT-family model (see --help)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ese.console import (
    ArgumentParser,
    comma_list,
    non_negative_int,
    positive_float,
    positive_int,
    run_console,
)
from ese.training import recipe

DESCRIPTION = """\
Fine-tune MODEL (default: the bundled all-MiniLM-L6-v2) with ESE so that its shallow layers and
leading dimensions embed well, and write a sentence-transformers model directory that
ese-export reads. --train files are STS-B scored pairs (no header) or anchor/positive/negative
triplets (with a header); the format is recognised from the first line or given with --format.
"""


_widths = comma_list(int, "whole numbers", minimum=1)
_scales = comma_list(float, "numbers", minimum=0)


class _Defaults(argparse.HelpFormatter):
    """Shows a default only where there is one worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
            text += f" (default: {action.default})"
        return text


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
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
        "--epochs",
        type=positive_float,
        default=recipe.EPOCHS,
        help="epochs over the training files",
    )
    p.add_argument("--steps", type=positive_int, help="optimizer steps (overrides --epochs)")
    p.add_argument(
        "--batch-size", type=positive_int, default=recipe.BATCH_SIZE, help="rows per step"
    )
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
    p.add_argument(
        "--k", type=positive_int, default=recipe.K, help="compression size (learn-to-compress)"
    )
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
        "--teacher",
        nargs="?",
        const="",
        metavar="DIR",
        help="add the frozen-teacher term: every trained depth learns to keep the final "
        "embedding of DIR (default: MODEL itself, as given). Off by default: its weights are not "
        "yet chosen by the selection rule (studies/training/RESULTS.md)",
    )
    p.add_argument(
        "--no-teacher",
        action="store_true",
        help="train without the teacher term (the default; refuses --teacher and --distill-text)",
    )
    p.add_argument(
        "--teacher-weight",
        type=float,
        default=recipe.TEACHER_WEIGHT,
        help="scale of 1 - cos(student at each depth, teacher's final embedding)",
    )
    p.add_argument(
        "--teacher-sim-weight",
        type=float,
        default=recipe.TEACHER_SIM_WEIGHT,
        help="scale of the MSE between student and teacher in-batch cosine matrices",
    )
    p.add_argument(
        "--teacher-prefixes",
        action="store_true",
        help="take that MSE at every trained width too (the mean over the whole vector and each "
        "leading slice), so that short vectors keep the teacher's ranking, not only full ones",
    )
    p.add_argument(
        "--distill-text",
        action="append",
        type=Path,
        metavar="FILE",
        help="unlabelled texts for the teacher term, one per line; repeat for several "
        "(default: the exporter's calibration corpus)",
    )
    p.add_argument(
        "--distill-batch",
        type=int,
        default=recipe.DISTILL_BATCH,
        help="--distill-text rows added to each step's batch",
    )
    p.add_argument(
        "--seed", type=int, default=recipe.SEED, help="seeds data order, dropout and sampling"
    )
    p.add_argument(
        "--eval-every",
        type=non_negative_int,
        default=0,
        help="steps between dev evaluations (0: per epoch)",
    )
    p.add_argument("--no-start-eval", action="store_true", help="skip the dev evaluation at step 0")
    p.add_argument(
        "--checkpoint-every",
        type=positive_int,
        default=recipe.CHECKPOINT_EVERY,
        help="steps between checkpoints",
    )
    p.add_argument("--resume", action="store_true", help="continue the unfinished run of --out")
    p.add_argument(
        "--stop-after", type=positive_int, help="stop (with a checkpoint) after this many steps"
    )
    p.add_argument("--keep-work", action="store_true", help="keep checkpoints after finishing")
    p.add_argument(
        "--device", default="auto", help="auto (cuda when present), cpu, cuda, cuda:1, ..."
    )
    p.add_argument("--threads", type=positive_int, help="CPU threads for torch")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def run(args: argparse.Namespace) -> int:
    from ese.training.progress import progress_callbacks
    from ese.training.run import RunOptions, run_training

    options = RunOptions.from_args(args)
    with progress_callbacks(enabled=not args.no_progress) as callbacks:
        outcome = run_training(options, callbacks)
    print(outcome)
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return run_console(
        build_parser(),
        run,
        argv,
        interrupted="continue with --resume from the last checkpoint, if one was written",
    )


if __name__ == "__main__":
    sys.exit(main())
