"""A pre-training's frozen image teacher, made ready before the pre-training step runs.

Used by the label-efficiency harness (:meth:`~mmssl.benchmarks.LabelEfficiencyBenchmark.prepare_teacher`):
a config's top-level ``random_teacher_weights`` (no released weights on the machine) is written by
``tools/make_random_teacher.py``, and a teacher with a ``cache_root`` gets the feature cache of every
training frame from ``tools/cache_teacher_features.py`` (resumable: complete entries are skipped).

The harness runs two pre-trainings at once, and methods share files (SLidR and LargeAD's SLIC
ablation the same SLIC cache, every image-to-LiDAR config the same random weights): each step
holds a lock per file or cache (:func:`shared_step`), so the second waits and then finds the
work done instead of repeating it beside the first.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Sequence

from .steps import log, run_logged

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


@contextmanager
def shared_step(key: str) -> Iterator[None]:
    """Hold the lock of a shared preparation step (one per ``key``) in this process."""
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(key, threading.Lock())
    with lock:
        yield


def prepare_random_weights(cfg, run_config: str, work_dir: Path) -> dict | None:
    """Write a config's declared ``random_teacher_weights`` (``tools/make_random_teacher.py``;
    an existing file is left as is); returns the spec (None when the config declares none).

    Runs before the superpixels, whose feature k-means source reads these weights.
    """
    spec = cfg.get('random_teacher_weights')
    if spec is not None:
        with shared_step(f'weights:{spec.get("checkpoint")}'):
            if not Path(str(spec.get('checkpoint'))).is_file():  # the tool leaves an existing file too
                run_logged(['tools/make_random_teacher.py', run_config], work_dir / 'teacher.log')
    return spec


def prepare_teacher(
    cfg, run_config: str, work_dir: Path, data_options: Sequence[str], threads: int | None = None
) -> dict | None:
    """Write the declared random weights (:func:`prepare_random_weights`) and build the cache;
    returns what the results must say about the teacher (None without a teacher).

    Args:
        cfg: the loaded ``run_config``.
        run_config: the pre-training config file the tools read.
        work_dir: the pre-training's folder (``teacher.log`` goes there).
        data_options: ``--cfg-options`` pointing the training dataset at every training frame.
        threads: intra-op threads of the cache builder.
    """
    from mmssl.models.target_generators.cache_builder import teacher_config

    random_spec = prepare_random_weights(cfg, run_config, work_dir)
    if cfg.model.get('target_generator') is None:
        return None
    teacher, cache_root = teacher_config(cfg)
    record = dict(
        type=teacher.get('type'),
        arch=teacher.get('arch'),
        checkpoint=teacher.get('checkpoint'),
        weights='random init (seed {})'.format(random_spec['seed']) if random_spec else 'from file',
        input_size=teacher.get('input_size'),
        cache_root=cache_root,
    )
    log(f'teacher {record["type"]} {record["arch"]}: {record["weights"]}, {record["checkpoint"]}')
    if cache_root is not None:
        log(f'teacher feature cache in {cache_root} (every training frame; complete entries skipped)')
        with shared_step(f'teacher cache:{cache_root}'):
            run_logged(
                [
                    'tools/cache_teacher_features.py',
                    run_config,
                    '--no-progress',
                    '--cfg-options',
                    *data_options,
                ],
                work_dir / 'teacher.log',
                threads,
            )
    return record


def prepare_superpixels(cfg, work_dir: Path, info_file: str, data_root: str) -> list[dict]:
    """Build the superpixel cache of every ``LoadSuperpixels`` of the training pipeline (SLidR) on
    every training frame with ``tools/make_superpixels.py`` (resumable: complete maps are skipped);
    returns one record per cache (empty without superpixels).

    Args:
        cfg: the loaded pre-training config.
        work_dir: the pre-training's folder (``superpixels.log`` goes there).
        info_file: the training info file (every training frame).
        data_root: the dataset root its image paths are relative to.
    """
    records = []
    for t in cfg.train_dataloader.dataset.pipeline:
        if t.get('type') not in ('LoadSuperpixels', 'mmssl.LoadSuperpixels'):
            continue
        source = t.get('source', 'slic')
        source = dict(type=source) if isinstance(source, str) else dict(source)
        options = [f'{k}={v}' for k, v in source.items() if k != 'type']
        cmd = ['tools/make_superpixels.py', info_file, data_root, t['cache_root'], '--source', source['type']]
        if options:
            cmd += ['--source-options', *options]
        with shared_step(f'superpixels:{t["cache_root"]}:{sorted(source.items())}'):
            log(f'superpixels {source} of {data_root} in {t["cache_root"]} (complete maps skipped)')
            run_logged(cmd, work_dir / 'superpixels.log')
        records.append(dict(cache_root=t['cache_root'], source=source, data_root=data_root))
    return records
