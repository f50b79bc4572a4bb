"""BEV-guided masking: AD-L-JEPA's modified version (Zhu et al., 2025, Sec. III-A) and BEV-MAE's."""

from __future__ import annotations

from typing import List, NamedTuple, Sequence, Tuple

import torch
from torch import Tensor, nn

from mmssl.geometry import grid_shape, voxel_coords
from mmssl.ops.masking import bev_guided_mask, exact_random_mask
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

    The in-range points are binned into BEV cells (``bev_cell_size``: the encoder's voxel size
    times its BEV stride, e.g. 0.4 m on KITTI, 0.8 m on Waymo and on the tiny CenterPoint).
    Defaults (mmssl's reading of AD-L-JEPA Sec. III-A, "masks are applied to 50% of non-empty BEV
    grids and 50% of empty BEV grids"): per sample, exactly ``round(ratio_nonempty * n_nonempty)``
    non-empty and ``round(ratio_empty * n_empty)`` empty cells are masked. ``ratio_empty=0`` is the
    original BEV-guided masking of BEV-MAE (Lin et al., 2024: 70% of the non-empty 0.8 m cells).

    The official AD-L-JEPA code's behaviour (METHOD_FACTS 3) is available as options:
    ``nonempty_scope='batch'`` draws the non-empty cells over the unique cells of the whole batch
    (``forward_batch`` only; per-sample counts then vary; BEV-MAE's code does the same) and
    ``empty_sampling='bernoulli'`` masks each empty cell by an independent draw of probability
    ``ratio_empty``.

    Args:
        point_cloud_range: 6 floats.
        bev_cell_size: ``(dx, dy)`` of the BEV cells.
        ratio_nonempty, ratio_empty: masking ratios.
        nonempty_scope: ``'sample'`` (default) or ``'batch'`` (official).
        empty_sampling: ``'exact'`` (default) or ``'bernoulli'`` (official).
    """

    SCOPES = ('sample', 'batch')
    EMPTY_SAMPLING = ('exact', 'bernoulli')

    def __init__(
        self,
        point_cloud_range: Sequence[float],
        bev_cell_size: Sequence[float],
        ratio_nonempty: float = 0.5,
        ratio_empty: float = 0.5,
        nonempty_scope: str = 'sample',
        empty_sampling: str = 'exact',
    ) -> None:
        super().__init__()
        if nonempty_scope not in self.SCOPES:
            raise ValueError(
                f'BEVGuidedMasker: nonempty_scope must be one of {self.SCOPES}, got {nonempty_scope!r}'
            )
        if empty_sampling not in self.EMPTY_SAMPLING:
            raise ValueError(
                f'BEVGuidedMasker: empty_sampling must be one of {self.EMPTY_SAMPLING}, '
                f'got {empty_sampling!r}'
            )
        self.point_cloud_range = [float(v) for v in point_cloud_range]
        self.bev_cell_size = [float(v) for v in bev_cell_size[:2]]
        self.ratio_nonempty = float(ratio_nonempty)
        self.ratio_empty = float(ratio_empty)
        self.nonempty_scope = nonempty_scope
        self.empty_sampling = empty_sampling

    @property
    def grid_shape(self) -> Tuple[int, int]:
        """``(Y, X)`` cells of the BEV grid."""
        return grid_shape(self.point_cloud_range, self.bev_cell_size)

    def occupancy(self, points: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Cells of one cloud ``(P, C)``.

        Returns:
            ``coords`` ``(P, 2)`` long ``(y, x)``, ``inside`` ``(P,)`` bool (in the 3D range) and
            ``occupied`` ``(Y, X)`` bool.
        """
        coords, inside = voxel_coords(points[:, :3].double(), self.point_cloud_range, self.bev_cell_size)
        z = points[:, 2]
        inside = inside & (z >= self.point_cloud_range[2]) & (z < self.point_cloud_range[5])
        occupied = torch.zeros(self.grid_shape, dtype=torch.bool, device=points.device)
        occupied[coords[inside, 0], coords[inside, 1]] = True
        return coords, inside, occupied

    def _empty_mask(self, occupied: Tensor, generator: torch.Generator | None) -> Tensor:
        """``(Y, X)`` mask of empty cells, by the configured sampling."""
        if self.empty_sampling == 'exact':
            return bev_guided_mask(occupied, 0.0, self.ratio_empty, generator)[1]
        draw = torch.rand(occupied.shape, generator=generator).to(occupied.device)
        return (draw < self.ratio_empty) & ~occupied

    def _split(
        self,
        points: Tensor,
        coords: Tensor,
        inside: Tensor,
        occupied: Tensor,
        mask_ne: Tensor,
        mask_e: Tensor,
    ) -> BEVMaskResult:
        masked = inside & mask_ne[coords[:, 0], coords[:, 1]]
        return BEVMaskResult(points[~masked], points[masked], masked, mask_ne, mask_e, occupied)

    def forward(self, points: Tensor, generator: torch.Generator | None = None) -> BEVMaskResult:
        """Mask one cloud ``(P, C)`` (per-sample draw, whatever ``nonempty_scope``)."""
        coords, inside, occupied = self.occupancy(points)
        mask_ne = bev_guided_mask(occupied, self.ratio_nonempty, 0.0, generator)[0]
        return self._split(points, coords, inside, occupied, mask_ne, self._empty_mask(occupied, generator))

    def forward_batch(
        self, points: List[Tensor], generator: torch.Generator | None = None
    ) -> List[BEVMaskResult]:
        """Mask every cloud of a batch: per sample, or over the batch's non-empty cells
        (``nonempty_scope='batch'``)."""
        if self.nonempty_scope == 'sample':
            return [self.forward(p, generator) for p in points]
        cells = [self.occupancy(p) for p in points]
        occupied = torch.stack([c[2] for c in cells])  # (B, Y, X)
        flat = occupied.reshape(-1)
        idx = torch.nonzero(flat, as_tuple=True)[0]
        mask_ne = torch.zeros_like(flat)
        mask_ne[idx] = exact_random_mask(idx.numel(), self.ratio_nonempty, generator, flat.device)
        mask_ne = mask_ne.view_as(occupied)
        return [
            self._split(p, c, i, occ, m, self._empty_mask(occ, generator))
            for p, (c, i, occ), m in zip(points, cells, mask_ne)
        ]

    def mask_batch(
        self, points: List[Tensor], generator: torch.Generator | None = None
    ) -> Tuple[List[Tensor], List[Tensor]]:
        """(visible, masked) point lists of :meth:`forward_batch`."""
        out = self.forward_batch(points, generator)
        return [o.visible for o in out], [o.masked for o in out]
