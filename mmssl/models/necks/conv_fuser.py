"""BEVFusion's convolutional BEV fuser (Liu et al., 2023, Sec. 3.3 "fully-convolutional fusion")."""

from __future__ import annotations

from typing import List, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmssl.registry import MODELS


@MODELS.register_module()
class ConvFuser(BaseModule):
    """Concatenate BEV maps of several modalities and mix them with a 3x3 conv + BN + ReLU.

    Args:
        in_channels: Channels of each input BEV map, in the order they are passed
            (BEVFusion: camera 80, LiDAR 256).
        out_channels: Channels of the fused map (BEVFusion: 256).
        init_cfg: MMEngine init config.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = list(in_channels)
        self.fuse = nn.Sequential(
            nn.Conv2d(sum(self.in_channels), out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(True),
        )

    def forward(self, feats: List[Tensor]) -> Tensor:
        """Fuse ``[(B, C_i, Y, X), ...]`` (same ``Y x X``) into ``(B, out_channels, Y, X)``."""
        shapes = [tuple(f.shape[-2:]) for f in feats]
        if len(set(shapes)) != 1 or [f.shape[1] for f in feats] != self.in_channels:
            raise ValueError(
                f'ConvFuser expects maps with channels {self.in_channels} on one grid, got '
                f'channels {[f.shape[1] for f in feats]} on grids {shapes}'
            )
        return self.fuse(torch.cat(feats, dim=1))
