"""Multi-source pre-training data: several datasets (or LiDAR rigs) concatenated, each sample
tagged with its source (LargeAD, Sec. 4.4; ScaLR).

:class:`MultiSourceDataset` builds every source from its config, concatenates them and puts
:class:`~mmssl.datasets.transforms.AddSourceInfo` first in each source's pipeline, so every sample's
results carry ``source_index`` (int, the source's position) and ``source_name``; pack them with
``PackSSLInputs(meta_keys=['source_index', 'source_name'])`` (LargeAD's ``L_cdp`` reads
``data_sample.metainfo['source_index']``) and normalise per source with
``PerSourceNormalizePoints``.

Batches: ``L_cdp`` is zero in a batch of one source. MMEngine's ``DefaultSampler(shuffle=True)``
over the concatenation mixes the sources at random: a batch of ``B`` is single-source with
probability ``sum_s p_s ** B`` (one half for two equal sources and ``B = 2``).
:class:`SourceInterleavedSampler` shuffles within each source and interleaves the sources in
proportion to their sizes, so a batch of ``B`` holds about ``B * n_s / N`` samples of source ``s``
(two equal sources: one of each in every batch of 2).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Sequence
from pathlib import PurePath

import numpy as np
import torch
from mmengine.dataset import BaseDataset, ConcatDataset
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mmssl.registry import DATA_SAMPLERS, DATASETS

from .transforms.source_norm import AddSourceInfo

__all__ = ['MultiSourceDataset', 'SourceInterleavedSampler', 'default_source_names']


def default_source_names(sources: Sequence[dict | BaseDataset]) -> list[str]:
    """Names of sources without explicit ``names``: the last folder of each ``data_root``
    (``data/synthetic-nuscenes/`` -> ``'synthetic-nuscenes'``), ``'source<i>'`` where a source
    has no data root or two share one."""
    roots = []
    for src in sources:
        root = src.get('data_root') if isinstance(src, dict) else getattr(src, 'data_root', None)
        roots.append(PurePath(str(root)).name if root else '')
    return [r if r and roots.count(r) == 1 else f'source{i}' for i, r in enumerate(roots)]


def _empty_error(name: str, kind: object, ann_file: object) -> ValueError:
    return ValueError(f'source {name!r} ({kind}, ann_file={ann_file}) has no samples')


def _has_no_samples(ds: BaseDataset) -> bool:
    """Whether a (lazily built) dataset's info file lists no sample (False if it cannot be read)."""
    try:
        return hasattr(ds, 'load_data_list') and not ds.load_data_list()
    except Exception:  # noqa: BLE001 - any other failure is reported by the caller's error
        return False


@DATASETS.register_module()
class MultiSourceDataset(ConcatDataset):
    """MMEngine's ``ConcatDataset`` of source datasets whose samples carry ``source_index`` /
    ``source_name``.

    Unlike ``ConcatDataset`` it builds source configs through the mmssl registry (so
    ``'mmdet3d.<Name>'`` types work), gives each source a pipeline when its config has none,
    names an empty source, and does not require equal ``metainfo`` (sources are different
    datasets or rigs: the first source's metainfo is used, plus ``source_names``).

    Args:
        sources: dataset configs (``dict(type=..., ...)``) or built datasets, in source order.
        names: one unique name per source (keys of the normalisation statistics); default
            :func:`default_source_names`.
        pipeline: pipeline of the sources whose config has no ``pipeline`` key.
        lazy_init: defer loading the sources' info files to :meth:`full_init`.

    Raises:
        ValueError: no source, a source config without a known ``type``, names that are not
            one per source or not unique, a source without samples, two sources sharing a sample
            token (at :meth:`full_init`).
    """

    def __init__(
        self,
        sources: Sequence[dict | BaseDataset],
        names: Sequence[str] | None = None,
        pipeline: Sequence[dict] | None = None,
        lazy_init: bool = False,
    ) -> None:
        if not sources:
            raise ValueError('MultiSourceDataset needs at least one source')
        names = list(names) if names is not None else default_source_names(sources)
        if len(names) != len(sources) or len(set(names)) != len(names):
            raise ValueError(f'names must be one unique name per source ({len(sources)}), got {names}')
        self.names = [str(n) for n in names]
        built: list[BaseDataset] = []
        for i, (name, src) in enumerate(zip(self.names, sources)):
            if isinstance(src, dict):
                src = self._build(i, name, src, pipeline, lazy_init)
            if not hasattr(src, 'pipeline') or not hasattr(src.pipeline, 'transforms'):
                raise ValueError(f'source {i} ({name!r}): {type(src).__name__} has no pipeline to tag')
            src.pipeline.transforms.insert(0, AddSourceInfo(i, name))
            built.append(src)
        keys = sorted({k for ds in built for k in ds.metainfo})  # sources may differ (module docstring)
        super().__init__(built, lazy_init=True, ignore_keys=keys)
        if not lazy_init:
            self.full_init()

    @staticmethod
    def _build(i: int, name: str, cfg: dict, pipeline: Sequence[dict] | None, lazy: bool) -> BaseDataset:
        cfg = copy.deepcopy(dict(cfg))
        kind = cfg.get('type')
        if kind is None or (isinstance(kind, str) and DATASETS.get(kind) is None):
            known = sorted(DATASETS.module_dict)
            raise ValueError(
                f'source {i} ({name!r}): unknown dataset type {kind!r}; mmssl datasets: {known} '
                "(or 'mmdet3d.<Name>' for MMDet3D's)"
            )
        if 'pipeline' not in cfg and pipeline is not None:
            cfg['pipeline'] = copy.deepcopy(list(pipeline))
        if lazy:
            cfg['lazy_init'] = True
        try:
            ds = DATASETS.build(cfg)
        except Exception as err:  # MMEngine fails on an empty data list ("need at least one array")
            if not lazy and _has_no_samples(DATASETS.build(dict(cfg, lazy_init=True))):
                raise _empty_error(name, kind, cfg.get('ann_file')) from err
            raise
        if not hasattr(ds, 'show_ins_var') and hasattr(ds, '_show_ins_var'):
            ds.show_ins_var = bool(cfg.get('show_ins_var', False))  # MMDet3D sets it without lazy_init only
        return ds

    def full_init(self) -> None:
        """Load every source, check that none is empty and that no two share a sample token, then
        ``ConcatDataset.full_init``."""
        if self._fully_initialized:
            return
        for name, ds in zip(self.names, self.datasets):
            empty = _empty_error(name, type(ds).__name__, getattr(ds, 'ann_file', '?'))
            try:
                ds.full_init()
            except Exception as err:
                if _has_no_samples(ds):
                    raise empty from err
                raise
            if len(ds) == 0:
                raise empty
        self._check_unique_tokens()
        super().full_init()

    def _check_unique_tokens(self) -> None:
        """Refuse sources that share sample tokens: the superpixel and teacher feature caches are
        keyed by token, so a shared token would silently read another source's entry."""
        seen: dict[str, str] = {}
        for name, ds in zip(self.names, self.datasets):
            for index in range(len(ds)):
                token = ds.get_data_info(index).get('token')
                if token is None:
                    continue
                if token in seen and seen[token] != name:
                    raise ValueError(
                        f'sources {seen[token]!r} and {name!r} share sample token {token!r} (sample {index} '
                        f'of {name!r}, {getattr(ds, "ann_file", "?")}): caches keyed by token would mix '
                        'them; generate the second synthetic world with another --seed'
                    )
                seen[token] = name

    @property
    def source_sizes(self) -> list[int]:
        """Number of samples of each source."""
        self.full_init()
        return [len(ds) for ds in self.datasets]

    @property
    def metainfo(self) -> dict:
        """The first source's metainfo plus ``source_names``."""
        return dict(copy.deepcopy(self.datasets[0].metainfo), source_names=list(self.names))

    def source_of(self, idx: int) -> tuple[int, int]:
        """``(source index, index within the source)`` of global index ``idx`` (negative ok)."""
        n = len(self)
        if not -n <= idx < n:
            raise IndexError(f'index {idx} out of range for {n} samples')
        return self._get_ori_dataset_idx(idx)

    def source_indices(self) -> np.ndarray:
        """``(N,)`` int64 source index of every global index."""
        return np.repeat(np.arange(len(self.datasets)), self.source_sizes)

    def get_data_info(self, idx: int) -> dict:
        """The source's data info with ``source_index`` and ``source_name`` added."""
        src, local = self.source_of(idx)
        info = self.datasets[src].get_data_info(local)
        info.update(source_index=src, source_name=self.names[src])
        return info

    def __repr__(self) -> str:
        parts = ', '.join(f'{n}: {len(d)}' for n, d in zip(self.names, self.datasets))
        return f'{type(self).__name__}({parts})'


@DATA_SAMPLERS.register_module()
class SourceInterleavedSampler(Sampler):
    """Shuffled sampler of a :class:`MultiSourceDataset` that interleaves its sources.

    Every epoch each source's indices are shuffled and merged by their fractional position
    ``(k + u_s) / n_s`` (``u_s`` a random phase per source): any ``B`` consecutive indices hold
    about ``B * n_s / N`` samples of source ``s`` (off by at most one or two). Each rank takes a
    contiguous block of the merged order (a strided split could give one rank one source).

    Args:
        dataset: the multi-source dataset (anything with ``source_indices()``).
        shuffle: shuffle within the sources and draw the phases (``False``: fixed order).
        seed: random seed, the same on every rank (default: synchronised random seed).
        round_up: repeat indices so that every rank gets as many (as ``DefaultSampler``).
    """

    def __init__(
        self,
        dataset: MultiSourceDataset,
        shuffle: bool = True,
        seed: int | None = None,
        round_up: bool = True,
    ) -> None:
        if not hasattr(dataset, 'source_indices'):
            raise TypeError(
                f'SourceInterleavedSampler needs a MultiSourceDataset, got {type(dataset).__name__}'
            )
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.epoch = 0
        self.round_up = round_up
        n = len(dataset)
        if round_up:
            self.num_samples = math.ceil(n / self.world_size)
        else:
            start, stop = self._block(n)
            self.num_samples = stop - start

    def _block(self, total: int) -> tuple[int, int]:
        per_rank = math.ceil(total / self.world_size)
        return min(self.rank * per_rank, total), min((self.rank + 1) * per_rank, total)

    def order(self) -> np.ndarray:
        """``(N,)`` the merged order of all global indices for the current epoch."""
        source = self.dataset.source_indices()
        rng = np.random.default_rng([self.seed, self.epoch])
        keys, ids = [], []
        for s in range(int(source.max()) + 1):
            idx = np.flatnonzero(source == s)
            if self.shuffle:
                idx = rng.permutation(idx)
            phase = rng.random() if self.shuffle else 0.5
            keys.append((np.arange(len(idx)) + phase) / len(idx))
            ids.append(idx)
        keys, ids = np.concatenate(keys), np.concatenate(ids)
        return ids[np.argsort(keys, kind='stable')]

    def __iter__(self) -> Iterator[int]:
        indices = self.order()
        if self.round_up:
            total = self.num_samples * self.world_size
            indices = np.resize(indices, total)
        start, stop = self._block(len(indices))
        return iter(torch.as_tensor(indices[start:stop]).tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use another shuffle for epoch ``epoch``."""
        self.epoch = epoch
