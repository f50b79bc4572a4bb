"""Run a 2D backbone + neck on every camera of a multi-view batch."""

from __future__ import annotations

from torch import Tensor, nn


def multiview_image_features(
    imgs: Tensor, backbone: nn.Module, neck: nn.Module | None = None, level: int = 0
) -> Tensor:
    """Image features of every camera at one pyramid level.

    Args:
        imgs: ``(B, N, 3, H, W)`` normalised images.
        backbone: A 2D backbone returning a tuple of maps (e.g. ``mmdet.ResNet``,
            ``mmdet.SwinTransformer``).
        neck: Optional FPN-like neck taking and returning a tuple of maps.
        level: Which output map to return (0 = the finest, stride 8 for ``out_indices``
            starting at stage 1).

    Returns:
        ``(B, N, C, fH, fW)`` features.
    """
    if imgs.dim() != 5:
        raise ValueError(f'imgs must be (B, N, 3, H, W), got {tuple(imgs.shape)}')
    b, n = imgs.shape[:2]
    feats = backbone(imgs.flatten(0, 1))
    if neck is not None:
        feats = neck(feats)
    if isinstance(feats, Tensor):
        feats = [feats]
    x = feats[level]
    return x.view(b, n, *x.shape[1:])
