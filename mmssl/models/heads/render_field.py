"""Conditional rendering network of NS-MAE: ``f(x, w, e) = (sigma, c)`` (paper Sec. 3.3).

Conv layers turn the fused embedding volume ``e`` (B, C, Z, Y, X) into a density field
(1 channel) and a colour-feature field (``color_feat_channels``); both are read at ray
samples ``x`` by trilinear interpolation; colour is decoded by a small MLP from the
sampled feature and the positionally encoded view direction ``w``.

Channel split: channel 0 of the output conv is density, channels 1.. are the colour
feature, both of the same voxel (aligned). The official code's misaligned split is a
property of its frustum-bin RenderNet layout (METHOD_FACTS 1) with no counterpart in this
voxel field, so it is not offered.

Deviation from the official code (which has no view conditioning and a single 1x1 conv
per frustum bin): the paper's view-conditioned field is implemented.
"""

from __future__ import annotations

import math
from typing import Dict, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmssl.models.renderers.volume_renderer import FieldFn
from mmssl.ops.volume_rendering import sample_volume
from mmssl.registry import MODELS


def encode_direction(dirs: Tensor, num_freqs: int) -> Tensor:
    """NeRF positional encoding ``[d, sin(2^k pi d), cos(2^k pi d)]_{k < L}``.

    Args:
        dirs: (..., 3) unit view directions.
        num_freqs: ``L``.

    Returns:
        (..., 3 + 6 L).
    """
    if num_freqs == 0:
        return dirs
    freqs = (2.0 ** torch.arange(num_freqs, device=dirs.device, dtype=dirs.dtype)) * math.pi
    ang = dirs.unsqueeze(-1) * freqs  # (..., 3, L)
    return torch.cat([dirs, torch.sin(ang).flatten(-2), torch.cos(ang).flatten(-2)], dim=-1)


@MODELS.register_module()
class ConditionalRenderField(BaseModule):
    """Density and view-conditioned colour fields over a voxel volume.

    Args:
        in_channels: channels ``C`` of the embedding volume.
        point_cloud_range: xmin, ymin, zmin, xmax, ymax, zmax covered by the volume.
        feat_channels: width of the 3x3x3 conv stack.
        num_convs: number of 3x3x3 Conv-BN-ReLU layers before the output conv.
        color_feat_channels: colour-feature channels ``F`` of the field.
        dir_freqs: frequencies of the view-direction encoding (0: raw direction).
        mlp_hidden: hidden width of the colour MLP.
        z_upsample: trilinear upsampling of the volume along z before the convs (a
            LiDAR volume has few z levels).
        init_cfg: MMEngine init config.
    """

    def __init__(
        self,
        in_channels: int,
        point_cloud_range: Sequence[float],
        feat_channels: int = 32,
        num_convs: int = 2,
        color_feat_channels: int = 16,
        dir_freqs: int = 4,
        mlp_hidden: int = 64,
        z_upsample: int = 1,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(init_cfg)
        if len(point_cloud_range) != 6:
            raise ValueError(f'point_cloud_range needs 6 values, got {list(point_cloud_range)}')
        self.register_buffer(
            'pc_range', torch.tensor(point_cloud_range, dtype=torch.float32), persistent=False
        )
        layers = []
        ch = in_channels
        for _ in range(num_convs):
            layers += [
                nn.Conv3d(ch, feat_channels, 3, padding=1, bias=False),
                nn.BatchNorm3d(feat_channels),
                nn.ReLU(inplace=True),
            ]
            ch = feat_channels
        self.convs = nn.Sequential(*layers)
        self.out_conv = nn.Conv3d(ch, 1 + color_feat_channels, 1)
        self.dir_freqs = dir_freqs
        self.z_upsample = z_upsample
        self.color_mlp = nn.Sequential(
            nn.Linear(color_feat_channels + 3 + 6 * dir_freqs, mlp_hidden),
            nn.ReLU(inplace=True),
            nn.Linear(mlp_hidden, 3),
        )

    def build_fields(self, volume: Tensor) -> Tensor:
        """Embedding volume (B, C, Z, Y, X) -> field volume (B, 1 + F, Z', Y, X).

        Channel 0 is the raw density, channels 1.. the colour feature.
        """
        if volume.dim() != 5:
            raise ValueError(
                f'ConditionalRenderField: volume must be (B, C, Z, Y, X), got {tuple(volume.shape)}'
            )
        if self.z_upsample > 1:
            volume = F.interpolate(
                volume, scale_factor=(self.z_upsample, 1, 1), mode='trilinear', align_corners=False
            )
        return self.out_conv(self.convs(volume))

    def query(
        self, fields: Tensor, points: Tensor, view_dirs: Tensor, with_color: bool = True
    ) -> Dict[str, Tensor]:
        """Read density (and colour) at ray samples.

        Args:
            fields: (B, 1 + F, Z, Y, X) from :meth:`build_fields`.
            points: (B, R, S, 3) sample positions (metres, volume frame).
            view_dirs: (B, R, 3) unit ray directions.
            with_color: decode colour too.

        Returns:
            ``raw`` density (B, R, S) and, with colour, ``rgb`` in [0, 1] (B, R, S, 3).
        """
        src = fields if with_color else fields[:, :1]
        feat = sample_volume(src, points, self.pc_range)  # (B, R, S, 1 [+ F])
        out = {'raw': feat[..., 0]}
        if with_color:
            enc = encode_direction(view_dirs, self.dir_freqs).unsqueeze(2).expand(*feat.shape[:-1], -1)
            out['rgb'] = torch.sigmoid(self.color_mlp(torch.cat([feat[..., 1:], enc], dim=-1)))
        return out

    def field(self, fields: Tensor) -> FieldFn:
        """Bind a field volume into the ``FieldFn`` callable the renderer expects."""
        return lambda points, view_dirs, with_color: self.query(fields, points, view_dirs, with_color)
