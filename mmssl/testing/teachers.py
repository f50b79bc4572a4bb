"""Tiny frozen-teacher weights for tests (no released weights exist on the CPU machine)."""

from __future__ import annotations

from pathlib import Path

#: A 2-block, 32-channel DINOv2-layout ViT/14 (``arch_kwargs`` of ``DINOv2Teacher``).
TINY_VIT = dict(embed_dim=32, depth=2, num_heads=2)


def write_tiny_dinov2(path: str | Path, seed: int = 0) -> Path:
    """Write the timm state dict of a randomly initialised tiny ``vit_small_patch14_dinov2``
    (:data:`TINY_VIT`, seed ``seed``) to ``path``; returns the path."""
    import timm
    import torch

    torch.manual_seed(seed)
    vit = timm.create_model(
        'vit_small_patch14_dinov2', pretrained=False, img_size=518, num_classes=0, **TINY_VIT
    )
    path = Path(path)
    torch.save(vit.state_dict(), path)
    return path
