"""Add int8 / int8-openvino / fp16 variant graphs to an export, each gated against fp32.

``add_variants(DIR, ["int8"])`` writes ``graphs/depth-0d.int8.onnx`` for every fp32 depth,
with the quantised weights of all depths in one content-deduplicated file beside them, and
lists each graph in the manifest with its own parity (agreement with the fp32 graph on the
probe set) and STS-B quality. ``int8-openvino`` (NNCF, :mod:`.int8_openvino`) passes the
same gate as int8, measured in OpenVINO, where it runs. Every new file is written into a
temporary sibling of ``graphs/`` first (``ese.console.output_dir``); nothing in DIR
changes unless every gate passes, and the manifest is replaced atomically in the same step as
the graphs are moved (SIGINT and SIGTERM wait for both). The whole read-build-merge-write
holds DIR's lock, so concurrent runs add their graphs one after the other. A failed gate
raises :class:`UserError` naming each failing depth.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import onnx
from tokenizers import Tokenizer

from ese.console import EXPORT_GRAPHS, staged_additions
from ese.exporter.graph.shared_weights import SharedWeightsFile, graph_weight_bytes
from ese.exporter.variants.build import int8_calibration, variant_from_fp32
from ese.exporter.variants.gate import (
    Agreement,
    can_run,
    open_session,
    probe_agreement,
    stsb_quality,
)
from ese.exporter.variants.openvino_session import (
    OpenVINOSession,
    openvino_reason,
    provider_label,
)
from ese.exporter.variants.record import (
    INT8_KINDS,
    GateFigures,
    Gates,
    check_gates,
    parity_record,
)
from ese.exporter.variants.stsb import StsbPairs, read_stsb, widths_for
from ese.format import (
    GRAPHS_DIR,
    LOCK_WAIT_S,
    FileEntry,
    GraphEntry,
    Manifest,
    Precision,
    export_locked,
    file_entry,
    graph_file,
    open_export,
    write_manifest,
)
from ese.format.errors import UserError

Progress = Callable[[str], None]
VARIANTS = (Precision.INT8, Precision.INT8_OPENVINO, Precision.FP16)
STSB_TASK = "stsb"


def weights_file(precision: Precision) -> str:
    """``graphs/weights.int8.bin``: one shared weights file per precision."""
    return f"{GRAPHS_DIR}/weights.{precision.value}.bin"


def parse_precisions(text: str | Sequence[str]) -> tuple[Precision, ...]:
    """``"fp32,int8"`` -> (FP32, INT8); unknown names are a user error."""
    items = text.split(",") if isinstance(text, str) else list(text)
    names = [p.strip().lower() for p in items if p.strip()]
    known = ", ".join(p.value for p in Precision)
    if not names:
        raise UserError(f"no precision given; choose from {known}")
    chosen = []
    for name in names:
        try:
            chosen.append(Precision(name))
        except ValueError:
            raise UserError(f"unknown precision {name!r}; choose from {known}") from None
    return tuple(dict.fromkeys(chosen))


def check_request(
    precisions: Sequence[Precision | str] | str, stsb: str | Path | StsbPairs | None
) -> tuple[Precision, ...]:
    """The variant precisions asked for (fp32 dropped), refused early when a gate lacks data."""
    wanted = tuple(p for p in parse_precisions(_names(precisions)) if p is not Precision.FP32)
    if any(p in INT8_KINDS for p in wanted) and stsb is None:
        raise UserError(
            f"the {', '.join(p.value for p in wanted if p in INT8_KINDS)} gate measures STS-B "
            "against fp32 at every depth: pass the STS-B test "
            "split (--stsb PATH/sts-test.csv, tab-separated as distributed)"
        )
    return wanted


def _names(precisions: Sequence[Precision | str] | str) -> str | list[str]:
    if isinstance(precisions, str):
        return precisions
    return [Precision(p).value if isinstance(p, Precision) else str(p) for p in precisions]


@dataclass(frozen=True)
class VariantReport:
    """One variant graph: its figures and whether it was verified here."""

    depth: int
    precision: Precision
    figures: GateFigures
    weight_bytes: int
    seconds: float
    note: str = ""  # how the graph was made (int8: how its MatMul inputs were smoothed)


@dataclass(frozen=True)
class VariantsResult:
    out: Path
    manifest: Manifest
    reports: tuple[VariantReport, ...]
    # Bytes on disk of each precision's graphs and weight files, fp32 included.
    disk_bytes: dict[Precision, int]


def _disk_bytes(manifest: Manifest) -> dict[Precision, int]:
    out: dict[Precision, int] = {}
    for precision in Precision:
        files = {
            f.path: f.bytes for g in manifest.graphs if g.precision is precision for f in g.files()
        }
        if files:
            out[precision] = sum(files.values())
    return out


def add_variants(
    export_dir: str | Path,
    precisions: Sequence[Precision | str],
    *,
    stsb: str | Path | StsbPairs | None = None,
    gates: Gates | None = None,
    provider: str = "CPUExecutionProvider",
    progress: Progress | None = None,
    lock_wait_s: float = LOCK_WAIT_S,
) -> VariantsResult:
    """Build, gate and record the variant graphs of ``precisions`` (fp32 is skipped).

    ``stsb`` (the STS-B test split) is needed for int8, whose gate includes STS-B; fp16 is
    checked on the probe set wherever ``provider`` runs fp16 graphs, else recorded unverified.
    The export is locked from reading the manifest to writing it: a second run on the same
    export waits for the first (up to ``lock_wait_s`` seconds) and then adds to its result.
    """
    say = progress or (lambda _message: None)
    root = Path(export_dir)
    open_export(root, verify=False)  # a missing or foreign directory says so before the lock
    with export_locked(root, wait_s=lock_wait_s, waiting=say):
        return _add_variants(root, precisions, stsb, gates or Gates(), provider, say)


def _add_variants(
    root: Path,
    precisions: Sequence[Precision | str],
    stsb: str | Path | StsbPairs | None,
    gates: Gates,
    provider: str,
    say: Progress,
) -> VariantsResult:
    """Read the manifest, build and gate, then move the graphs and write the manifest as one
    step (the caller holds the export's lock)."""
    export = open_export(root)
    manifest = export.manifest
    wanted = check_request(precisions, stsb)
    pairs = stsb if isinstance(stsb, StsbPairs) or stsb is None else read_stsb(stsb)
    tokenizer = Tokenizer.from_file(str(export.tokenizer_file))
    fp32 = sorted(
        (g for g in manifest.graphs if g.precision is Precision.FP32), key=lambda g: g.depth
    )
    widths = widths_for(manifest.source.hidden_size)
    fp32_quality: dict[int, dict[int, float]] = {}
    updated = manifest

    def write_updated() -> None:
        write_manifest(root, updated)

    # The manifest is written in the same step as the graphs are moved, signals held back.
    with staged_additions(root / GRAPHS_DIR, EXPORT_GRAPHS, then=write_updated) as stage:
        entries: list[GraphEntry] = []
        reports: list[VariantReport] = []
        failures: list[str] = []
        for precision in wanted:
            weights = SharedWeightsFile(stage / Path(weights_file(precision)).name)
            built: list[tuple[GraphEntry, Path, float, str]] = []
            calibration = (
                int8_calibration(tokenizer, precision) if precision in INT8_KINDS else None
            )
            try:
                for graph in fp32:
                    t0 = time.perf_counter()
                    say(f"{precision.value}: building depth {graph.depth}")
                    variant = variant_from_fp32(export.path(graph.file), precision, calibration)
                    weights.externalise(variant.model)
                    weights.flush()
                    name = Path(graph_file(graph.depth, precision)).name
                    onnx.save(variant.model, str(stage / name))
                    built.append((graph, stage / name, time.perf_counter() - t0, variant.note))
            finally:
                weights.close()
            for graph, path, build_seconds, note in built:
                t0 = time.perf_counter() - build_seconds
                say(f"{precision.value}: checking depth {graph.depth} against fp32")
                on_openvino = precision is Precision.INT8_OPENVINO
                reason = openvino_reason(path) if on_openvino else can_run(path, provider)
                agreement: Agreement | None = None
                quality: dict[int, float] | None = None
                if reason is None:
                    reference = open_session(export.path(graph.file), provider)
                    session = OpenVINOSession(path) if on_openvino else open_session(path, provider)
                    agreement = probe_agreement(reference, session, tokenizer)
                    if pairs is not None and precision in INT8_KINDS:
                        say(f"{precision.value}: STS-B at depth {graph.depth}")
                        if graph.depth not in fp32_quality:
                            fp32_quality[graph.depth] = stsb_quality(
                                reference, tokenizer, pairs, widths
                            )
                        quality = stsb_quality(session, tokenizer, pairs, widths)
                figures = GateFigures(
                    agreement=agreement,
                    stsb=quality,
                    stsb_fp32=fp32_quality.get(graph.depth),
                    unverified_reason=reason,
                )
                failures.extend(check_gates(graph.depth, precision, figures, gates))
                model = onnx.load(str(path), load_external_data=False)
                weight_bytes = graph_weight_bytes(path, model)
                entries.append(
                    GraphEntry(
                        depth=graph.depth,
                        precision=precision,
                        file=file_entry(stage, path.name),
                        external_data=(file_entry(stage, Path(weights_file(precision)).name),),
                        opset=max(
                            o.version for o in model.opset_import if o.domain in ("", "ai.onnx")
                        ),
                        dims=graph.dims,
                        parity=parity_record(
                            figures,
                            precision,
                            gates,
                            provider_label() if on_openvino and reason is None else provider,
                            note,
                        ),
                        quality={STSB_TASK: quality} if quality else {},
                        weight_bytes=weight_bytes,
                    )
                )
                reports.append(
                    VariantReport(
                        graph.depth,
                        precision,
                        figures,
                        weight_bytes,
                        time.perf_counter() - t0,
                        note,
                    )
                )
        if failures:
            raise UserError(
                f"variant graphs failed their quality gate; {root} was left unchanged:\n  "
                + "\n  ".join(failures)
                + "\nmeasured:\n  "
                + "\n  ".join(describe(r) for r in reports)
            )
        # Entries were measured in the stage; their paths are the final ones under graphs/.
        entries = [_under_graphs(e) for e in entries]
        updated = manifest.with_graphs(tuple(entries))
        for depth, scores in fp32_quality.items():
            updated = updated.with_quality(depth, Precision.FP32, STSB_TASK, scores)
        say("moving the variant graphs into place and writing the manifest")
    return VariantsResult(
        out=root, manifest=updated, reports=tuple(reports), disk_bytes=_disk_bytes(updated)
    )


def describe(report: VariantReport) -> str:
    """One line of figures for a variant graph."""
    f = report.figures
    head = f"depth {report.depth} {report.precision.value}:"
    if f.agreement is None:
        return f"{head} unverified ({f.unverified_reason})"
    text = f"{head} mean cosine {f.agreement.mean_cosine:.4f}, min {f.agreement.min_cosine:.4f}"
    if f.stsb and f.stsb_fp32 and f.stsb_delta is not None:
        width = max(f.stsb)
        text += (
            f", STS-B {f.stsb[width]:.2f} vs fp32 {f.stsb_fp32[width]:.2f} ({f.stsb_delta:+.2f})"
        )
    return f"{text}; {report.note}" if report.note else text


def _under_graphs(entry: GraphEntry) -> GraphEntry:
    def moved(f: FileEntry) -> FileEntry:
        return replace(f, path=f"{GRAPHS_DIR}/{f.path}")

    return replace(
        entry, file=moved(entry.file), external_data=tuple(moved(f) for f in entry.external_data)
    )
