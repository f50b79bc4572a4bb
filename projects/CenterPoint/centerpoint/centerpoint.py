"""CenterPoint (Yin et al., CVPR 2021) from MMDet3D, with its head initialised as published.

The detector is MMDet3D's ``CenterPoint`` (voxel encoder, sparse middle encoder, SECOND +
SECONDFPN, ``CenterHead``). The only change: after MMEngine's weight init, the modules the
recursive init skips are initialised (:func:`mmssl.models.utils.init_unreached_modules`); in
MMDet3D 1.4 that is every ``SeparateHead`` of ``CenterHead``, whose heatmap bias must start at
``init_bias`` = -2.19 (the focal-loss prior of the paper's Sec. 4 / CornerNet).
"""

from __future__ import annotations

from mmdet3d.models.detectors import CenterPoint as MMDet3DCenterPoint

from mmssl.models.finetune import FinetuneStrategyMixin
from mmssl.models.utils import apply_init_from, init_unreached_modules
from mmssl.registry import MODELS


@MODELS.register_module()
class CenterPoint(FinetuneStrategyMixin, MMDet3DCenterPoint):
    """MMDet3D ``CenterPoint``; same arguments plus ``init_from``.

    Inputs from a data preprocessor with ``voxel=True`` (``mmssl.TorchVoxelDataPreprocessor``):
    ``inputs['voxels']`` with hard voxels ``(M, P, C)``, ``coors`` ``(M, 4)``
    ``(batch, z, y, x)`` and ``num_points`` ``(M,)``.

    Args:
        init_from: Fine-tuning init from a pre-training checkpoint,
            ``dict(checkpoint=path | None, prefix_map={...}, strict=False)``
            (:func:`mmssl.models.utils.apply_init_from`).
        finetune_strategy: Which parameters train (:mod:`mmssl.models.finetune`; default
            ``FullFinetune``).
        **kwargs: MMDet3D ``CenterPoint`` arguments.
    """

    def __init__(
        self, init_from: dict | None = None, finetune_strategy: dict | None = None, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.init_from = init_from
        self.init_finetune_strategy(finetune_strategy)

    def init_weights(self) -> None:
        super().init_weights()
        init_unreached_modules(self)
        self.init_report = apply_init_from(self, self.init_from)
        self.finetune_after_init_weights()
