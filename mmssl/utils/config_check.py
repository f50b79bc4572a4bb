"""Start-up checks of the paths a config names, so a bad config fails before training."""

from __future__ import annotations

import os.path as osp
from collections.abc import Iterator
from typing import Any

CHECKPOINT_KEYS = ('checkpoint', 'pretrained', 'load_from')
CHECKPOINT_SUFFIXES = ('.pth', '.pt', '.ckpt', '.bin', '.safetensors')


class ConfigPathError(FileNotFoundError):
    """Raised at start-up when files or folders named in a config do not exist."""


def _dataset_cfgs(cfg: Any, where: str) -> Iterator[tuple[str, dict]]:
    """Yield (config path, dataset cfg) for a dataset and the datasets it wraps."""
    if isinstance(cfg, dict):
        if 'data_root' in cfg or 'ann_file' in cfg:
            yield where, cfg
        if 'dataset' in cfg:
            yield from _dataset_cfgs(cfg['dataset'], f'{where}.dataset')
        if 'datasets' in cfg:
            for i, sub in enumerate(cfg['datasets']):
                yield from _dataset_cfgs(sub, f'{where}.datasets[{i}]')


def _checkpoint_refs(cfg: Any, where: str) -> Iterator[tuple[str, str]]:
    """Yield (config path, file) for every checkpoint-like file a (sub-)config names."""
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            path = f'{where}.{key}' if where else key
            if key in CHECKPOINT_KEYS and isinstance(value, str):
                # 'pretrained' may name a library's weight tag; a 'checkpoint' is always a file
                if key != 'pretrained' or value.endswith(CHECKPOINT_SUFFIXES):
                    yield path, value
            else:
                yield from _checkpoint_refs(value, path)
    elif isinstance(cfg, (list, tuple)):
        for i, value in enumerate(cfg):
            yield from _checkpoint_refs(value, f'{where}[{i}]')


def _evaluator_problems(evaluator: Any, where: str) -> Iterator[str]:
    """Missing ``ann_file``/``data_root`` of an evaluator (a metric dict, a list, or ``metrics``)."""
    if isinstance(evaluator, (list, tuple)):
        for i, sub in enumerate(evaluator):
            yield from _evaluator_problems(sub, f'{where}[{i}]')
        return
    if not isinstance(evaluator, dict):
        return
    if 'metrics' in evaluator:
        yield from _evaluator_problems(evaluator['metrics'], f'{where}.metrics')
    ann_file, data_root = evaluator.get('ann_file'), evaluator.get('data_root')
    if isinstance(data_root, str) and data_root and not osp.isdir(data_root):
        yield f'{where}.data_root: folder {data_root!r} does not exist'
    if isinstance(ann_file, str) and ann_file and '://' not in ann_file and not osp.isfile(ann_file):
        yield f'{where}.ann_file: file {ann_file!r} does not exist (the metric would fail after training)'


def find_config_path_problems(cfg, dataloaders: tuple[str, ...] = ('train_dataloader',)) -> list[str]:
    """List every missing data root, info file and checkpoint that ``cfg`` names.

    For each dataloader named, its datasets' ``data_root``/``ann_file`` (through dataset
    wrappers) and its evaluator's (``val_dataloader`` -> ``val_evaluator``) ``ann_file`` and
    ``data_root``; every ``checkpoint``/``load_from`` (and ``pretrained`` with a checkpoint
    suffix) of the model and the custom hooks.

    Args:
        cfg: An MMEngine ``Config`` (or dict).
        dataloaders: Names of the dataloader fields whose datasets will be built.

    Returns:
        One human-readable line per problem (empty if the config is sound).
    """
    problems = []
    for loader in dataloaders:
        loader_cfg = cfg.get(loader)
        if not loader_cfg:
            continue
        for where, ds in _dataset_cfgs(loader_cfg.get('dataset'), f'{loader}.dataset'):
            data_root = ds.get('data_root') or ''
            if data_root and not osp.isdir(data_root):
                problems.append(f'{where}.data_root: folder {data_root!r} does not exist')
                continue
            ann_file = ds.get('ann_file')
            if ann_file:
                full = ann_file if osp.isabs(ann_file) else osp.join(data_root, ann_file)
                if not osp.isfile(full):
                    problems.append(f'{where}.ann_file: info file {full!r} does not exist')
        evaluator = loader.replace('_dataloader', '_evaluator')
        if evaluator != loader and cfg.get(evaluator):
            problems += list(_evaluator_problems(cfg.get(evaluator), evaluator))
    model_refs = list(_checkpoint_refs(cfg.get('model', {}), 'model'))
    model_refs += list(_checkpoint_refs(cfg.get('custom_hooks', []), 'custom_hooks'))
    if cfg.get('load_from'):
        model_refs.append(('load_from', cfg['load_from']))
    for where, path in model_refs:
        if '://' in path:
            problems.append(f'{where}: {path!r} is a URL; mmssl never downloads weights: name a local file')
        elif not osp.isfile(path):
            problems.append(f'{where}: checkpoint {path!r} does not exist')
    return problems


def training_dataloaders(cfg, *extra: str) -> tuple[str, ...]:
    """The dataloaders a training run of ``cfg`` builds: train, val (MMEngine builds a ValLoop for
    any ``val_cfg`` that is not None, ``dict()`` of MMDet3D's base configs included), ``extra``."""
    loaders = ['train_dataloader']
    if cfg.get('val_cfg') is not None and cfg.get('val_dataloader'):
        loaders.append('val_dataloader')
    return tuple(loaders) + extra


def check_config_paths(cfg, dataloaders: tuple[str, ...] = ('train_dataloader',)) -> None:
    """Raise one :class:`ConfigPathError` listing every problem of :func:`find_config_path_problems`."""
    problems = find_config_path_problems(cfg, dataloaders)
    if problems:
        name = getattr(cfg, 'filename', None) or '<config>'
        lines = '\n'.join(f'  - {p}' for p in problems)
        raise ConfigPathError(
            f'{name}: {len(problems)} path(s) named in the config do not exist:\n{lines}\n'
            'Fix the config (or --cfg-options). The synthetic world is made by `make data`.'
        )
