"""ese-variants: add int8 / int8-openvino / fp16 graphs to an export. The only place that prints."""

from __future__ import annotations

import argparse
import sys
import time

from ese.console import ArgumentParser, add_export_dir_argument, run_console
from ese.exporter.variants.record import Gates
from ese.format import Precision
from ese.format.errors import UserError


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="ese-variants",
        description="Add int8 (ONNX Runtime on CPU, dynamic quantisation per channel), "
        "int8-openvino (OpenVINO on CPU, NNCF static quantisation) and fp16 (GPU) graphs "
        "beside the fp32 graphs of an export, each gated against fp32 and listed in the "
        "manifest with its own parity and STS-B quality. A failed gate leaves DIR unchanged. "
        "Runs on one export take turns: a second run waits for the first (it holds a lock "
        "on DIR), then adds its graphs to the first run's.",
    )
    add_export_dir_argument(parser)
    parser.add_argument(
        "--precision",
        required=True,
        help="variants to add, e.g. int8,fp16; int8-openvino needs the [openvino-int8] extra",
    )
    parser.add_argument(
        "--stsb",
        help="STS-B test split (sts-test.csv, tab-separated as distributed); the int8 gate "
        "compares STS-B with fp32 at every depth",
    )
    parser.add_argument(
        "--int8-min-cosine",
        type=float,
        default=Gates.int8_mean_cosine,
        help="int8 gate (both int8 kinds): mean cosine to fp32 on the probe set "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--stsb-max-drop",
        type=float,
        default=Gates.stsb_max_drop,
        help="int8 gate: largest STS-B drop vs fp32, in points (default %(default)s)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    return parser


def summary(result: object) -> str:
    from ese.exporter.variants.add import VariantsResult

    if not isinstance(result, VariantsResult):
        raise TypeError(f"expected a VariantsResult, got {type(result).__name__}")
    lines = [
        f"{'depth':>5}  {'precision':>9}  {'weights MB':>10}  {'mean cos':>8}  {'min cos':>8}"
        f"  {'STS-B':>6}  {'vs fp32':>7}"
    ]
    for row in result.reports:
        a = row.figures.agreement
        stsb = row.figures.stsb or {}
        full = stsb.get(max(stsb)) if stsb else None
        delta = row.figures.stsb_delta
        lines.append(
            f"{row.depth:>5}  {row.precision.value:>9}  {row.weight_bytes / 1e6:>10.1f}  "
            + (f"{a.mean_cosine:>8.5f}  {a.min_cosine:>8.5f}" if a else f"{'unverified':>18}")
            + (f"  {full:>6.2f}  {delta:>+7.2f}" if full is not None and delta is not None else "")
        )
        if row.figures.unverified_reason:
            lines.append(f"       ({row.figures.unverified_reason})")
    fp32 = result.disk_bytes.get(Precision.FP32)
    for precision, size in sorted(result.disk_bytes.items(), key=lambda kv: kv[0].value):
        ratio = f" ({size / fp32:.2f}x fp32)" if fp32 and precision is not Precision.FP32 else ""
        lines.append(f"{precision.value} graphs and weights: {size / 1e6:.1f} MB{ratio}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()

    def say(message: str) -> None:
        if not args.quiet:
            print(f"[{time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    from ese.exporter.variants.add import add_variants, parse_precisions

    try:
        gates = Gates(int8_mean_cosine=args.int8_min_cosine, stsb_max_drop=args.stsb_max_drop)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    result = add_variants(
        args.export_dir,
        parse_precisions(args.precision),
        stsb=args.stsb,
        gates=gates,
        progress=say,
    )
    print(summary(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_console(_parser(), run, argv, interrupted="the export was left unchanged")


if __name__ == "__main__":
    sys.exit(main())
