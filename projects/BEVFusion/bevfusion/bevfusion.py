"""BEVFusion (Liu et al., ICRA 2023): camera and LiDAR features fused in a shared BEV space.

Camera branch (Sec. 3.2): multi-view image backbone + FPN, LSS view transform with depth
distributions (optionally with LiDAR depth input, as the released ``DepthLSSTransform``),
pure-PyTorch BEV pooling (:mod:`mmssl.ops`; the paper's CUDA kernel is replaced by an
``index_add``, same sums). LiDAR branch: hard voxelisation (pure PyTorch, in the data
preprocessor), mean voxel features and MMDet3D's sparse ``SparseEncoder`` (spconv).
Fusion (Sec. 3.3): a convolutional fuser on the concatenated BEV maps, then a BEV encoder
(SECOND + SECONDFPN) and task heads: 3D detection (MMDet3D's ``CenterHead``; the paper's
TransFusion head is not used, see the project README) and BEV map segmentation
(:class:`BEVSegHead`).

Every branch is optional, so the same class is a camera-only (BEVDet-like), LiDAR-only or
fused detector depending on the config.
"""

from __future__ import annotations

from typing import Dict, List

from mmdet3d.models import Base3DDetector
from mmdet3d.structures import Det3DDataSample
from torch import Tensor

from mmssl.models.backbones import MultiModalEncoderMixin
from mmssl.models.finetune import FinetuneStrategyMixin
from mmssl.models.utils import apply_init_from, init_unreached_modules
from mmssl.registry import MODELS


@MODELS.register_module()
class BEVFusion(FinetuneStrategyMixin, MultiModalEncoderMixin, Base3DDetector):
    """Camera + LiDAR BEV detector.

    Args:
        data_preprocessor: Usually ``TorchVoxelDataPreprocessor`` (hard voxels).
        img_backbone, img_neck: 2D backbone and FPN, run on all ``N`` cameras.
        view_transform: ``LSSViewTransform`` producing camera BEV ``(B, C_cam, Y, X)``.
        pts_voxel_encoder: e.g. ``mmdet3d.HardSimpleVFE`` (mean of the points of a voxel).
        pts_middle_encoder: e.g. ``mmdet3d.SparseEncoder`` producing LiDAR BEV
            ``(B, C_lidar, Y, X)``.
        fusion_layer: e.g. ``ConvFuser``; required when both branches exist.
        pts_backbone, pts_neck: BEV encoder (``mmdet3d.SECOND`` + ``mmdet3d.SECONDFPN``).
        bbox_head: 3D detection head (``mmdet3d.CenterHead``); ``train_cfg``/``test_cfg``
            ``pts`` entries are passed to it as MMDet3D's ``MVXTwoStageDetector`` does.
        seg_head: Optional BEV map segmentation head (``BEVSegHead``).
        img_feature_level: Which FPN level feeds the view transform.
        init_from: Fine-tuning init from a pre-training checkpoint,
            ``dict(checkpoint=path | None, prefix_map={src_prefix: dst_prefix}, strict=False)``
            (:func:`mmssl.models.utils.apply_init_from`), applied at the end of
            ``init_weights``.
        finetune_strategy: Which parameters train, e.g. ``dict(type='LinearProbe')`` or
            ``dict(type='LoRAFinetune', rank=16)`` (:mod:`mmssl.models.finetune`; default
            ``FullFinetune``: all of them).
        train_cfg, test_cfg, init_cfg: As in MMDet3D.
    """

    def __init__(
        self,
        data_preprocessor: dict | None = None,
        img_backbone: dict | None = None,
        img_neck: dict | None = None,
        view_transform: dict | None = None,
        pts_voxel_encoder: dict | None = None,
        pts_middle_encoder: dict | None = None,
        fusion_layer: dict | None = None,
        pts_backbone: dict | None = None,
        pts_neck: dict | None = None,
        bbox_head: dict | None = None,
        seg_head: dict | None = None,
        img_feature_level: int = 0,
        init_from: dict | None = None,
        finetune_strategy: dict | None = None,
        train_cfg: dict | None = None,
        test_cfg: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.build_encoders(
            img_backbone, img_neck, view_transform, pts_voxel_encoder, pts_middle_encoder, img_feature_level
        )
        if self.with_camera and self.with_lidar:
            if fusion_layer is None:
                raise ValueError('camera + LiDAR needs a fusion_layer')
            self.fusion_layer = MODELS.build(fusion_layer)
        else:
            self.fusion_layer = None
        self.pts_backbone = MODELS.build(pts_backbone)
        self.pts_neck = MODELS.build(pts_neck) if pts_neck is not None else None
        self.init_from = init_from
        train_pts = (train_cfg or {}).get('pts')
        test_pts = (test_cfg or {}).get('pts')
        self.bbox_head = None
        if bbox_head is not None:
            bbox_head = dict(bbox_head, train_cfg=train_pts, test_cfg=test_pts)
            self.bbox_head = MODELS.build(bbox_head)
        self.seg_head = MODELS.build(seg_head) if seg_head is not None else None
        if self.bbox_head is None and self.seg_head is None:
            raise ValueError('BEVFusion needs a bbox_head, a seg_head or both')
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.init_finetune_strategy(finetune_strategy)

    def init_weights(self) -> None:
        """MMEngine init, then the modules it skips (e.g. ``CenterHead``'s task heads, see
        :func:`mmssl.models.utils.init_unreached_modules`), then ``init_from``, then the
        fine-tuning strategy's re-initialisation (LoRA's zero-init adapters)."""
        super().init_weights()
        init_unreached_modules(self)
        self.init_report = apply_init_from(self, self.init_from)
        self.finetune_after_init_weights()

    # ------------------------------------------------------------------ features
    def extract_feat(
        self, batch_inputs_dict: dict, batch_data_samples: List[Det3DDataSample]
    ) -> List[Tensor]:
        """Multi-scale BEV features after fusion and the BEV encoder (encoders: the shared
        :class:`~mmssl.models.backbones.MultiModalEncoderMixin`)."""
        bevs = self.encoder_bevs(batch_inputs_dict, batch_data_samples)
        x = self.fusion_layer(bevs) if self.fusion_layer is not None else bevs[0]
        x = self.pts_backbone(x)
        if self.pts_neck is not None:
            x = self.pts_neck(x)
        return list(x) if isinstance(x, (list, tuple)) else [x]

    # ------------------------------------------------------------------ modes
    def loss(
        self, batch_inputs_dict: dict, batch_data_samples: List[Det3DDataSample], **kwargs
    ) -> Dict[str, Tensor]:
        """Losses of the detection and segmentation heads."""
        feats = self.extract_feat(batch_inputs_dict, batch_data_samples)
        losses: Dict[str, Tensor] = {}
        if self.bbox_head is not None:
            losses.update(self.bbox_head.loss(feats, batch_data_samples))
        if self.seg_head is not None:
            losses.update(self.seg_head.loss(feats, batch_data_samples))
        return losses

    def predict(
        self, batch_inputs_dict: dict, batch_data_samples: List[Det3DDataSample], **kwargs
    ) -> List[Det3DDataSample]:
        """Detections in ``pred_instances_3d`` (bboxes_3d, scores_3d, labels_3d) and, with a
        segmentation head, ``pred_bev_seg`` (probabilities ``(K, Y, X)``)."""
        feats = self.extract_feat(batch_inputs_dict, batch_data_samples)
        if self.bbox_head is not None:
            results = self.bbox_head.predict(feats, batch_data_samples)
            batch_data_samples = self.add_pred_to_datasample(batch_data_samples, results)
        if self.seg_head is not None:
            self.seg_head.predict(feats, batch_data_samples)
        return batch_data_samples

    def _forward(
        self, batch_inputs_dict: dict, batch_data_samples: List[Det3DDataSample] | None = None, **kwargs
    ):
        """Raw head outputs (no post-processing)."""
        feats = self.extract_feat(batch_inputs_dict, batch_data_samples)
        outs = {}
        if self.bbox_head is not None:
            outs['bbox'] = self.bbox_head(feats)
        if self.seg_head is not None:
            outs['seg'] = self.seg_head(feats)
        return outs
