"""Per-depth projections and the export's quality grid, from one pass over corpus and probe.

The calibration corpus (for the PCA) and the labelled probe go through the encoder together,
once for every depth. At each depth the probe is scored in the model's own order and after
the fitted PCA, at the widths the runtime serves; ``choice.decide`` keeps one, and the kept
kind's scores are the graph's quality grid. Each depth also records whether its vectors are
the source model's own inference at that depth (``source_match``). The vectors are those of
the PyTorch module each graph is traced from and checked against (parity), so this costs the
probe's share of the one pass plus a few matrix products.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from tokenizers import Tokenizer
from torch import nn

from ese.exporter.projection.calibration import CalibrationCorpus
from ese.exporter.projection.calibration_vectors import batch_token_bound, pooled_by_depth
from ese.exporter.projection.choice import ProjectionRequest, decide
from ese.exporter.projection.pca import PcaProjection, fit_pca
from ese.exporter.projection.quality_grid import grid_row, mean_score, served_widths
from ese.exporter.projection.quality_set import QualitySet
from ese.exporter.source.load import ModelDir
from ese.format import DepthProjection, Projection, ProjectionInfo, QualityProbe, source_match

Say = Callable[[str], None]


@dataclass(frozen=True)
class MeasuredProjections:
    """What each depth fuses, why, and its quality grid on the probe."""

    pca: dict[int, PcaProjection]  # only the depths that fuse a PCA
    depths: tuple[DepthProjection, ...]
    grids: dict[int, dict[int, float]]  # depth -> {dims: probe score} of the fused kind
    probe: QualityProbe

    def info(self, request: ProjectionRequest, corpus: CalibrationCorpus | None) -> ProjectionInfo:
        fused = bool(self.pca)
        return ProjectionInfo(
            kind=Projection.PCA if fused else Projection.NONE,
            calibration_source=corpus.source if corpus and fused else None,
            calibration_sha256=corpus.sha256 if corpus and fused else None,
            calibration_sentences=len(corpus.texts) if corpus and fused else 0,
            reason=request.reason
            if request.forced
            else f"{request.reason}: "
            + ", ".join(f"depth {d.depth} {d.kind.value}" for d in self.depths),
            depths=self.depths,
            probe=self.probe,
        )


def _probe_record(quality_set: QualitySet, widths: Sequence[int]) -> QualityProbe:
    return QualityProbe(
        task=quality_set.task,
        source=quality_set.source,
        sha256=quality_set.sha256,
        layout=quality_set.layout,
        metric=quality_set.metric,
        examples=quality_set.examples,
        widths=tuple(widths),
    )


def measure_projections(
    encoder: nn.Module,
    tokenizer: Tokenizer,
    model_dir: ModelDir,
    depths: Sequence[int],
    request: ProjectionRequest,
    corpus: CalibrationCorpus | None,
    quality_set: QualitySet,
    *,
    uses_token_type_ids: bool,
    say: Say,
) -> MeasuredProjections:
    """Choose each depth's projection (``request``) and measure its grid on ``quality_set``."""
    calibration = list(corpus.texts) if corpus is not None else []
    texts = calibration + list(quality_set.texts)
    say(
        f"calibrating: {len(calibration)} corpus + {len(quality_set.texts)} probe sentences, "
        f"one pass for depths {list(depths)}"
    )
    vectors = pooled_by_depth(
        encoder,
        tokenizer,
        texts,
        depths,
        pooling=model_dir.pooling,
        normalize=model_dir.normalize,
        uses_token_type_ids=uses_token_type_ids,
        max_tokens=batch_token_bound(model_dir.hidden_size, model_dir.num_layers),
        progress=lambda done, total: say(f"calibrating: {done}/{total} sentences"),
    )
    widths = served_widths(model_dir.hidden_size)
    fitted: dict[int, PcaProjection] = {}
    fused: dict[int, PcaProjection] = {}
    chosen: list[DepthProjection] = []
    grids: dict[int, dict[int, float]] = {}
    for depth in depths:
        raw = vectors[depth][len(calibration) :]
        rows = {Projection.NONE: grid_row(quality_set, raw, widths)}
        if corpus is not None:
            pca = fitted[depth] = fit_pca(vectors[depth][: len(calibration)])
            rows[Projection.PCA] = grid_row(quality_set, (raw - pca.mean) @ pca.components, widths)
        pca_row = rows.get(Projection.PCA)
        choice = decide(
            request,
            depth,
            mean_score(rows[Projection.NONE]),
            mean_score(pca_row) if pca_row is not None else None,
            deepest=depth == max(depths),
        )
        match = source_match(
            choice.kind, depth, model_dir.num_layers, model_dir.pooling, model_dir.normalize
        )
        choice = replace(choice, matches_source=match.matches, source_note=match.note)
        if choice.kind is Projection.PCA:
            fused[depth] = fitted[depth]
        chosen.append(choice)
        grids[depth] = rows[choice.kind]
        say(f"projection at depth {depth}: {choice.kind.value} ({choice.reason})")
    return MeasuredProjections(fused, tuple(chosen), grids, _probe_record(quality_set, widths))
