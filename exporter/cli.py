"""ese-export: the command line of the exporter. The only place that prints and exits."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ese.console import ArgumentParser, check_output_dir, run_console
from ese.console.launch import command_main
from ese.console.output_kinds import TRITON_REPOSITORY
from ese.exporter.depths import parse_depths
from ese.exporter.projection.choice import pca_scored_higher
from ese.exporter.source.pooling_choice import POOLING_NAMES
from ese.format import Manifest, ProjectionInfo
from ese.format.errors import BadInputError

if TYPE_CHECKING:
    from ese.exporter.export import ExportResult

TRITON = "ese-triton"  # the command --triton runs on the fresh export


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="ese-export",
        description="Export one validated ONNX graph per layer cut-off, with pooling and a "
        "per-depth PCA projection fused in, plus a manifest.",
    )
    parser.add_argument(
        "model",
        nargs="?",
        help="local model directory (Hugging Face or sentence-transformers layout); "
        "default: the bundled all-MiniLM-L6-v2",
    )
    parser.add_argument("--depths", required=True, help="layer cut-offs, e.g. 2,4,6")
    parser.add_argument("--out", required=True, help="export directory to create")
    parser.add_argument(
        "--projection",
        choices=["auto", "pca", "none"],
        default="auto",
        help="fused after pooling: a centred PCA per depth, or none (the model's own order: "
        "the source model's own vectors at every depth); auto (default): none at the deepest "
        "depth and at every depth of a model with a declared trained prefix (--trained-prefix, "
        "an ese-train card naming ESE or 2D Matryoshka, a sentence-transformers model card "
        "tagged MatryoshkaLoss / Matryoshka2dLoss); at each shallower depth of any other "
        "model, whichever scores better on the labelled probe (--quality-set)",
    )
    parser.add_argument(
        "--trained-prefix",
        action="store_true",
        help="declare that the model's leading dimensions were trained (AnglE ESE, "
        "sentence-transformers Matryoshka) where its files do not say so: --projection auto "
        "then keeps its own order at every depth",
    )
    parser.add_argument(
        "--quality-set",
        metavar="FILE",
        help="labelled set the projection is chosen on and every graph's quality grid is "
        "measured on (default: 1,000 shipped SNLI test triplets). Formats: triplets (header "
        "anchor<TAB>positive<TAB>negative; accuracy), pairs (header sentence1<TAB>sentence2"
        "<TAB>score; Spearman) or an STS-B split (.csv, no header; Spearman)",
    )
    parser.add_argument("--calibration", help="calibration corpus for the PCA, one text per line")
    parser.add_argument(
        "--pooling",
        choices=list(POOLING_NAMES),
        help="pooling fused into every graph, overriding what the model declares; default: the "
        "model's own declaration (sentence-transformers Pooling module, AnglE's "
        "angle_config.json, ese-train's training card); a model that declares none is refused",
    )
    parser.add_argument(
        "--precision",
        default="fp32",
        help="graph precisions, e.g. fp32,int8 or fp32,fp16: fp32 is always exported first; "
        "int8 / fp16 add gated variants (see ese-variants)",
    )
    parser.add_argument("--stsb", help="STS-B test split (sts-test.csv) for the int8 gate")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace an existing export at --out: its manifest.json, graphs/, tokenizer/ and "
        "profiles/ (latencies measured on the old graphs) are replaced; every other entry "
        "(your files, .git/, reports/, engines/, which are refused once their graph changed) "
        "is kept. A directory that is not an export is never replaced",
    )
    parser.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="allow the model directory's own Python code to run (off by default)",
    )
    parser.add_argument(
        "--triton",
        metavar="REPO",
        help="also write a Triton model repository there (as `ese-triton DIR --out REPO`)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    return parser


class _Progress:
    """Single-line progress on a terminal, plain lines otherwise."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.started = time.perf_counter()
        self.last = ""

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        stamp = f"[{time.perf_counter() - self.started:6.1f}s] {message}"
        same_step = message.split(":")[0] == self.last.split(":")[0]
        if self.tty:
            sys.stderr.write(("\r" if same_step else "\n") + stamp.ljust(70))
        elif not (same_step and ":" in message):
            sys.stderr.write(stamp + "\n")
        sys.stderr.flush()
        self.last = message

    def done(self) -> None:
        if self.tty and not self.quiet:
            sys.stderr.write("\n")


def _depths(depths: list[str]) -> str:
    return f"depth{'s' if len(depths) > 1 else ''} {', '.join(depths)}"


def projection_lines(manifest: Manifest, out: Path) -> list[str]:
    """The projection of each depth and why, whether its vectors are the source model's, and
    notes where they differ or where the probe scored a PCA higher that was not fused."""
    projection: ProjectionInfo = manifest.projection
    lines = [f"projection: {projection.reason}"]
    differ, kept = [], []
    for entry in projection.depths:
        match = manifest.source_match(entry.depth)
        lines.append(f"  depth {entry.depth}: {entry.kind.value} ({entry.reason})")
        lines.append(f"    vectors: {match.note}")
        if not match.matches:
            differ.append(str(entry.depth))
        if pca_scored_higher(entry):
            kept.append(str(entry.depth))
    if differ:
        lines.append(
            f"note: at {_depths(differ)} the vectors differ from the source model's "
            "own (a PCA is fused): they cannot query an index the source library built; "
            "export with --projection none for the source model's own vectors at every depth"
        )
    if kept:
        probe = f"the {projection.probe.task} probe" if projection.probe else "the probe"
        lines.append(
            f"note: at {_depths(kept)} {probe} scored the PCA higher, but the model's "
            "own order is kept (the source model's vectors, or a declared trained prefix); a "
            f"probe is not every task: check with `ese-bench quality {out} --task stsb`, or "
            "export with --projection pca to fuse the PCA"
        )
    return lines


def _summary(result: ExportResult) -> str:
    lines = [
        f"{'depth':>5}  {'weights MB':>10}  {'parity max|diff|':>16}  "
        f"{'min cosine':>10}  {'seconds':>7}"
    ]
    for row in result.depths:
        lines.append(
            f"{row.depth:>5}  {row.weight_bytes / 1e6:>10.1f}  {row.parity.max_abs_diff:>16.2e}"
            f"  {row.parity.min_cosine:>10.7f}  {row.seconds:>7.1f}"
        )
    source = result.manifest.source
    lines.append(f"pooling: {source.pooling.value} (from {source.pooling_source})")
    lines += projection_lines(result.manifest, result.out)
    lines.append(
        f"wrote {result.out} ({result.total_bytes / 1e6:.1f} MB on disk, one shared weights file) "
        f"in {result.seconds:.1f} s"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    progress = _Progress(args.quiet)
    if args.triton:
        _check_triton_out(args.triton, args.out, args.force)
    try:
        depths = parse_depths(args.depths)
        from ese.exporter.export import export

        result = export(
            args.model,
            depths,
            args.out,
            projection=args.projection,
            calibration=args.calibration,
            force=args.force,
            trust_remote_code=args.trust_remote_code,
            progress=progress,
            precisions=args.precision,
            stsb=args.stsb,
            pooling=args.pooling,
            quality_set=args.quality_set,
            trained_prefix=args.trained_prefix,
        )
    finally:
        progress.done()
    print(_summary(result))
    if result.variants is not None:
        from ese.exporter.variants.cli import summary

        print(summary(result.variants))
    if args.triton:
        return _write_triton_repository(args.out, args.triton, args.force)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_console(_parser(), run, argv, interrupted="nothing was written")


def _serve_extra_missing(exc: ImportError, then: str) -> BadInputError:
    """--triton without the serve extra: what is missing, the install line, then ``then``."""
    return BadInputError(
        f"--triton needs the serve extra ({exc.name} is missing): "
        f"pip install 'ese-toolchain[serve]'{then}"
    )


def _check_triton_out(repo: str, export_dir: str, force: bool) -> None:
    """--triton REPO is checked before the export starts, by the rules ese-triton applies."""
    try:
        command_main(TRITON)
    except ImportError as exc:
        raise _serve_extra_missing(exc, ", or export without --triton") from None
    repo_path, out_path = Path(os.path.abspath(repo)), Path(os.path.abspath(export_dir))
    if repo_path == out_path or repo_path in out_path.parents:
        raise BadInputError(
            f"--triton {repo} is or holds the export directory --out {export_dir}; "
            "give the repository a path of its own"
        )
    check_output_dir(
        Path(repo),
        replace(TRITON_REPOSITORY, flag="--triton"),
        force=force,
        inputs=[("the export directory --out", Path(export_dir))],
    )


def _write_triton_repository(export_dir: str, repo: str, force: bool) -> int:
    """ese-export --triton: ``ese-triton`` on the fresh export (it reports its own errors)."""
    try:
        triton = command_main(TRITON)
    except ImportError as exc:
        raise _serve_extra_missing(exc, "; the export itself is complete") from None
    code = triton([export_dir, "--out", repo, *(["--force"] if force else [])])
    if code:
        sys.stderr.write(
            f"ese-export: the export itself is complete in {export_dir}; write its Triton "
            f"repository with `{TRITON} {export_dir} --out {repo}`\n"
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
