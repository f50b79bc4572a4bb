"""Per-point targets from frozen-teacher feature maps, taken with the un-augmented calibration.

Each 3D point (in the student's, possibly augmented, LiDAR frame) is projected with
:func:`mmssl.geometry.original_lidar2img_from_meta` into every camera's *un-augmented* image at the
teacher's ``input_size``; where it lies in front of the camera (depth above ``min_depth``) and
inside the image, the teacher map of that camera is sampled bilinearly at its pixel
(``grid_sample``, ``align_corners=False``: the map covers the image edge to edge, so a continuous
pixel ``(u, v)`` of the ``(H_in, W_in)`` input is the map coordinate ``(u w / W_in, v h / H_in)``
for any map size ``(h, w)``; ``padding_mode='border'`` between the last cell centre and the edge).
The features of the cameras that see the point are averaged (``cameras='mean'``, OccFeat's rule) or
the lowest-index camera's is taken (``cameras='first'``, one pixel per point as ScaLR). A point seen
by no camera is invalid (its row is 0).

Since the student's image augmentations never enter this projection, one cache of the un-augmented
images serves every augmented epoch; the live teacher reads the same un-augmented images
(``LoadSSLMultiViewImages(keep_ori_img=True)``), so both give the same targets.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmssl.geometry import original_lidar2img_from_meta, point_to_pixel
from mmssl.registry import MODELS

CAMERA_RULES = ('mean', 'first')


def sample_at_pixels(maps: Tensor, image: Tensor, uv: Tensor, size: Sequence[float]) -> Tensor:
    """Bilinear ``(P, C)`` float32 features of ``(M, C, h, w)`` maps at ``P`` pixels.

    The maps cover their images edge to edge (``align_corners=False``, ``padding_mode='border'``),
    so the continuous pixel ``(u, v)`` of an image of size ``size = (H, W)`` is map coordinate
    ``(u w / W, v h / H)`` for any map size.

    Args:
        maps: ``(M, C, h, w)``.
        image: ``(P,)`` long index of each pixel's map.
        uv: ``(P, 2)`` continuous pixel coordinates.
        size: ``(H, W)`` of the images ``uv`` is in.
    """
    h_img, w_img = float(size[0]), float(size[1])
    grid = torch.stack([uv[:, 0] / w_img * 2 - 1, uv[:, 1] / h_img * 2 - 1], dim=1).float().to(maps.device)
    image = image.to(maps.device)
    out = maps.new_zeros((len(image), maps.shape[1]), dtype=torch.float32)
    for k in torch.unique(image).tolist():
        sel = image == k
        out[sel] = F.grid_sample(
            maps[k : k + 1].float(),
            grid[sel].view(1, 1, -1, 2),
            mode='bilinear',
            padding_mode='border',
            align_corners=False,
        )[0, :, 0].t()
    return out


def first_camera(point: Tensor, camera: Tensor, num_points: int) -> Tensor:
    """``(P,)`` bool: the pairs whose camera is the lowest-index camera that sees their point.

    Args:
        point: ``(P,)`` long point index of each (point, camera) pair, in ``[0, num_points)``.
        camera: ``(P,)`` long camera index.
        num_points: number of points the indices refer to.
    """
    lowest = torch.full((num_points,), int(camera.max()) + 1 if camera.numel() else 0, device=point.device)
    lowest.scatter_reduce_(0, point, camera, reduce='amin')
    return camera == lowest[point]


def sample_point_features(
    feats: Tensor,
    points: Tensor,
    lidar2img: Tensor,
    input_size: Sequence[int],
    cameras: str = 'mean',
    min_depth: float = 1e-3,
) -> Tuple[Tensor, Tensor]:
    """Bilinear teacher features of one sample's points.

    Args:
        feats: ``(N_cam, C, h, w)`` teacher maps covering images of size ``input_size``.
        points: ``(N, >=3)`` x, y, z first, in the frame ``lidar2img`` maps from.
        lidar2img: ``(N_cam, 4, 4)`` into pixels of the ``input_size`` images.
        input_size: ``(H_in, W_in)``.
        cameras: ``'mean'`` over the cameras that see a point, or ``'first'`` of them.
        min_depth: points with camera depth at or below this are not seen by that camera.

    Returns:
        ``(N, C)`` float32 features (0 for invalid points) and ``(N,)`` bool validity.
    """
    if cameras not in CAMERA_RULES:
        raise ValueError(f'cameras must be one of {CAMERA_RULES}, got {cameras!r}')
    if feats.dim() != 4 or lidar2img.shape != (feats.shape[0], 4, 4):
        raise ValueError(
            f'feats must be (N_cam, C, h, w) and lidar2img (N_cam, 4, 4); got {tuple(feats.shape)} '
            f'and {tuple(lidar2img.shape)}'
        )
    n, c = points.shape[0], feats.shape[1]
    h_in, w_in = float(input_size[0]), float(input_size[1])
    pts = points[:, :3].double()
    pairs = point_to_pixel(pts, lidar2img.double().to(pts.device), input_size, min_depth)
    pt_idx, cam_idx = pairs[:, 0].long(), pairs[:, 1].long()
    if cameras == 'first' and pairs.shape[0]:
        keep = first_camera(pt_idx, cam_idx, n)
        pairs, pt_idx, cam_idx = pairs[keep], pt_idx[keep], cam_idx[keep]
    vals = sample_at_pixels(feats, cam_idx, pairs[:, 2:4], (h_in, w_in))
    idx = pt_idx.to(feats.device)
    total = feats.new_zeros((n, c), dtype=torch.float32).index_add_(0, idx, vals)
    count = feats.new_zeros((n,), dtype=torch.float32).index_add_(
        0, idx, torch.ones_like(idx, dtype=torch.float32)
    )
    valid = count > 0
    return total / count.clamp(min=1)[:, None], valid


@MODELS.register_module()
class PointFeatureTargets(nn.Module):
    """Teacher features at the students' 3D points: ``(N_i, C)`` targets and ``(N_i,)`` masks.

    Args:
        features: config of the map source, a
            :class:`~mmssl.models.target_generators.CachedTeacherFeatures` (with ``cache_root``:
            the cache; without: the live teacher on ``data_sample.ssl_targets.ori_img``).
        cameras: ``'mean'`` (default) or ``'first'`` (see :func:`sample_point_features`).
        min_depth: see :func:`sample_point_features`.
    """

    def __init__(self, features: Dict[str, Any], cameras: str = 'mean', min_depth: float = 1e-3) -> None:
        super().__init__()
        if cameras not in CAMERA_RULES:
            raise ValueError(f'cameras must be one of {CAMERA_RULES}, got {cameras!r}')
        self.features = MODELS.build(features)
        self.cameras, self.min_depth = cameras, float(min_depth)
        self.input_size = tuple(self.features.input_size)

    def train(self, mode: bool = True) -> PointFeatureTargets:
        """Always in eval mode."""
        return super().train(False)

    def teacher_images(self, data_samples: Sequence[Any], device: torch.device | str) -> Tensor:
        """``(B, N, 3, H, W)`` un-augmented images for the live teacher, as the cache builder feeds it."""
        imgs = []
        for s in data_samples:
            tgt = getattr(s, 'ssl_targets', None)
            if tgt is None or 'ori_img' not in tgt:
                raise KeyError(
                    'the live teacher needs the un-augmented images: set '
                    'LoadSSLMultiViewImages(keep_ori_img=True) (packed to ssl_targets.ori_img), '
                    'or use a cache'
                )
            imgs.append(torch.as_tensor(tgt.ori_img))
        teacher = self.features.teacher
        x = torch.stack(imgs).to(device).flip(-1).permute(0, 1, 4, 2, 3).float()  # BGR -> RGB, NCHW
        x = x / 255.0 * teacher.input_scale
        return x.flip(2) if teacher.channel_order == 'bgr' else x

    @torch.no_grad()
    def teacher_maps(self, data_samples: Sequence[Any], device: torch.device | str) -> Tensor:
        """``(B, N_cam, C, h, w)`` teacher maps of the batch (the live teacher or the cache), covering
        the un-augmented images at ``input_size``."""
        tokens = [s.metainfo.get('token') for s in data_samples]
        if self.features.teacher is not None:
            return self.features(self.teacher_images(data_samples, device), tokens=tokens)
        return self.features(torch.empty(0, device=device), tokens=tokens)

    @torch.no_grad()
    def forward(
        self, points: Sequence[Tensor], data_samples: Sequence[Any]
    ) -> Tuple[List[Tensor], List[Tensor]]:
        """Targets of a batch.

        Args:
            points: ``B`` tensors ``(N_i, >=3)`` in each sample's (augmented) LiDAR frame.
            data_samples: the ``B`` data samples (metainfo: ``ori_lidar2img``, ``ori_img_shape``,
                ``lidar_aug_matrix``, ``token``).

        Returns:
            ``B`` features ``(N_i, C)`` float32 and ``B`` masks ``(N_i,)`` bool, on the points' device.
        """
        if len(points) != len(data_samples):
            raise ValueError(f'{len(points)} point clouds for {len(data_samples)} samples')
        device = points[0].device
        maps = self.teacher_maps(data_samples, device)
        feats, masks = [], []
        for i, (pts, sample) in enumerate(zip(points, data_samples)):
            mats = original_lidar2img_from_meta(sample.metainfo, maps.shape[1], self.input_size)
            f, v = sample_point_features(
                maps[i], pts, torch.as_tensor(np.asarray(mats)), self.input_size, self.cameras, self.min_depth
            )
            feats.append(f.to(device))
            masks.append(v.to(device))
        return feats, masks
