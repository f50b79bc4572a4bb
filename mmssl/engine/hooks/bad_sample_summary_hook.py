"""End-of-run summary of the samples that ``bad_sample='skip'`` datasets left out."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmssl.datasets.ssl_dataset import BAD_SAMPLE_DIR_ENV, summarize_skips
from mmssl.registry import HOOKS
from mmssl.utils.atomic_io import atomic_write_bytes


def _datasets(runner):
    for name in ('_train_dataloader', '_val_dataloader', '_test_dataloader'):
        loader = getattr(runner, name, None)
        dataset = getattr(loader, 'dataset', None)
        while dataset is not None:
            if hasattr(dataset, 'skipped'):
                yield dataset
            dataset = getattr(dataset, 'dataset', None)  # dataset wrappers


@HOOKS.register_module()
class BadSampleSummaryHook(Hook):
    """Log (and write to ``<work_dir>/bad_samples.json``) which samples were skipped and why.

    Skips of every process are read from ``$MMSSL_BAD_SAMPLE_DIR/*.jsonl`` (written by the
    datasets, dataloader workers included; ``tools/train.py``/``tools/test.py`` set the folder
    per run); without it, the main process's ``dataset.skipped`` lists are summarised.
    """

    priority = 'LOWEST'

    def records(self, runner) -> list[dict]:
        """Every skip record of this run, each once."""
        folder = os.environ.get(BAD_SAMPLE_DIR_ENV)
        rows: list[dict] = []
        if folder and Path(folder).is_dir():
            for path in sorted(Path(folder).glob('*.jsonl')):
                rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        else:
            for dataset in _datasets(runner):
                rows += list(dataset.skipped)
        seen, unique = set(), []
        for row in rows:
            key = json.dumps(row, sort_keys=True)
            if key not in seen:
                seen.add(key)
                unique.append(row)
        return unique

    def after_run(self, runner) -> None:
        if not is_main_process():
            return
        rows = self.records(runner)
        if not rows:
            print_log('BadSampleSummaryHook: no sample was skipped', logger='current', level=logging.INFO)
            return
        path = Path(runner.work_dir) / 'bad_samples.json'
        atomic_write_bytes(json.dumps(rows, indent=2).encode(), path)
        print_log(
            f'BadSampleSummaryHook: {summarize_skips(rows)}. All of them: {path}',
            logger='current',
            level=logging.WARNING,
        )
