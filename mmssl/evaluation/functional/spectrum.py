"""Explained-variance spectrum of embeddings: the dimensional-collapse measures (pure PyTorch).

**Explained-variance spectrum** (AD-L-JEPA Sec. IV-E / Fig. 6 and its released evaluation):
the eigenvalues ``λ_1 >= ... >= λ_D`` of the covariance of the embeddings of non-empty cells
(:func:`covariance_spectrum`); explained-variance ratios ``r_i = λ_i / Σ λ``; the cumulative
curve ``c_k = Σ_{i<=k} r_i``; its AUC ``(1/D) Σ_k c_k`` (the mean of the curve, as the
released code computes it: ``(D + 1) / 2D`` for an isotropic embedding, 1 for a collapsed
one, so lower means less dimensional collapse); and the effective rank ``exp(-Σ r_i log r_i)``
(Roy & Vetterli, 2007, of the covariance: ``k`` for ``k`` equal non-zero eigenvalues).

Shared by the feature probe (:mod:`mmssl.benchmarks.probe`) and the training-time collapse
monitor (:class:`~mmssl.engine.hooks.CollapseMonitorHook`).
"""

from __future__ import annotations

import torch
from torch import Tensor


def covariance_spectrum(cov: Tensor) -> dict:
    """Explained-variance spectrum of a covariance matrix ``(D, D)`` (see the module docstring).

    Returns:
        ``dict(dim, eigenvalues, explained_ratio, cumulative, effective_rank, auc)``; the
        lists are sorted by decreasing eigenvalue.
    """
    if cov.dim() != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f'covariance must be square (D, D), got {tuple(cov.shape)}')
    cov = cov.double()
    eig = torch.linalg.eigvalsh((cov + cov.T) / 2).flip(0).clamp_min(0)
    total = float(eig.sum())
    if total <= 0:
        raise ValueError('covariance has no variance (all eigenvalues are zero)')
    ratio = eig / total
    cumulative = ratio.cumsum(0)
    nz = ratio[ratio > 0]
    return dict(
        dim=int(cov.shape[0]),
        eigenvalues=eig.tolist(),
        explained_ratio=ratio.tolist(),
        cumulative=cumulative.tolist(),
        effective_rank=float(torch.exp(-(nz * nz.log()).sum())),
        auc=float(cumulative.mean()),
    )


def embedding_spectrum(feats: Tensor, standardize: bool = False) -> dict:
    """:func:`covariance_spectrum` of the sample covariance of embeddings ``(N, D)``, ``N >= 2``.

    Args:
        feats: ``(N, D)`` embeddings.
        standardize: scale every channel to unit variance first, i.e. the spectrum of the
            correlation matrix. A covariance spectrum can look collapsed because one channel has
            a much larger scale than the others while the rest still vary independently; the
            correlation spectrum separates that case (scale) from channels that move together
            (collapse). Channels of zero variance are dropped (``dim`` counts the kept ones).

    Returns:
        :func:`covariance_spectrum`'s dict plus ``samples`` (``N``) and ``channel_variance_share``
        (each channel's share of the total variance before any scaling, ``(D,)`` as a list).
    """
    if feats.dim() != 2 or feats.shape[0] < 2:
        raise ValueError(f'need embeddings (N >= 2, D), got {tuple(feats.shape)}')
    x = feats.double() - feats.double().mean(0)
    var = (x * x).sum(0) / (x.shape[0] - 1)
    if float(var.sum()) <= 0:
        raise ValueError('embeddings have no variance (every channel is constant)')
    share = (var / var.sum()).tolist()
    if standardize:
        keep = var > 0
        x = x[:, keep] / var[keep].sqrt()
    out = covariance_spectrum(x.T @ x / (x.shape[0] - 1))
    out['samples'] = int(feats.shape[0])
    out['channel_variance_share'] = share
    return out
