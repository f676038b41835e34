"""The GPU run's report: every step's outcome, the goals, node placement, parity, every shape.

Reads what ``make bench-gpu`` (or its CPU rehearsal, ``make rehearse-gpu``) wrote into RESULTS
in the same run: ``steps.tsv`` (each step's exit status: a failed step is reported, not fatal),
``placement.json`` and ``parity.json`` (:mod:`.gpu_graph_checks`) and ``encode-race.json``
(:mod:`.gpu_encode_race`: texts in, vectors out, the runtime and
``SentenceTransformer(...).half().encode`` interleaved per shape). Writes ``gpu-results.md``
and ``gpu-results.json`` with the goals:

- depth 6, batch 1 x 16 tokens: the runtime's p50 <= 0.3x PyTorch fp16's;
- depth 6, 128 x 256: the runtime's sentences/s >= PyTorch fp16's;
- depth 2 costs <= 0.45 of depth 6 at 128 x 256 (the runtime's p50);
- fp16 on the GPU against fp32 on the CPU: min cosine >= 0.999 at every depth.

On the CPU provider the run is a rehearsal of the GPU run and each goal says so instead of a
verdict. A missing input (its step failed) leaves its rows "not measured".

    python -m ese.studies.gpu_compare RESULTS --provider cuda [--command "make bench-gpu"]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ese.benchmarks.latency.measurement import Measurement
from ese.runtime.backends.providers import CPU, CUDA
from ese.runtime.machine import cpu_model, gpu_name

PARITY_FLOOR = 0.999
TARGETS = {"latency_1x16": 0.3, "throughput_128x256": 1.0, "depth_cost_2_vs_6": 0.45}
REHEARSAL = "rehearsal, CPU provider: not a measurement of the goal"


def _find(ms: Sequence[Measurement], depth: int, batch: int, seq: int) -> Measurement | None:
    return next((m for m in ms if (m.depth, m.batch_size, m.seq_len) == (depth, batch, seq)), None)


def targets(
    ort: Sequence[Measurement],
    torch: Sequence[Measurement],
    graphs: Sequence[Measurement] | None = None,
) -> list[dict[str, Any]]:
    """The three speed targets, each with its figures, ratio and verdict (None: not measured).

    ``ort`` and ``torch`` are texts in, vectors out; the depth cost is the graphs' own
    (``graphs``: the runtime's fp16 profile, where tokenising, which every depth pays alike,
    is not counted), else ``ort``'s."""
    rows: list[dict[str, Any]] = []
    o, t = _find(ort, 6, 1, 16), _find(torch, 6, 1, 16)
    ratio = o.latency.p50 / t.latency.p50 if o and t else None
    rows.append(
        {
            "target": "depth 6, 1 x 16: runtime p50 <= 0.3x PyTorch p50",
            "ort": o.latency.p50 if o else None,
            "torch": t.latency.p50 if t else None,
            "ratio": ratio,
            "met": None if ratio is None else ratio <= TARGETS["latency_1x16"],
        }
    )
    o, t = _find(ort, 6, 128, 256), _find(torch, 6, 128, 256)
    ratio = o.sentences_per_s / t.sentences_per_s if o and t else None
    rows.append(
        {
            "target": "depth 6, 128 x 256: runtime sentences/s >= PyTorch's",
            "ort": o.sentences_per_s if o else None,
            "torch": t.sentences_per_s if t else None,
            "ratio": ratio,
            "met": None if ratio is None else ratio >= TARGETS["throughput_128x256"],
        }
    )
    cost = ort if graphs is None else graphs
    d2, d6 = _find(cost, 2, 128, 256), _find(cost, 6, 128, 256)
    ratio = d2.latency.p50 / d6.latency.p50 if d2 and d6 else None
    what = "texts in, vectors out" if graphs is None else "the fp16 graph's profile"
    rows.append(
        {
            "target": f"128 x 256: depth 2 p50 <= 0.45x depth 6 p50 ({what})",
            "ort": d2.latency.p50 if d2 else None,
            "torch": "-",
            "ratio": ratio,
            "met": None if ratio is None else ratio <= TARGETS["depth_cost_2_vs_6"],
        }
    )
    return rows


def parity_target(parity: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """fp16 on the provider vs fp32 on the CPU: the lowest min cosine over every depth."""
    fp16 = [p for p in parity if p["precision"] == "fp16"]
    measured = [p["min_cosine"] for p in fp16 if "refused" not in p]
    lowest = min(measured) if measured else None
    refused = any("refused" in p for p in fp16)
    return {
        "target": "fp16 parity: min cosine >= 0.999 at every depth",
        "ort": lowest,
        "torch": "-",
        "ratio": "-",
        "met": False if refused else (None if lowest is None else lowest >= PARITY_FLOOR),
    }


def read_steps(path: Path) -> list[dict[str, Any]]:
    """``steps.tsv``: one line per step, NAME<TAB>EXIT<TAB>SECONDS<TAB>NOTE."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        name, code, seconds, note = [*line.split("\t"), "", "", ""][:4]
        rows.append({"step": name, "exit": int(code), "seconds": int(seconds), "note": note})
    return rows


def graph_profile(results: Path, precision: str = "fp16") -> list[Measurement]:
    """The runtime profiles of this run (``profiles/*.json``): ``precision``'s entries."""
    found = []
    for path in sorted((results / "profiles").glob("*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8")).get("entries", []):
            if entry.get("precision") == precision:
                found.append(Measurement.from_dict(entry))
    return found


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _cell(value: Any, digits: int = 2) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return f"{value:,.{digits}f}" if isinstance(value, float) else str(value)


def _verdict(met: bool | None, rehearsal: bool) -> str:
    if rehearsal:
        return REHEARSAL
    return "not measured" if met is None else ("met" if met else "NOT MET")


def compare(results: Path, provider: str, command: str) -> dict[str, Any]:
    """Everything the report shows, read from ``results``."""
    # Named, not resolved: the report is written on whatever machine holds the results.
    asked = {"cpu": CPU, "cuda": CUDA}.get(provider.lower(), provider)
    race = _json(results / "encode-race.json") or {}
    shapes = race.get("shapes", [])
    ours = [Measurement.from_dict(s["runtime"]) for s in shapes]
    theirs = [Measurement.from_dict(s["torch"]) for s in shapes]
    parity = _json(results / "parity.json") or []
    import onnxruntime

    return {
        "device": cpu_model() if asked == CPU else gpu_name(),
        "provider": asked,
        "rehearsal": asked == CPU,
        "command": command,
        "date": datetime.now(timezone.utc).isoformat(timespec="minutes"),
        "onnxruntime": onnxruntime.__version__,
        "platform": platform.platform(),
        "steps": read_steps(results / "steps.tsv"),
        "torch_side": race.get("torch"),
        "runtime_precision": race.get("runtime_precision"),
        "targets": [*targets(ours, theirs, graph_profile(results) or None), parity_target(parity)],
        "placement": _json(results / "placement.json") or [],
        "parity": parity,
        "shapes": shapes,
    }


def markdown(result: dict[str, Any]) -> str:
    rehearsal = bool(result["rehearsal"])
    side = result["torch_side"] or {}
    torch_name = f"PyTorch {side.get('precision', '')}".strip()
    title = "Rehearsal of the GPU run on" if rehearsal else "The GPU run on"
    lines = [
        f"# {title} {result['device']} ({result['provider']})",
        "",
        f"- command: `{result['command']}`, {result['date']}",
        f"- onnxruntime {result['onnxruntime']}, graphs in {result['runtime_precision']}; "
        f"{result['platform']}",
    ]
    if rehearsal:
        lines.append(
            "- the CPU provider stands in for CUDA: every step of the GPU run ran, but no "
            "figure here measures a goal"
        )
    tf32 = {p["use_tf32"] for p in result["placement"] if p.get("use_tf32") is not None}
    if tf32:
        on = ", ".join(sorted(tf32))
        lines.append(f"- ONNX Runtime {result['provider']} use_tf32 (fp32 graphs): {on}")
    ran = {s.get("precision_ran") for s in result["shapes"]} - {None}
    if ran and ran != {result["runtime_precision"]}:
        lines.append(f"- the runtime side ran {', '.join(sorted(ran))} graphs (asked for fp16)")
    if side:
        lines.append(
            f"- PyTorch side: `{side['why']}` on {side['device']} (torch {side['torch_version']}, "
            f"sentence-transformers {side['sentence_transformers']}); fp32 matmuls: "
            f"allow_tf32={side['allow_tf32']}, "
            f"float32_matmul_precision={side['float32_matmul_precision']}"
        )
    lines += ["", "## Steps", "", "| step | exit | seconds | note |", "|---|---|---|---|"]
    for s in result["steps"]:
        status = "ok" if s["exit"] == 0 else f"FAILED ({s['exit']})"
        lines.append(f"| {s['step']} | {status} | {s['seconds']} | {s['note']} |")
    lines += [
        "",
        "## Goals",
        "",
        f"| goal | runtime | {torch_name} | ratio | verdict |",
        "|---|---|---|---|---|",
    ]
    for t in result["targets"]:
        lines.append(
            f"| {t['target']} | {_cell(t['ort'], 5 if 'parity' in t['target'] else 2)} | "
            f"{_cell(t['torch'])} | {_cell(t['ratio'], 3)} | {_verdict(t['met'], rehearsal)} |"
        )
    lines += [
        "",
        "## Node placement",
        "",
        "| depth | precision | active providers | nodes per provider | fallback compute nodes "
        "| CUDA graph buckets |",
        "|---|---|---|---|---|---|",
    ]
    for p in result["placement"]:
        if "refused" in p:
            lines.append(f"| {p['depth']} | {p['precision']} | refused: {p['refused']} | | | |")
            continue
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(p["nodes_per_provider"].items()))
        lines.append(
            f"| {p['depth']} | {p['precision']} | {', '.join(p['active'])} | {counts} | "
            f"{', '.join(p['fallback_nodes']) or 'none'} | {_cell(p['cuda_graph_buckets'])} |"
        )
    lines += [
        "",
        f"## Parity against fp32 on the CPU (min cosine, floor {PARITY_FLOOR})",
        "",
        "| depth | precision | batch 1 | batch 8 | batch 64 | min | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in result["parity"]:
        if "refused" in p:
            refused = f"refused: {p['refused']}"
            lines.append(f"| {p['depth']} | {p['precision']} | {refused} | | | | NO |")
            continue
        per = p["min_cosine_per_batch"]
        lines.append(
            f"| {p['depth']} | {p['precision']} | "
            + " | ".join(f"{per[b]:.6f}" if b in per else "-" for b in ("1", "8", "64"))
            + f" | {p['min_cosine']:.6f} | {_cell(p['met'])} |"
        )
    gates = sorted({p["choice"] for p in result["parity"] if p.get("choice")})
    if result["provider"] != CPU and gates:
        lines += ["", "The runtime's choices (its fp16 gate on this device):", ""]
        lines += [f"- {g}" for g in gates]
    lines += [
        "",
        f"## Every shape: texts in, vectors out, interleaved (p50 / p90 ms; {torch_name})",
        "",
        "| depth | batch x tokens | runtime p50 | runtime p90 | runtime sent/s | "
        "PyTorch p50 | PyTorch p90 | PyTorch sent/s | paired ratio (p10-p90) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in result["shapes"]:
        o, t, r = s["runtime"], s["torch"], s["ratio"]
        lines.append(
            f"| {o['depth']} | {o['batch_size']} x {o['seq_len']} | {o['latency_ms_p50']:.3f} | "
            f"{o['latency_ms_p90']:.3f} | {o['sentences_per_s']:,.0f} | "
            f"{t['latency_ms_p50']:.3f} | {t['latency_ms_p90']:.3f} | "
            f"{t['sentences_per_s']:,.0f} | {r['median']:.3f} ({r['p10']:.3f}-{r['p90']:.3f}) |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ese.studies.gpu_compare")
    parser.add_argument("results", type=Path)
    parser.add_argument("--provider", default="cuda")
    parser.add_argument("--command", default="make bench-gpu")
    args = parser.parse_args(argv)
    result = compare(args.results, args.provider, args.command)
    text = markdown(result)
    (args.results / "gpu-results.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.results / "gpu-results.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
