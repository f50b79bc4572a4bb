"""The frame pair of LargeAD's temporal term: ``LoadTemporalFrame`` and ``TemporalSegments``.

A LargeAD pipeline (configs/largead/)::

    LoadSSLPointsFromFile -> LoadTemporalFrame -> (images, superpixels) -> augmentations
        -> TemporalSegments -> PackSSLInputs

* :class:`LoadTemporalFrame` (before the augmentations) pairs the sample with the keyframe
  ``n`` steps away in its scene (:class:`~mmssl.datasets.temporal_pairs.TemporalPairIndex`:
  the next one, the previous one at the end of a scene or a subset, itself when the scene has
  one keyframe), loads the partner's points with the sample's own loading checks and expresses
  them in the sample's LiDAR frame (``T_cur^-1 T_partner``, ``T = ego2global . lidar2ego``), so
  a static object lies at the same place in both frames.
* :class:`TemporalSegments` (after the augmentations and after every transform that drops
  points) maps both frames to global coordinates (undoing ``lidar_aug_matrix`` for the sample's
  own points), removes the ground and clusters the rest jointly
  (:func:`~mmssl.datasets.point_segments.segment_frames`), then applies the sample's
  augmentation to the partner's points so that both frames reach the model in the same
  (augmented) coordinates. Outputs, packed by ``PackSSLInputs`` into ``ssl_targets``:
  ``point_segments`` ``(N,)``, ``temporal_points`` ``(M, C)``, ``temporal_point_segments``
  ``(M,)`` (int64, -1 = ground or noise), read by :class:`~mmssl.models.algorithms.LargeAD`.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Mapping, Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet3d.structures.points import BasePoints

from mmssl.registry import TRANSFORMS

from ..errors import BadSampleError, describe_sample
from ..point_segments import segment_frames
from ..temporal_pairs import TemporalPairIndex
from .calibration import lidar2global
from .loading import LoadSSLPointsFromFile


def transform_xyz(matrix: np.ndarray, xyz: np.ndarray) -> np.ndarray:
    """``(N, 3)`` points mapped by a ``(4, 4)`` affine matrix (float64)."""
    xyz = np.asarray(xyz, dtype=np.float64)
    return xyz @ matrix[:3, :3].T + matrix[:3, 3]


@TRANSFORMS.register_module()
class LoadTemporalFrame(BaseTransform):
    """Load the partner keyframe of a sample, in the sample's LiDAR frame (module docstring).

    Args:
        ann_file: the info file the partners are taken from (so a label-fraction subset or a
            split never pairs across its boundary); ``None`` (default): the samples of the
            dataset itself, its parsed records (an mmssl dataset binds itself on construction,
            :meth:`bind_dataset`, so ``ann_file`` / ``data_root`` overrides reach the pairing).
        data_root: with ``ann_file``: its dataset root (``None``: the info file's folder).
        data_prefix: with ``ann_file``: ``pts``/``sweeps`` prefixes (``None``: nuScenes').
        sample_table: path of ``sample.json`` (``None``: ``<data_root>/<version>/sample.json``).
        n: keyframes between the frames (LargeAD: 1).
        single_frame: ``'self'`` (a scene with one keyframe pairs with itself) or ``'raise'``.
        load_dim, use_dim: as the sample's ``LoadSSLPointsFromFile``.
        time_lag_dim: a column of ``use_dim`` set to 0 in the partner (the sample's points carry
            ``LoadSSLPointsFromMultiSweeps``' time lag there, 0 for a keyframe; the partner is a
            keyframe, its raw column is the ring index); ``None``: columns as loaded.

    Adds ``temporal_points`` ``(M, len(use_dim))`` float32 (numpy, the sample's LiDAR frame,
    un-augmented), ``temporal_offset`` (int: ``+n``, ``-n`` or 0) and ``temporal_token``.
    """

    def __init__(
        self,
        ann_file: str | None = None,
        data_root: str | None = None,
        data_prefix: Mapping[str, str] | None = None,
        sample_table: str | None = None,
        n: int = 1,
        single_frame: str = 'self',
        load_dim: int = 5,
        use_dim: int | Sequence[int] = 4,
        time_lag_dim: int | None = None,
    ) -> None:
        self.index_args = dict(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            sample_table=sample_table,
            n=n,
            single_frame=single_frame,
        )
        self._index: TemporalPairIndex | None = None
        self._dataset = None  # bound by an mmssl dataset (bind_dataset)
        num_columns = len(use_dim) if isinstance(use_dim, Sequence) else int(use_dim)
        if time_lag_dim is not None and not 3 <= time_lag_dim < num_columns:
            raise ValueError(f'time_lag_dim={time_lag_dim} is not a feature column of {num_columns}')
        self.time_lag_dim = time_lag_dim
        self.loader = LoadSSLPointsFromFile(coord_type='LIDAR', load_dim=load_dim, use_dim=use_dim)

    def bind_dataset(self, dataset) -> None:
        """Pair the samples of ``dataset`` (its parsed records) unless ``ann_file`` was given."""
        if self.index_args['ann_file'] is None:
            self._dataset = dataset
            self._index = None

    @property
    def index(self) -> TemporalPairIndex:
        """The pair index, built on first use (once per DataLoader worker)."""
        if self._index is not None:
            return self._index
        args = {k: v for k, v in self.index_args.items() if k in ('sample_table', 'n', 'single_frame')}
        if self.index_args['ann_file'] is not None:
            self._index = TemporalPairIndex.from_info_file(
                self.index_args['ann_file'],
                self.index_args['data_root'],
                self.index_args['data_prefix'],
                **args,
            )
        elif self._dataset is not None:
            self._index = TemporalPairIndex.from_dataset(self._dataset, **args)
        else:
            raise ValueError(
                'LoadTemporalFrame has no ann_file: give it one, or use it in an mmssl dataset '
                '(which binds itself)'
            )
        return self._index

    def transform(self, results: dict) -> dict:
        sample = describe_sample(results)
        if 'token' not in results:
            raise BadSampleError(
                sample, 'results key token', 'LoadTemporalFrame pairs samples by their token'
            )
        token = str(results['token'])
        if token not in self.index.infos:
            raise BadSampleError(
                sample,
                f'info file {self.index.ann_file}',
                'the sample is not in the info file LoadTemporalFrame pairs',
            )
        pair, partner = self.index.partner_results(token)
        # the partner's record (a fresh copy) carries its own token and sample_idx for the messages
        points = self.loader.transform(partner)['points'].tensor.numpy().copy()  # (M, C) float32
        to_current = np.linalg.inv(lidar2global(results, sample)) @ lidar2global(
            partner, f'token={pair.partner}'
        )
        points[:, :3] = transform_xyz(to_current, points[:, :3])
        if self.time_lag_dim is not None:
            points[:, self.time_lag_dim] = 0.0
        results['temporal_points'] = points
        results['temporal_offset'] = pair.offset
        results['temporal_token'] = pair.partner
        return results

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in self.index_args.items())
        return f'{type(self).__name__}({args})'


@TRANSFORMS.register_module()
class TemporalSegments(BaseTransform):
    """Joint ground removal and HDBSCAN segments of the sample and its partner (module docstring).

    Args:
        ground_threshold: RANSAC inlier distance (m).
        ransac_iterations: RANSAC hypotheses.
        max_tilt_deg: largest angle of the ground normal to the vertical.
        min_cluster_size: HDBSCAN's smallest segment (points).
        min_samples: HDBSCAN's ``min_samples`` (``None``: ``min_cluster_size``).

    The RANSAC seed is a hash of the sample's token, so a sample's segments do not depend on the
    worker or the epoch. Adds ``point_segments`` ``(N,)``, ``temporal_point_segments``
    ``(M,)`` (int64, -1 = ground or noise), ``temporal_segment_stats`` (a dict with the plane,
    ``ground_share``, ``segments``, ``noise_share`` and ``seconds``) and replaces
    ``temporal_points`` by the partner's points in the sample's augmented frame.
    """

    def __init__(
        self,
        ground_threshold: float = 0.2,
        ransac_iterations: int = 100,
        max_tilt_deg: float = 15.0,
        min_cluster_size: int = 20,
        min_samples: int | None = None,
    ) -> None:
        self.settings = dict(
            ground_threshold=float(ground_threshold),
            ransac_iterations=int(ransac_iterations),
            max_tilt_deg=float(max_tilt_deg),
            min_cluster_size=int(min_cluster_size),
            min_samples=min_samples,
        )

    def transform(self, results: dict) -> dict:
        sample = describe_sample(results)
        for key in ('points', 'temporal_points'):
            if key not in results:
                raise BadSampleError(
                    sample,
                    f'results key {key}',
                    'TemporalSegments runs after the points and LoadTemporalFrame',
                )
        points = results['points']
        xyz = (points.tensor.numpy() if isinstance(points, BasePoints) else np.asarray(points))[:, :3]
        partner = np.asarray(results['temporal_points'], dtype=np.float32)
        aug = np.asarray(results.get('lidar_aug_matrix', np.eye(4)), dtype=np.float64)
        to_global = lidar2global(results, sample)
        start = time.perf_counter()
        (ids, ids_partner), stats = segment_frames(
            [
                transform_xyz(to_global @ np.linalg.inv(aug), xyz),
                transform_xyz(to_global, partner[:, :3]),
            ],
            seed=zlib.crc32(str(results.get('token', sample)).encode()),
            **self.settings,
        )
        stats['seconds'] = time.perf_counter() - start
        partner = partner.copy()
        partner[:, :3] = transform_xyz(aug, partner[:, :3])
        results['temporal_points'] = partner
        results['point_segments'] = ids
        results['temporal_point_segments'] = ids_partner
        results['temporal_segment_stats'] = stats
        return results

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in self.settings.items())
        return f'{type(self).__name__}({args})'
