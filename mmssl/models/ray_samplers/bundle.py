"""What ray samplers read (:class:`RenderContext`) and return (:class:`RayBundle`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

from torch import Tensor


@dataclass
class RenderContext:
    """The unmasked observations of a batch that rendering targets are taken from.

    Attributes:
        data_samples: the batch's data samples (pipeline targets in ``ssl_targets``).
        points: per sample ``(P_i, 3)`` all LiDAR points (visible and masked), or None.
        colour: ``(B, N, 3, H, W)`` unmasked images in ``[0, 1]``, or None.
        lidar2img: ``(B, N, 4, 4)`` augmented LiDAR-to-pixel matrices, or None.
    """

    data_samples: Sequence
    points: List[Tensor] | None = None
    colour: Tensor | None = None
    lidar2img: Tensor | None = None

    def first(self) -> RenderContext:
        """The context of the first sample alone."""
        return RenderContext(
            self.data_samples[:1],
            self.points[:1] if self.points is not None else None,
            self.colour[:1] if self.colour is not None else None,
            self.lidar2img[:1] if self.lidar2img is not None else None,
        )


@dataclass
class RayBundle:
    """Rays and their targets.

    Attributes:
        origins: ``(B, R, 3)`` ray origins in the LiDAR frame.
        directions: ``(B, R, 3)`` directions; a sample at ray parameter ``t`` lies at
            ``origin + t * direction``.
        targets: per-ray targets ``(B, R, ...)``, e.g. ``depth``, ``valid``, ``rgb``.
        grid: for dense bundles, the ``(views, h, w)`` layout of the ``R`` rays of sample 0.
    """

    origins: Tensor
    directions: Tensor
    targets: Dict[str, Tensor] = field(default_factory=dict)
    grid: Tuple[int, int, int] | None = None
