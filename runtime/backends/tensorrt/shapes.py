"""Optimisation-profile shape ranges: ``--batch 1:8:32 --seq 1:128:256`` parsed and checked.

Both minimums are 1, always: the runtime and the Triton front model pad a batch only to its
longest text and send batches of any size, and TensorRT (like Triton's TensorRT backend)
refuses an input below the profile's minimum. A minimum of 1 costs nothing at build time for
dynamic shapes, and TensorRT tunes its kernels for ``opt``, not ``min``; padding every batch
up to a larger minimum would cost compute on exactly the short inputs that should be fastest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ese.format.errors import BadInputError


@dataclass(frozen=True)
class ShapeRange:
    """min <= opt <= max for one dynamic axis; TensorRT tunes its kernels for ``opt``."""

    min: int
    opt: int
    max: int

    def __post_init__(self) -> None:
        values = (self.min, self.opt, self.max)
        if any(isinstance(v, bool) or not isinstance(v, int) for v in values):
            raise BadInputError(f"shape range {values} must hold whole numbers")
        if not 1 <= self.min <= self.opt <= self.max:
            raise BadInputError(
                f"shape range {self.min}:{self.opt}:{self.max} must satisfy 1 <= min <= opt <= max"
            )

    @classmethod
    def parse(cls, text: str, axis: str = "axis") -> ShapeRange:
        """``"1:8:32"`` (min:opt:max), ``"1:32"`` (opt = max) or ``"8"`` (fixed)."""
        parts = [p.strip() for p in str(text).split(":")]
        try:
            numbers = [int(p) for p in parts]
        except ValueError:
            raise BadInputError(
                f"--{axis} {text!r} is not MIN:OPT:MAX with whole numbers (e.g. 1:8:32)"
            ) from None
        if len(numbers) == 1:
            numbers = numbers * 3
        elif len(numbers) == 2:
            numbers = [numbers[0], numbers[1], numbers[1]]
        elif len(numbers) != 3:
            raise BadInputError(f"--{axis} {text!r} has {len(numbers)} parts; give MIN:OPT:MAX")
        try:
            return cls(*numbers)
        except BadInputError as exc:
            raise BadInputError(f"--{axis} {text!r}: {exc}") from None

    def __str__(self) -> str:
        return f"{self.min}:{self.opt}:{self.max}"

    def covers(self, value: int) -> bool:
        return self.min <= value <= self.max


@dataclass(frozen=True)
class CallersGap:
    """A profile the callers' inputs fall below: ``axes`` says which minimums (``"batch minimum
    8 and sequence minimum 16"``), ``flags`` the ese-engines flags that cover them."""

    axes: str
    flags: str


@dataclass(frozen=True)
class ProfileShapes:
    """The batch and sequence ranges of one optimisation profile, for every graph input."""

    batch: ShapeRange
    seq: ShapeRange

    def covering_callers(self) -> ProfileShapes:
        """The same ranges with both minimums lowered to 1."""
        return ProfileShapes(
            ShapeRange(1, self.batch.opt, self.batch.max), ShapeRange(1, self.seq.opt, self.seq.max)
        )

    def callers_gap(self) -> CallersGap | None:
        """What leaves the callers' inputs uncovered (each minimum above 1) and the flags that
        cover them; None when both minimums are 1. Every refusal of such a profile says this."""
        uncovered = [
            f"{axis} minimum {r.min}"
            for axis, r in (("batch", self.batch), ("sequence", self.seq))
            if r.min != 1
        ]
        if not uncovered:
            return None
        fixed = self.covering_callers()
        return CallersGap(" and ".join(uncovered), f"--batch {fixed.batch} --seq {fixed.seq}")

    def check_callers(self) -> None:
        """Refuse a profile whose minimums are above 1 (see the module's docstring)."""
        gap = self.callers_gap()
        if gap:
            raise BadInputError(
                f"{gap.axes}: the runtime and Triton send batches from 1 text and pad only to the "
                "batch's longest text (as short as 1 token), which an engine refuses below its "
                f"minimum; use {gap.flags}"
            )

    def check_limit(self, max_seq_length: int) -> None:
        if self.seq.max > max_seq_length:
            raise BadInputError(
                f"--seq maximum {self.seq.max} exceeds the model's maximum sequence length "
                f"{max_seq_length}; the runtime never feeds longer inputs: use at most "
                f"{self.seq.min}:{min(self.seq.opt, max_seq_length)}:{max_seq_length}"
            )

    def shapes(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        """(min, opt, max) [batch, sequence] shapes, the same for every input."""
        return (
            (self.batch.min, self.seq.min),
            (self.batch.opt, self.seq.opt),
            (self.batch.max, self.seq.max),
        )

    def check_input(self, batch: int, seq: int) -> None:
        """Refuse an input an engine built for this profile cannot take."""
        if not (self.batch.covers(batch) and self.seq.covers(seq)):
            raise BadInputError(
                f"input of batch {batch} x sequence {seq} is outside the engine's profile "
                f"(batch {self.batch}, sequence {self.seq}); feed smaller batches, or rebuild "
                f"with ese-engines --batch/--seq covering it"
            )

    def ort_shapes(self, inputs: Sequence[str]) -> dict[str, str]:
        """ONNX Runtime TensorRT EP profile options (``trt_profile_*_shapes``)."""
        low, opt, high = self.shapes()

        def spec(shape: tuple[int, int]) -> str:
            return ",".join(f"{name}:{shape[0]}x{shape[1]}" for name in inputs)

        return {
            "trt_profile_min_shapes": spec(low),
            "trt_profile_opt_shapes": spec(opt),
            "trt_profile_max_shapes": spec(high),
        }

    def to_dict(self) -> dict[str, str]:
        return {"batch": str(self.batch), "seq": str(self.seq)}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> ProfileShapes:
        return cls(ShapeRange.parse(data["batch"], "batch"), ShapeRange.parse(data["seq"], "seq"))
