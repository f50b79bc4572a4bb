"""Checks of MMDet3D v1.1 info files and of single sample infos, with errors naming the sample.

The v1.1 format (``tools/create_data.py`` / MMDet3D's ``update_infos_to_v2.py``) is a dict with
``metainfo`` and ``data_list``; each sample has ``lidar_points`` (``lidar_path``,
``num_pts_feats``), ``images`` (per camera ``img_path``, ``cam2img`` 3x3 or 4x4, ``lidar2cam``
4x4, optionally ``lidar2img`` 4x4) and, for nuScenes, ``lidar_sweeps`` (each with
``lidar_points.lidar_path``, ``lidar_points.lidar2sensor`` 4x4 and ``timestamp``). A sample with
LiDAR semantic labels has ``pts_semantic_mask_path``: a file name, resolved like ``lidar_path``
(``data_prefix['pts_semantic_mask']``, e.g. ``lidarseg/v1.0-mini`` for nuScenes-lidarseg).
The checks here are of the info only; the files are checked where they are read
(:func:`mmssl.datasets.lidarseg.read_nuscenes_lidarseg` for the label files).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .errors import BadSampleError, describe_sample

SUPPORTED_INFO_VERSIONS = ('1.1',)
_CAM2IMG_SHAPES = ((3, 3), (3, 4), (4, 4))


def check_info_file(annotations: Any, ann_file: str) -> None:
    """Raise ``ValueError`` unless ``annotations`` is an MMDet3D v1.1 info dict.

    Args:
        annotations: The unpickled content of ``ann_file``.
        ann_file: Its path, for the message.
    """
    expected = (
        "MMDet3D v1.1 info format: a dict with 'metainfo' and 'data_list' "
        '(convert older infos with MMDet3D tools/dataset_converters/'
        'update_infos_to_v2.py or regenerate them with tools/create_data.py)'
    )
    if not isinstance(annotations, Mapping):
        raise ValueError(
            f'info file {ann_file}: holds a {type(annotations).__name__}; expected the {expected}'
        )
    missing = [k for k in ('metainfo', 'data_list') if k not in annotations]
    if missing:
        hint = ''
        if 'infos' in annotations or 'metadata' in annotations:
            hint = ' (it looks like an old v1.0 info file with "infos"/"metadata")'
        raise ValueError(
            f'info file {ann_file}: missing keys {missing}, has '
            f'{sorted(map(str, annotations))}{hint}; expected the {expected}'
        )
    version = annotations['metainfo'].get('info_version')
    if version is not None and str(version) not in SUPPORTED_INFO_VERSIONS:
        raise ValueError(
            f'info file {ann_file}: metainfo.info_version={version!r}; '
            f'expected the MMDet3D v1.1 info format (info_version in '
            f'{SUPPORTED_INFO_VERSIONS})'
        )
    if not isinstance(annotations['data_list'], Sequence):
        raise ValueError(
            f'info file {ann_file}: data_list is a '
            f'{type(annotations["data_list"]).__name__}; expected a list of dicts'
        )


def _matrix(
    sample: str, info: Mapping, key: str, where: str, shapes: Sequence[tuple[int, int]]
) -> np.ndarray:
    if key not in info:
        raise BadSampleError(
            sample,
            f'info key {where}.{key}',
            f'missing; expected a matrix of shape {" or ".join(map(str, shapes))}',
        )
    try:
        mat = np.asarray(info[key], dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise BadSampleError(sample, f'info key {where}.{key}', f'not a numeric matrix ({err})') from err
    if mat.shape not in [tuple(s) for s in shapes]:
        raise BadSampleError(
            sample,
            f'info key {where}.{key}',
            f'has shape {mat.shape}; expected {" or ".join(map(str, shapes))}',
        )
    if not np.isfinite(mat).all():
        raise BadSampleError(sample, f'info key {where}.{key}', 'holds NaN/inf values')
    return mat


def _check_mask_path(sample: str, info: Mapping[str, Any]) -> None:
    """``pts_semantic_mask_path``, where set (not ``None``), is a non-empty string."""
    path = info.get('pts_semantic_mask_path')
    if path is not None and (not isinstance(path, str) or not path):
        raise BadSampleError(
            sample,
            'info key pts_semantic_mask_path',
            f'is {path!r}; expected the file name of the per-point semantic labels',
        )


def check_sample_info(
    info: Mapping[str, Any], use_lidar: bool, use_camera: bool, camera_names: Sequence[str] | None = None
) -> None:
    """Raise :class:`BadSampleError` if a sample info lacks what the pipeline will read.

    Args:
        info: One raw entry of ``data_list``.
        use_lidar: Check ``lidar_points`` and ``lidar_sweeps``.
        use_camera: Check ``images``.
        camera_names: Cameras that must be present; ``None`` means every camera that has an
            ``img_path`` (at least one).
    """
    sample = describe_sample(info)
    _check_mask_path(sample, info)
    if use_lidar:
        lidar = info.get('lidar_points')
        if not isinstance(lidar, Mapping):
            raise BadSampleError(
                sample, 'info key lidar_points', 'missing; expected a dict with lidar_path and num_pts_feats'
            )
        for key in ('lidar_path', 'num_pts_feats'):
            if key not in lidar:
                raise BadSampleError(sample, f'info key lidar_points.{key}', 'missing')
        for i, sweep in enumerate(info.get('lidar_sweeps', []) or []):
            where = f'lidar_sweeps[{i}]'
            pts = sweep.get('lidar_points', {}) if isinstance(sweep, Mapping) else {}
            if 'lidar_path' not in pts:
                raise BadSampleError(sample, f'info key {where}.lidar_points.lidar_path', 'missing')
            _matrix(sample, pts, 'lidar2sensor', f'{where}.lidar_points', [(4, 4)])
            if 'timestamp' not in sweep:
                raise BadSampleError(sample, f'info key {where}.timestamp', 'missing')
        if info.get('lidar_sweeps') and 'timestamp' not in info:
            raise BadSampleError(sample, 'info key timestamp', "missing; needed for the sweeps' time lag")
    if use_camera:
        images = info.get('images')
        if not isinstance(images, Mapping):
            raise BadSampleError(sample, 'info key images', 'missing; expected a dict of cameras')
        names = (
            list(camera_names)
            if camera_names is not None
            else [c for c, v in images.items() if isinstance(v, Mapping) and 'img_path' in v]
        )
        if not names:
            raise BadSampleError(
                sample, 'info key images', 'no camera has an img_path; expected at least one'
            )
        for cam in names:
            where = f'images.{cam}'
            if cam not in images:
                raise BadSampleError(
                    sample, f'info key {where}', f'missing; the cameras present are {sorted(images)}'
                )
            cam_info = images[cam]
            if 'img_path' not in cam_info:
                raise BadSampleError(sample, f'info key {where}.img_path', 'missing')
            _matrix(sample, cam_info, 'cam2img', where, _CAM2IMG_SHAPES)
            _matrix(sample, cam_info, 'lidar2cam', where, [(4, 4)])
            if 'lidar2img' in cam_info:
                _matrix(sample, cam_info, 'lidar2img', where, [(4, 4)])


def check_instances(info: Mapping[str, Any], label_mapping: Mapping[int, int]) -> None:
    """Raise :class:`BadSampleError` for an annotation MMDet3D would crash on or train on wrongly.

    Args:
        info: One sample info with ``instances`` (MMDet3D v1.1).
        label_mapping: The dataset's map from the info file's label ids to training labels
            (``Det3DDataset.label_mapping``; ``-1`` = ignored).

    Checks each instance's ``bbox_label_3d``/``bbox_label`` (a known label id, not e.g. ``42``
    for 10 classes: MMDet3D raises a bare ``KeyError: 42``) and ``bbox_3d`` (at least 7 finite
    values with positive sizes at 3:6; a negative size would be trained on silently).
    """
    sample = describe_sample(info)
    known = sorted(k for k in label_mapping if k != -1)
    for i, inst in enumerate(info.get('instances') or []):
        for key in ('bbox_label_3d', 'bbox_label'):
            if key in inst and inst[key] not in label_mapping:
                raise BadSampleError(
                    sample,
                    f'info key instances[{i}].{key}',
                    f"is {inst[key]!r}; expected -1 (ignored) or a label id of the info file's classes "
                    f'{known[0]}..{known[-1]}'
                    if known
                    else 'no classes known',
                )
        if 'bbox_3d' not in inst:
            continue
        try:
            box = np.asarray(inst['bbox_3d'], dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as err:
            raise BadSampleError(sample, f'info key instances[{i}].bbox_3d', f'not numeric ({err})') from err
        if box.size < 7 or not np.isfinite(box).all():
            raise BadSampleError(
                sample,
                f'info key instances[{i}].bbox_3d',
                f'is {box.tolist()}; expected >= 7 finite values (x, y, z, sizes, yaw)',
            )
        if (box[3:6] <= 0).any():
            raise BadSampleError(
                sample,
                f'info key instances[{i}].bbox_3d',
                f'has sizes {box[3:6].tolist()}; expected three positive sizes at indices 3:6',
            )
