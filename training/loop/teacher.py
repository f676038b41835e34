"""The frozen teacher: the model as given, its final embedding of every training text, once.

AnglE calls it ``teacher_name_or_path``. The teacher is loaded once, put in eval mode with every
parameter's ``requires_grad`` off, and never handed to the optimizer. Before the first step it
embeds every distinct text the run will train on (labelled rows and ``--distill-text`` lines) in
one fixed order, so the targets are the same numbers in a resumed run as in an uninterrupted
one; a step then only looks its texts up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ese.format.errors import InternalError, UserError
from ese.training.loop.encoder import LayerwiseEncoder


def weights_digest(model: torch.nn.Module) -> str:
    """sha256 over every parameter and buffer (name, dtype, shape, bytes), in name order."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()


class Teacher:
    """Final-layer, L2-normalised embeddings of a frozen model, cached per text."""

    def __init__(self, encoder: LayerwiseEncoder, source: str) -> None:
        self.encoder = encoder
        self.source = source
        model = encoder.model
        model.eval()
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        self.digest = weights_digest(model)
        self._cache: dict[str, Tensor] = {}
        self.encoded = 0  # texts the teacher has run a forward pass on, over its life

    @property
    def cached(self) -> int:
        return len(self._cache)

    def prepare(self, texts: Iterable[str], batch_size: int = 64) -> None:
        """Embed each text not cached yet, once, in a fixed order (sorted, then by length)."""
        missing = sorted({t for t in texts if t not in self._cache})
        if not missing:
            return
        layers = self.encoder.encode_layers(missing, batch_size)
        final = F.normalize(layers[self.encoder.num_layers], dim=-1)
        self._cache.update(zip(missing, final, strict=True))
        self.encoded += len(missing)

    def targets(self, texts: Sequence[str], device: torch.device) -> Tensor:
        """The cached embeddings of ``texts`` ([len(texts), hidden]) on ``device``."""
        try:
            rows = [self._cache[t] for t in texts]
        except KeyError as exc:  # prepare() was given every text the plan can produce
            raise InternalError(f"no teacher target for the text {str(exc)[:80]}") from None
        return torch.stack(rows).to(device)

    def check_student(self, hidden_size: int) -> None:
        if self.encoder.hidden_size != hidden_size:
            raise UserError(
                f"--teacher {self.source} embeds in {self.encoder.hidden_size} dimensions, the "
                f"trained model in {hidden_size}: give a teacher of the same width"
            )

    def describe(self) -> dict[str, Any]:
        return {"path": self.source, "weights_sha256": self.digest}
