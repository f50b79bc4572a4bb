"""AD-L-JEPA's predictor (Zhu et al., 2025, Sec. III-D)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from mmssl.registry import MODELS


@MODELS.register_module()
class BEVEmbeddingPredictor(nn.Module):
    """``g_phi``: ``num_layers`` x [Conv2d ``k x k`` (stride 1, same padding) + BN2d + ReLU], then an
    L2 normalisation over channels in every cell (Sec. III-D: "a lightweight, three-layer
    convolutional network"; the official code: 3 x [Conv2d 256 -> 256, 3 x 3, BN, ReLU]).

    Args:
        channels: ``D`` (``C x Z`` of the encoder's BEV; 256 for SECOND's 128 x 2).
        num_layers: conv-BN-ReLU blocks (paper: 3).
        kernel_size: odd kernel side (official: 3).
    """

    def __init__(self, channels: int, num_layers: int = 3, kernel_size: int = 3) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f'BEVEmbeddingPredictor: kernel_size must be odd, got {kernel_size}')
        layers = []
        for _ in range(num_layers):
            layers += [
                nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            ]
        self.layers = nn.Sequential(*layers)

    def forward(self, context: Tensor) -> Tensor:
        """``(B, D, Y, X)`` context embeddings -> ``(B, D, Y, X)`` unit-norm predictions."""
        return F.normalize(self.layers(context), dim=1)
