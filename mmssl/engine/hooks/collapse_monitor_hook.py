"""Training-time dimensional-collapse diagnostics of an encoder's embeddings (AD-L-JEPA Sec. IV-E).

Every ``interval`` iterations the hook embeds the current batch with the model's ``extract_feat``
(``mode='tensor'``: for AD-L-JEPA the context encoder's BEV of the unmasked cloud), takes the
embeddings of the occupied cells (non-zero vectors: a sparse encoder's dense output is exactly
zero where no site is active), and logs the spectrum of their covariance
(:func:`~mmssl.evaluation.functional.embedding_spectrum`): the effective rank, the
explained-variance AUC of AD-L-JEPA's released evaluation, and the per-dimension standard
deviation (mean and min over dimensions). A warning is logged when the effective rank falls below
``min_effective_rank``. The keys (``train/collapse_*``) contain no ``loss``: they are logged,
never optimised. ``history`` keeps every measurement, the spectrum included (for a plot of the
rank during training).

The embedding forward runs under ``no_grad`` in eval mode (no BatchNorm statistics update, so
training is unchanged) and draws its cell subsample from its own generator (the global random
streams are untouched).
"""

from __future__ import annotations

import logging
from typing import Dict, List

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch import Tensor

from mmssl.evaluation.functional.spectrum import embedding_spectrum
from mmssl.registry import HOOKS


def occupied_cell_embeddings(feats: Tensor) -> Tensor:
    """``(B, C, *S)`` feature maps -> ``(N, C)`` embeddings of the cells with a non-zero vector."""
    cells = feats.detach().flatten(2).transpose(1, 2).reshape(-1, feats.shape[1])
    return cells[cells.abs().sum(1) > 0]


@HOOKS.register_module()
class CollapseMonitorHook(Hook):
    """Log the embedding spectrum every ``interval`` iterations; warn on a low effective rank.

    Args:
        interval: iterations between measurements.
        min_effective_rank: warn below this effective rank.
        max_samples: at most this many cells (a random subset) enter the covariance.
        normalize: L2-normalise every cell's embedding first (the released evaluation uses the raw
            encoder features: False).
        seed: seed of the hook's own subsampling generator.
    """

    priority = 'LOW'

    def __init__(
        self,
        interval: int = 50,
        min_effective_rank: float = 2.0,
        max_samples: int = 8192,
        normalize: bool = False,
        seed: int = 0,
    ) -> None:
        if interval < 1 or max_samples < 2:
            raise ValueError('CollapseMonitorHook: interval >= 1 and max_samples >= 2 are required')
        self.interval = int(interval)
        self.min_effective_rank = float(min_effective_rank)
        self.max_samples = int(max_samples)
        self.normalize = bool(normalize)
        self._gen = torch.Generator().manual_seed(int(seed))
        self.history: List[Dict[str, float]] = []

    def measure(self, embeddings: Tensor) -> Dict[str, float]:
        """Spectrum scalars of ``(N, D)`` embeddings, ``N >= 2``.

        Returns:
            ``dict(effective_rank, auc, std_mean, std_min, samples, explained_ratio)`` (the last the
            sorted explained-variance ratios, the spectrum of a plot; empty when collapsed).
        """
        emb = embeddings.detach().double()
        if self.normalize:
            emb = torch.nn.functional.normalize(emb, dim=1)
        if emb.shape[0] > self.max_samples:
            emb = emb[torch.randperm(emb.shape[0], generator=self._gen)[: self.max_samples].to(emb.device)]
        std = emb.std(dim=0)
        try:
            spec = embedding_spectrum(emb)
            erank, auc, ratio = spec['effective_rank'], spec['auc'], spec['explained_ratio']
        except ValueError:  # no variance at all: fully collapsed
            erank, auc, ratio = 0.0, 1.0, []
        return dict(
            effective_rank=erank,
            auc=auc,
            std_mean=float(std.mean()),
            std_min=float(std.min()),
            samples=int(emb.shape[0]),
            explained_ratio=ratio,
        )

    def check(self, stats: Dict[str, float], iteration: int, logger='current') -> bool:
        """Record ``stats``; log a warning (and return True) when the rank is below the threshold."""
        self.history.append(dict(iter=iteration, **stats))
        collapsed = stats['effective_rank'] < self.min_effective_rank
        if collapsed:
            print_log(
                f'CollapseMonitorHook: effective rank {stats["effective_rank"]:.2f} < '
                f'{self.min_effective_rank} at iteration {iteration} (per-dim std mean '
                f'{stats["std_mean"]:.3g}, min {stats["std_min"]:.3g}): the embedding is collapsing',
                logger=logger,
                level=logging.WARNING,
            )
        return collapsed

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if data_batch is None or not self.every_n_train_iters(runner, self.interval):
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                data = model.data_preprocessor(data_batch, False)
                feats = model(**data, mode='tensor')
        finally:
            model.train(was_training)
        feats = feats[0] if isinstance(feats, (list, tuple)) else feats
        cells = occupied_cell_embeddings(feats)
        if cells.shape[0] < 2:
            return
        stats = self.measure(cells)
        for key in ('effective_rank', 'auc', 'std_mean', 'std_min'):
            runner.message_hub.update_scalar(f'train/collapse_{key}', stats[key])
        self.check(stats, runner.iter + 1, runner.logger)
