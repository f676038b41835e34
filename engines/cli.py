"""ese-engines: build TensorRT engines for an export on the GPU that will run them."""

from __future__ import annotations

import argparse
import sys

from ese.console import ArgumentParser, add_export_dir_argument, int_list, positive_int, run_console
from ese.runtime.backends.tensorrt.shapes import ProfileShapes, ShapeRange


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="ese-engines",
        description="Build one TensorRT engine per depth of an export, on this GPU. Engines "
        "are written to DIR/engines/<gpu>-trt<version>/ with a sidecar naming the GPU, "
        "TensorRT version, precision, shape ranges and source graph; they do not move "
        "between GPUs or TensorRT versions.",
    )
    add_export_dir_argument(parser)
    parser.add_argument("--precision", default="fp16", choices=["fp16", "fp32"])
    parser.add_argument("--batch", default="1:8:32", help="batch MIN:OPT:MAX (default 1:8:32)")
    parser.add_argument(
        "--seq",
        default="1:128:256",
        help="sequence MIN:OPT:MAX (default 1:128:256); both minimums must be 1: the runtime "
        "and Triton send batches of any size, padded only to their longest text",
    )
    parser.add_argument(
        "--depths", type=int_list, help="only these depths, e.g. 4,6 (default: all)"
    )
    parser.add_argument(
        "--workspace-mb", type=positive_int, help="TensorRT builder workspace (MiB)"
    )
    parser.add_argument("--force", action="store_true", help="rebuild engines that are fresh")
    return parser


def run(args: argparse.Namespace) -> int:
    shapes = ProfileShapes(ShapeRange.parse(args.batch, "batch"), ShapeRange.parse(args.seq, "seq"))
    from ese.engines.build_all import build_engines

    built = build_engines(
        args.export_dir,
        args.precision,
        shapes,
        depths=list(args.depths) if args.depths else None,
        force=args.force,
        workspace_bytes=args.workspace_mb * (1 << 20) if args.workspace_mb else None,
        progress=lambda message: print(message, file=sys.stderr, flush=True),
    )
    for engine in built:
        state = "kept (up to date)" if engine.reused else f"built in {engine.seconds:.0f} s"
        size = engine.plan.stat().st_size / 1e6
        print(f"depth {engine.key.depth:>2}  {engine.key.plan}  {size:.1f} MB  {state}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_console(_parser(), run, argv, interrupted="finished engines were kept")


if __name__ == "__main__":
    sys.exit(main())
