"""The label-efficiency harness's data steps: the world, its checks, the label splits, the dataset
options of every run, and a pre-training's teacher preparation.

A mixin of :class:`~mmssl.benchmarks.LabelEfficiencyBenchmark` (its attributes ``preset``,
``entry``, ``model``, ``data_root``, ``out``, ``split_seed``, ``threads`` and ``_lock``, and
:meth:`~mmssl.benchmarks.protocol.ProtocolMixin._config`), kept apart from the training steps.
"""

from __future__ import annotations

from pathlib import Path

from .source_prep import (
    generator_args,
    is_multi_source,
    prepare_source_stats,
    prepare_source_worlds,
    source_data_options,
    training_sources,
)
from .steps import evaluator_data_options, frac_tag, log, run_logged
from .teacher_prep import prepare_random_weights, prepare_superpixels, prepare_teacher
from .world_checks import check_lidarseg_labels

__all__ = ['DataStepsMixin']


class DataStepsMixin:
    """World, splits, dataset options and teacher preparation of the harness."""

    def prepare_data(self) -> None:
        """Make the synthetic world and its info files if they are missing."""
        if (self.data_root / self.preset.train_info).exists():
            return
        if self.preset.data != 'synthetic':
            raise FileNotFoundError(f'{self.data_root / self.preset.train_info} does not exist')
        log(f'generating the synthetic world in {self.data_root}')
        args = [
            'tools/create_synthetic_nuscenes.py',
            '--out',
            str(self.data_root),
            *generator_args(self.preset.world),
        ]
        run_logged(args, self.out / 'logs' / 'create_world.log')

    def check_data(self) -> None:
        """Fail before any step when the model reads lidarseg labels the world lacks
        (:func:`~.world_checks.check_lidarseg_labels`)."""
        if not self.entry.lidarseg_labels:
            return
        dataset = self._config(self.entry.finetune_config).train_dataloader.dataset
        prefix = (dataset.get('data_prefix') or {}).get('pts_semantic_mask', 'lidarseg/{version}')
        check_lidarseg_labels(
            self.data_root,
            [self.preset.train_info, self.preset.val_info],
            self.model,
            self._regenerate_hint(),
            prefix,
        )

    def _regenerate_hint(self) -> str:
        """How to get a world with lidarseg labels (the end of :meth:`check_data`'s message)."""
        if self.preset.data != 'synthetic':
            return (
                'Add nuScenes-lidarseg (lidarseg/<version>/ and <version>/lidarseg.json) to the dataset '
                'root and recreate its info files (tools/create_data.py nuscenes).'
            )
        world = ' '.join(generator_args(self.preset.world))
        return (
            f'Regenerate it with labels (this replaces the folder; docs/data.md): python '
            f'tools/create_synthetic_nuscenes.py --out {self.data_root} {world} (the {self.preset.name} '
            "preset's world), or pass --data-root of a world generated since."
        )

    def split_file(self, fraction: float) -> Path:
        """The training info subset of ``fraction`` (made once, nested across fractions)."""
        path = self.out / 'splits' / f'train_frac{frac_tag(fraction)}.pkl'
        with self._lock:
            if not path.exists():
                self._make_split(fraction, path)
        return path

    def _make_split(self, fraction: float, path: Path) -> None:
        run_logged(
            [
                'tools/make_label_split.py',
                str(self.data_root / self.preset.train_info),
                '--fraction',
                str(fraction),
                '--seed',
                str(self.split_seed),
                '--out',
                str(path),
            ],
            self.out / 'logs' / 'splits.log',
        )

    def _data_options(self, ann_file: str, evaluation: bool = True) -> list[str]:
        """Dataset overrides: the training info file, and (``evaluation``) the test data.

        Only ``test_dataloader`` / ``test_evaluator`` (what ``tools/test.py`` reads): the run
        configs have no validation (``val_dataloader=None``), and a strategy's run is tested
        with its run config, where ``val_dataloader.*`` options cannot merge into ``None``.
        """
        root = f'{self.data_root}/'
        options = [
            f'train_dataloader.dataset.data_root={root}',
            f'train_dataloader.dataset.ann_file={ann_file}',
        ]
        if evaluation:
            val = str(self.data_root / self.preset.val_info)
            options += [
                f'test_dataloader.dataset.data_root={root}',
                f'test_dataloader.dataset.ann_file={val}',
            ]
            options += evaluator_data_options(
                self._config(self.entry.finetune_config), 'test_evaluator', root, val
            )
        return options

    def pretrain_data_options(self, run_config: str) -> list[str]:
        """Training data options of a pre-training: every training frame of the benchmark's world;
        a ``MultiSourceDataset`` gets it as source 0, its other sources keep their configs' data
        (:mod:`.source_prep`)."""
        cfg = self._config(run_config)
        if not is_multi_source(cfg):
            return self._data_options(str(self.data_root / self.preset.train_info), evaluation=False)
        return source_data_options(self._training_sources(cfg))

    def _training_sources(self, cfg) -> list[dict]:
        return training_sources(cfg, self.data_root, self.data_root / self.preset.train_info)

    def prepare_teacher(self, run_config: str, work_dir: Path) -> dict | None:
        """The pre-training's data and teacher made ready on every training frame of every source
        (:mod:`.teacher_prep`, :mod:`.source_prep`): the extra sources' worlds and statistics
        first, then the random weights (LargeAD's k-means superpixels read them), the superpixels,
        and the teacher's feature cache."""
        cfg = self._config(run_config)
        sources = self._training_sources(cfg)
        stats = []
        if is_multi_source(cfg):
            prepare_source_worlds(cfg, sources, self.preset.world, self.out / 'logs')
            stats = prepare_source_stats(cfg, run_config, sources, work_dir)
        prepare_random_weights(cfg, run_config, work_dir)
        superpixels = []
        for src in sources:
            superpixels += prepare_superpixels(cfg, work_dir, src['ann_file'], src['data_root'])
        data = self.pretrain_data_options(run_config)
        record = prepare_teacher(cfg, run_config, work_dir, data, self.threads)
        if superpixels and record is not None:
            record = dict(record, superpixels=superpixels)
        if stats and record is not None:
            record = dict(record, source_stats=stats, sources=sources)
        return record
