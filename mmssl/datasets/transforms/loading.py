"""Loading transforms: MMDet3D's loaders plus input checks and exact multi-camera calibration.

Every check raises :class:`~mmssl.datasets.errors.BadSampleError` naming the sample, the file or
key and what was expected, so the dataset's ``bad_sample`` option can raise or skip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
from mmdet3d.datasets.transforms import (
    LoadMultiViewImageFromFiles,
    LoadPointsFromFile,
    LoadPointsFromMultiSweeps,
    PointsRangeFilter,
)
from mmdet3d.structures.points import BasePoints
from mmengine.fileio import exists, get

from mmssl.registry import TRANSFORMS

from ..errors import BadSampleError, describe_sample


class _CheckedPointsMixin:
    """``_load_points`` that checks existence, size and finiteness of a point file."""

    load_dim: int
    backend_args: dict | None
    _sample: str = '<unknown sample>'

    def _load_points(self, pts_filename: str) -> np.ndarray:
        source = f'point file {pts_filename}'
        if not exists(pts_filename, backend_args=self.backend_args):
            raise BadSampleError(self._sample, source, 'does not exist')
        try:
            points = super()._load_points(pts_filename)
        except ValueError as err:  # np.frombuffer: the byte count is not a multiple of 4
            size = len(get(pts_filename, backend_args=self.backend_args))
            raise BadSampleError(
                self._sample,
                source,
                f'holds {size} bytes, not a multiple of 4 (float32 values, load_dim={self.load_dim} '
                'per point): truncated or not a point file',
            ) from err
        if points.size == 0:
            raise BadSampleError(self._sample, source, 'holds no points')
        if points.size % self.load_dim:
            raise BadSampleError(
                self._sample,
                source,
                f'holds {points.size} float32 values, not a multiple of the point dimension '
                f'load_dim={self.load_dim}',
            )
        finite = np.isfinite(points.reshape(-1, self.load_dim))
        if not finite.all():
            bad_rows = int((~finite.all(axis=1)).sum())
            bad_cols = sorted(set(np.nonzero(~finite)[1].tolist()))
            raise BadSampleError(
                self._sample,
                source,
                f'{bad_rows} points hold NaN/inf (columns {bad_cols}); expected finite values',
            )
        return points


@TRANSFORMS.register_module()
class LoadSSLPointsFromFile(_CheckedPointsMixin, LoadPointsFromFile):
    """MMDet3D's ``LoadPointsFromFile`` that rejects missing files, a size that is not a multiple
    of ``load_dim``, empty files and NaN/inf values.

    Output ``points``: ``LiDARPoints`` ``(N, len(use_dim))``, e.g. nuScenes
    ``x, y, z, intensity, ring`` or KITTI ``x, y, z, reflectance``.
    """

    def transform(self, results: dict) -> dict:
        self._sample = describe_sample(results)
        return super().transform(results)


@TRANSFORMS.register_module()
class LoadSSLPointsFromMultiSweeps(_CheckedPointsMixin, LoadPointsFromMultiSweeps):
    """MMDet3D's ``LoadPointsFromMultiSweeps`` with the same file checks for every sweep.

    The keyframe's column 4 (ring) becomes the time lag (0 for the keyframe, seconds for the
    sweeps), so ``use_dim=[0, 1, 2, 3, 4]`` gives ``x, y, z, intensity, time lag``.
    """

    def transform(self, results: dict) -> dict:
        self._sample = describe_sample(results)
        return super().transform(results)

    def _remove_close(self, points: np.ndarray | BasePoints, radius: float = 1.0) -> np.ndarray | BasePoints:
        """MMDet3D's ``_remove_close`` (drop points with ``|x| < r`` and ``|y| < r``); points
        objects are indexed with a torch mask (MMDet3D indexes them with a NumPy mask, ~50x
        slower)."""
        if isinstance(points, BasePoints):
            xy = points.tensor[:, :2].abs()
            return points[~((xy[:, 0] < radius) & (xy[:, 1] < radius))]
        return super()._remove_close(points, radius)


@TRANSFORMS.register_module()
class SSLPointsRangeFilter(PointsRangeFilter):
    """MMDet3D's ``PointsRangeFilter`` that raises when no point is left in the range."""

    def transform(self, input_dict: dict) -> dict:
        num_before = len(input_dict['points'])
        input_dict = super().transform(input_dict)
        if len(input_dict['points']) == 0:
            raise BadSampleError(
                describe_sample(input_dict),
                'points after range filtering',
                f'none of the {num_before} points lies inside point_cloud_range={self.pcd_range.tolist()}',
            )
        return input_dict


@TRANSFORMS.register_module()
class LoadSSLMultiViewImages(LoadMultiViewImageFromFiles):
    """Load the images of several cameras with their exact calibration.

    Uses MMDet3D's ``LoadMultiViewImageFromFiles`` to read the images, then stores the
    calibration as ``(N_cam, 4, 4)`` float64 arrays: ``cam2img`` (3x3 intrinsics padded to
    4x4; KITTI's 4x4 ``P2`` kept as is), ``lidar2cam``, ``lidar2img`` (the info file's
    ``lidar2img`` if present, otherwise ``cam2img @ lidar2cam``), their pre-augmentation copies
    ``ori_cam2img``/``ori_lidar2img`` (original LiDAR frame to pixels of the decoded images),
    ``ori_img_shape`` ``(N_cam, 2)`` int (the ``(H, W)`` of each decoded image, the size
    ``ori_lidar2img`` maps into), ``img_aug_matrix`` (identity) and ``lidar_aug_matrix``
    (identity unless a LiDAR augmentation already ran, which is then folded in). Images are
    ``(H, W, 3)`` uint8 BGR arrays in ``img`` (a list, one per camera).

    ``keep_ori_img=True`` also stores the decoded images as ``ori_img`` ``(N_cam, H, W, 3)`` uint8
    BGR (packed into ``data_sample.ssl_targets.ori_img``): what a live frozen teacher needs to
    give the targets a teacher feature cache gives (the cache is built from these images).

    Args:
        camera_names: Cameras to load in this order; ``None`` = every camera of the sample's
            ``images`` with an ``img_path`` (info-file order).
        **kwargs: ``LoadMultiViewImageFromFiles`` arguments (``to_float32``, ``color_type``,
            ``backend_args``). ``num_views`` is set from the cameras found.
        keep_ori_img: also keep the un-augmented images as ``ori_img``.
    """

    def __init__(
        self,
        camera_names: Sequence[str] | None = None,
        color_type: str = 'color',
        keep_ori_img: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(color_type=color_type, **kwargs)
        self.camera_names = list(camera_names) if camera_names is not None else None
        self.keep_ori_img = bool(keep_ori_img)

    @staticmethod
    def _mat(sample: str, cam: str, cam_info: dict, key: str, shapes: tuple) -> np.ndarray:
        if key not in cam_info:
            raise BadSampleError(sample, f'info key images.{cam}.{key}', 'missing')
        mat = np.asarray(cam_info[key], dtype=np.float64)
        if mat.shape not in shapes:
            raise BadSampleError(
                sample, f'info key images.{cam}.{key}', f'has shape {mat.shape}; expected one of {shapes}'
            )
        return mat

    def _undecodable(self, names: Sequence[str], images: dict) -> list[tuple[str, str, str]]:
        """``(camera, file, reason)`` for each image that cannot be read or decoded on its own."""
        import mmcv

        bad = []
        for cam in names:
            path = images[cam]['img_path']
            try:
                img = mmcv.imfrombytes(get(path, backend_args=self.backend_args), flag=self.color_type)
            except Exception as err:  # noqa: BLE001 - any decoder failure names this file
                bad.append((cam, path, f'could not be decoded as an image ({type(err).__name__}: {err})'))
                continue
            if img is None:
                bad.append(
                    (cam, path, 'could not be decoded as an image (not a valid JPEG/PNG, or truncated)')
                )
        return bad

    def transform(self, results: dict) -> dict:
        sample = describe_sample(results)
        images = results.get('images')
        if not isinstance(images, dict):
            raise BadSampleError(sample, 'info key images', 'missing')
        names = self.camera_names or [c for c, v in images.items() if 'img_path' in v]
        if not names:
            raise BadSampleError(sample, 'info key images', 'no camera has an img_path')
        cam2img, lidar2cam, lidar2img = [], [], []
        for cam in names:
            if cam not in images:
                raise BadSampleError(
                    sample, f'info key images.{cam}', f'missing; cameras present: {sorted(images)}'
                )
            info = images[cam]
            if 'img_path' not in info:
                raise BadSampleError(sample, f'info key images.{cam}.img_path', 'missing')
            if not exists(info['img_path'], backend_args=self.backend_args):
                raise BadSampleError(
                    sample, f'image file {info["img_path"]} (camera {cam})', 'does not exist'
                )
            k = np.eye(4)
            k_in = self._mat(sample, cam, info, 'cam2img', ((3, 3), (3, 4), (4, 4)))
            k[: k_in.shape[0], : k_in.shape[1]] = k_in
            l2c = self._mat(sample, cam, info, 'lidar2cam', ((4, 4),))
            l2i = self._mat(sample, cam, info, 'lidar2img', ((4, 4),)) if 'lidar2img' in info else k @ l2c
            cam2img.append(k)
            lidar2cam.append(l2c)
            lidar2img.append(l2i)
        results['images'] = {c: images[c] for c in names}
        try:
            results = super().transform(results)
        except (ValueError, TypeError, AttributeError, OSError, cv2.error) as err:
            bad = self._undecodable(names, images)
            if bad:
                cam, path, why = bad[0]
                more = f' (and {len(bad) - 1} more: {[p for _, p, _ in bad[1:]]})' if len(bad) > 1 else ''
                raise BadSampleError(sample, f'image file {path} (camera {cam})', f'{why}{more}') from err
            files = [images[c]['img_path'] for c in names]
            raise BadSampleError(
                sample, f'image files {files}', f'could not be read/decoded as images ({err})'
            ) from err
        lidar2cam = np.stack(lidar2cam)
        lidar2img = np.stack(lidar2img)
        results['ori_lidar2img'] = lidar2img.copy()
        results['ori_img_shape'] = np.array([img.shape[:2] for img in results['img']], dtype=np.int64)
        if self.keep_ori_img:
            results['ori_img'] = np.stack(results['img'])
        if 'lidar_aug_matrix' in results:  # a LiDAR augmentation ran before the images
            inv = np.linalg.inv(np.asarray(results['lidar_aug_matrix'], dtype=np.float64))
            lidar2cam, lidar2img = lidar2cam @ inv, lidar2img @ inv
        else:
            results['lidar_aug_matrix'] = np.eye(4)
        results['cam2img'] = np.stack(cam2img)
        results['lidar2cam'] = lidar2cam
        results['lidar2img'] = lidar2img
        results['ori_cam2img'] = results['cam2img'].copy()
        results['img_aug_matrix'] = np.tile(np.eye(4), (len(names), 1, 1))
        results['num_views'] = len(names)
        results['cam_names'] = list(names)
        return results
