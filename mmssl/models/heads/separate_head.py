"""CenterPoint's per-task regression branches with a choice of heatmap initialisation."""

from __future__ import annotations

from mmdet3d.models.dense_heads.centerpoint_head import SeparateHead
from torch import nn

from mmssl.registry import MODELS

HEATMAP_INITS = ('kaiming', 'pytorch')


@MODELS.register_module()
class CenterSeparateHead(SeparateHead):
    """MMDet3D's ``SeparateHead`` whose heatmap branch can keep PyTorch's default initialisation.

    MMDet3D Kaiming-initialises every ``Conv2d`` of the head, the heatmap branch included, and
    then sets the last heatmap bias to ``init_bias``. The CenterPoint authors' heads (OpenPCDet's
    ``SeparateHead``, CenterPoint's own ``SepHead``) Kaiming-initialise the regression branches
    only: the heatmap convolutions keep PyTorch's default (``kaiming_uniform_(a=sqrt(5))``, about
    ``1 / sqrt(fan_in)``), so the initial logits sit close to ``init_bias`` (the focal-loss prior,
    Lin et al. 2017 Sec. 4.1). With MMDet3D's init the initial logits spread widely and the focal
    loss starts at hundreds; a short CPU schedule spends its first ~50 iterations shrinking them
    (docs/benchmarks-detectors.md).

    Args:
        heatmap_init: ``'kaiming'`` (MMDet3D's behaviour) or ``'pytorch'`` (the CenterPoint
            authors' behaviour: default init of the heatmap convolutions, bias ``init_bias``).
        **kwargs: MMDet3D ``SeparateHead`` arguments (``in_channels``, ``heads``, ``head_conv``,
            ``final_kernel``, ``init_bias``, ...).
    """

    def __init__(self, heatmap_init: str = 'pytorch', **kwargs) -> None:
        if heatmap_init not in HEATMAP_INITS:
            raise ValueError(
                f'CenterSeparateHead: heatmap_init must be one of {HEATMAP_INITS}, got {heatmap_init!r}'
            )
        super().__init__(**kwargs)
        self.heatmap_init = heatmap_init

    def init_weights(self) -> None:
        """Kaiming-initialise the convolutions, then restore the heatmap branch's default init."""
        super().init_weights()
        if 'heatmap' not in self.heads or self.heatmap_init == 'kaiming':
            return
        branch = self.heatmap
        for module in branch.modules():
            if isinstance(module, nn.Conv2d):
                module.reset_parameters()
        branch[-1].bias.data.fill_(self.init_bias)
