"""BEV-guided masking of AD-L-JEPA (Zhu et al., 2025, Sec. III)."""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
from torch import Tensor, nn

from mmssl.geometry import grid_shape, voxel_coords
from mmssl.ops.masking import bev_guided_mask
from mmssl.registry import MODELS


class BEVMaskResult(NamedTuple):
    """Output of :class:`BEVGuidedMasker` for one cloud.

    Attributes:
        visible: points outside the masked non-empty cells (the context encoder's input).
        masked: ``(K, C)`` points of the masked non-empty cells (the target encoder's input).
        point_mask: ``(P,)`` bool, True where the point was masked.
        mask_nonempty, mask_empty: ``(Y, X)`` bool, disjoint masks of non-empty / empty cells.
        nonempty: ``(Y, X)`` bool occupancy of the cells.
    """

    visible: Tensor
    masked: Tensor
    point_mask: Tensor
    mask_nonempty: Tensor
    mask_empty: Tensor
    nonempty: Tensor


@MODELS.register_module()
class BEVGuidedMasker(nn.Module):
    """Mask a ratio of the non-empty and, independently, of the empty BEV cells.

    The in-range points are binned into BEV cells (``bev_cell_size``, e.g. 0.4 m on KITTI: the
    voxel size times the encoder stride 8). Exactly ``round(ratio_nonempty * n_nonempty)``
    non-empty and ``round(ratio_empty * n_empty)`` empty cells are masked (AD-L-JEPA: 50% each).

    Deviations from the official code (documented): masks are drawn per sample (the official code
    draws non-empty cells over the whole batch) and empty cells are masked with an exact count
    instead of an independent Bernoulli draw of the same ratio.

    Args:
        point_cloud_range: 6 floats.
        bev_cell_size: ``(dx, dy)`` of the BEV cells.
        ratio_nonempty, ratio_empty: masking ratios.
    """

    def __init__(
        self,
        point_cloud_range: Sequence[float],
        bev_cell_size: Sequence[float],
        ratio_nonempty: float = 0.5,
        ratio_empty: float = 0.5,
    ) -> None:
        super().__init__()
        self.point_cloud_range = [float(v) for v in point_cloud_range]
        self.bev_cell_size = [float(v) for v in bev_cell_size[:2]]
        self.ratio_nonempty = float(ratio_nonempty)
        self.ratio_empty = float(ratio_empty)

    def forward(self, points: Tensor, generator: torch.Generator | None = None) -> BEVMaskResult:
        """Mask one cloud ``(P, C)``."""
        coords, inside = voxel_coords(points[:, :3].double(), self.point_cloud_range, self.bev_cell_size)
        z = points[:, 2]
        inside = inside & (z >= self.point_cloud_range[2]) & (z < self.point_cloud_range[5])
        occupied = torch.zeros(
            grid_shape(self.point_cloud_range, self.bev_cell_size), dtype=torch.bool, device=points.device
        )
        occupied[coords[inside, 0], coords[inside, 1]] = True
        mask_ne, mask_e = bev_guided_mask(occupied, self.ratio_nonempty, self.ratio_empty, generator)
        masked = inside & mask_ne[coords[:, 0], coords[:, 1]]
        return BEVMaskResult(points[~masked], points[masked], masked, mask_ne, mask_e, occupied)
