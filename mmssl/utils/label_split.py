"""Label-efficient training subsets: a fraction of the training *scenes* of an info file.

Frames of one nuScenes scene are 0.5 s apart and nearly identical; sampling frames would put
near-copies of the kept frames' neighbours out of the subset while leaking the scene's content
into it. Subsets are therefore drawn by scene. MMDet3D v1.1 nuScenes infos do not store the
scene, so the scene key of a frame is, in this order:

1. ``info['scene_token']`` when the info file has it;
2. the devkit's ``sample.scene_token`` of ``info['token']`` when ``nusc_root`` (the nuScenes
   folder with the ``v1.0-*`` tables) is given: exact;
3. otherwise the recording log (the LiDAR file name's prefix before ``__``, e.g.
   ``n015-2018-07-24-11-22-45+0800``) split where consecutive keyframes are more than
   ``max_gap`` seconds apart. Keyframes inside a scene are 0.5 s apart; two scenes recorded
   back-to-back in one log with no gap become one unit (coarser, never mixed).

Selection: the sorted scene keys are permuted once with ``numpy.random.RandomState(seed)`` and
the first ``max(1, round(fraction * num_scenes))`` are kept, so for one seed the subsets are
nested (1% inside 5% inside 10%) and at least one scene is kept. Frames keep their order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np


def _log_name(info: dict) -> str:
    path = (info.get('lidar_points') or {}).get('lidar_path')
    if not path:
        raise KeyError(
            f'sample {info.get("sample_idx", "?")}: no lidar_points.lidar_path to '
            'derive the scene from (pass nusc_root or add scene_token)'
        )
    return Path(path).name.split('__')[0]


def _seconds(info: dict) -> float:
    t = float(info.get('timestamp', 0.0))
    return t / 1e6 if t > 1e11 else t  # v1.1 stores seconds; legacy infos microseconds


def scene_keys(
    data_list: Sequence[dict],
    nusc_root: str | None = None,
    version: str = 'v1.0-trainval',
    max_gap: float = 2.0,
) -> tuple:
    """Scene key of every frame and the method used (see the module docstring).

    Returns:
        ``(keys, source)`` with ``keys`` a list of strings (one per frame) and ``source`` one
        of ``'scene_token'``, ``'devkit'``, ``'log+time-gap'``.
    """
    if data_list and all('scene_token' in d for d in data_list):
        return [str(d['scene_token']) for d in data_list], 'scene_token'
    if nusc_root is not None:
        from nuscenes.nuscenes import NuScenes

        nusc = NuScenes(version=version, dataroot=str(nusc_root), verbose=False)
        return [nusc.get('sample', d['token'])['scene_token'] for d in data_list], 'devkit'
    keys: List[str] = [''] * len(data_list)
    by_log: Dict[str, List[int]] = {}
    for i, info in enumerate(data_list):
        by_log.setdefault(_log_name(info), []).append(i)
    for log, idx in by_log.items():
        idx = sorted(idx, key=lambda i: _seconds(data_list[i]))
        part, last = 0, None
        for i in idx:
            t = _seconds(data_list[i])
            if last is not None and t - last > max_gap:
                part += 1
            keys[i] = f'{log}#{part}'
            last = t
    return keys, 'log+time-gap'


def _num_boxes(info: dict) -> int:
    return sum(1 for inst in info.get('instances', []) if inst.get('bbox_label_3d', 0) >= 0)


def make_label_split(
    infos: dict,
    fraction: float,
    seed: int = 0,
    nusc_root: str | None = None,
    version: str = 'v1.0-trainval',
    max_gap: float = 2.0,
) -> tuple:
    """Subset of a v1.1 info dict (``metainfo`` + ``data_list``) by scene.

    Args:
        infos: The loaded info file.
        fraction: Fraction of the scenes to keep, in ``(0, 1]``.
        seed: Seed of the scene permutation (the same seed gives nested subsets).
        nusc_root, version, max_gap: Scene derivation (see :func:`scene_keys`).

    Returns:
        ``(subset_infos, report)``; the report holds the kept scenes, frames, boxes and the
        achieved fractions.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f'fraction must be in (0, 1], got {fraction}')
    if not isinstance(infos, dict) or 'data_list' not in infos:
        keys = list(infos)[:5] if isinstance(infos, dict) else []
        raise ValueError(
            'expected an MMDet3D v1.1 info dict with metainfo and data_list, got '
            f'{type(infos).__name__} with keys {keys}'
        )
    data_list = infos['data_list']
    if not data_list:
        raise ValueError('the info file has no frames')
    keys, source = scene_keys(data_list, nusc_root, version, max_gap)
    scenes = sorted(set(keys))
    order = [scenes[i] for i in np.random.RandomState(seed).permutation(len(scenes))]
    num_keep = max(1, int(round(fraction * len(scenes))))
    kept = set(order[:num_keep])
    subset = [d for d, k in zip(data_list, keys) if k in kept]
    boxes_all = sum(_num_boxes(d) for d in data_list)
    boxes = sum(_num_boxes(d) for d in subset)
    report = dict(
        fraction_requested=fraction,
        seed=seed,
        scene_source=source,
        scenes_total=len(scenes),
        scenes_kept=num_keep,
        frames_total=len(data_list),
        frames_kept=len(subset),
        boxes_total=boxes_all,
        boxes_kept=boxes,
        fraction_scenes=num_keep / len(scenes),
        fraction_frames=len(subset) / len(data_list),
        fraction_boxes=boxes / boxes_all if boxes_all else 0.0,
        scenes=[s for s in order[:num_keep]],
    )
    out = dict(infos)
    out['data_list'] = subset
    return out, report
