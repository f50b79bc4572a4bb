"""Build the teacher feature cache of a config's dataset (``tools/cache_teacher_features.py``).

Every sample of the dataset is loaded with a test-mode pipeline (only the config's
``LoadSSLMultiViewImages``, so the calibration-free raw images, no augmentation); the teacher
resizes each camera image to its ``input_size`` and the patch maps are written as fp16, one file per
sample (:mod:`.feature_cache`). A re-run skips the entries that verify and recomputes missing,
truncated or corrupt ones.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np
import torch

from mmssl.datasets.errors import BadSampleError
from mmssl.registry import DATASETS, MODELS
from mmssl.utils.atomic_io import remove_stale_tmp_files

from .feature_cache import (
    cache_dir,
    entry_complete,
    entry_path,
    key_hash,
    teacher_cache_key,
    write_entry,
    write_meta,
)

_WRAPPERS = ('RepeatDataset', 'ClassBalancedDataset', 'CBGSDataset')


def teacher_config(cfg) -> Tuple[Dict[str, Any], str | None]:
    """``(teacher config, cache root or None)`` of a config's ``model.target_generator``: a
    teacher, a ``CachedTeacherFeatures`` (``teacher`` + ``cache_root``), or a consumer of either
    under ``features`` (``PointFeatureTargets``).

    Raises:
        ValueError: the model has no teacher target generator.
    """
    gen = cfg.model.get('target_generator')
    if gen is None:
        raise ValueError('the config has no model.target_generator (a DINOv2Teacher / CLIPTeacher)')
    gen = dict(gen)
    while 'features' in gen:  # a PointFeatureTargets (or another consumer) around the map source
        gen = dict(gen['features'])
    if 'teacher' in gen:  # a CachedTeacherFeatures around the teacher
        return dict(gen['teacher']), gen.get('cache_root')
    return gen, None


def _test_mode_dataset(cfg, split: str):
    ds_cfg = dict(cfg[f'{split}_dataloader']['dataset'])
    while ds_cfg.get('type') in _WRAPPERS and 'dataset' in ds_cfg:
        ds_cfg = dict(ds_cfg['dataset'])
    loads = [dict(t) for t in ds_cfg.get('pipeline', []) if t['type'] == 'LoadSSLMultiViewImages']
    if not loads:
        raise ValueError(f'{split}_dataloader.dataset.pipeline has no LoadSSLMultiViewImages to reuse')
    ds_cfg['pipeline'] = loads[:1]
    if 'sources' in ds_cfg:  # a MultiSourceDataset: every source in test mode, with the image loader only
        ds_cfg['sources'] = [dict(s, test_mode=True, pipeline=loads[:1]) for s in ds_cfg['sources']]
    else:
        ds_cfg['test_mode'] = True
    return DATASETS.build(ds_cfg)


def build_feature_cache(
    cfg, out: str | None = None, split: str = 'train', device: str = 'cpu', progress: bool = True
) -> Dict[str, Any]:
    """Compute and store the teacher features of every sample of ``cfg``'s ``split`` dataset.

    Args:
        cfg: an MMEngine config whose ``model.target_generator`` is a teacher or a
            ``CachedTeacherFeatures`` (its ``teacher`` and ``cache_root`` are used).
        out: cache root (default: the config's ``cache_root``).
        split: ``'train'``, ``'val'`` or ``'test'`` (the ``<split>_dataloader``).
        device: where the teacher runs.
        progress: show an MMEngine progress bar.

    Returns:
        ``dict(folder, samples, computed, skipped, failed, seconds, bytes)``; ``failed`` lists the
        samples whose images could not be loaded (no entry is written for them).
    """
    from mmengine.utils import ProgressBar

    teacher_cfg, root = teacher_config(cfg)
    root = out or root
    if root is None:
        raise ValueError('no cache root: pass --out or set model.target_generator.cache_root')
    key = teacher_cache_key(teacher_cfg)
    khash = key_hash(key)
    folder = cache_dir(root, key)
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_tmp_files(folder)
    teacher = MODELS.build(teacher_cfg).to(device)
    grid = [s // teacher.patch_size for s in teacher.input_size]
    write_meta(folder, key, teacher.out_channels, grid)
    dataset = _test_mode_dataset(cfg, split)
    computed = skipped = 0
    failed: List[str] = []
    start = time.perf_counter()
    bar = ProgressBar(len(dataset)) if progress else None
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        token = info.get('token', info.get('sample_idx', index))
        path = entry_path(folder, token)
        if entry_complete(path, khash, teacher.out_channels, grid):
            skipped += 1
        else:
            try:
                results = dataset[index]
            except BadSampleError as err:  # a broken image: no entry (reading that token fails clearly)
                failed.append(f'{token}: {err}')
                results = None
            if results is not None:
                imgs = np.stack(results['img'])[..., ::-1].copy()  # (N, H, W, 3) BGR -> RGB uint8
                images = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255.0 * teacher.input_scale
                if teacher.channel_order == 'bgr':
                    images = images.flip(1)
                feats = teacher.forward_patches(images[None].to(device))[0]
                write_entry(folder, token, feats, results.get('cam_names', []), khash)
                computed += 1
        if bar is not None:
            bar.update()
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in Path(folder).glob('*.pt'))
    return dict(
        folder=str(folder),
        samples=len(dataset),
        computed=computed,
        skipped=skipped,
        failed=failed,
        seconds=seconds,
        bytes=size,
    )
