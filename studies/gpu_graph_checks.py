"""Each exported graph on the asked provider: where its nodes ran, and its vectors' parity.

``placement``: per (depth, precision), a plain ONNX Runtime session on the provider, profiled
over one run, counts the nodes each provider ran and which providers the session really has
(a CUDA provider that failed to load leaves the CPU alone); the runtime's own ``Embedder`` on
the same graph says which compute nodes fell back and which buckets it serves as CUDA graphs.

``parity``: per (depth, precision), the runtime on the provider against the fp32 graph on the
CPU, at the graph's full width, over the same sentences encoded at batch 1 and batch 8 (one
call per batch, each with new texts: on CUDA these run through the captured buckets, so a
replay that ignored new inputs would show) and at batch 64 (past the buckets). Its floor is
min cosine >= 0.999.

    python -m ese.studies.gpu_graph_checks placement DIR --provider cuda --out placement.json
    python -m ese.studies.gpu_graph_checks parity DIR --provider cuda --out parity.json \
        [--data DATA] [--sentences 256]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ese.benchmarks.quality.datasets import DEFAULT_DATA, read_stsb
from ese.format import ExportDir, Precision, open_export
from ese.runtime import Embedder, EseError
from ese.runtime.backends.providers import CPU
from ese.runtime.backends.providers import resolve as resolve_providers
from ese.runtime.errors import ProviderFallbackWarning

PARITY_FLOOR = 0.999
# Batch 1 and 8 fit the CUDA graph buckets (one captured graph each); 64 runs past them.
PARITY_BATCHES = (1, 8, 64)


def _graphs(export: ExportDir) -> list[tuple[int, Precision]]:
    """Every (depth, precision) of fp16 / fp32 the export holds, the deepest first."""
    wanted = (Precision.FP16, Precision.FP32)
    return sorted(
        ((g.depth, g.precision) for g in export.manifest.graphs if g.precision in wanted),
        key=lambda dp: (-dp[0], dp[1].value),
    )


def runtime_embedder(
    export: ExportDir, providers: Sequence[str], depth: int, precision: Precision
) -> tuple[Embedder, list[str]]:
    """The runtime's Embedder pinned to one graph, and the fallback warnings it gave.

    ``measure=True``: on a GPU an fp16 graph runs only past its parity gate on that GPU,
    which the Embedder measures and records in the export's profile the first time (the
    budget bounds no latency, so nothing else is measured); a graph below the gate is a
    BudgetError naming its figure."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ProviderFallbackWarning)
        embedder = Embedder(
            export, precision=precision, providers=list(providers), depth=depth, measure=True
        )
    return embedder, [str(w.message) for w in caught]


def _refused(depth: int, precision: Precision, provider: str, exc: EseError) -> dict[str, Any]:
    """A graph the runtime refused to run on the provider (a row that fails its check)."""
    return {"depth": depth, "precision": precision.value, "asked": provider, "refused": str(exc)}


def nodes_per_provider(
    path: Path, providers: Sequence[str]
) -> tuple[list[str], dict[str, int], dict[str, dict[str, str]]]:
    """A plain session's active providers, how many nodes each ran in one profiled run, and
    the options each provider ran with (CUDA's ``use_tf32`` among them)."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="ese-gpu-placement-") as tmp:
        options = ort.SessionOptions()
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(tmp) / "run")
        options.log_severity_level = 3
        session = ort.InferenceSession(str(path), sess_options=options, providers=list(providers))
        ids = np.full((1, 8), 1, dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        feeds["token_type_ids"] = np.zeros_like(ids)
        names = {i.name for i in session.get_inputs()}
        session.run(None, {k: v for k, v in feeds.items() if k in names})
        events = json.loads(Path(session.end_profiling()).read_text(encoding="utf-8"))
        options_used = {k: dict(v) for k, v in session.get_provider_options().items()}
    counts: dict[str, int] = {}
    for event in events:
        provider = event.get("args", {}).get("provider")
        if event.get("cat") == "Node" and provider and event["name"].endswith("_kernel_time"):
            counts[provider] = counts.get(provider, 0) + 1
    return list(session.get_providers()), counts, options_used


def placement_rows(export: ExportDir, provider: str) -> list[dict[str, Any]]:
    """Per graph: active providers, nodes per provider, the runtime's fallbacks and buckets."""
    providers = resolve_providers(provider)
    rows = []
    for depth, precision in _graphs(export):
        graph = export.manifest.graph(depth, precision)
        active, counts, options_used = nodes_per_provider(export.path(graph.file), providers)
        try:
            embedder, caught = runtime_embedder(export, providers, depth, precision)
        except EseError as exc:
            rows.append({**_refused(depth, precision, providers[0], exc), "met": False})
            continue
        runner = embedder.__dict__["_runner"]  # the session behind the Embedder
        fallback = list(getattr(runner, "fallback_nodes", ()))
        rows.append(
            {
                "depth": depth,
                "precision": precision.value,
                "asked": providers[0],
                "active": active,
                "nodes_per_provider": counts,
                # fp32 on Ampere / Hopper: whether ONNX Runtime's CUDA matmuls used TF32
                "use_tf32": options_used.get(providers[0], {}).get("use_tf32"),
                "fallback_nodes": fallback,
                "cuda_graph_buckets": bool(getattr(runner, "cuda_graph", False)),
                "warnings": caught,
                "met": active[:1] == providers[:1] and not fallback,
            }
        )
        embedder.close()
    return rows


def parity_rows(
    export: ExportDir, provider: str, sentences: list[str], batches: Sequence[int] = PARITY_BATCHES
) -> list[dict[str, Any]]:
    """Per graph: min / mean cosine of the runtime on ``provider`` against fp32 on the CPU."""
    providers = resolve_providers(provider)
    rows = []
    for depth, precision in _graphs(export):
        width = int(export.manifest.graph(depth, precision).dims)
        reference = Embedder(
            export, precision=Precision.FP32, providers=[CPU], depth=depth, measure=False
        )
        want = reference.encode(sentences, batch_size=32, dims=width)
        reference.close()
        try:
            embedder, caught = runtime_embedder(export, providers, depth, precision)
        except EseError as exc:
            rows.append({**_refused(depth, precision, providers[0], exc), "met": False})
            continue
        per_batch = {}
        for batch in batches:
            got = embedder.encode(sentences, batch_size=batch, dims=width)
            per_batch[str(batch)] = float(np.min(np.sum(want * got, axis=1)))
        lowest = min(per_batch.values())
        rows.append(
            {
                "depth": depth,
                "precision": precision.value,
                "provider": providers[0],
                "width": width,
                "sentences": len(sentences),
                "min_cosine_per_batch": per_batch,
                "min_cosine": lowest,
                "met": lowest >= PARITY_FLOOR,
                "choice": embedder.choice.reason,  # on a GPU: the runtime's own fp16 gate
                "warnings": caught,
            }
        )
        embedder.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ese.studies.gpu_graph_checks")
    parser.add_argument("check", choices=("placement", "parity"))
    parser.add_argument("export_dir", type=Path)
    parser.add_argument("--provider", default="cuda")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sentences", type=int, default=256)
    args = parser.parse_args(argv)
    export = open_export(args.export_dir)
    if args.check == "placement":
        rows = placement_rows(export, args.provider)
    else:
        sentences = read_stsb(args.data).sentences()[: args.sentences]
        rows = parity_rows(export, args.provider, sentences)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    for row in rows:
        print(json.dumps({k: v for k, v in row.items() if k != "warnings"}), file=sys.stderr)
    return 0 if all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
