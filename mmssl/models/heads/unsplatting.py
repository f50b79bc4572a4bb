"""OccFeat's "unsplatting" pre-training head (Sirko-Galouchenko et al., 2024, Sec. 3.2-3.3).

The head ``D_V`` lifts the BEV features ``F_B`` ``(N_B, H_B, W_B)`` back into a voxel volume
``F_V`` ``(N_B, Z_B, H_B, W_B)`` and predicts from it the occupancy of every voxel and, for the
occupied ones, the teacher's image feature (``N_y`` channels). It is dropped after
pre-training. Layers, as Sec. 3.2 describes them:

1. Conv2d 3x3 ``C_in -> N_B`` + InstanceNorm + ReLU;
2. Conv2d 1x1 ``N_B -> N_B Z_B``, the channels split into ``Z_B`` groups of ``N_B``
   (group ``z`` is height level ``z``, bottom first);
3. Conv3d 1x1x1 ``N_B -> 2 N_B`` + Softplus, Conv3d 1x1x1 ``2 N_B -> N_B``: ``F_V``;
4. occupancy: Conv3d 1x1x1 ``N_B -> 1`` (a logit; the paper's sigmoid is in the BCE loss);
   features (Sec. 3.3): Conv3d 1x1x1 ``N_B -> N_y``.

The paper's ``N_B`` is the BEV network's channel count; ``hidden_channels`` sets it here
(default: ``in_channels``).
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor, nn

from mmssl.registry import MODELS


class UnsplatOutput(NamedTuple):
    """Output of :class:`UnsplattingHead`.

    Attributes:
        occupancy: ``(B, Z_B, H_B, W_B)`` occupancy logits.
        features: ``(B, N_y, Z_B, H_B, W_B)`` predicted teacher features (None without a
            feature output).
    """

    occupancy: Tensor
    features: Tensor | None


@MODELS.register_module()
class UnsplattingHead(nn.Module):
    """BEV ``(B, C_in, H_B, W_B)`` -> voxel occupancy logits and teacher features.

    Args:
        in_channels: ``C_in`` of the BEV features.
        z_bins: ``Z_B``, height levels of the voxel grid.
        feat_channels: ``N_y``, the teacher's width (DINOv2 ViT-S/14: 384); 0 = no feature output
            (the occupancy-only ablation, Table 3).
        hidden_channels: ``N_B`` (default ``in_channels``).
    """

    def __init__(
        self, in_channels: int, z_bins: int, feat_channels: int, hidden_channels: int | None = None
    ) -> None:
        super().__init__()
        nb = int(hidden_channels or in_channels)
        self.z_bins, self.hidden_channels = int(z_bins), nb
        self.lift = nn.Sequential(
            nn.Conv2d(in_channels, nb, 3, padding=1),
            nn.InstanceNorm2d(nb),
            nn.ReLU(inplace=True),
            nn.Conv2d(nb, nb * self.z_bins, 1),
        )
        self.volume = nn.Sequential(nn.Conv3d(nb, 2 * nb, 1), nn.Softplus(), nn.Conv3d(2 * nb, nb, 1))
        self.occ_out = nn.Conv3d(nb, 1, 1)
        self.feat_out = nn.Conv3d(nb, int(feat_channels), 1) if feat_channels else None

    def unsplat(self, bev: Tensor) -> Tensor:
        """``F_V`` ``(B, N_B, Z_B, H_B, W_B)`` of BEV features ``(B, C_in, H_B, W_B)``."""
        x = self.lift(bev)
        b, _, h, w = x.shape
        # channel index = z * N_B + c: Z_B groups of N_B channels, as Sec. 3.2 splits them
        x = x.view(b, self.z_bins, self.hidden_channels, h, w).transpose(1, 2)
        return self.volume(x)

    def forward(self, bev: Tensor) -> UnsplatOutput:
        """Occupancy logits ``(B, Z_B, H_B, W_B)`` and features ``(B, N_y, Z_B, H_B, W_B)``."""
        vol = self.unsplat(bev)
        feats = self.feat_out(vol) if self.feat_out is not None else None
        return UnsplatOutput(self.occ_out(vol)[:, 0], feats)
