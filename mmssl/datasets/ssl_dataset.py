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
  its own ``skipped`` list; the log has them all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from mmengine.fileio import load
from mmengine.logging import print_log

from .errors import BadSampleError
from .info_validation import check_info_file, check_sample_info
from .label_free import check_label_free_pipeline

BAD_SAMPLE_MODES = ('raise', 'skip')


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
        if not with_label:
            if kwargs.get('filter_empty_gt', False):
                raise ValueError(
                    'filter_empty_gt=True needs labels; with_label=False datasets never filter on boxes'
                )
            kwargs['filter_empty_gt'] = False
            check_label_free_pipeline(kwargs.get('pipeline', []))
        super().__init__(*args, **kwargs)

    # ---------------------------------------------------------------------------------------
    def _skip(self, err: BadSampleError, stage: str) -> None:
        self.skipped.append(dict(sample=err.sample, source=err.source, reason=err.reason, stage=stage))
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
        """``None`` without labels; MMDet3D's parsing otherwise."""
        if not self.with_label:
            return None
        return super().parse_ann_info(info)

    def prepare_data(self, index: int) -> dict | None:
        """Run the pipeline; in ``'skip'`` mode (training) a bad sample returns ``None``."""
        try:
            return super().prepare_data(index)
        except BadSampleError as err:
            if self.bad_sample == 'raise' or self.test_mode:
                raise
            self._skip(err, 'pipeline')
            return None
