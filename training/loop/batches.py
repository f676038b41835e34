"""The order of training batches: a pure function of (datasets, batch size, seed, step).

Each batch holds rows of one file (a file's rows share one task loss). Every epoch shuffles
each file with a generator seeded by (seed, epoch), cuts it into batches, and interleaves the
files' batches in a seeded order, so a resumed run sees exactly the batches it would have seen.
Unlabelled texts (``--distill-text``, for the teacher term only) ride along: step ``i`` adds
the next ``per_batch`` of them from a seeded shuffle of the whole list, reshuffled at each pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ese.format.errors import UserError
from ese.training.readers import Dataset, Example

MIN_BATCH = 2  # in-batch losses need a second row to compare with


@dataclass(frozen=True)
class Batch:
    source: int  # index of the dataset the rows come from
    examples: tuple[Example, ...]
    unlabelled: tuple[str, ...] = ()  # texts for the teacher term only


class UnlabelledPlan:
    """Which ``per_batch`` unlabelled texts step ``i`` adds: a pure function of (seed, step)."""

    def __init__(self, texts: tuple[str, ...], per_batch: int, seed: int) -> None:
        if per_batch < 0:
            raise UserError(f"--distill-batch {per_batch} must be 0 or more")
        self.texts = texts if per_batch else ()
        self.per_batch = per_batch if texts else 0
        self.seed = seed
        self._pass: int | None = None
        self._order: list[int] = []

    def _order_of(self, number: int) -> list[int]:
        if self._pass != number:
            seed = self.seed * 1_000_003 + number * 1_009 + 7_919
            generator = torch.Generator().manual_seed(seed)
            self._order = torch.randperm(len(self.texts), generator=generator).tolist()
            self._pass = number
        return self._order

    def texts_of(self, step: int) -> tuple[str, ...]:
        picked: list[str] = []
        position = step * self.per_batch
        while len(picked) < self.per_batch:
            number, offset = divmod(position, len(self.texts))
            take = min(self.per_batch - len(picked), len(self.texts) - offset)
            picked += [self.texts[i] for i in self._order_of(number)[offset : offset + take]]
            position += take
        return tuple(picked)


class BatchPlan:
    """Which rows step ``i`` trains on, for every ``i``."""

    def __init__(
        self,
        datasets: list[Dataset],
        batch_size: int,
        seed: int,
        unlabelled: UnlabelledPlan | None = None,
    ) -> None:
        if batch_size < MIN_BATCH:
            raise UserError(f"--batch-size {batch_size} is too small: use {MIN_BATCH} or more")
        for dataset in datasets:
            if len(dataset) < MIN_BATCH:
                raise UserError(
                    f"{dataset.path} has {len(dataset)} rows; a batch needs {MIN_BATCH} or more"
                )
        self.datasets = datasets
        self.batch_size = batch_size
        self.seed = seed
        self.unlabelled = unlabelled
        self._epoch: int | None = None
        self._order: list[tuple[int, list[int]]] = []

    def _sizes(self, rows: int) -> list[int]:
        full, rest = divmod(rows, self.batch_size)
        sizes = [self.batch_size] * full
        if rest >= MIN_BATCH:
            sizes.append(rest)
        return sizes

    @property
    def steps_per_epoch(self) -> int:
        return sum(len(self._sizes(len(d))) for d in self.datasets)

    def _generator(self, epoch: int, salt: int) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed * 1_000_003 + epoch * 1_009 + salt)

    def _build(self, epoch: int) -> None:
        order: list[tuple[int, list[int]]] = []
        for source, dataset in enumerate(self.datasets):
            perm = torch.randperm(len(dataset), generator=self._generator(epoch, source + 1))
            start = 0
            for size in self._sizes(len(dataset)):
                order.append((source, perm[start : start + size].tolist()))
                start += size
        mix = torch.randperm(len(order), generator=self._generator(epoch, 0)).tolist()
        self._order = [order[i] for i in mix]
        self._epoch = epoch

    def batch(self, step: int) -> Batch:
        """The batch of global step ``step`` (0-based); epochs repeat with fresh shuffles."""
        epoch, position = divmod(step, self.steps_per_epoch)
        if self._epoch != epoch:
            self._build(epoch)
        source, rows = self._order[position]
        examples = self.datasets[source].examples
        extra = self.unlabelled.texts_of(step) if self.unlabelled else ()
        return Batch(source=source, examples=tuple(examples[i] for i in rows), unlabelled=extra)
