"""Per-source input normalisation of point features (LargeAD / ScaLR multi-source pre-training).

Each source (dataset, LiDAR rig) has its own scale of the point features: nuScenes' HDL-32E
intensity is 0-255, KITTI's reflectance 0-1. :class:`PerSourceNormalizePoints` standardises chosen
columns with the mean and standard deviation of the sample's own source:
``x' = (x - mean[source]) / std[source]``, so every source's normalised features have mean 0 and
standard deviation 1 over its data.

The statistics come from ``tools/compute_source_stats.py`` (a JSON file) or inline from the config,
in the format ``{source_name: {'columns': [c, ...], 'mean': [...], 'std': [...], 'count': n}}``
(``std`` is the population standard deviation, ``count`` the number of points; ``count`` is
optional inline). The sample's source is ``results['source_name']``, set by
:class:`AddSourceInfo` (which :class:`~mmssl.datasets.MultiSourceDataset` puts first in every
source's pipeline).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet3d.structures.points import BasePoints

from mmssl.registry import TRANSFORMS

__all__ = ['AddSourceInfo', 'PerSourceNormalizePoints', 'RunningMoments', 'load_source_stats']


class RunningMoments:
    """Streaming per-column mean and variance in float64 (Chan et al.'s pairwise merge of batches).

    Attributes:
        count: number of rows seen.
        mean: ``(C,)`` float64 running mean.
        m2: ``(C,)`` float64 running sum of squared deviations from the mean.
    """

    def __init__(self, num_columns: int) -> None:
        self.count = 0
        self.mean = np.zeros(num_columns, dtype=np.float64)
        self.m2 = np.zeros(num_columns, dtype=np.float64)

    def update(self, values: np.ndarray) -> None:
        """Add a batch of rows.

        Args:
            values: ``(N, C)`` array (any float dtype; accumulated in float64).
        """
        values = np.asarray(values, dtype=np.float64).reshape(-1, len(self.mean))
        n = len(values)
        if n == 0:
            return
        batch_mean = values.mean(axis=0)
        batch_m2 = ((values - batch_mean) ** 2).sum(axis=0)
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + batch_m2 + delta**2 * (self.count * n / total)
        self.count = total

    @property
    def std(self) -> np.ndarray:
        """``(C,)`` population standard deviation (``ddof=0``, as ``np.std``)."""
        return np.sqrt(self.m2 / max(self.count, 1))


def load_source_stats(stats: Mapping | str | Path) -> dict[str, dict]:
    """Check and normalise a statistics document (a dict or the path of its JSON file).

    Returns:
        ``{source_name: {'columns': [int], 'mean': (C,) float64, 'std': (C,) float64,
        'count': int or None}}``.

    Raises:
        FileNotFoundError: the JSON file does not exist (with the command that writes it).
        ValueError: an entry lacks a key, or its lists differ in length.
    """
    origin = 'inline stats'
    if isinstance(stats, (str, Path)):
        origin = str(stats)
        if not Path(stats).is_file():
            raise FileNotFoundError(
                f'source statistics {stats} not found; write them with '
                f'`python tools/compute_source_stats.py CONFIG --out {stats}`'
            )
        stats = json.loads(Path(stats).read_text())
    if not isinstance(stats, Mapping) or not stats:
        raise ValueError(f'{origin}: expected a non-empty {{source_name: {{columns, mean, std}}}} dict')
    out = {}
    for name, entry in stats.items():
        missing = [k for k in ('columns', 'mean', 'std') if k not in entry]
        if missing:
            raise ValueError(f'{origin}: source {name!r} lacks {missing}')
        cols = [int(c) for c in entry['columns']]
        mean = np.asarray(entry['mean'], dtype=np.float64).reshape(-1)
        std = np.asarray(entry['std'], dtype=np.float64).reshape(-1)
        if not len(cols) == len(mean) == len(std):
            raise ValueError(
                f'{origin}: source {name!r} has {len(cols)} columns, {len(mean)} means, {len(std)} stds'
            )
        out[str(name)] = dict(columns=cols, mean=mean, std=std, count=entry.get('count'))
    return out


@TRANSFORMS.register_module()
class AddSourceInfo(BaseTransform):
    """Set ``results['source_index']`` (int) and ``results['source_name']`` (str).

    Pack them with ``PackSSLInputs(meta_keys=['source_index', 'source_name'])`` to reach
    ``data_sample.metainfo`` (LargeAD's cross-source term reads ``source_index``).

    Args:
        index: the source's index (its position in ``MultiSourceDataset.sources``).
        name: the source's name (the key of its normalisation statistics).
    """

    def __init__(self, index: int, name: str) -> None:
        self.index = int(index)
        self.name = str(name)

    def transform(self, results: dict) -> dict:
        results['source_index'] = self.index
        results['source_name'] = self.name
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(index={self.index}, name={self.name!r})'


@TRANSFORMS.register_module()
class PerSourceNormalizePoints(BaseTransform):
    """Standardise point feature columns with the statistics of the sample's source.

    Args:
        stats: inline statistics ``{source_name: {'columns', 'mean', 'std'[, 'count']}}``.
        stats_file: path of the JSON file of ``tools/compute_source_stats.py`` (exactly one of
            ``stats`` / ``stats_file``).
        columns: point columns to normalise (default ``(3,)``: intensity / reflectance); each
            must be among every used source's statistics ``columns``. ``None``: the columns of
            each source's statistics. xyz (columns 0-2) can be listed but are not by default:
            the voxel grid, range filter and camera projections need metric coordinates.
        eps: floor of the standard deviation (a constant feature maps to 0).
        keys: the results keys normalised (``'temporal_points'``, LargeAD's partner frame of
            ``LoadTemporalFrame``, is normalised with the sample's statistics where present).

    ``results['points']``: ``(N, C)`` ``BasePoints`` or array; the listed columns are replaced in
    place by ``(x - mean) / std`` (float32). ``results['source_name']`` selects the statistics.
    """

    def __init__(
        self,
        stats: Mapping | None = None,
        stats_file: str | None = None,
        columns: Sequence[int] | None = (3,),
        eps: float = 1e-6,
        keys: Sequence[str] = ('points', 'temporal_points'),
    ) -> None:
        self.keys = tuple(keys)
        if (stats is None) == (stats_file is None):
            raise ValueError('give exactly one of stats (inline) and stats_file')
        self.origin = stats_file or 'inline stats'
        self.stats = load_source_stats(stats_file if stats_file is not None else stats)
        self.columns = None if columns is None else [int(c) for c in columns]
        self.eps = float(eps)
        self._select = {name: self._columns_of(name) for name in self.stats}

    def _columns_of(self, name: str) -> tuple[list[int], torch.Tensor, torch.Tensor]:
        entry = self.stats[name]
        cols = self.columns if self.columns is not None else entry['columns']
        missing = [c for c in cols if c not in entry['columns']]
        if missing:
            raise ValueError(
                f'{self.origin}: source {name!r} has statistics of columns {entry["columns"]}, '
                f'not of {missing}'
            )
        pos = [entry['columns'].index(c) for c in cols]
        mean = torch.tensor(entry['mean'][pos], dtype=torch.float64)
        std = torch.tensor(np.maximum(entry['std'][pos], self.eps), dtype=torch.float64)
        return cols, mean, std

    def transform(self, results: dict) -> dict:
        name = results.get('source_name')
        if name is None:
            raise ValueError(
                'PerSourceNormalizePoints needs results["source_name"]: use MultiSourceDataset '
                f'or put AddSourceInfo before it; sources in {self.origin}: {sorted(self.stats)}'
            )
        if name not in self._select:
            raise ValueError(
                f'source {name!r} has no statistics in {self.origin} (sources there: '
                f'{sorted(self.stats)}); rerun tools/compute_source_stats.py on the config'
            )
        cols, mean, std = self._select[name]
        for key in self.keys:
            if key not in results:
                continue
            points = results[key]
            tensor = points.tensor if isinstance(points, BasePoints) else torch.from_numpy(points)
            if max(cols) >= tensor.shape[1]:
                raise ValueError(
                    f'source {name!r}: {key} has {tensor.shape[1]} columns, not column {max(cols)}'
                )
            values = tensor[:, cols].double()
            tensor[:, cols] = ((values - mean) / std).to(tensor.dtype)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(sources={sorted(self.stats)}, columns={self.columns})'


def point_file_moments(
    files: Iterable[str], load_dim: int, columns: Sequence[int], use_dim: Sequence[int] | None = None
) -> RunningMoments:
    """Streaming moments of some columns of point files (one file in memory at a time), read by
    :class:`~mmssl.datasets.transforms.LoadSSLPointsFromFile` (so with its checks: a missing,
    empty or truncated file, or NaN/inf values, raise ``BadSampleError`` naming the file).

    Args:
        files: paths of ``.bin`` files of ``(N, load_dim)`` float32 values.
        load_dim: values per point in the files.
        columns: columns of the *loaded* points (after ``use_dim``) to measure.
        use_dim: the loader's ``use_dim`` list (loaded column ``c`` is file column
            ``use_dim[c]``); ``None``: loaded columns are the file's.

    Returns:
        The moments, one column per entry of ``columns``.
    """
    from .loading import LoadSSLPointsFromFile

    loader = LoadSSLPointsFromFile(
        coord_type='LIDAR', load_dim=load_dim, use_dim=list(use_dim) if use_dim is not None else load_dim
    )
    moments = RunningMoments(len(columns))
    for path in files:
        points = loader.transform(dict(lidar_points=dict(lidar_path=str(path))))['points']
        moments.update(points.tensor.numpy()[:, list(columns)])
    return moments
