"""ONNX Runtime transformer fusion, measured: fused vs plain graphs, fp32 and int8 (CPU).

    python -m ese.studies.edge_fusion EXPORT_DIR [--depths 6] [--out FILE.md]

For each depth: the fp32 graph against its fused copy (Attention, SkipLayerNormalization,
BiasGelu), and the int8 graph against the fused fp32 graph quantised the same way. Both run
interleaved in one process at batch 1 and batch 32 (see ``ese.studies.fusion_graphs``);
fusion is kept only where it is faster at every shape. Prints markdown.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from ese.console import int_list
from ese.studies.report_output import print_and_write


def run(export_dir: Path, depths: list[int] | None) -> str:
    import onnx

    from ese.exporter.variants.graph_load import graph_with_weights
    from ese.exporter.variants.quantize_int8 import int8_from_fp32
    from ese.format import open_export
    from ese.studies.fusion_graphs import SHAPES, choose_fusion, fuse

    manifest = open_export(export_dir).manifest
    hidden = manifest.source.hidden_size
    heads = max(1, hidden // 32)
    config = Path(manifest.source.path)
    for name in ("config.json", "0_Transformer/config.json"):
        if (config / name).is_file():
            heads = int(json.loads((config / name).read_text())["num_attention_heads"])
            break
    shapes = ", ".join(f"batch {b} x seq {s}" for b, s in SHAPES)
    lines = [
        "# ONNX Runtime transformer fusion: fused / plain median latency (CPU)",
        "",
        f"- export `{export_dir}`; shapes: {shapes}; below 1.00 = fusion faster",
        "",
        "| depth | precision | decision |",
        "|---|---|---|",
    ]
    for depth in depths or list(manifest.depths):
        graph = export_dir / manifest.graph(depth).file.path
        # not onnx.load: it refuses the weights once ese-triton has hard-linked them
        plain = graph_with_weights(graph)
        fused = fuse(graph_with_weights(graph), heads, hidden)
        lines.append(f"| {depth} | fp32 | {choose_fusion(plain, fused).describe()} |")
        with tempfile.TemporaryDirectory(prefix="ese-fusion-") as tmp:
            fused_path = Path(tmp) / "fused.onnx"
            onnx.save(fused, str(fused_path))
            fused_int8 = int8_from_fp32(fused_path)  # unsmoothed: same recipe for both
        plain_int8 = int8_from_fp32(graph)
        lines.append(f"| {depth} | int8 | {choose_fusion(plain_int8, fused_int8).describe()} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ese.studies.edge_fusion")
    parser.add_argument("export_dir", type=Path)
    parser.add_argument("--depths", type=int_list, help="e.g. 6 (default: every depth)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    report = run(args.export_dir, list(args.depths) if args.depths else None)
    print_and_write(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
