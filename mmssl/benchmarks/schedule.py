"""Iteration schedules that the benchmark imposes on a config, and the run config that carries them.

Every run of the benchmark trains for a fixed number of iterations (the same for every label
fraction). A config's own schedule is kept in shape and rewritten in iterations:

* an epoch-based scheduler (``by_epoch=True``, MMEngine's default) is converted with the
  iterations of one epoch **of the 100% training set** (``begin``/``end``/... times
  ``iters_per_epoch``), never of the subset, so a 1% run follows the 100% run's curve;
* the result is then stretched from the config's own length (``train_cfg.max_iters``, or
  ``max_epochs`` x ``iters_per_epoch``) to the benchmark's: ``begin``, ``end``, ``T_max``,
  ``total_steps``, ``step_size`` and ``milestones`` are scaled by ``total / native`` (values
  at or past the config's end become ``total``).

A :class:`~mmssl.benchmarks.presets.Schedule` instead replaces the config's schedule by a
linear warm-up and a cosine decay (the pre-training schedules of the ``quick``/``cpu``
presets, which must move the weights in a few hundred iterations).

The overrides go into a small config file that inherits the original (``_base_``), because
``--cfg-options`` cannot carry lists of dicts (``param_scheduler``, ``custom_hooks``).
"""

from __future__ import annotations

import ast
import math
import pprint
from pathlib import Path

from mmssl.utils.atomic_io import atomic_write_bytes

ITER_KEYS = ('begin', 'end', 'T_max', 'total_steps', 'step_size')
#: training samplers that become ``InfiniteSampler`` (:func:`iteration_overrides`); others are kept
REPLACED_SAMPLERS = (
    'DefaultSampler',
    'mmengine.DefaultSampler',
    'InfiniteSampler',
    'mmengine.InfiniteSampler',
)


def _to_plain(obj):
    """ConfigDicts and lists of them as plain Python containers."""
    if hasattr(obj, 'to_dict'):
        return obj.to_dict()
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_plain(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _to_plain(v) for k, v in obj.items()}
    return obj


def native_iterations(cfg, iters_per_epoch: int) -> int:
    """Training length of a config in iterations (``max_iters``, or epochs x iterations)."""
    train_cfg = cfg.get('train_cfg') or {}
    if train_cfg.get('max_iters') is not None:
        return int(train_cfg['max_iters'])
    if train_cfg.get('max_epochs') is not None:
        return int(train_cfg['max_epochs']) * int(iters_per_epoch)
    raise KeyError(f'{cfg.filename}: train_cfg has neither max_iters nor max_epochs')


def rescale_schedulers(schedulers, native_iters: int, total_iters: int, iters_per_epoch: int) -> list[dict]:
    """A config's ``param_scheduler`` rewritten in iterations over ``total_iters``.

    Args:
        schedulers: One scheduler dict or a list of them (the config's ``param_scheduler``).
        native_iters: The config's own training length in iterations.
        total_iters: The benchmark's training length.
        iters_per_epoch: Iterations of one epoch of the 100% training set.

    Returns:
        A list of iteration-based scheduler dicts (``by_epoch=False``).
    """
    if schedulers is None:
        return []
    if isinstance(schedulers, dict) or hasattr(schedulers, 'to_dict'):
        schedulers = [schedulers]
    if native_iters < 1 or total_iters < 1 or iters_per_epoch < 1:
        raise ValueError(f'iterations must be positive: {native_iters=}, {total_iters=}, {iters_per_epoch=}')

    def stretch(value: float) -> int:
        return total_iters if value >= native_iters else int(round(value * total_iters / native_iters))

    out = []
    for sched in _to_plain(list(schedulers)):
        sched = dict(sched)
        if sched.pop('by_epoch', True):
            sched.pop('convert_to_iter_based', None)
            for key in ITER_KEYS:
                if sched.get(key) is not None:
                    sched[key] = sched[key] * iters_per_epoch
            if sched.get('milestones') is not None:
                sched['milestones'] = [m * iters_per_epoch for m in sched['milestones']]
        for key in ITER_KEYS:
            if sched.get(key) is not None:
                sched[key] = stretch(sched[key])
        if sched.get('milestones') is not None:
            sched['milestones'] = [stretch(m) for m in sched['milestones']]
        sched['by_epoch'] = False
        out.append(sched)
    return out


def warmup_cosine(schedule, total_iters: int) -> list[dict]:
    """Linear warm-up over ``warmup_ratio`` of the run, then cosine decay to ``min_lr_ratio``.

    Args:
        schedule: A :class:`~mmssl.benchmarks.presets.Schedule`.
        total_iters: Length of the run in iterations.
    """
    warmup = max(1, int(round(schedule.warmup_ratio * total_iters))) if schedule.warmup_ratio > 0 else 0
    warmup = min(warmup, total_iters - 1) if total_iters > 1 else 0
    out = []
    if warmup:
        out.append(
            dict(
                type='LinearLR',
                start_factor=schedule.warmup_start_factor,
                by_epoch=False,
                begin=0,
                end=warmup,
            )
        )
    out.append(
        dict(
            type='CosineAnnealingLR',
            T_max=total_iters - warmup,
            eta_min=schedule.lr * schedule.min_lr_ratio,
            by_epoch=False,
            begin=warmup,
            end=total_iters,
        )
    )
    return out


def iteration_overrides(cfg, total_iters: int, iters_per_epoch: int, schedule=None) -> dict:
    """Config overrides that train ``cfg`` for ``total_iters`` iterations.

    Args:
        cfg: The loaded config (``mmengine.Config``).
        total_iters: Iterations of the run.
        iters_per_epoch: Iterations of one epoch of the 100% training set (epoch-based configs).
        schedule: A :class:`~mmssl.benchmarks.presets.Schedule` replacing the config's
            (None: the config's own, rescaled by :func:`rescale_schedulers`).

    Returns:
        A dict of top-level config keys (``train_cfg``, ``param_scheduler``,
        ``default_hooks``, ``log_processor``, ``train_dataloader`` unless the config's sampler is
        kept, and, with ``schedule``, ``optim_wrapper``).

    The training sampler becomes MMEngine's ``InfiniteSampler`` (shuffled, seeded like
    ``DefaultSampler``): MMEngine's ``IterBasedTrainLoop`` sleeps 2 s at every epoch transition
    of a finite sampler (``_InfiniteDataloaderIterator``, "prevent possible deadlock"), and a
    1% split of 8 frames at batch 4 has an epoch every 2 iterations, i.e. 1 s of sleep per
    iteration, as long as the step itself on the CPU. A sampler other than ``DefaultSampler`` is
    the config's choice and is kept (``SourceInterleavedSampler`` puts both sources of a
    multi-source pre-training in every batch; its epochs are long, so the sleep is rare).
    """
    if total_iters < 1:
        raise ValueError(f'total_iters must be positive, got {total_iters}')
    if schedule is None:
        schedulers = rescale_schedulers(
            cfg.get('param_scheduler'), native_iterations(cfg, iters_per_epoch), total_iters, iters_per_epoch
        )
    else:
        schedulers = warmup_cosine(schedule, total_iters)
    overrides = dict(
        train_cfg=dict(
            _delete_=True, type='IterBasedTrainLoop', max_iters=total_iters, val_interval=total_iters + 1
        ),
        param_scheduler=schedulers,
        default_hooks=dict(
            checkpoint=dict(
                _delete_=True,
                type='CheckpointHook',
                interval=max(1, math.ceil(total_iters / 4)),
                by_epoch=False,
                max_keep_ckpts=1,
            )
        ),
        log_processor=dict(by_epoch=False),
    )
    sampler = (cfg.get('train_dataloader') or {}).get('sampler') or {}
    if sampler.get('type', 'DefaultSampler') in REPLACED_SAMPLERS:
        overrides['train_dataloader'] = dict(
            sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True)
        )
    if schedule is not None:
        overrides['optim_wrapper'] = dict(optimizer=dict(lr=schedule.lr))
    return overrides


def write_run_config(path: Path, base_config: Path, overrides: dict) -> Path:
    """Write a config that inherits ``base_config`` and sets ``overrides``; returns ``path``.

    Raises:
        ValueError: an override is not a Python literal (it could not be written to a file).
    """
    lines = [
        f'# Written by the label-efficiency benchmark: {Path(base_config).name} with the',
        "# benchmark's iteration schedule (mmssl/benchmarks/schedule.py).",
        f'_base_ = [{str(Path(base_config).resolve())!r}]',
    ]
    for key, value in overrides.items():
        text = pprint.pformat(_to_plain(value), width=100, sort_dicts=False)
        try:
            ast.literal_eval(text)
        except (ValueError, SyntaxError) as err:
            raise ValueError(f'config override {key!r} is not a Python literal: {text[:200]}') from err
        lines.append(f'{key} = {text}')
    atomic_write_bytes(('\n'.join(lines) + '\n').encode(), path)
    return path
