"""Density -> alpha parameterisations for the shared volume renderer.

The renderer (:class:`~mmssl.models.renderers.VolumeRenderer`) composites per-sample
opacities ``alpha``; a density module turns the field's raw output into them. This keeps
one renderer for NeRF-style density fields (NS-MAE) and SDF fields (a NeuS alpha, as
UniPAD uses, is another module with the same ``forward(raw, deltas, **kwargs)``). The renderer
passes every field output but colour (e.g. ``sdf_grad``) and ``view_dirs`` as keywords.
"""

from __future__ import annotations

from torch import Tensor, nn

from mmssl.ops.volume_rendering import nerf_alpha
from mmssl.registry import MODELS


@MODELS.register_module()
class NeRFDensity(nn.Module):
    """NeRF alpha ``1 - exp(-act(sigma) delta)`` (NS-MAE eq. 2).

    Args:
        activation: ``'relu'`` (NeRF and the official NS-MAE code) or ``'softplus'``.
    """

    def __init__(self, activation: str = 'relu') -> None:
        super().__init__()
        if activation not in ('relu', 'softplus'):
            raise ValueError(f"NeRFDensity: activation must be 'relu' or 'softplus', got {activation!r}")
        self.activation = activation

    def forward(self, raw: Tensor, deltas: Tensor, **field_outputs) -> Tensor:
        """Alpha of each sample.

        Args:
            raw: (B, R, S) density before activation.
            deltas: (B, R, S) bin lengths.
            field_outputs: the field's other outputs and ``view_dirs`` (unused by NeRF).

        Returns:
            (B, R, S) alpha.
        """
        return nerf_alpha(raw, deltas, self.activation)
