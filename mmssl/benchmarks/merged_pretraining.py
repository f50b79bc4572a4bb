"""Merged pre-trainings of the label-efficiency harness: separate pre-trainings, one checkpoint.

UniPAD's official fusion weights are a camera-only and a LiDAR-only pre-training merged module by
module (METHOD_FACTS 2). A preset names such a method in ``ModelEntry.merged_pretrainings``::

    merged_pretrainings={'unipad_merged': (MergePart('unipad_cam', ('img_backbone.', ...)),
                                           MergePart('unipad_lidar', ('pts_middle_encoder.',)))}

(:class:`~.presets.MergePart`).

Each part is itself a pre-training method of the entry (``pretrain_configs``), pre-trained once like
any other (``pretrain/{model}_{part}/``, resumable, its own iterations: the official recipe trains each
modality for the full schedule, so a merged method costs the sum of its parts). The merge
(:func:`mmssl.models.utils.checkpoint_merge.merge_checkpoints`, the function behind
``tools/merge_checkpoints.py``) writes ``pretrain/{model}_{method}/merged.pth`` and its key table
(``merge_table.txt``); fine-tuning reads it like any pre-training checkpoint.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future
from pathlib import Path

from .presets import MergePart
from .steps import log, write_json

MERGED_CHECKPOINT = 'merged.pth'


class DeferredPretraining:
    """A future-like handle of a merged pre-training: waits for its parts' futures, then merges
    once (``result()`` from any thread), so no pool slot is held while the parts run."""

    def __init__(self, merge, parts: list[Future]) -> None:
        self._merge, self._parts = merge, parts
        self._lock = threading.Lock()
        self._record: dict | None = None

    def result(self) -> dict:
        records = [f.result() for f in self._parts]
        with self._lock:
            if self._record is None:
                self._record = self._merge(records)
            return self._record

    def done(self) -> bool:
        return self._record is not None


class MergedPretrainingMixin:
    """Merged pre-trainings of :class:`~.label_efficiency.LabelEfficiencyBenchmark` (attributes set by
    the benchmark: ``entry``, ``model``, ``out``; method ``pretrain``)."""

    def merge_parts(self, method: str) -> tuple[MergePart, ...]:
        """The parts of a merged method (empty for a plain one)."""
        return tuple(self.entry.merged_pretrainings.get(method, ()))

    def pretrain_merged(self, method: str, part_records: list[dict] | None = None) -> dict:
        """Merge the parts' checkpoints of ``method`` (pre-training any part not given or done).

        Args:
            method: A key of ``ModelEntry.merged_pretrainings``.
            part_records: The parts' pre-training records, in the order of the parts (None:
                pre-train them here, one after another).

        Returns:
            The done record: ``checkpoint`` (the merged file), ``parts`` (their records),
            ``wall_s`` (the sum of the parts'), ``weight_change`` (each module from its part).
        """
        from mmssl.models.utils.checkpoint_merge import merge_checkpoints

        parts = self.merge_parts(method)
        work_dir = Path(self.out) / 'pretrain' / f'{self.model}_{method}'
        done = work_dir / 'done.json'
        if done.exists():
            log(f'pre-training {method}: done before, skipped')
            return json.loads(done.read_text())
        records = part_records or [self.pretrain(p.method) for p in parts]
        sources = []
        for part, record in zip(parts, records):
            if not record.get('checkpoint'):
                raise FileNotFoundError(
                    f'merged pre-training {method}: part {part.method} left no checkpoint '
                    f'({Path(self.out) / "pretrain" / f"{self.model}_{part.method}"})'
                )
            sources.append((record['checkpoint'], list(part.prefixes)))
        state, report = merge_checkpoints(sources)
        work_dir.mkdir(parents=True, exist_ok=True)
        checkpoint = work_dir / MERGED_CHECKPOINT
        import torch

        meta = dict(merged_from=[dict(checkpoint=str(p), modules=m) for p, m in sources])
        torch.save(dict(state_dict=state, meta=meta), checkpoint)
        (work_dir / 'merge_table.txt').write_text(report.table() + '\n')
        log(f'pre-training {method}: merged {", ".join(p.method for p in parts)} into {checkpoint}')
        change = {}
        for part, record in zip(parts, records):
            for prefix, value in (record.get('weight_change') or {}).items():
                if prefix in part.prefixes:
                    change[prefix] = {**value, 'from': part.method}
        record = dict(
            method=method,
            parts=[{**r, 'method': p.method, 'prefixes': list(p.prefixes)} for p, r in zip(parts, records)],
            iters=[r.get('iters') for r in records],
            checkpoint=str(checkpoint),
            wall_s=round(sum(float(r.get('wall_s') or 0.0) for r in records), 1),
            weight_change=change or None,
        )
        write_json(done, record)
        return record
