"""Behaviour shared by mmssl's nuScenes and KITTI datasets (a mixin over MMDet3D's datasets).

* ``with_label=False`` (pre-training): annotations are never parsed, no ``ann_info`` /
  ``instances`` reach the pipeline, ``filter_empty_gt`` is off, and the pipeline is checked by
  :func:`~mmssl.datasets.check_label_free_pipeline` on construction.
* Info files are checked for the MMDet3D v1.1 format and every sample info for the keys and
  matrix shapes the pipeline reads (:mod:`mmssl.datasets.info_validation`).
* ``bad_sample='raise' | 'skip'``: a :class:`~mmssl.datasets.errors.BadSampleError` raised while
  parsing the info file or while running the pipeline (missing/corrupt files, NaN points, empty
  cloud after range filtering, ...) either propagates, or the sample is skipped: logged with its
  reason through the MMEngine logger and recorded in ``dataset.skipped``. Skipped at load time the
  sample is left out of ``data_list``; skipped at read time (training mode) MMEngine's
  ``BaseDataset.__getitem__`` draws another index. In ``test_mode`` read-time errors always
  raise (evaluation must see every sample). With several dataloader workers every worker keeps
  its own ``skipped`` list; the log has them all, and where ``$MMSSL_BAD_SAMPLE_DIR`` is set
  (``tools/train.py``/``tools/test.py`` set it to ``<work_dir>/bad_samples/<run>``) every skip is
  also appended to ``<dir>/<pid>.jsonl``, which ``BadSampleSummaryHook`` summarises at the end of
  the run.
* Nothing valid left: skip mode raises a ``RuntimeError`` naming the counts and the first
  reasons when every sample was skipped at load time, or when every sample failed in the
  pipeline (instead of MMEngine's "Cannot find valid image after 1000!").
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Sequence
from typing import Any

from mmengine.fileio import load
from mmengine.logging import print_log

from .errors import BadSampleError
from .info_validation import check_info_file, check_instances, check_sample_info
from .label_free import check_label_free_pipeline

BAD_SAMPLE_MODES = ('raise', 'skip')
BAD_SAMPLE_DIR_ENV = 'MMSSL_BAD_SAMPLE_DIR'


def summarize_skips(records: Sequence[dict], limit: int = 5) -> str:
    """``'<n> sample(s) skipped; by reason: ...; first: ...'`` for a list of skip records."""
    reasons = Counter(r['reason'] for r in records)
    samples = sorted({r['sample'] for r in records})
    top = '; '.join(f'{n}x {why}' for why, n in reasons.most_common(limit))
    first = '; '.join(f'sample {r["sample"]}: {r["source"]}: {r["reason"]}' for r in records[:limit])
    return (
        f'{len(samples)} distinct sample(s) skipped ({len(records)} skip(s)); '
        f'by reason: {top}; first: {first}'
    )


class SSLDatasetMixin:
    """Mixin placed before an MMDet3D ``Det3DDataset`` subclass in the bases.

    Args:
        with_label: Parse annotations (downstream detection) or not (pre-training).
        bad_sample: ``'raise'`` or ``'skip'``, see the module docstring.
        camera_names: Cameras to keep from each sample's ``images`` (in this order); ``None``
            keeps every camera that has an ``img_path``, in the info file's order.
        *args, **kwargs: Passed on to the MMDet3D dataset.
    """

    def __init__(
        self,
        *args: Any,
        with_label: bool = True,
        bad_sample: str = 'raise',
        camera_names: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if bad_sample not in BAD_SAMPLE_MODES:
            raise ValueError(f'bad_sample must be one of {BAD_SAMPLE_MODES}, got {bad_sample!r}')
        self.with_label = with_label
        self.bad_sample = bad_sample
        self.camera_names = list(camera_names) if camera_names is not None else None
        self.skipped: list[dict] = []
        self._bad_indices: set[int] = set()  # indices that failed in this process's pipeline
        if not with_label:
            if kwargs.get('filter_empty_gt', False):
                raise ValueError(
                    'filter_empty_gt=True needs labels; with_label=False datasets never filter on boxes'
                )
            kwargs['filter_empty_gt'] = False
            check_label_free_pipeline(kwargs.get('pipeline', []))
        super().__init__(*args, **kwargs)
        self._bind_transforms()

    def _bind_transforms(self) -> None:
        """Give each transform with a ``bind_dataset(dataset)`` method this dataset.

        For transforms that read the dataset's own files (``LoadTemporalFrame`` pairs samples
        of this dataset's info file), so a config's ``ann_file`` / ``data_root`` override
        reaches them without being repeated in the pipeline.
        """
        for transform in getattr(self.pipeline, 'transforms', []):
            bind = getattr(type(transform), 'bind_dataset', None)
            if callable(bind):
                transform.bind_dataset(self)

    # ---------------------------------------------------------------------------------------
    def _skip(self, err: BadSampleError, stage: str) -> None:
        record = dict(
            dataset=type(self).__name__,
            ann_file=str(self.ann_file),
            sample=err.sample,
            source=err.source,
            reason=err.reason,
            stage=stage,
        )
        self.skipped.append(record)
        folder = os.environ.get(BAD_SAMPLE_DIR_ENV)
        if folder:
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, f'{os.getpid()}.jsonl'), 'a') as f:
                f.write(json.dumps(record) + '\n')
        print_log(
            f'{type(self).__name__}: skipping bad sample ({stage}, '
            f'{len(self.skipped)} skipped so far): {err}',
            logger='current',
            level=logging.WARNING,
        )

    def load_data_list(self) -> list[dict]:
        """Load the info file, check its format and parse (or skip) every sample."""
        annotations = load(self.ann_file, backend_args=getattr(self, 'backend_args', None))
        check_info_file(annotations, self.ann_file)
        for k, v in annotations['metainfo'].items():
            self._metainfo.setdefault(k, v)
        data_list: list[dict] = []
        for i, raw in enumerate(annotations['data_list']):
            if not isinstance(raw, dict):
                raise ValueError(
                    f'info file {self.ann_file}: data_list[{i}] is a {type(raw).__name__}; expected a dict'
                )
            raw.setdefault('sample_idx', raw.get('sample_id', i))
            raw.setdefault('token', str(raw['sample_idx']))
            try:
                check_sample_info(
                    raw,
                    self.modality.get('use_lidar', False),
                    self.modality.get('use_camera', False),
                    self.camera_names,
                )
                info = self.parse_data_info(raw)
            except BadSampleError as err:
                if self.bad_sample == 'raise':
                    raise
                self._skip(err, 'load')
                continue
            data_list.extend(info if isinstance(info, list) else [info])
        if not data_list and self.skipped:
            raise RuntimeError(
                f"{type(self).__name__} ({self.ann_file}): bad_sample='skip' left no valid sample: "
                f'{summarize_skips(self.skipped)}'
            )
        return data_list

    def parse_data_info(self, info: dict) -> dict | list[dict]:
        """Keep the selected cameras and drop every annotation when ``with_label=False``."""
        if self.camera_names is not None and 'images' in info:
            info['images'] = {c: info['images'][c] for c in self.camera_names}
        if not self.with_label:
            for key in ('instances', 'cam_instances', 'pts_semantic_mask_path', 'pts_instance_mask_path'):
                info.pop(key, None)
        info = super().parse_data_info(info)
        if not self.with_label:
            for item in info if isinstance(info, list) else [info]:
                item.pop('ann_info', None)
                item.pop('eval_ann_info', None)
        return info

    def parse_ann_info(self, info: dict) -> dict | None:
        """``None`` without labels; MMDet3D's parsing after :func:`check_instances` otherwise."""
        if not self.with_label:
            return None
        check_instances(info, self.label_mapping)
        return super().parse_ann_info(info)

    def prepare_data(self, index: int) -> dict | None:
        """Run the pipeline; in ``'skip'`` mode (training) a bad sample returns ``None``."""
        try:
            return super().prepare_data(index)
        except BadSampleError as err:
            if self.bad_sample == 'raise' or self.test_mode:
                raise
            self._skip(err, 'pipeline')
            self._bad_indices.add(index)
            return None

    def __getitem__(self, idx: int) -> dict:
        """MMEngine's ``__getitem__``; in skip mode a clear error once no sample is valid.

        As in MMEngine, a bad sample makes it draw another index (a sample that failed may be
        drawn again: some failures depend on random augmentation). Once every index has failed,
        or ``max_refetch`` draws found none valid, the error names the counts and the reasons
        instead of MMEngine's "Cannot find valid image after 1000!" after 1001 warnings.
        """
        if self.test_mode or self.bad_sample != 'skip':
            return super().__getitem__(idx)
        if not self._fully_initialized:
            self.full_init()
        bad = self._bad_indices
        for _ in range(self.max_refetch + 1):
            if len(bad) >= len(self):
                break
            data = self.prepare_data(idx)
            if data is None:  # a bad sample, or a pipeline that dropped it (e.g. no boxes left)
                idx = self._rand_another()
                continue
            return data
        what = 'every one' if len(bad) >= len(self) else f'{len(bad)}'
        raise RuntimeError(
            f"{type(self).__name__} ({self.ann_file}): bad_sample='skip' found no valid sample: "
            f'{what} of the {len(self)} samples failed in the pipeline '
            f'({self.max_refetch + 1} draws at most); {summarize_skips(self.skipped)}'
        )
