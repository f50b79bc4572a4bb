"""Frame pairs of LargeAD's temporal term ``L_tmp``: each sample with a keyframe of its scene.

MMDet3D's v1.1 info files carry no scene token, so scene membership and order come from the
nuScenes table ``<data_root>/<version>/sample.json`` (``token``, ``scene_token``, ``prev``,
``next``), read once; no devkit is needed.

**The pairing rule** (:meth:`TemporalPairIndex.pair`), for a sample ``t`` and ``n >= 1``:

1. the keyframe ``n`` steps later in the scene (``n`` ``next`` links), if it is in the same
   info file: ``offset = +n``;
2. otherwise (``t`` is among the last ``n`` keyframes of its scene, or the partner lies in
   another info file: a split boundary or a label-fraction subset) the keyframe ``n`` steps
   earlier, if it is in the info file: ``offset = -n``;
3. otherwise (a scene with a single keyframe in the file, or fewer than ``n + 1``):
   ``single_frame='self'`` (default) pairs the sample with itself, ``offset = 0`` (a consumer
   can drop or down-weight such pairs: they carry no temporal signal, but every sample still
   yields a partner and the batch keeps its shape); ``single_frame='raise'`` raises an error
   naming the sample, its scene and the table.

The intermediate keyframes of a walk need not be in the info file, only the partner.

A partner's info is the dataset's own parsed record (``lidar_points``, ``ego2global``,
``lidar_sweeps``, ..., paths joined by MMDet3D's ``Det3DDataset.parse_data_info``;
:meth:`TemporalPairIndex.partner_results`), so the partner is loaded exactly as its own sample
would be.
"""

from __future__ import annotations

import copy
import json
import os.path as osp
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SINGLE_FRAME_MODES = ('self', 'raise')

#: The nuScenes LiDAR folders (:meth:`TemporalPairIndex.from_info_file` without ``data_prefix``).
NUSCENES_LIDAR_PREFIX = {'pts': 'samples/LIDAR_TOP', 'sweeps': 'sweeps/LIDAR_TOP'}

#: Keys of a parsed record kept for a partner (images and annotations are dropped).
PARTNER_INFO_KEYS = (
    'token',
    'sample_idx',
    'timestamp',
    'ego2global',
    'lidar_points',
    'lidar_sweeps',
    'lidar_path',
    'num_pts_feats',
)


@dataclass(frozen=True)
class TemporalPair:
    """A sample and its partner keyframe.

    Attributes:
        token: the sample's token.
        partner: the partner's token (``token`` itself when ``offset == 0``).
        offset: keyframes from the sample to the partner: ``+n``, ``-n`` or ``0`` (itself).
    """

    token: str
    partner: str
    offset: int


def find_sample_table(data_root: str | Path, version: str | None = None) -> Path:
    """Path of ``<data_root>/<version>/sample.json``.

    Args:
        data_root: the nuScenes root (holding ``v1.0-*/``).
        version: e.g. ``'v1.0-mini'``; ``None``: the only ``v1.0-*/sample.json`` under the root.

    Raises:
        FileNotFoundError: no table (naming the path looked for), or several versions and no
            ``version``.
    """
    root = Path(data_root)
    if version is not None:
        path = root / version / 'sample.json'
        if not path.is_file():
            raise FileNotFoundError(
                f'nuScenes table {path} does not exist: the temporal pairs need the sample table '
                f'(token, scene_token, prev, next) of version {version!r} under data_root={str(root)!r}'
            )
        return path
    found = sorted(root.glob('v1.0-*/sample.json'))
    if len(found) != 1:
        what = 'no v1.0-*/sample.json' if not found else f'several tables {[str(p) for p in found]}'
        raise FileNotFoundError(
            f'nuScenes table {root}/v1.0-*/sample.json: {what} under data_root={str(root)!r}; '
            'the temporal pairs need the sample table (pass version= or sample_table=)'
        )
    return found[0]


def read_sample_table(path: str | Path) -> dict[str, dict[str, str]]:
    """Read a nuScenes ``sample.json``: ``token -> {'scene_token', 'prev', 'next'}``.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not a JSON list of records with ``token``, ``scene_token``, ``prev``,
            ``next`` (naming the file and the first bad record).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'nuScenes table {path} does not exist')
    try:
        records = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f'nuScenes table {path}: not valid JSON ({err})') from err
    if not isinstance(records, list):
        kind = type(records).__name__
        raise ValueError(f'nuScenes table {path}: a {kind}; expected a list of sample records')
    table: dict[str, dict[str, str]] = {}
    for i, rec in enumerate(records):
        keys = ('token', 'scene_token', 'prev', 'next')
        missing = [k for k in keys if not isinstance(rec, dict) or k not in rec]
        if missing:
            raise ValueError(f'nuScenes table {path}: record {i} lacks {missing}')
        table[rec['token']] = {k: rec[k] for k in ('scene_token', 'prev', 'next')}
    return table


def walk(table: Mapping[str, Mapping[str, str]], token: str, steps: int) -> str | None:
    """The keyframe ``steps`` links from ``token`` (``> 0``: ``next``, ``< 0``: ``prev``), or None.

    None when the scene ends before (an empty link) or a link leads out of the table.
    """
    key = 'next' if steps > 0 else 'prev'
    for _ in range(abs(steps)):
        token = table[token][key]
        if not token or token not in table:
            return None
    return token


def pair_token(
    token: str,
    table: Mapping[str, Mapping[str, str]],
    available: Mapping[str, Any] | set[str],
    n: int = 1,
    single_frame: str = 'self',
    table_path: str | Path = 'sample.json',
) -> TemporalPair:
    """The partner of one sample under the pairing rule (module docstring).

    Args:
        token: the sample's token.
        table: :func:`read_sample_table`'s output.
        available: the tokens a partner may take (the info file's samples).
        n: keyframes between the pair (LargeAD: 1).
        single_frame: ``'self'`` or ``'raise'`` for a sample with no partner.
        table_path: the table's path, for the messages.

    Raises:
        KeyError: ``token`` is not in the table.
        ValueError: no partner and ``single_frame='raise'``; a partner in another scene (a
            corrupt table).
    """
    if token not in table:
        raise KeyError(f'token {token} is not in the nuScenes table {table_path} ({len(table)} samples)')
    scene = table[token]['scene_token']
    for steps in (n, -n):
        partner = walk(table, token, steps)
        if partner is None or partner not in available:
            continue
        if table[partner]['scene_token'] != scene:
            raise ValueError(
                f'nuScenes table {table_path}: sample {token} (scene {scene}) links to {partner} of '
                f'scene {table[partner]["scene_token"]} {steps:+d} keyframes away'
            )
        return TemporalPair(token, partner, steps)
    if single_frame == 'raise':
        raise ValueError(
            f'sample {token}: scene {scene} has no keyframe {n} before or after it in the info file '
            f"(table {table_path}); single_frame='self' pairs such a sample with itself (temporal_offset=0)"
        )
    return TemporalPair(token, token, 0)


def partner_record(info: Mapping[str, Any]) -> dict:
    """A copy of the keys of a parsed data info a partner keeps (:data:`PARTNER_INFO_KEYS`)."""
    return copy.deepcopy({k: info[k] for k in PARTNER_INFO_KEYS if k in info})


class TemporalPairIndex:
    """The pairs of one dataset's samples and their partners' infos.

    The partners' infos are the dataset's own parsed records (``Det3DDataset.get_data_info``:
    paths already joined to the data root and prefixes), so a partner is loaded exactly as its
    own sample would be; only the keys of :func:`partner_record` are kept (a DataLoader worker
    that builds one holds a few hundred bytes per sample). Build one with :meth:`from_dataset`
    or, outside a dataset, :meth:`from_info_file`.

    Args:
        records: parsed data infos, each with ``token`` and ``lidar_points``.
        data_root: the root holding ``<version>/sample.json``.
        sample_table: path of ``sample.json``; ``None``: ``<data_root>/<version>/sample.json``
            (or the only ``v1.0-*`` table when ``version`` is ``None``).
        version: the records' nuScenes version (the info file's ``metainfo.version``).
        n: keyframes between a sample and its partner (LargeAD: 1).
        single_frame: ``'self'`` (pair with itself, offset 0) or ``'raise'``.
        ann_file: the info file the records come from (for the messages).

    Raises:
        FileNotFoundError: the table is missing (naming the path).
        ValueError: ``n < 1``, an unknown ``single_frame``, a record without ``token`` /
            ``lidar_points``.
    """

    def __init__(
        self,
        records: Sequence[Mapping[str, Any]],
        data_root: str | Path,
        sample_table: str | Path | None = None,
        version: str | None = None,
        n: int = 1,
        single_frame: str = 'self',
        ann_file: str | Path = '?',
    ) -> None:
        self._check_arguments(n, single_frame)
        self.n = int(n)
        self.single_frame = single_frame
        self.ann_file = ann_file
        self.data_root = Path(data_root)
        self.infos: dict[str, dict] = {}
        for i, rec in enumerate(records):
            if 'token' not in rec or 'lidar_points' not in rec:
                raise ValueError(f'info file {ann_file}: sample {i} has no token / lidar_points')
            self.infos[str(rec['token'])] = partner_record(rec)
        self.table_path = (
            Path(sample_table) if sample_table is not None else find_sample_table(self.data_root, version)
        )
        self.table = read_sample_table(self.table_path)

    @classmethod
    def from_dataset(cls, dataset, **kwargs: Any) -> TemporalPairIndex:
        """The index of an MMDet3D-style dataset's samples (``get_data_info`` of each index),
        with its ``data_root``, ``ann_file`` and ``metainfo['version']``; ``kwargs`` as the
        constructor's (``sample_table``, ``n``, ``single_frame``)."""
        records = [dataset.get_data_info(i) for i in range(len(dataset))]
        root = getattr(dataset, 'data_root', None) or osp.dirname(str(dataset.ann_file))
        version = (getattr(dataset, 'metainfo', None) or {}).get('version')
        return cls(records, root, version=version, ann_file=dataset.ann_file, **kwargs)

    @classmethod
    def from_info_file(
        cls,
        ann_file: str | Path,
        data_root: str | Path | None = None,
        data_prefix: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> TemporalPairIndex:
        """The index of an info file, parsed by a LiDAR-only, label-free ``NuScenesSSLDataset``.

        Args:
            ann_file: the info file (MMDet3D v1.1); relative paths are joined to ``data_root``.
            data_root: the dataset root; ``None``: the info file's folder.
            data_prefix: ``pts`` / ``sweeps`` folders (relative to ``data_root``); ``None``:
                :data:`NUSCENES_LIDAR_PREFIX`.
            **kwargs: the constructor's ``sample_table``, ``n``, ``single_frame``.

        Raises:
            FileNotFoundError: the info file is missing (naming the path).
        """
        from mmssl.registry import DATASETS  # the dataset classes import this module

        ann_file = Path(ann_file)
        if data_root is not None and not ann_file.is_absolute() and not ann_file.exists():
            ann_file = Path(data_root) / ann_file
        if not ann_file.is_file():
            raise FileNotFoundError(f'info file {ann_file} does not exist (the temporal pairs read it)')
        cls._check_arguments(kwargs.get('n', 1), kwargs.get('single_frame', 'self'))
        cfg = dict(
            type='NuScenesSSLDataset',
            ann_file=str(ann_file.resolve()),
            data_root=str(data_root if data_root is not None else ann_file.parent),
            pipeline=[],
            modality=dict(use_lidar=True, use_camera=False),
            with_label=False,
            data_prefix=dict(NUSCENES_LIDAR_PREFIX if data_prefix is None else data_prefix),
        )
        return cls.from_dataset(DATASETS.build(cfg), **kwargs)

    @staticmethod
    def _check_arguments(n: int, single_frame: str) -> None:
        if int(n) < 1:
            raise ValueError(f'n must be >= 1 (keyframes between the pair), got {n}')
        if single_frame not in SINGLE_FRAME_MODES:
            raise ValueError(f'single_frame must be one of {SINGLE_FRAME_MODES}, got {single_frame!r}')

    def __len__(self) -> int:
        return len(self.infos)

    def pair(self, token: str) -> TemporalPair:
        """The pair of sample ``token`` (:func:`pair_token`; errors as there)."""
        return pair_token(str(token), self.table, self.infos, self.n, self.single_frame, self.table_path)

    def pairs(self, tokens: Sequence[str] | None = None) -> dict[str, TemporalPair]:
        """``token -> pair`` of ``tokens`` (default: every sample of the info file)."""
        return {str(t): self.pair(t) for t in (self.infos if tokens is None else tokens)}

    def partner_results(self, token: str) -> tuple[TemporalPair, dict]:
        """The pair of ``token`` and a copy of the partner's info, ready for the loaders."""
        pair = self.pair(token)
        return pair, copy.deepcopy(self.infos[pair.partner])
