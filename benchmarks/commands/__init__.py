"""``ese-bench``'s subcommands: one table, so the wiring is read here and nowhere else.

Each command module has ``run(args) -> int``. It is imported only when its command runs, so
``ese-bench profile`` never pays for ``compare``'s sentence-transformers or ``report``'s
matplotlib.
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One ``ese-bench`` subcommand: its name, its one-line help and the module that runs it."""

    name: str
    help: str
    module: str

    def run(self, args: argparse.Namespace) -> int:
        return int(importlib.import_module(self.module).run(args))


COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        Command(
            "profile",
            "latency / throughput / memory per depth x batch x seq",
            "ese.benchmarks.commands.profile",
        ),
        Command(
            "quality", "STS-B / SciFact quality per depth x dims", "ese.benchmarks.commands.quality"
        ),
        Command(
            "compare",
            "runtime vs sentence-transformers and bare onnxruntime",
            "ese.benchmarks.commands.compare",
        ),
        Command(
            "report",
            "reports/index.html (self-contained) + report.md + PNGs",
            "ese.benchmarks.commands.report",
        ),
    )
}
