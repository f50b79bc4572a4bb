"""BEVFusion's ``GeneralizedLSSFPN``: a top-down FPN that concatenates instead of adding."""

from __future__ import annotations

from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmssl.registry import MODELS


@MODELS.register_module()
class GeneralizedLSSFPN(BaseModule):
    """Top-down feature pyramid used by BEVFusion's camera branch (Liu et al., 2023).

    For levels ``i = L-2 .. 0`` (``L`` inputs), the coarser output is upsampled to level
    ``i``, concatenated with the backbone map of level ``i``, and passed through a 1x1 and a
    3x3 conv (each conv-BN-ReLU). Every level feeds the next finer one, so all parameters
    receive gradients even when only the finest output is used (as the LSS view transform
    does).

    Args:
        in_channels: Channels of the ``L`` backbone maps, finest first
            (Swin-T: ``[192, 384, 768]``).
        out_channels: Channels of every output (BEVFusion: 256).
        norm_cfg, act_cfg: mmcv ConvModule configs.
        upsample_mode: ``F.interpolate`` mode (BEVFusion: bilinear, ``align_corners=False``).
        init_cfg: MMEngine init config.

    Shapes:
        inputs ``[(B, C_i, H_i, W_i)] * L`` -> outputs ``[(B, out_channels, H_i, W_i)] * (L-1)``.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        norm_cfg: dict | None = None,
        act_cfg: dict | None = None,
        upsample_mode: str = 'bilinear',
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) < 2:
            raise ValueError(f'GeneralizedLSSFPN needs >= 2 input levels, got {in_channels}')
        norm_cfg = norm_cfg or dict(type='BN2d')
        act_cfg = act_cfg or dict(type='ReLU')
        self.in_channels = list(in_channels)
        self.upsample_mode = upsample_mode
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        num = len(self.in_channels) - 1
        for i in range(num):
            coarser = self.in_channels[i + 1] if i == num - 1 else out_channels
            self.lateral_convs.append(
                ConvModule(
                    self.in_channels[i] + coarser,
                    out_channels,
                    1,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                    inplace=False,
                )
            )
            self.fpn_convs.append(
                ConvModule(
                    out_channels,
                    out_channels,
                    3,
                    padding=1,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                    inplace=False,
                )
            )

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'expected {len(self.in_channels)} maps, got {len(inputs)}')
        laterals: List[Tensor] = list(inputs)
        for i in range(len(laterals) - 2, -1, -1):
            kwargs = dict(align_corners=False) if self.upsample_mode == 'bilinear' else {}
            up = F.interpolate(laterals[i + 1], size=laterals[i].shape[2:], mode=self.upsample_mode, **kwargs)
            x = torch.cat([laterals[i], up], dim=1)
            laterals[i] = self.fpn_convs[i](self.lateral_convs[i](x))
        return tuple(laterals[:-1])
