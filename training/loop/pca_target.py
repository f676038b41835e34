"""Learn-to-compress targets: what the first k dimensions of a layer's vector are pulled towards.

1. ``running`` (default): a real, centred PCA of the layer's pooled vectors, from an exponential
   moving average of their mean and covariance over the recent batches (so k may exceed the batch
   size and the target does not jump with each batch). Target: ``(h - mean) @ V_k``; the
   eigenvectors ``V_k`` are recomputed every ``refresh_every`` steps (an eigendecomposition per
   layer per step would cost as much as the model's forward pass on a CPU).
2. ``batch``: the same centred PCA from the current batch alone (rank at most batch - 1).
3. ``gram-svd``: the reference's target: ``A = row_softmax(h^T h / sqrt(D))``, rank-k randomised
   SVD ``U, S``; target ``h @ U diag(S)``: uncentred, batch-dependent and not a PCA.

Every target is computed without gradient (stop-gradient). Components get a fixed sign (the
largest-magnitude loading of each is positive) so consecutive steps agree.
"""

from __future__ import annotations

import math
from enum import Enum

import torch
from torch import Tensor


class TargetKind(str, Enum):
    RUNNING = "running"
    BATCH = "batch"
    GRAM_SVD = "gram-svd"


def fix_signs(components: Tensor) -> Tensor:
    """Flip each column of [D, k] so that its largest-magnitude entry is positive."""
    index = components.abs().argmax(dim=0)
    signs = torch.sign(components[index, torch.arange(components.shape[1])])
    signs[signs == 0] = 1.0
    return components * signs


def pca_from_moments(mean: Tensor, covariance: Tensor, k: int) -> Tensor:
    """[D, k] leading eigenvectors of a covariance, by decreasing eigenvalue, signs fixed."""
    values, vectors = torch.linalg.eigh(covariance.float())
    order = torch.argsort(values, descending=True)[:k]
    return fix_signs(vectors[:, order]).to(mean.dtype)


def centred_pca(vectors: Tensor, k: int | None = None) -> tuple[Tensor, Tensor]:
    """(mean [D], components [D, k]) of a centred PCA of [N, D] vectors (k None: all D)."""
    x = vectors.double()
    mean = x.mean(dim=0)
    centred = x - mean
    covariance = centred.T @ centred / max(x.shape[0] - 1, 1)
    components = pca_from_moments(mean, covariance, k or x.shape[1])
    return mean.to(vectors.dtype), components.to(vectors.dtype)


class CompressionTarget:
    """Per-layer stop-gradient targets for the first k dimensions."""

    def __init__(
        self, kind: TargetKind | str, k: int, momentum: float = 0.95, refresh_every: int = 10
    ) -> None:
        self.kind = TargetKind(kind)
        self.k = k
        self.momentum = momentum
        self.refresh_every = refresh_every
        self.means: dict[int, Tensor] = {}
        self.covariances: dict[int, Tensor] = {}
        self.components: dict[int, Tensor] = {}
        self.calls: dict[int, Tensor] = {}

    @torch.no_grad()
    def __call__(self, layer: int, vectors: Tensor) -> Tensor:
        """The [B, k] target for ``vectors`` [B, D] of ``layer`` (updates running moments)."""
        h = vectors.detach().float()
        if self.kind is TargetKind.GRAM_SVD:
            return self._gram_svd(h)
        mean = h.mean(dim=0)
        centred = h - mean
        covariance = centred.T @ centred / max(h.shape[0] - 1, 1)
        if self.kind is TargetKind.RUNNING:
            if layer in self.means:  # (a resumed state is loaded on the CPU)
                m = self.momentum
                mean = m * self.means[layer].to(h.device) + (1 - m) * mean
                covariance = m * self.covariances[layer].to(h.device) + (1 - m) * covariance
            self.means[layer], self.covariances[layer] = mean, covariance
            calls = int(self.calls.get(layer, torch.zeros((), dtype=torch.long)))
            self.calls[layer] = torch.tensor(calls + 1)
            if calls % self.refresh_every == 0 or layer not in self.components:
                self.components[layer] = pca_from_moments(mean, covariance, self.k)
            components = self.components[layer].to(h.device)
        else:
            components = pca_from_moments(mean, covariance, self.k)
        return ((h - mean) @ components).to(vectors.dtype)

    def _gram_svd(self, h: Tensor) -> Tensor:
        gram = torch.softmax(h.T @ h / math.sqrt(h.shape[1]), dim=-1)
        u, s, _ = torch.svd_lowrank(gram, q=self.k)
        return h @ u @ torch.diag(s)

    def _stores(self) -> dict[str, dict[int, Tensor]]:
        return {
            "mean": self.means,
            "cov": self.covariances,
            "components": self.components,
            "calls": self.calls,
        }

    def state_dict(self) -> dict[str, Tensor]:
        return {
            f"{name}.{layer}": value
            for name, store in self._stores().items()
            for layer, value in store.items()
        }

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        for name, store in self._stores().items():
            store.clear()
            for key, value in state.items():
                prefix, layer = key.rsplit(".", 1)
                if prefix == name:
                    store[int(layer)] = value
