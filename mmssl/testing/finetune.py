"""Helpers of the fine-tuning-strategy tests: one optimizer step on a detector, what changed."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .synthetic_batch import synthetic_multimodal_batch


def small_detector_batch(cfg, lidar_only: bool = False, seed: int = 0) -> dict:
    """A one-sample random batch for a tiny detector config: 2 cameras at the config's image
    size (when it has one), 3,000 points, 4 boxes. ``lidar_only`` drops the images."""
    image_size = tuple(cfg.get('image_size', (32, 88)))
    batch = synthetic_multimodal_batch(
        batch_size=1, num_cams=2, image_size=image_size, num_points=3000, point_range=20.0, seed=seed
    )
    if lidar_only:
        batch['inputs'].pop('img')
    return batch


def snapshot(model: nn.Module) -> dict[str, Tensor]:
    """Copies of every parameter and buffer (``state_dict``)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def changed_keys(before: dict[str, Tensor], after: dict[str, Tensor]) -> set[str]:
    """State-dict keys whose floating-point value differs between two snapshots."""
    return {k for k, v in before.items() if v.is_floating_point() and not torch.equal(v, after[k])}


def optimizer_step(model: nn.Module, batch: dict, lr: float = 1e-2) -> dict[str, Tensor]:
    """One training step (train mode, AdamW over the parameters that require grad).

    Returns:
        The loss dict of the step (detached).
    """
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    model.train()
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    total = sum(v.sum() for k, v in losses.items() if 'loss' in k)
    optimizer.zero_grad()
    total.backward()
    optimizer.step()
    return {k: v.detach() for k, v in losses.items()}


@torch.no_grad()
def bev_features(model: nn.Module, batch: dict) -> list[Tensor]:
    """BEV features (``extract_feat``) of a BEVFusion-family detector for ``batch``, eval mode."""
    model.eval()
    data = model.data_preprocessor(batch, False)
    return list(model.extract_feat(data['inputs'], data['data_samples']))
