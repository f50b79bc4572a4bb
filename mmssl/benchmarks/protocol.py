"""What makes runs of the label-efficiency benchmark comparable: iterations, overrides, ``protocol.json``.

:class:`ProtocolMixin` holds the quantities every run of a benchmark shares, computed from the preset, the
model entry and the data (the training frames, the fine-tuning iterations and config overrides of every
fraction, the pre-training overrides), and the ``protocol.json`` check that refuses to resume a folder of
another protocol. :class:`~.label_efficiency.LabelEfficiencyBenchmark` runs the steps.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pickle

from .schedule import iteration_overrides, native_iterations
from .steps import REPO_ROOT, write_json


class ProtocolMixin:
    """The protocol quantities of a benchmark (attributes set by the benchmark's ``__init__``:
    ``preset``, ``entry``, ``model``, ``data_root``, ``split_seed``, ``probe_enabled``,
    ``fraction_options``, ``_configs``, ``_frames``)."""

    def _config(self, path: str):
        """The loaded config (custom modules not imported: only settings are read)."""
        if path not in self._configs:
            from mmengine.config import Config

            self._configs[path] = Config.fromfile(str(REPO_ROOT / path), import_custom_modules=False)
        return self._configs[path]

    def training_frames(self) -> int:
        """Frames of the 100% training info file."""
        if self._frames is None:
            path = self.data_root / self.preset.train_info
            with open(path, 'rb') as f:
                infos = pickle.load(f)
            if not isinstance(infos, dict) or not infos.get('data_list'):
                raise ValueError(f'{path}: expected an MMDet3D v1.1 info dict with a non-empty data_list')
            self._frames = len(infos['data_list'])
        return self._frames

    def iters_per_epoch(self, config: str) -> int:
        """Iterations of one epoch of the 100% training set with ``config``'s batch size."""
        batch = int(self._config(config).train_dataloader.get('batch_size', 1))
        return math.ceil(self.training_frames() / batch)

    def finetune_iterations(self) -> int:
        """Fine-tuning iterations of every fraction: the preset's, or its epochs of 100%."""
        if self.preset.finetune_iters is not None:
            return int(self.preset.finetune_iters)
        return int(self.preset.finetune_epochs_of_full) * self.iters_per_epoch(self.entry.finetune_config)

    def finetune_overrides(self) -> dict:
        """Config overrides of every fine-tune (the same for every method, fraction and seed)."""
        config = self.entry.finetune_config
        overrides = iteration_overrides(
            self._config(config),
            self.finetune_iterations(),
            self.iters_per_epoch(config),
            self.preset.finetune_schedule,
        )
        # No validation inside training: MMEngine's IterBasedTrainLoop validates at its last
        # iteration whatever val_interval says, and the harness tests every run with
        # tools/test.py afterwards (the same metric on the same frames, once).
        overrides.update(val_cfg=None, val_dataloader=None, val_evaluator=None)
        return overrides

    def strategy_overrides(self, strategy: str) -> dict:
        """Config overrides of one strategy's fine-tunes: :meth:`finetune_overrides` plus the
        strategy's model, optimizer-wrapper and progressive-unfreezing settings."""
        return self.entry.strategies[strategy].overrides(
            self.finetune_overrides(),
            self.finetune_iterations(),
            self._config(self.entry.finetune_config).get('custom_hooks', []),
        )

    def pretrain_iterations(self, method: str) -> int | None:
        """Pre-training iterations of ``method``: the preset's, times the entry's
        ``pretrain_length`` of the method (e.g. 5 for a x5 ablation); None: the config's own."""
        if self.preset.pretrain_iters is None:
            return None
        return int(self.preset.pretrain_iters) * int(self.entry.pretrain_length.get(method, 1))

    def pretrain_overrides(self, method: str) -> dict:
        """Config overrides of one method's pre-training (schedule + the start-weights hook)."""
        config = self.entry.pretrain_configs[method]
        cfg = self._config(config)
        overrides: dict = {}
        if self.preset.pretrain_iters is not None or self.preset.pretrain_schedule is not None:
            ipe = self.iters_per_epoch(config)
            length = int(self.entry.pretrain_length.get(method, 1))
            total = self.pretrain_iterations(method) or native_iterations(cfg, ipe) * length
            overrides = iteration_overrides(cfg, total, ipe, self.preset.pretrain_schedule)
        imports = dict(cfg.get('custom_imports') or dict(imports=[], allow_failed_imports=False))
        imports['imports'] = [*imports.get('imports', []), 'mmssl.benchmarks.weight_change']
        overrides['custom_imports'] = imports
        overrides['custom_hooks'] = [*cfg.get('custom_hooks', []), dict(type='StartWeightsHook')]
        return overrides

    def encoder_prefixes(self) -> list[str]:
        """Checkpoint prefixes the detector takes over (its ``init_from.prefix_map`` sources)."""
        init_from = self._config(self.entry.finetune_config).model.get('init_from') or {}
        return list((init_from.get('prefix_map') or {}).keys())

    def protocol(self) -> dict:
        """What makes finished runs in ``out`` reusable: the same model, data, iterations, schedules."""
        p = self.preset
        extra = (
            {'fraction_options': {f'{f:g}': o for f, o in self.fraction_options.items()}}
            if self.fraction_options
            else {}
        )
        return dict(
            preset=p.name,
            model=self.model,
            data_root=str(self.data_root),
            split_seed=self.split_seed,
            pretrain_iters=p.pretrain_iters,
            finetune_iters=p.finetune_iters,
            finetune_epochs_of_full=p.finetune_epochs_of_full,
            pretrain_schedule=dataclasses.asdict(p.pretrain_schedule) if p.pretrain_schedule else None,
            finetune_schedule=dataclasses.asdict(p.finetune_schedule) if p.finetune_schedule else None,
            probe_fraction=p.probe_fraction if self.probe_enabled else None,
            **extra,
        )

    def check_protocol(self) -> None:
        """Write ``protocol.json``, or refuse to resume runs of another protocol in ``out``.

        Resuming skips every step with a finished marker, so runs of another preset, data root,
        iteration count or schedule in the same folder would be silently mixed into the results.
        """
        path = self.out / 'protocol.json'
        current = self.protocol()
        if path.exists():
            previous = json.loads(path.read_text())
            changed = {k: (previous.get(k), v) for k, v in current.items() if previous.get(k) != v}
            if changed:
                details = ', '.join(f'{k}: {old!r} there, {new!r} now' for k, (old, new) in changed.items())
                raise ValueError(
                    f'{self.out} holds runs of another protocol ({details}); '
                    'use another --out or remove that folder'
                )
            return
        write_json(path, current)
