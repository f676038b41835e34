"""Fit the per-depth centred PCA from pooled calibration vectors (numpy, float64)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PcaProjection:
    """``(x - mean) @ components``: components' columns are the principal axes, by variance."""

    mean: np.ndarray  # [hidden]
    components: np.ndarray  # [hidden, hidden]
    explained_variance_ratio: np.ndarray  # [hidden]


def fit_pca(vectors: np.ndarray) -> PcaProjection:
    """Centred PCA of ``vectors`` [n, hidden], full rank, deterministic signs."""
    x = np.asarray(vectors, dtype=np.float64)
    mean = x.mean(axis=0)
    centred = x - mean
    covariance = centred.T @ centred / max(len(x) - 1, 1)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues = np.clip(eigenvalues[order], 0.0, None)
    components = eigenvectors[:, order]
    # Sign convention: each axis's largest-magnitude loading is positive.
    signs = np.sign(components[np.abs(components).argmax(axis=0), np.arange(components.shape[1])])
    components = components * np.where(signs == 0, 1.0, signs)
    total = eigenvalues.sum()
    ratio = eigenvalues / total if total > 0 else np.zeros_like(eigenvalues)
    return PcaProjection(mean=mean, components=components, explained_variance_ratio=ratio)
