"""Export a model as one validated ONNX graph per depth into one export directory."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from ese.console import EXPORT_DIR, carried_over, check_output_dir, staged_output_dir
from ese.exporter.depths import check_depths
from ese.exporter.graph.depth_graphs import write_depth_graphs
from ese.exporter.graph.onnx_graph import OPSET
from ese.exporter.graph.parity import TOLERANCE, measure_parity
from ese.exporter.graph.shared_weights import SharedWeightsFile
from ese.exporter.projection.calibration import read_corpus, require_enough
from ese.exporter.projection.choice import AUTO, choose_projection
from ese.exporter.projection.measured import measure_projections
from ese.exporter.projection.quality_set import read_quality_set
from ese.exporter.source.load import load_encoder, read_model_dir
from ese.exporter.source.tokenizer_files import build_tokenizer, write_tokenizer
from ese.exporter.variants.add import VariantsResult, add_variants, check_request
from ese.format import (
    GRAPHS_DIR,
    PROFILES_DIR,
    TOKENIZER_DIR,
    GraphEntry,
    Manifest,
    Parity,
    Pooling,
    Precision,
    Projection,
    SourceModel,
    file_entry,
    write_manifest,
)
from ese.format.errors import UserError
from ese.runtime.memory import trim_heap

Progress = Callable[[str], None]
WEIGHTS_FILE = f"{GRAPHS_DIR}/weights.bin"


@dataclass(frozen=True)
class DepthReport:
    depth: int
    weight_bytes: int
    parity: Parity
    seconds: float


@dataclass(frozen=True)
class ExportResult:
    out: Path
    manifest: Manifest
    depths: tuple[DepthReport, ...]
    total_bytes: int
    seconds: float
    # int8 / fp16 graphs added with ``precisions`` (see ese.exporter.variants.add).
    variants: VariantsResult | None = None


def _tool_versions() -> dict[str, str]:
    versions = {}
    for name in ("ese-toolchain", "torch", "transformers", "onnx", "onnxruntime", "tokenizers"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def export(
    model: str | Path | None,
    depths: Sequence[int],
    out: str | Path,
    *,
    projection: Projection | str = AUTO,
    calibration: str | Path | None = None,
    force: bool = False,
    trust_remote_code: bool = False,
    tolerance: float = TOLERANCE,
    progress: Progress | None = None,
    precisions: Sequence[Precision | str] = (Precision.FP32,),
    stsb: str | Path | None = None,
    pooling: Pooling | str | None = None,
    quality_set: str | Path | None = None,
    trained_prefix: bool = False,
) -> ExportResult:
    """Export ``model`` (a local directory; None for the bundled default) at each depth.

    Every graph is checked against the PyTorch model cut at the same depth; any failure raises
    before anything is moved to ``out``. ``precisions`` beyond fp32 (int8, fp16) add gated
    variant graphs before the move (``stsb``: the STS-B test split the int8 gate needs).
    ``pooling`` (``--pooling``) overrides the pooling the model declares; a model that declares
    none is refused without it. ``projection`` auto keeps, per depth, the better of the model's
    own order and the fitted PCA on the labelled probe (``quality_set``, default the shipped
    SNLI probe), whose scores become every graph's quality grid; it keeps the model's own
    order at the deepest depth, and at every depth of a model that declares a trained prefix
    (ESE, Matryoshka; ``trained_prefix``: the caller declares it, ``--trained-prefix``).
    """
    started = time.perf_counter()
    say = progress or (lambda _message: None)
    out = Path(out)
    model_dir = read_model_dir(model, pooling)
    request = choose_projection(
        projection, model_dir.path, calibration, trained_prefix=trained_prefix
    )
    chosen = check_depths(depths, model_dir.num_layers)
    inputs = [("the model directory", model_dir.path)]
    if calibration is not None:
        inputs.append(("the calibration corpus", Path(calibration)))
    if quality_set is not None:
        inputs.append(("the quality set", Path(quality_set)))
    check_output_dir(out, EXPORT_DIR, force=force, inputs=inputs)
    if kept := carried_over(out, EXPORT_DIR):
        say(f"--force: keeping {', '.join(kept)} of {out}; replacing the export itself")
    if force and (out / PROFILES_DIR).is_dir():
        say(f"--force: {PROFILES_DIR}/ goes with the old export (measured on its graphs)")
    variant_precisions = check_request(precisions, stsb)
    probe = read_quality_set(quality_set)
    corpus = None
    if request.fits_pca:
        corpus = read_corpus(calibration)
        require_enough(corpus, model_dir.hidden_size)

    say(f"pooling: {model_dir.pooling.value} (from {model_dir.pooling_source})")
    say(f"projection: {request.reason}")
    say(f"loading {model_dir.label}")
    for note in model_dir.notes:
        say(f"note: {note}")
    tokenizer = build_tokenizer(model_dir, trust_remote_code=trust_remote_code)
    encoder = load_encoder(model_dir, trust_remote_code=trust_remote_code)
    uses_token_type_ids = int(model_dir.config.get("type_vocab_size", 0)) > 1
    hidden = model_dir.hidden_size

    measured = measure_projections(
        encoder,
        tokenizer,
        model_dir,
        chosen,
        request,
        corpus,
        probe,
        uses_token_type_ids=uses_token_type_ids,
        say=say,
    )
    trim_heap()  # the pass's activations, out of malloc's free lists before tracing

    with staged_output_dir(out, EXPORT_DIR, force=force, inputs=inputs) as stage:
        tokenizer_names = write_tokenizer(model_dir, tokenizer, stage / TOKENIZER_DIR)
        (stage / GRAPHS_DIR).mkdir()
        weights = SharedWeightsFile(stage / WEIGHTS_FILE)
        try:
            written = write_depth_graphs(
                encoder,
                model_dir,
                chosen,
                {d: (p.mean, p.components) for d, p in measured.pca.items()},
                tokenizer,
                stage,
                weights,
                uses_token_type_ids=uses_token_type_ids,
                say=say,
            )
        finally:
            weights.close()
        # The PyTorch model is done with (each graph's reference outputs are computed): free
        # its weights before any ONNX Runtime session maps the graphs' own copy.
        del encoder
        trim_heap()
        staged: list[tuple[int, str, int, Parity, float]] = []
        failures: list[str] = []
        for graph in written:
            t0 = time.perf_counter()
            say(f"validating depth {graph.depth} against PyTorch")
            parity = measure_parity(stage / graph.relative, graph.reference, tolerance)
            if parity.max_abs_diff > parity.tolerance:
                failures.append(
                    f"depth {graph.depth}: max abs difference {parity.max_abs_diff:.3g} > "
                    f"tolerance {parity.tolerance:.3g} ({tolerance:g} x the reference's largest "
                    f"|value|, at least 1; min cosine {parity.min_cosine:.6f})"
                )
            seconds = graph.seconds + time.perf_counter() - t0
            staged.append((graph.depth, graph.relative, graph.weight_bytes, parity, seconds))
        if failures:
            raise UserError(
                "exported graphs do not match the PyTorch model; nothing was written to "
                f"{out}:\n  " + "\n  ".join(failures)
            )

        say("writing manifest")
        weights_entry = file_entry(stage, WEIGHTS_FILE)
        graphs = tuple(
            GraphEntry(
                depth=depth,
                precision=Precision.FP32,
                file=file_entry(stage, relative),
                external_data=(weights_entry,),
                opset=OPSET,
                dims=hidden,
                parity=parity,
                quality={probe.task: measured.grids[depth]},
                weight_bytes=weight_bytes,
            )
            for depth, relative, weight_bytes, parity, _ in staged
        )
        manifest = Manifest(
            source=SourceModel(
                path=str(model_dir.path),
                weights_sha256=model_dir.weights_sha256(),
                architecture=", ".join(model_dir.config.get("architectures") or [])
                or model_dir.model_type,
                model_type=model_dir.model_type,
                hidden_size=hidden,
                num_layers=model_dir.num_layers,
                pooling=model_dir.pooling,
                normalize=model_dir.normalize,
                max_seq_length=model_dir.max_seq_length,
                uses_token_type_ids=uses_token_type_ids,
                pooling_source=model_dir.pooling_source,
            ),
            tokenizer=tuple(
                file_entry(stage, f"{TOKENIZER_DIR}/{name}") for name in tokenizer_names
            ),
            projection=measured.info(request, corpus),
            graphs=graphs,
            tools=_tool_versions(),
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        write_manifest(stage, manifest)
        variants = None
        if variant_precisions:
            variants = add_variants(stage, variant_precisions, stsb=stsb, progress=say)
            manifest = variants.manifest
        total = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file())

    reports = tuple(
        DepthReport(depth=d, weight_bytes=w, parity=p, seconds=s) for d, _, w, p, s in staged
    )
    return ExportResult(
        out=out,
        manifest=manifest,
        depths=reports,
        total_bytes=total,
        seconds=time.perf_counter() - started,
        variants=variants,
    )
