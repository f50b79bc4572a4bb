"""A pre-training's frozen image teacher, made ready before the pre-training step runs.

Used by the label-efficiency harness (:meth:`~mmssl.benchmarks.LabelEfficiencyBenchmark.prepare_teacher`):
a config's top-level ``random_teacher_weights`` (no released weights on the machine) is written by
``tools/make_random_teacher.py``, and a teacher with a ``cache_root`` gets the feature cache of every
training frame from ``tools/cache_teacher_features.py`` (resumable: complete entries are skipped).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .steps import log, run_logged


def prepare_teacher(
    cfg, run_config: str, work_dir: Path, data_options: Sequence[str], threads: int | None = None
) -> dict | None:
    """Write the declared random weights and build the cache; returns what the results must say
    about the teacher (None without a teacher).

    Args:
        cfg: the loaded ``run_config``.
        run_config: the pre-training config file the tools read.
        work_dir: the pre-training's folder (``teacher.log`` goes there).
        data_options: ``--cfg-options`` pointing the training dataset at every training frame.
        threads: intra-op threads of the cache builder.
    """
    from mmssl.models.target_generators.cache_builder import teacher_config

    random_spec = cfg.get('random_teacher_weights')
    if random_spec is not None:
        run_logged(['tools/make_random_teacher.py', run_config], work_dir / 'teacher.log')
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
        run_logged(
            ['tools/cache_teacher_features.py', run_config, '--no-progress', '--cfg-options', *data_options],
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
        log(f'superpixels {source} in {t["cache_root"]} (every training frame; complete maps skipped)')
        run_logged(cmd, work_dir / 'superpixels.log')
        records.append(dict(cache_root=t['cache_root'], source=source))
    return records
