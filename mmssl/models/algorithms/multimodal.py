"""The camera+LiDAR base every pre-training method of mmssl inherits.

:class:`MultiModalSelfSupervisor` builds the detector's encoders through the builder the
detectors use (:class:`~mmssl.models.backbones.MultiModalEncoderMixin`, same module names, so
checkpoints fine-tune with an identity key map), the registered maskers
(:mod:`mmssl.models.maskers`) and the base's ``target_generator``/``teacher`` slots, and provides
what methods share: masking with one rule for the pipeline and model paths, the encoder volume
(camera volume on a chosen z grid plus LiDAR volume) and the unmasked render context. A method
class holds its own heads and loss wiring.
"""

from __future__ import annotations

from typing import List, NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from mmssl.geometry import lidar2img_batch
from mmssl.models.backbones import MultiModalEncoderMixin
from mmssl.models.maskers import BEVMaskResult
from mmssl.models.ray_samplers import RenderContext
from mmssl.models.utils.ssl_targets import stacked_ssl_target
from mmssl.registry import MODELS

from .base import BaseSelfSupervisor


class MaskedInputs(NamedTuple):
    """Output of :meth:`MultiModalSelfSupervisor.mask_inputs`.

    Attributes:
        inputs: the inputs with masked images (``imgs``, ``img_patch_mask``) and visible LiDAR
            (``points``, re-voxelised ``voxels`` when the model masked them).
        masked_points: per sample ``(K_i, C)`` removed points (empty when LiDAR is not masked).
        lidar_masked: whether a LiDAR mask was applied (by the pipeline or the model).
        lidar_masks: per sample, the ``lidar_masker``'s full result (e.g.
            :class:`~mmssl.models.maskers.BEVMaskResult` with the cell masks) when the model
            masked; None otherwise.
    """

    inputs: dict
    masked_points: List[Tensor]
    lidar_masked: bool
    lidar_masks: List[NamedTuple] | None = None


class BEVCellMasks(NamedTuple):
    """``(B, Y, X)`` bool cell masks of a BEV-guided LiDAR mask (``bev_cell_masks``).

    Attributes:
        masked_nonempty: masked cells holding points (their points were removed).
        masked_empty: masked cells without points.
        nonempty: cells holding points in the unmasked cloud.
    """

    masked_nonempty: Tensor
    masked_empty: Tensor
    nonempty: Tensor


class MultiModalSelfSupervisor(MultiModalEncoderMixin, BaseSelfSupervisor):
    """Encoders, maskers and shared volumes of camera and/or LiDAR pre-training.

    Masking rule (one path per modality): images are masked when ``img_masker`` is set, with the
    pipeline's ``ssl_targets.img_patch_mask`` when present (drawn by the masker otherwise) and the
    masker's fill token; LiDAR is masked by the pipeline (``ssl_targets.masked_points``) or by
    ``lidar_masker``, never both.

    Args:
        data_preprocessor: e.g. ``TorchVoxelDataPreprocessor`` with ``voxel=True`` (LiDAR).
        img_masker: config of an :class:`~mmssl.models.maskers.ImagePatchMasker`.
        lidar_masker: config of a model-side LiDAR masker (e.g.
            :class:`~mmssl.models.maskers.VoxelMasker`, :class:`~mmssl.models.maskers.BEVGuidedMasker`:
            a registered module with ``forward_batch(points) -> [result with .visible, .masked]``).
        target_generator, teacher: the base's frozen and EMA slots.
        init_cfg: MMEngine init config.
        **encoders: ``img_backbone``, ``img_neck``, ``view_transform``, ``pts_voxel_encoder``,
            ``pts_middle_encoder`` and ``img_feature_level``, as the detector's config blocks
            (:meth:`~mmssl.models.backbones.MultiModalEncoderMixin.build_encoders`).
    """

    def __init__(
        self,
        data_preprocessor: dict | None = None,
        img_masker: dict | None = None,
        lidar_masker: dict | None = None,
        target_generator: dict | None = None,
        teacher: dict | None = None,
        init_cfg: dict | None = None,
        **encoders,
    ) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor,
            target_generator=target_generator,
            teacher=teacher,
            init_cfg=init_cfg,
        )
        self.build_encoders(**encoders)
        self.img_masker = MODELS.build(img_masker) if img_masker is not None else None
        self.lidar_masker = MODELS.build(lidar_masker) if lidar_masker is not None else None
        self.build_teacher()

    # ------------------------------------------------------------------ masking
    def mask_inputs(self, inputs: dict, data_samples: Sequence) -> MaskedInputs:
        """Apply the image and LiDAR masks (see the class docstring for the rule).

        Raises:
            ValueError: LiDAR masked by both the pipeline and ``lidar_masker``.
        """
        out = dict(inputs)
        points = inputs.get('points')
        masked_pts: List[Tensor] = [p[:0] for p in points] if points is not None else []
        lidar_masked = False
        lidar_masks = None
        if points is not None:
            from_pipe = self.get_ssl_target(data_samples, 'masked_points', required=False)
            if all(m is not None for m in from_pipe):
                if self.lidar_masker is not None:
                    raise ValueError(
                        f'{type(self).__name__}: LiDAR masked twice: the pipeline provides masked_points '
                        'and the model has a lidar_masker; drop one'
                    )
                masked_pts = [
                    torch.as_tensor(m, device=points[0].device).to(points[0].dtype) for m in from_pipe
                ]
                lidar_masked = True
            elif self.lidar_masker is not None:
                lidar_masks = self.lidar_masker.forward_batch(points)
                visible = [m.visible for m in lidar_masks]
                masked_pts = [m.masked for m in lidar_masks]
                out['points'] = visible
                if self.with_lidar:
                    out['voxels'] = self.data_preprocessor.voxelize(visible, data_samples)
                lidar_masked = True
        if self.img_masker is not None and 'imgs' in inputs:
            imgs = inputs['imgs']
            b, n, _, h, w = imgs.shape
            mask = stacked_ssl_target(data_samples, 'img_patch_mask', imgs.device)
            if mask is None:
                mask = self.img_masker.generate_batch(b, n, (h, w)).to(imgs.device)
            out['img_patch_mask'] = mask.bool()
            out['imgs'] = self.img_masker(imgs, mask.bool())
        return MaskedInputs(out, masked_pts, lidar_masked, lidar_masks)

    def bev_cell_masks(self, masked: MaskedInputs, data_samples: Sequence, device) -> BEVCellMasks:
        """The BEV cell masks of a BEV-guided LiDAR mask (AD-L-JEPA, BEV-MAE), from the model's
        ``lidar_masker`` results or from the pipeline's ``BEVGuidedMask`` targets.

        Raises:
            ValueError: the LiDAR mask carries no cell masks (not BEV-guided).
        """
        if masked.lidar_masks and all(isinstance(m, BEVMaskResult) for m in masked.lidar_masks):
            res = masked.lidar_masks
            maps = ([r.mask_nonempty for r in res], [r.mask_empty for r in res], [r.nonempty for r in res])
            return BEVCellMasks(*(torch.stack(m).to(device) for m in maps))
        keys = ('bev_mask_nonempty', 'bev_mask_empty', 'bev_nonempty')
        maps = [stacked_ssl_target(data_samples, k, device) for k in keys]
        if any(m is None for m in maps):
            raise ValueError(
                f'{type(self).__name__} needs BEV cell masks: set '
                'lidar_masker=dict(type="BEVGuidedMasker", ...) or the pipeline transform BEVGuidedMask'
            )
        return BEVCellMasks(*(m.bool() for m in maps))

    # ------------------------------------------------------------------ embedding
    def encoder_volume(
        self,
        inputs: dict,
        data_samples: Sequence,
        point_cloud_range: Sequence[float],
        z_bins: int,
        lidar_channels: int,
        fuse: str = 'concat',
    ) -> Tensor:
        """Fused embedding volume ``(B, C, Z, Y, X)`` of the (masked) inputs.

        The camera volume is pooled at ``z_bins`` levels over the range's z extent; both volumes
        are resampled trilinearly to ``z_bins`` levels on the LiDAR volume's x-y grid (the camera
        volume's when camera-only), then concatenated (``C = C_I + C_L``) or added.
        """
        vols = []
        if self.with_camera:
            pcr = point_cloud_range
            vols.append(
                self.camera_volume(inputs, data_samples, (pcr[2], pcr[5], (pcr[5] - pcr[2]) / z_bins))
            )
        if self.with_lidar:
            vols.append(self.lidar_volume(inputs, len(data_samples), lidar_channels))
        size = (z_bins, *vols[-1].shape[-2:])
        vols = [
            v
            if tuple(v.shape[2:]) == size
            else F.interpolate(v, size=size, mode='trilinear', align_corners=False)
            for v in vols
        ]
        if fuse == 'concat':
            return torch.cat(vols, dim=1)
        if fuse == 'add':
            return torch.stack(vols).sum(0)
        raise ValueError(f"fuse must be 'concat' or 'add', got {fuse!r}")

    # ------------------------------------------------------------------ targets
    def colour_image(self, imgs: Tensor) -> Tensor:
        """Undo the preprocessor normalisation: (B, N, 3, H, W) in [0, 1]."""
        dp = self.data_preprocessor
        if getattr(dp, '_enable_normalize', False):
            imgs = imgs * dp.std.view(1, 1, 3, 1, 1) + dp.mean.view(1, 1, 3, 1, 1)
        return (imgs / 255.0).clamp(0, 1)

    def render_context(self, inputs: dict, data_samples: Sequence, masked: MaskedInputs) -> RenderContext:
        """The unmasked observations: all points (visible + masked), colour of the unmasked
        ``inputs['imgs']`` and ``lidar2img``."""
        points = masked.inputs.get('points')
        all_points = (
            [torch.cat([p[:, :3], m[:, :3].to(p)]) for p, m in zip(points, masked.masked_points)]
            if points is not None
            else None
        )
        colour = lidar2img = None
        if 'imgs' in inputs:
            imgs = inputs['imgs']
            colour = self.colour_image(imgs)
            lidar2img = lidar2img_batch([s.metainfo for s in data_samples], imgs.shape[1], imgs.device)
        return RenderContext(data_samples, all_points, colour, lidar2img)
