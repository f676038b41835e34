"""``ese-bench profile | quality | compare | report DIR``: the command line (prints and exits)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ese.benchmarks.commands import COMMANDS
from ese.benchmarks.compare.peers import ALL_SYSTEMS
from ese.console import ArgumentParser, add_export_dir_argument, positive_int, run_console


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="ese-bench",
        description="Profile, evaluate and compare ese exports; draw reports.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("profile", help=COMMANDS["profile"].help)
    add_export_dir_argument(p)
    p.add_argument("--backend", choices=("onnxruntime", "torch"), default="onnxruntime")
    p.add_argument(
        "--provider",
        "--providers",
        dest="provider",
        default="cpu",
        help="onnxruntime: cpu, cuda or tensorrt",
    )
    p.add_argument("--device", default=None, help="torch: cuda or cpu (default: cuda if any)")
    p.add_argument(
        "--precision",
        default=None,
        help="onnxruntime: a list, e.g. fp16,fp32 (default fp32; on cuda every one of fp16, "
        "fp32 the export has); torch: fp16 (default on CUDA), bf16 or fp32",
    )
    p.add_argument("--batch", default="1,8,32")
    p.add_argument(
        "--seq",
        default=None,
        help="default 16,64,128,256 (those within the model's tokens, and its longest)",
    )
    p.add_argument("--depths", default=None, help="default: every depth of the export")
    p.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: all)")
    p.add_argument("--warmup", type=int, default=3, help="untimed runs per shape")
    p.add_argument("--runs", type=int, default=20, help="timed runs per shape")
    p.add_argument(
        "--max-seconds",
        type=float,
        default=3.0,
        help="stop timing a shape after this long (at least 3 runs)",
    )
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        help="torch: the source model directory (default: the manifest's)",
    )
    p.add_argument("--quiet", action="store_true", help="no per-shape progress lines")

    q = sub.add_parser("quality", help=COMMANDS["quality"].help)
    add_export_dir_argument(q)
    q.add_argument("--task", choices=("stsb", "scifact", "all"), default="stsb")
    q.add_argument("--dims", default=None, help="default: 32,64,128,256 and the full width")
    q.add_argument("--depths", default=None)
    q.add_argument(
        "--raw",
        action="store_true",
        help="also measure the raw dimension order (a --projection none export)",
    )
    q.add_argument(
        "--limit",
        type=positive_int,
        default=None,
        help="first N STS-B pairs / SciFact queries only (a smoke test, not a score)",
    )
    q.add_argument("--threads", type=positive_int, default=None)
    q.add_argument("--data", type=Path, default=None, help="default: ../shared/data")
    q.add_argument("--no-manifest", action="store_true", help="do not record in manifest.json")

    c = sub.add_parser("compare", help=COMMANDS["compare"].help)
    add_export_dir_argument(c)
    c.add_argument("--depths", default=None)
    c.add_argument("--batch", default="1,32")
    c.add_argument("--sentences", type=positive_int, default=256, help="STS-B test sentences timed")
    c.add_argument(
        "--workload",
        choices=("stsb", "scifact"),
        default="stsb",
        help="stsb: STS-B test sentences; scifact: SciFact corpus documents (long, 256 tokens)",
    )
    c.add_argument("--rounds", type=int, default=5)
    c.add_argument("--threads", type=positive_int, default=2)
    c.add_argument("--systems", default=",".join(ALL_SYSTEMS))
    c.add_argument(
        "--model",
        type=Path,
        default=None,
        help="the source model directory (default: the manifest's)",
    )
    c.add_argument(
        "--no-memory", action="store_true", help="skip the peak RSS of a serving process per depth"
    )
    c.add_argument("--data", type=Path, default=None)

    r = sub.add_parser("report", help=COMMANDS["report"].help)
    add_export_dir_argument(r)
    r.add_argument("--out", type=Path, default=None, help="default: DIR/reports")
    r.add_argument(
        "--batch",
        type=positive_int,
        default=None,
        help="shape of the Pareto plot and budgets (default: the profile's median)",
    )
    r.add_argument("--seq", type=positive_int, default=None)
    return parser


def _run(args: argparse.Namespace) -> int:
    return COMMANDS[args.command].run(args)


def main(argv: list[str] | None = None) -> int:
    return run_console(_parser(), _run, argv)


if __name__ == "__main__":
    sys.exit(main())
