"""``LoadSuperpixels``: the cached superpixel maps of a sample's cameras, on the un-augmented images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from mmcv.transforms import BaseTransform

from mmssl.registry import TRANSFORMS

from ..superpixels import SuperpixelCache, resize_nearest


@TRANSFORMS.register_module()
class LoadSuperpixels(BaseTransform):
    """Load the superpixel map of every camera of a sample from the cache of ``tools/make_superpixels.py``.

    Output ``results[key]``: ``(N_cam, H_s, W_s)`` int32 ids, cameras in the order of
    ``results['cam_names']`` (the order ``LoadSSLMultiViewImages`` loaded the images in), packed by
    ``PackSSLInputs`` as ``data_sample.ssl_targets.superpixels``. Every pixel has an id; the ids
    of a camera are those of its stored map (``0 .. K-1`` on the full image; a map resized with
    ``size`` may miss a few small ones).

    **Frame: the un-augmented image** (the design choice). The maps are never warped by image
    augmentations (``ImageAug3D``); they cover the decoded image ``ori_img_shape`` as it was
    segmented, resized to ``size`` if given. Why: (1) as with the teacher feature cache, one cache of
    the un-augmented images then serves every augmented epoch, and the image-to-LiDAR methods
    (PPKT, SLidR, ScaLR) pair points and pixels in exactly this frame: a point ``p`` of the
    augmented LiDAR frame lands at ``M p`` with
    ``M = mmssl.geometry.original_lidar2img_from_meta(metainfo, N_cam, (H_s, W_s))``
    (``S @ ori_lidar2img @ inv(lidar_aug_matrix)``, ``S = diag(W_s / W, H_s / H, 1, 1)``), the
    same pairing their teacher maps use; (2) no pixel is left without a superpixel (a warped map
    would need a fill id for crop / rotation padding); (3) a sample carries one map per camera at
    the chosen ``size``, whatever the network's input size.

    A pipeline that also augments the images can map a pixel ``(u, v)`` (continuous) of the
    augmented image back: ``(u0, v0) = inv(A) @ ((u, v) - t)`` with ``A = img_aug_matrix[i, :2, :2]``,
    ``t = img_aug_matrix[i, :2, 3]`` (BEVFusion form), then read the id at row
    ``floor(v0 * H_s / H)``, column ``floor(u0 * W_s / W)`` (outside ``[0, W) x [0, H)``: no
    superpixel).

    Needs, from ``LoadSSLMultiViewImages`` (anywhere after it): ``token``, ``cam_names``,
    ``ori_img_shape``.

    Args:
        cache_root: the cache root given to ``tools/make_superpixels.py``.
        source: the superpixel source (``'slic'``, a config dict, e.g.
            ``dict(type='SLICSuperpixels', n_segments=300)``, or an instance); selects the folder.
        size: ``(H_s, W_s)`` to resize the maps to (nearest, pixel centres, see
            :func:`mmssl.datasets.superpixels.resize_nearest`); ``None`` keeps the full
            resolution (6 nuScenes maps of 900 x 1600 are 35 MB as int32 per sample).
        key: results key of the maps.

    Raises (at transform time):
        KeyError: ``LoadSSLMultiViewImages`` did not run before.
        FileNotFoundError: the cache or a map is missing (names sample, camera, file and the
            command that builds it).
        ValueError: a map's shape differs from its decoded image's, or cameras of different
            image sizes without ``size``.
    """

    def __init__(
        self,
        cache_root: str,
        source: str | dict[str, Any] = 'slic',
        size: Sequence[int] | None = None,
        key: str = 'superpixels',
    ) -> None:
        self.cache = SuperpixelCache(cache_root, source)
        self.size = (int(size[0]), int(size[1])) if size is not None else None
        self.key = key

    def transform(self, results: dict) -> dict:
        missing = [k for k in ('token', 'cam_names', 'ori_img_shape') if k not in results]
        if missing:
            raise KeyError(
                f'LoadSuperpixels needs {missing} in the results: put LoadSSLMultiViewImages before it'
            )
        token = str(results['token'])
        maps = []
        for cam, shape in zip(results['cam_names'], np.asarray(results['ori_img_shape'])):
            ids = self.cache.load(token, cam)
            if ids.shape != tuple(int(s) for s in shape):
                raise ValueError(
                    f'sample {token} camera {cam}: superpixel map {self.cache.path(token, cam)} is '
                    f'{ids.shape[0]} x {ids.shape[1]}, but the decoded image is {shape[0]} x {shape[1]}: '
                    'the cache was built from other images; rebuild it'
                )
            maps.append(resize_nearest(ids, self.size) if self.size is not None else ids)
        if len({m.shape for m in maps}) > 1:
            raise ValueError(
                f'sample {token}: cameras {list(results["cam_names"])} have images of different sizes '
                f'{[m.shape for m in maps]}; set LoadSuperpixels(size=(H, W)) to stack their maps'
            )
        results[self.key] = np.stack(maps)
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(cache_root={str(self.cache.cache_root)!r}, '
            f'source={self.cache.source!r}, size={self.size}, key={self.key!r})'
        )
