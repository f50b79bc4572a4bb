"""MinkUNet LiDAR semantic segmentation (Choy et al., CVPR 2019) from MMDet3D, for fine-tuning.

The segmentor is MMDet3D 1.4's ``MinkUNet`` (``EncoderDecoder3D``): ``backbone`` is a
``MinkUNetBackbone`` (sparse U-Net; ``sparseconv_backend='spconv'`` runs forward and backward on
the CPU with spconv 2.3.8 and mmssl's compat patches), ``decode_head`` a ``MinkUNetHead`` whose only
parameters are its final ``nn.Linear`` (``decode_head.conv_seg``). A pre-trained point-wise encoder
with the same module names (``backbone.*``) hands off with an identity key map, and SLidR's linear
probe (only the final layer trains) is ``LinearProbe(trainable=['decode_head.conv_seg'])``.

Changes to MMDet3D's class:

* ``init_from`` (fine-tuning from a pre-training checkpoint) and ``finetune_strategy``, as every
  mmssl downstream model (:mod:`mmssl.models.finetune`);
* the ``backbone`` config is deep-copied before it is built: ``MinkUNetBackbone.__init__`` inserts
  ``base_channels`` into the ``encoder_channels`` / ``decoder_channels`` lists it is given, so a
  second model built from the same plain-dict config (a ``ConfigDict`` is copied by the registry)
  would fail its channel assertion.

Inputs come from :class:`~projects.MinkUNet.minkunet.data_preprocessor.MinkUNetDataPreprocessor`
(``voxel_type='minkunet'``): ``inputs['voxels']`` with ``voxels`` ``(V, C)`` (one point per voxel)
and ``coors`` ``(V, 4)`` ``(batch, x, y, z)``. ``predict`` returns per-point labels in
``pred_pts_seg.pts_semantic_mask`` ``(P,)`` and logits ``pts_seg_logits.pts_seg_logits``
``(num_classes, P)``.
"""

from __future__ import annotations

import copy

from mmdet3d.models.segmentors import MinkUNet as MMDet3DMinkUNet

from mmssl.models.finetune import FinetuneStrategyMixin
from mmssl.models.utils import apply_init_from
from mmssl.registry import MODELS


@MODELS.register_module()
class MinkUNet(FinetuneStrategyMixin, MMDet3DMinkUNet):
    """MMDet3D ``MinkUNet``; same arguments plus ``init_from`` and ``finetune_strategy``.

    Args:
        init_from: Fine-tuning init from a pre-training checkpoint,
            ``dict(checkpoint=path | None, prefix_map={...}, strict=False)``
            (:func:`mmssl.models.utils.apply_init_from`).
        finetune_strategy: Which parameters train (:mod:`mmssl.models.finetune`; default
            ``FullFinetune``).
        **kwargs: MMDet3D ``MinkUNet`` / ``EncoderDecoder3D`` arguments (``backbone``,
            ``decode_head``, ``data_preprocessor``, ``train_cfg``, ``test_cfg``, ...).
    """

    def __init__(
        self, init_from: dict | None = None, finetune_strategy: dict | None = None, **kwargs
    ) -> None:
        if kwargs.get('backbone') is not None:
            kwargs['backbone'] = copy.deepcopy(kwargs['backbone'])
        super().__init__(**kwargs)
        self.init_from = init_from
        self.init_finetune_strategy(finetune_strategy)

    def init_weights(self) -> None:
        super().init_weights()
        self.init_report = apply_init_from(self, self.init_from)
        self.finetune_after_init_weights()
