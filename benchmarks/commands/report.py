"""``ese-bench report``: draw what was measured into reports/index.html and report.md."""

from __future__ import annotations

import argparse
import sys

from ese.benchmarks.report.pages import build_report, write_report
from ese.format import REPORTS_DIR, open_export
from ese.format.errors import UserError


def run(args: argparse.Namespace) -> int:
    export = open_export(args.export_dir, verify=False)
    page = build_report(export.root, args.batch, args.seq)
    if not page.images:
        raise UserError(
            f"{export.root} has nothing measured to draw: run `ese-bench profile` and "
            "`ese-bench quality` first"
        )
    index, md = write_report(page, args.out or export.root / REPORTS_DIR)
    print(f"wrote {index} ({len(page.images)} plots, self-contained) and {md}", file=sys.stderr)
    return 0
