"""The GPU run's verdict: ONNX Runtime CUDA against PyTorch fp16, fp16 parity, node placement.

Reads what ``make bench-gpu`` measured in the same run, on the same GPU, with the same profile
loop (:mod:`.profiler`): ``profiles/<gpu>-cuda-fp16.json`` (ONNX Runtime, the runtime's own
profile) and ``reports/torch-profiles/<gpu>-torch-cuda-fp16.json`` (the sentence-transformers
model's per-depth PyTorch modules in fp16). Then, per depth, it opens ``Embedder(DIR,
providers="cuda")`` (fp16 by default) and ``Embedder(DIR, providers="cpu", precision="fp32")``
on STS-B test sentences: the minimum cosine between them, and the nodes that did not run on
CUDA. It writes ``gpu-results.md`` and ``gpu-results.json`` and checks issue 18's targets:

- depth 6, batch 1 x 16 tokens: ONNX Runtime p50 <= 0.3x PyTorch fp16's;
- depth 6, 128 x 256: ONNX Runtime sentences/s >= PyTorch fp16's;
- depth 2 costs <= 0.45 of depth 6 at 128 x 256 (ONNX Runtime p50);
- fp16 on the GPU against fp32 on the CPU: min cosine >= 0.999 at every depth.

    python -m ese.studies.gpu_compare DIR --out RESULTS [--data DATA] [--sentences 512]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ese.benchmarks.latency.measurement import Measurement
from ese.benchmarks.latency.profile_store import read_profiles
from ese.benchmarks.quality.datasets import DEFAULT_DATA, read_stsb
from ese.runtime import Embedder
from ese.runtime.device import gpu_name
from ese.runtime.errors import ProviderFallbackWarning

PARITY_FLOOR = 0.999
TARGETS = {"latency_1x16": 0.3, "throughput_128x256": 1.0, "depth_cost_2_vs_6": 0.45}


def _find(ms: Sequence[Measurement], depth: int, batch: int, seq: int) -> Measurement | None:
    return next((m for m in ms if (m.depth, m.batch_size, m.seq_len) == (depth, batch, seq)), None)


def _profile(export: Path, suffix: str) -> tuple[str, tuple[Measurement, ...]]:
    found = [p for p in read_profiles(export) if p.device_id.endswith(suffix)]
    if not found:
        return "", ()
    return found[0].device_id, found[0].measurements


def targets(ort: Sequence[Measurement], torch: Sequence[Measurement]) -> list[dict[str, Any]]:
    """The three speed targets, each with its figures, ratio and verdict (None: not measured)."""
    rows: list[dict[str, Any]] = []
    o, t = _find(ort, 6, 1, 16), _find(torch, 6, 1, 16)
    ratio = o.latency.p50 / t.latency.p50 if o and t else None
    rows.append(
        {
            "target": "depth 6, 1 x 16: ORT p50 <= 0.3x PyTorch fp16 p50",
            "ort": o.latency.p50 if o else None,
            "torch": t.latency.p50 if t else None,
            "ratio": ratio,
            "met": None if ratio is None else ratio <= TARGETS["latency_1x16"],
            "cuda_graph": o.cuda_graph if o else None,
        }
    )
    o, t = _find(ort, 6, 128, 256), _find(torch, 6, 128, 256)
    ratio = o.sentences_per_s / t.sentences_per_s if o and t else None
    rows.append(
        {
            "target": "depth 6, 128 x 256: ORT sentences/s >= PyTorch fp16's",
            "ort": o.sentences_per_s if o else None,
            "torch": t.sentences_per_s if t else None,
            "ratio": ratio,
            "met": None if ratio is None else ratio >= TARGETS["throughput_128x256"],
        }
    )
    d2, d6 = _find(ort, 2, 128, 256), _find(ort, 6, 128, 256)
    ratio = d2.latency.p50 / d6.latency.p50 if d2 and d6 else None
    rows.append(
        {
            "target": "128 x 256: ORT depth 2 p50 <= 0.45x depth 6 p50",
            "ort": d2.latency.p50 if d2 else None,
            "torch": None,
            "ratio": ratio,
            "met": None if ratio is None else ratio <= TARGETS["depth_cost_2_vs_6"],
        }
    )
    return rows


def parity_and_placement(export: Path, sentences: list[str]) -> list[dict[str, Any]]:
    """Per depth: the CUDA Embedder's default precision, min cosine vs CPU fp32, fallbacks."""
    rows = []
    cpu = Embedder(export, providers="cpu", precision="fp32", measure=False)
    for depth in cpu.manifest.depths:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ProviderFallbackWarning)
            gpu = Embedder(export, providers="cuda", depth=depth, measure=False)
        ref = Embedder(export, providers="cpu", precision="fp32", depth=depth, measure=False)
        cos = np.sum(gpu.encode(sentences, batch_size=64) * ref.encode(sentences), axis=1)
        runner = gpu.__dict__["_runner"]  # the session behind the Embedder
        placement = runner.placement
        rows.append(
            {
                "depth": depth,
                "precision": gpu.choice.precision.value,
                "provider": gpu.choice.provider,
                "min_cosine": float(cos.min()),
                "mean_cosine": float(cos.mean()),
                "met": bool(cos.min() >= PARITY_FLOOR),
                "fallback_nodes": list(runner.fallback_nodes),
                "placement": placement.to_dict() if placement else None,
                "cuda_graph_buckets": runner.cuda_graph,
                "warnings": [str(w.message) for w in caught],
            }
        )
    return rows


def _cell(value: Any, digits: int = 2) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return f"{value:,.{digits}f}" if isinstance(value, float) else str(value)


def markdown(
    result: dict[str, Any], ort: Sequence[Measurement], torch: Sequence[Measurement]
) -> str:
    lines = [
        f"# ONNX Runtime CUDA vs PyTorch fp16 on {result['gpu']}",
        "",
        f"- command: `{result['command']}`, {result['date']}",
        f"- onnxruntime {result['onnxruntime']}; profiles {result['ort_profile']}, "
        f"{result['torch_profile']}",
        "",
        "## Targets",
        "",
        "| target | ONNX Runtime | PyTorch fp16 | ratio | met |",
        "|---|---|---|---|---|",
    ]
    for t in result["targets"]:
        lines.append(
            f"| {t['target']} | {_cell(t['ort'])} | {_cell(t['torch'])} | "
            f"{_cell(t['ratio'], 3)} | {_cell(t['met'])} |"
        )
    lines += [
        "",
        "## fp16 on the GPU vs fp32 on the CPU, and node placement",
        "",
        "| depth | precision | min cosine | CPU compute nodes | CUDA graph buckets |",
        "|---|---|---|---|---|",
    ]
    for p in result["parity"]:
        nodes = ", ".join(p["fallback_nodes"]) or "none"
        lines.append(
            f"| {p['depth']} | {p['precision']} | {p['min_cosine']:.5f} | {nodes} | "
            f"{_cell(p['cuda_graph_buckets'])} |"
        )
    lines += [
        "",
        "## Every shape (p50 / p90 ms, sentences/s)",
        "",
        "| depth | batch x seq | ORT p50 | ORT p90 | ORT sent/s | CUDA graph | torch p50 "
        "| torch p90 | torch sent/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in sorted(ort, key=lambda m: (m.depth, m.batch_size, m.seq_len)):
        t = _find(torch, m.depth, m.batch_size, m.seq_len)
        lines.append(
            f"| {m.depth} | {m.batch_size} x {m.seq_len} | {m.latency.p50:.3f} | "
            f"{m.latency.p90:.3f} | {m.sentences_per_s:,.0f} | {_cell(m.cuda_graph)} | "
            f"{_cell(t.latency.p50 if t else None, 3)} | {_cell(t.latency.p90 if t else None, 3)} "
            f"| {_cell(t.sentences_per_s if t else None, 0)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ese.studies.gpu_compare")
    parser.add_argument("export_dir", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sentences", type=int, default=512)
    parser.add_argument("--command", default="make bench-gpu")
    args = parser.parse_args(argv)
    import onnxruntime

    ort_id, ort = _profile(args.export_dir, "-cuda-fp16")
    torch_id, torch = _profile(args.export_dir, "-torch-cuda-fp16")
    sentences = read_stsb(args.data).sentences()[: args.sentences]
    result: dict[str, Any] = {
        "gpu": gpu_name(),
        "command": args.command,
        "date": datetime.now(timezone.utc).isoformat(timespec="minutes"),
        "onnxruntime": onnxruntime.__version__,
        "platform": platform.platform(),
        "ort_profile": ort_id or "missing",
        "torch_profile": torch_id or "missing",
        "targets": targets(ort, torch),
        "parity": parity_and_placement(args.export_dir, sentences),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu-results.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "gpu-results.md").write_text(markdown(result, ort, torch))
    print(markdown(result, ort, torch))
    met = [t["met"] for t in result["targets"]] + [p["met"] for p in result["parity"]]
    return 0 if all(m is True for m in met) else 1


if __name__ == "__main__":
    sys.exit(main())
