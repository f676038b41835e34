"""``ese-bench quality``: the quality grids, printed, recorded in the manifest and reports/."""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ese.benchmarks.grid import parse_ints, pick_depths
from ese.benchmarks.quality.datasets import DEFAULT_DATA, Retrieval, read_scifact, read_stsb
from ese.benchmarks.quality.grids import GridRun, QualityGrid, scifact_grids, stsb_grid
from ese.benchmarks.quality.orders import grid_order, order_by_depth
from ese.benchmarks.quality.store import (
    QUALITY_FILE,
    raw_order_export,
    record_in_manifest,
    write_quality,
)
from ese.benchmarks.report.tables import quality_table
from ese.console import check_writable
from ese.format import REPORTS_DIR, ExportDir, Projection, open_export

OTHER_DOCS = 20

TITLES = {
    "stsb": "STS-B test, Spearman x 100",
    "scifact_ndcg@10": "SciFact test, nDCG@10 x 100",
    "scifact_recall@10": "SciFact test, recall@10 x 100",
}


def _say_depth(task: str, depth: int, row: Mapping[int, float]) -> None:
    best = max(row)
    print(
        f"  {task}: depth {depth} done ({best} dims: {row[best]:.2f})", file=sys.stderr, flush=True
    )


def _limit_retrieval(data: Retrieval, limit: int) -> Retrieval:
    """The first ``limit`` queries over their judged documents and ``OTHER_DOCS * limit``
    others: a smoke test of the mechanics, not a SciFact score."""
    kept = dict(list(data.queries.items())[:limit])
    judged = {doc for q in kept for doc in data.qrels[q]}
    others = OTHER_DOCS * limit
    rows = []
    for i, doc in enumerate(data.doc_ids):
        if doc in judged:
            rows.append(i)
        elif others > 0:
            rows.append(i)
            others -= 1
    return Retrieval(
        doc_ids=tuple(data.doc_ids[i] for i in rows),
        documents=tuple(data.documents[i] for i in rows),
        queries=kept,
        qrels={q: data.qrels[q] for q in kept},
    )


def _grids(
    export: ExportDir, args: argparse.Namespace, depths: tuple[int, ...]
) -> list[QualityGrid]:
    data_dir = args.data or DEFAULT_DATA
    dims = None if args.dims is None else parse_ints(args.dims, name="dims")
    run = GridRun(dims=dims, threads=args.threads, on_depth=_say_depth)
    grids: list[QualityGrid] = []
    order = order_by_depth(export.manifest, depths)
    if args.task in ("stsb", "all"):
        pairs = read_stsb(data_dir)
        if args.limit:
            pairs = pairs.head(args.limit)
        print(
            f"STS-B test: {len(pairs)} pairs, depths {list(depths)}, order {order}", file=sys.stderr
        )
        grids.append(stsb_grid(export, depths, pairs, run))
    if args.task in ("scifact", "all") and not any(g.interrupted for g in grids):
        data = read_scifact(data_dir)
        if args.limit:
            data = _limit_retrieval(data, args.limit)
        print(
            f"SciFact test: {len(data.queries)} queries over {len(data.documents)} documents, "
            f"depths {list(depths)}, order {order}",
            file=sys.stderr,
        )
        grids.extend(scifact_grids(export, depths, data, run))
    return grids


def run(args: argparse.Namespace) -> int:
    export = open_export(args.export_dir)
    writes = f"the export directory (ese-bench quality writes {QUALITY_FILE} and the manifest)"
    check_writable(export.root, writes)  # before the work, not after it
    if (export.root / REPORTS_DIR).is_dir():
        check_writable(export.root / REPORTS_DIR, writes)
    depths = pick_depths(
        None if args.depths is None else parse_ints(args.depths, name="depths"),
        export.manifest.depths,
    )
    grids = _grids(export, args, depths)
    if args.raw and export.manifest.projection.kind is not Projection.NONE:
        with tempfile.TemporaryDirectory(prefix="ese-bench-raw-") as tmp:
            print(
                "--raw: exporting the source model with --projection none (same depths)",
                file=sys.stderr,
            )
            raw = open_export(raw_order_export(export.root, Path(tmp) / "raw", depths))
            grids += _grids(raw, args, depths)
    for grid in grids:
        subset = f", first {args.limit} only: a smoke test, not a score" if args.limit else ""
        order = grid_order(grid.order, export.manifest, grid.scores)
        print(f"\n{TITLES.get(grid.task, grid.task)}, {order}, {grid.examples} examples{subset}:\n")
        print(quality_table(grid))
    command = "ese-bench quality " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    grids = [g for g in grids if g.scores]  # an interrupt before the first depth: nothing
    path = write_quality(export.root, grids, command)
    if args.limit:
        print(
            "\n--limit: a subset was measured, so the manifest was left as it was", file=sys.stderr
        )
    elif not args.no_manifest:
        updated = record_in_manifest(export.root, grids)
        print(
            f"\nrecorded {updated} (graph, task) rows in {export.root / 'manifest.json'}",
            file=sys.stderr,
        )
    print(f"wrote {path}", file=sys.stderr)
    return 130 if any(g.interrupted for g in grids) else 0
