"""Decoders of the LiDAR masked autoencoders: Occupancy-MAE's 3D deconvolutions and BEV-MAE's BEV
point/density head."""

from __future__ import annotations

from typing import Sequence, Tuple

from torch import Tensor, nn

from mmssl.registry import MODELS


@MODELS.register_module()
class OccupancyDecoder3D(nn.Module):
    """Occupancy-MAE's decoder: transposed 3D convolutions from the encoder's dense volume to the
    input voxel grid, one occupancy logit per voxel (Min et al., arXiv:2206.09900, Sec. III-C).

    Each stage is ``ConvTranspose3d(kernel = stride)`` (non-overlapping, so the output size is
    exactly ``input x stride``) + BN3d + ReLU; the last stage outputs one channel without
    normalisation. The official nuScenes/KITTI decoder: 128 -> 32 (stride 2) -> 8 (stride
    (4, 2, 2)) -> 1 (stride (3, 2, 2)) with kernel 3 paddings taking z 2 -> 4 -> 14 -> 41
    (METHOD_FACTS 5).

    Args:
        in_channels: ``C_L`` of the encoder volume ``(B, C_L, Z, Y, X)``.
        channels: output channels of the stages but the last (which outputs 1).
        strides: ``(z, y, x)`` stride of every stage (``len(channels) + 1`` of them); their
            product is the encoder's stride to the input grid.
    """

    def __init__(
        self,
        in_channels: int,
        channels: Sequence[int] = (32, 8),
        strides: Sequence[Sequence[int]] = ((2, 2, 2), (4, 2, 2), (3, 2, 2)),
    ) -> None:
        super().__init__()
        if len(strides) != len(channels) + 1:
            raise ValueError('OccupancyDecoder3D: give one stride per stage (len(channels) + 1)')
        layers, c_in = [], int(in_channels)
        for c_out, stride in zip(channels, strides[:-1]):
            stride = tuple(int(s) for s in stride)
            layers += [
                nn.ConvTranspose3d(c_in, c_out, stride, stride=stride, bias=False),
                nn.BatchNorm3d(c_out),
                nn.ReLU(inplace=True),
            ]
            c_in = c_out
        last = tuple(int(s) for s in strides[-1])
        layers.append(nn.ConvTranspose3d(c_in, 1, last, stride=last))
        self.layers = nn.Sequential(*layers)

    def forward(self, volume: Tensor) -> Tensor:
        """``(B, C_L, Z, Y, X)`` -> occupancy logits ``(B, Z * s_z, Y * s_y, X * s_x)``."""
        return self.layers(volume)[:, 0]


@MODELS.register_module()
class BEVPointDecoder(nn.Module):
    """BEV-MAE's decoder: one 3 x 3 conv-BN-ReLU layer, then 1 x 1 heads for ``num_points`` points
    (x, y, z) per BEV cell and for the cell's point density (Lin et al., BEV-MAE, Sec. 3; the
    official code: 256 -> 256, then 60 and 1 channels, METHOD_FACTS 6).

    Args:
        in_channels: ``D`` of the encoder BEV.
        num_points: points predicted per cell (paper/official: 20).
        feat_channels: channels of the shared layer (default ``in_channels``).
    """

    def __init__(self, in_channels: int, num_points: int = 20, feat_channels: int | None = None) -> None:
        super().__init__()
        feat = int(feat_channels or in_channels)
        self.num_points = int(num_points)
        self.shared = nn.Sequential(
            nn.Conv2d(in_channels, feat, 3, padding=1, bias=False),
            nn.BatchNorm2d(feat),
            nn.ReLU(inplace=True),
        )
        self.points = nn.Conv2d(feat, 3 * self.num_points, 1)
        self.density = nn.Conv2d(feat, 1, 1)

    def forward(self, bev: Tensor) -> Tuple[Tensor, Tensor]:
        """``(B, D, Y, X)`` -> points ``(B, Y, X, K, 3)`` and density ``(B, Y, X)``."""
        feat = self.shared(bev)
        b, _, h, w = feat.shape
        points = self.points(feat).view(b, self.num_points, 3, h, w).permute(0, 3, 4, 1, 2)
        return points, self.density(feat)[:, 0]
