"""``ese-bench compare``: runtime vs peers per depth, depth scaling, serving memory."""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import warnings
from dataclasses import asdict
from pathlib import Path

from ese.benchmarks.compare.backend_table import backend_table
from ese.benchmarks.compare.peers import KNOWN_SYSTEMS
from ese.benchmarks.compare.run import Cell, ComparePlan, compare
from ese.benchmarks.compare.serve_rss import ServingMemory, measure_in_subprocess
from ese.benchmarks.grid import parse_ints, pick_depths
from ese.benchmarks.quality.datasets import DEFAULT_DATA, read_scifact, read_stsb
from ese.benchmarks.report.tables import compare_tables, memory_table, scaling_table
from ese.console import comma_items
from ese.format import REPORTS_DIR, open_export, write_json_atomic
from ese.format.errors import BadInputError, UserError
from ese.runtime.errors import TruncationWarning
from ese.runtime.machine import cpu_flags, cpu_model

STSB = "stsb"
SCIFACT = "scifact"
WORKLOADS = (STSB, SCIFACT)
SPEED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")


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


def workload_texts(workload: str, data: Path, count: int) -> tuple[list[str], str]:
    """The texts a compare times, and a line describing them."""
    if workload == SCIFACT:
        documents = list(read_scifact(data).documents[:count])
        return documents, (
            f"the first {len(documents)} SciFact corpus documents (title + abstract), "
            "truncated by each system at the model's maximum length (256 tokens for MiniLM)"
        )
    texts = read_stsb(data).sentences()[:count]
    return texts, f"the first {len(texts)} distinct STS-B test sentences"


def cpu_flag_line() -> str:
    """The CPU features that decide OpenVINO's and int8's speed, as present or absent."""
    flags = cpu_flags()
    return ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in SPEED_FLAGS)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages and the CPU count (other work on a shared machine
    slows every system; the paired ratios are what stays usable)."""
    try:
        loads = os.getloadavg()
    except (AttributeError, OSError):  # not available on this platform
        return "not available"
    return f"{' / '.join(f'{x:.1f}' for x in loads)} on {os.cpu_count()} CPUs"


def run(args: argparse.Namespace) -> int:
    export = open_export(args.export_dir)
    manifest = export.manifest
    depths = pick_depths(
        None if args.depths is None else parse_ints(args.depths, name="depths"), manifest.depths
    )
    systems = comma_items(args.systems, flag="--systems")
    unknown = [s for s in systems if s not in KNOWN_SYSTEMS]
    if unknown:
        raise BadInputError(f"--systems {unknown} unknown; choose from {', '.join(KNOWN_SYSTEMS)}")
    plan = ComparePlan(
        depths=depths,
        batch_sizes=parse_ints(args.batch, name="batch"),
        systems=systems,
        rounds=args.rounds,
        threads=args.threads,
    )
    model = args.model or Path(manifest.source.path)
    if any(s.startswith("st-") for s in systems) and not model.is_dir():
        raise UserError(f"the source model {model} is not here: pass --model PATH")
    texts, described = workload_texts(args.workload, args.data or DEFAULT_DATA, args.sentences)
    _say(
        f"compare: {described}, depths {list(depths)}, batch "
        f"{list(plan.batch_sizes)}, {plan.rounds} rounds, {plan.threads} threads, "
        f"systems {', '.join(systems)}"
    )
    load_before = load_average()
    with warnings.catch_warnings():  # long documents are cut at the model's length on purpose
        warnings.simplefilter("ignore", TruncationWarning)
        result = compare(export, model, texts, plan, say=_say, on_cell=_on_cell)
    load = f"{load_before} before the timing, {load_average()} after (1 / 5 / 15 min)"
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
        f"- texts: {described}, each system encoding all of them per round, {plan.rounds} "
        "rounds in rotated order",
        f"- CPU flags: {cpu_flag_line()}",
        f"- load average: {load}",
        "",
        compare_tables(result),
        "",
        backend_table(result),
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
            "workload": args.workload,
            "cpu_flags": cpu_flag_line(),
            "load_average": load,
            "threads": plan.threads,
            "full_depth": result.full_depth,
            "interrupted": result.interrupted,
            "cells": [c.to_dict() for c in result.cells],
            "serving_memory": [asdict(m) for m in memory],
        },
    )
    _say(f"wrote {out / 'compare.md'} and compare.json")
    return 130 if result.interrupted else 0
