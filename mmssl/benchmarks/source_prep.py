"""Multi-source pre-training in the label-efficiency harness (LargeAD Table 11, ScaLR).

A pre-training config whose training dataset is a ``MultiSourceDataset`` mixes the benchmark's
world (its source 0, pointed at the preset's world like any single-source pre-training) with
sources that keep the roots of the config. Before the pre-training runs, the harness makes what
those sources need:

- the world of every extra source that is missing, when the config declares how to make it in
  ``synthetic_source_worlds`` (a list of ``dict(data_root=..., **generator options)``, the options
  of ``tools/create_synthetic_nuscenes.py`` in underscore form, added to the preset's ``world``
  options; e.g. ``dict(data_root='data/synthetic-nuscenes-64beam/', lidar_rig='hdl64e', seed=1)``);
  a missing source without a declaration fails before any step, naming its info file;
- the per-source statistics of every ``PerSourceNormalizePoints`` of the pipeline, recomputed over
  the sources of this run (``tools/compute_source_stats.py``), since the file is keyed by source
  name and source 0 is the benchmark's world, not the config's;
- the superpixels and the teacher cache of every source (:mod:`.teacher_prep`, one call per
  source: the caches are keyed by sample token, which ``MultiSourceDataset`` checks are unique).
"""

from __future__ import annotations

from pathlib import Path

from .steps import REPO_ROOT, log, run_logged
from .teacher_prep import shared_step

__all__ = [
    'generator_args',
    'MULTI_SOURCE',
    'is_multi_source',
    'prepare_source_stats',
    'prepare_source_worlds',
    'source_data_options',
    'training_sources',
]

MULTI_SOURCE = ('MultiSourceDataset', 'mmssl.MultiSourceDataset')


def is_multi_source(cfg) -> bool:
    """Whether ``cfg``'s training dataset is a ``MultiSourceDataset``."""
    return cfg.train_dataloader.dataset.get('type') in MULTI_SOURCE


def _root(path: str) -> Path:
    root = Path(str(path))
    return (root if root.is_absolute() else REPO_ROOT / root).resolve()


def training_sources(cfg, world_root: Path, world_info: Path) -> list[dict]:
    """Every training source of a pre-training as ``dict(data_root, ann_file)`` (absolute paths):
    the benchmark's world first; a ``MultiSourceDataset``'s sources after its first keep their
    configs' roots and info files."""
    sources = [dict(data_root=str(world_root), ann_file=str(world_info))]
    if not is_multi_source(cfg):
        return sources
    for i, src in enumerate(cfg.train_dataloader.dataset.sources[1:], start=1):
        if 'data_root' not in src or 'ann_file' not in src:
            raise KeyError(f'train_dataloader.dataset.sources[{i}] has no data_root / ann_file: {dict(src)}')
        root = _root(src['data_root'])
        ann = Path(str(src['ann_file']))
        sources.append(dict(data_root=str(root), ann_file=str(ann if ann.is_absolute() else root / ann)))
    return sources


def source_data_options(sources: list[dict]) -> list[str]:
    """``--cfg-options`` pointing each source of a ``MultiSourceDataset`` at its root and info file."""
    options = []
    for i, src in enumerate(sources):
        options += [
            f'train_dataloader.dataset.sources.{i}.data_root={src["data_root"]}/',
            f'train_dataloader.dataset.sources.{i}.ann_file={src["ann_file"]}',
        ]
    return options


def generator_args(options: dict) -> list[str]:
    """``tools/create_synthetic_nuscenes.py`` arguments of generator options in underscore form
    (``dict(lidar_rig='hdl64e', img_size=[90, 160])`` -> ``--lidar-rig hdl64e --img-size 90 160``)."""
    args = []
    for key, value in options.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        args += [f'--{key.replace("_", "-")}', *(str(v) for v in values)]
    return args


def prepare_source_worlds(cfg, sources: list[dict], preset_world: dict, log_dir: Path) -> None:
    """Generate the declared synthetic world of every extra source whose info file is missing.

    Args:
        cfg: the loaded pre-training config (its ``synthetic_source_worlds``).
        sources: :func:`training_sources` (the first, the benchmark's world, is made elsewhere).
        preset_world: the preset's generator options, under the declared ones.
        log_dir: where ``create_world_<name>.log`` goes.

    Raises:
        FileNotFoundError: a source's info file is missing and the config declares no world for it.
    """
    declared = {_root(w['data_root']): dict(w) for w in cfg.get('synthetic_source_worlds', None) or []}
    for i, src in enumerate(sources[1:], start=1):
        root, info = Path(src['data_root']), Path(src['ann_file'])
        with shared_step(f'world:{root}'):
            if info.exists():
                continue
            spec = declared.get(root)
            if spec is None:
                raise FileNotFoundError(
                    f'source {i} of the pre-training: {info} does not exist and the config declares no '
                    f'synthetic_source_worlds entry for {root}; make that dataset (docs/largead.md)'
                )
            options = {**preset_world, **{k: v for k, v in spec.items() if k != 'data_root'}}
            args = ['tools/create_synthetic_nuscenes.py', '--out', str(root), *generator_args(options)]
            log(f'generating the world of source {i} in {root} ({options})')
            run_logged(args, log_dir / f'create_world_{root.name}.log')


def prepare_source_stats(cfg, run_config: str, sources: list[dict], work_dir: Path) -> list[str]:
    """Recompute the statistics file of every ``PerSourceNormalizePoints`` of the training pipeline
    over this run's sources; returns the files written."""
    pipeline = cfg.train_dataloader.dataset.get('pipeline') or []
    files = []
    for t in pipeline:
        if t.get('type') not in ('PerSourceNormalizePoints', 'mmssl.PerSourceNormalizePoints'):
            continue
        stats = str(t['stats_file'])
        columns = [str(c) for c in t.get('columns', [3])]
        with shared_step(f'source stats:{stats}'):
            log(f'per-source statistics of columns {columns} in {stats} ({len(sources)} sources)')
            run_logged(
                [
                    'tools/compute_source_stats.py',
                    run_config,
                    '--out',
                    stats,
                    '--columns',
                    *columns,
                    '--cfg-options',
                    *source_data_options(sources),
                ],
                work_dir / 'source_stats.log',
            )
        files.append(stats)
    return files
