"""Projection heads of the image-to-LiDAR distillation methods (PPKT, SLidR, ScaLR).

Both are dropped after pre-training (the detector has no module of their names).
"""

from __future__ import annotations

from torch import Tensor, nn

from mmssl.registry import MODELS


@MODELS.register_module()
class PointProjectionHead(nn.Module):
    """Student-side projection of point features: a linear layer (SLidR's final 1x1 to 64 and
    ScaLR's linear distillation head), or an MLP with ``hidden_channels``.

    Args:
        in_channels: ``C`` of the point features.
        out_channels: ``D`` (SLidR/PPKT: 64; ScaLR: the teacher's width).
        hidden_channels: hidden width of a 2-layer MLP (BN + ReLU between, ScaLR+'s head);
            ``None``: linear.
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int | None = None) -> None:
        super().__init__()
        if hidden_channels is None:
            self.layers = nn.Linear(in_channels, out_channels)
        else:
            self.layers = nn.Sequential(
                nn.Linear(in_channels, hidden_channels),
                nn.BatchNorm1d(hidden_channels),
                nn.ReLU(inplace=True),
                nn.Linear(hidden_channels, out_channels),
            )

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C)`` -> ``(N, D)``."""
        return self.layers(x)


@MODELS.register_module()
class PixelProjectionHead(nn.Module):
    """Trainable 1x1 conv on the frozen teacher's maps (SLidR/PPKT: 2048 -> 64).

    Args:
        in_channels: the teacher's width.
        out_channels: ``D``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        """``(M, C, h, w)`` -> ``(M, D, h, w)``."""
        return self.conv(x)
