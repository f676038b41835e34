"""``ese-bench compare``: runtime vs peers per depth, depth scaling, serving memory."""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
from dataclasses import asdict
from pathlib import Path

from ese.runtime.contract import REPORTS_DIR
from ese.runtime.device import cpu_model
from ese.runtime.export_dir import open_export
from ese.runtime.manifest import write_json_atomic

from .compare import Cell, ComparePlan, compare
from .datasets import DEFAULT_DATA, read_stsb
from .errors import BackendError, GridError
from .grid import parse_ints, pick_depths
from .peers import ALL_SYSTEMS
from .serve_rss import ServingMemory, measure_in_subprocess
from .tables import compare_tables, memory_table, scaling_table


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _on_cell(cell: Cell) -> None:
    rates = ", ".join(f"{k} {cell.sentences_per_s(k):,.0f}/s" for k in cell.seconds)
    _say(f"  depth {cell.depth} batch {cell.batch_size}: {rates}")


def machine_line(threads: int) -> str:
    return (
        f"{cpu_model()}, {threads} threads, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}"
    )


def run(args: argparse.Namespace) -> int:
    export = open_export(args.export_dir)
    manifest = export.manifest
    depths = pick_depths(
        None if args.depths is None else parse_ints(args.depths, name="depths"), manifest.depths
    )
    systems = tuple(s.strip() for s in args.systems.split(",") if s.strip())
    unknown = [s for s in systems if s not in ALL_SYSTEMS]
    if unknown:
        raise GridError(f"--systems {unknown} unknown; choose from {', '.join(ALL_SYSTEMS)}")
    plan = ComparePlan(
        depths=depths,
        batch_sizes=parse_ints(args.batch, name="batch"),
        systems=systems,
        rounds=args.rounds,
        threads=args.threads,
    )
    model = args.model or Path(manifest.source.path)
    if any(s.startswith("st-") for s in systems) and not model.is_dir():
        raise BackendError(f"the source model {model} is not here: pass --model PATH")
    texts = read_stsb(args.data or DEFAULT_DATA).sentences()[: args.sentences]
    _say(
        f"compare: {len(texts)} STS-B test sentences, depths {list(depths)}, batch "
        f"{list(plan.batch_sizes)}, {plan.rounds} rounds, {plan.threads} threads, "
        f"systems {', '.join(systems)}"
    )
    result = compare(export, model, texts, plan, say=_say, on_cell=_on_cell)
    memory: list[ServingMemory] = []
    if not args.no_memory and not result.interrupted:
        for depth in depths:
            _say(f"  peak RSS of a process serving depth {depth}")
            memory.append(
                measure_in_subprocess(
                    export.root, depth, threads=plan.threads, sentences=1024, data_dir=args.data
                )
            )
    command = "ese-bench compare " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    machine = machine_line(plan.threads)
    parts = [
        f"# ese-bench compare: {export.root} ({manifest.source.architecture}, depths "
        f"{', '.join(map(str, depths))} of {manifest.source.num_layers})",
        "",
        f"- machine: {machine}",
        f"- command: `{command}`",
        f"- sentences: the first {len(texts)} distinct STS-B test sentences, each system "
        f"encoding all of them per round, {plan.rounds} rounds in rotated order",
        "",
        compare_tables(result),
        "",
        "Depth scaling (median latency of depth d over full depth):",
        "",
        scaling_table(result),
    ]
    if memory:
        parts += [
            "",
            "Peak RSS of a fresh process serving one depth (runtime, batch 32):",
            "",
            memory_table(memory),
        ]
    text = "\n".join(parts) + "\n"
    print(text)
    out = export.root / REPORTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.md").write_text(text, encoding="utf-8")
    write_json_atomic(
        out / "compare.json",
        {
            "command": command,
            "machine": machine,
            "threads": plan.threads,
            "full_depth": result.full_depth,
            "interrupted": result.interrupted,
            "cells": [c.to_dict() for c in result.cells],
            "serving_memory": [asdict(m) for m in memory],
        },
    )
    _say(f"wrote {out / 'compare.md'} and compare.json")
    return 130 if result.interrupted else 0
