"""ese-triton: write a Triton Inference Server model repository from an ese export.

    ese-triton exports/minilm --out repo/
    ese-triton exports/minilm --out repo/ --max-dims 128 --profile nvidia-h100-cuda-fp16
    tritonserver --model-repository repo/

The only place in this module that prints and exits.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ese.console import ArgumentParser, add_export_dir_argument, positive_int, run_console
from ese.serving.batching_flags import add_batching_flags
from ese.serving.budget_args import add_budget_arguments, budget_from, precisions_from
from ese.serving.triton.model_configs import BatchingOptions, InstanceKind
from ese.serving.triton.repository import (
    NO_ENGINES,
    Repository,
    RepositoryOptions,
    repository_from_export,
)


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="ese-triton",
        description="Write a Triton model repository: one model per depth and precision "
        "(ONNX Runtime, or TensorRT where DIR/engines has engines) and a front model that "
        "takes text and routes to the depth the budget picks.",
    )
    add_export_dir_argument(parser)
    parser.add_argument("--out", required=True, metavar="REPO", help="repository to write")
    parser.add_argument("--force", action="store_true", help="replace REPO if it exists")
    parser.add_argument("--name", default="ese", help="front model name and prefix (ese)")
    models = parser.add_argument_group("models")
    add_batching_flags(models)
    models.add_argument("--instances", type=positive_int, default=1, help="instances per model (1)")
    models.add_argument(
        "--kind",
        choices=[k.value for k in InstanceKind],
        default=InstanceKind.AUTO.value,
        help="where ONNX models run (auto: a GPU when there is one); engines run on GPU",
    )
    models.add_argument(
        "--profile", metavar="DEVICE_ID", help="the target device's profile in DIR/profiles"
    )
    models.add_argument(
        "--engines", metavar="FOLDER", help=f"engine folder in DIR/engines, or {NO_ENGINES}"
    )
    models.add_argument(
        "--server-trt",
        metavar="VERSION",
        help="the exact TensorRT version of the Triton server (e.g. 10.3.0.30); required when "
        "DIR/engines has engines: an engine runs only on the TensorRT that built it",
    )
    add_budget_arguments(parser)
    return parser


def summary(repo: Repository) -> str:
    lines = [f"ese-triton: wrote {repo.root}"]
    for model in repo.models:
        preferred = ",".join(map(str, model.preferred)) or "-"
        lines.append(f"  {model.name:<28} {model.platform:<18} preferred batch {preferred}")
    c = repo.choice
    lines.append(
        f"  {repo.front.name} routes to depth {c.depth} ({c.precision.value}), {c.dims} dims: "
        f"{c.reason}"
    )
    lines.append(f"serve it with: tritonserver --model-repository {repo.root}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    options = RepositoryOptions(
        name=args.name,
        batching=BatchingOptions(
            max_batch_size=args.max_batch_size,
            max_queue_delay_us=args.max_queue_delay_us,
            instances=args.instances,
            kind=InstanceKind(args.kind),
        ),
        budget=budget_from(args),
        precisions=precisions_from(args),
        profile=args.profile,
        engines=args.engines,
        server_trt=args.server_trt,
        force=args.force,
    )
    repo = repository_from_export(args.export_dir, args.out, options)
    sys.stdout.write(summary(repo) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_console(_parser(), run, argv, interrupted="nothing was written")


if __name__ == "__main__":
    sys.exit(main())
