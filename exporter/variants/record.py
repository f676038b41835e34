"""The variant gates (thresholds), the figures they judge, and the manifest parity they become."""

from __future__ import annotations

from dataclasses import dataclass

from ese.exporter.variants.gate import Agreement
from ese.format import Parity, Precision

# Both int8 kinds pass the same gate: ONNX Runtime's dynamic int8 and NNCF's for OpenVINO.
INT8_KINDS = (Precision.INT8, Precision.INT8_OPENVINO)


@dataclass(frozen=True)
class Gates:
    """Thresholds a variant must meet against the fp32 graph of its depth."""

    int8_mean_cosine: float = 0.99
    stsb_max_drop: float = 1.0
    fp16_min_cosine: float = 0.999

    def __post_init__(self) -> None:
        for name in ("int8_mean_cosine", "fp16_min_cosine"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name}={value!r} must be a cosine in (0, 1]")
        if self.stsb_max_drop < 0:
            raise ValueError(f"stsb_max_drop={self.stsb_max_drop!r} must be >= 0 points")


@dataclass(frozen=True)
class GateFigures:
    """What was measured for one variant graph (None: not measured here)."""

    agreement: Agreement | None
    stsb: dict[int, float] | None = None
    stsb_fp32: dict[int, float] | None = None
    unverified_reason: str | None = None

    @property
    def stsb_delta(self) -> float | None:
        """Variant minus fp32 STS-B at the full width (points)."""
        if not self.stsb or not self.stsb_fp32:
            return None
        width = max(self.stsb)
        return self.stsb[width] - self.stsb_fp32[width]


def check_gates(depth: int, precision: Precision, figures: GateFigures, gates: Gates) -> list[str]:
    """One line per failed gate (empty when the variant passes, or could not run here)."""
    failures: list[str] = []
    agreement = figures.agreement
    if agreement is None:
        return failures
    if precision in INT8_KINDS:
        if agreement.mean_cosine < gates.int8_mean_cosine:
            failures.append(
                f"depth {depth} {precision.value}: mean cosine to fp32 "
                f"{agreement.mean_cosine:.4f} < "
                f"{gates.int8_mean_cosine} on {agreement.probes} probes "
                f"(min {agreement.min_cosine:.4f})"
            )
        delta = figures.stsb_delta
        if delta is not None and delta < -gates.stsb_max_drop:
            width = max(figures.stsb or {})
            failures.append(
                f"depth {depth} {precision.value}: STS-B {figures.stsb[width]:.2f} vs fp32 "  # type: ignore[index]
                f"{figures.stsb_fp32[width]:.2f} ({delta:+.2f} points; allowed "  # type: ignore[index]
                f"-{gates.stsb_max_drop:g})"
            )
    elif precision is Precision.FP16 and agreement.min_cosine < gates.fp16_min_cosine:
        failures.append(
            f"depth {depth} fp16: min cosine to fp32 {agreement.min_cosine:.6f} < "
            f"{gates.fp16_min_cosine} on {agreement.probes} probes"
        )
    return failures


def parity_record(
    figures: GateFigures, precision: Precision, gates: Gates, provider: str, note: str = ""
) -> Parity:
    """The manifest's parity of a variant: its agreement with the fp32 graph of its depth.

    ``tolerance`` is the cosine distance the gate allows (1 - threshold): on the mean for
    int8 (both kinds), on the minimum for fp16. ``reference`` says what was compared, where,
    the mean cosine and how the graph was made (``note``); ``probes == 0`` means it could not be
    checked here (the reason follows).
    """
    threshold = gates.int8_mean_cosine if precision in INT8_KINDS else gates.fp16_min_cosine
    tolerance = round(1.0 - threshold, 6)
    agreement = figures.agreement
    if agreement is None:
        return Parity(
            max_abs_diff=0.0,
            min_cosine=0.0,
            probes=0,
            tolerance=tolerance,
            reference=f"fp32 graph; unverified: {figures.unverified_reason}",
        )
    text = f"fp32 graph on {provider}; mean cosine {agreement.mean_cosine:.5f}"
    if figures.stsb_delta is not None:
        text += f"; STS-B {figures.stsb_delta:+.2f} points vs fp32"
    if note:
        text += f"; {note}"
    return Parity(
        max_abs_diff=agreement.max_abs_diff,
        min_cosine=agreement.min_cosine,
        probes=agreement.probes,
        tolerance=tolerance,
        reference=text,
    )
