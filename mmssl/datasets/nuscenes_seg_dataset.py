"""nuScenes LiDAR semantic segmentation (lidarseg, 16 classes) over MMDet3D v1.1 info files.

MMDet3D 1.4.0 has no nuScenes segmentation dataset (its ``Seg3DDataset`` subclasses are ScanNet,
S3DIS and SemanticKITTI), so this is a small :class:`~mmdet3d.datasets.Seg3DDataset` over the
nuScenes-format infos mmssl writes (MMDet3D's converter, also for the synthetic world):

* points: ``lidar_points.lidar_path`` resolved against ``data_prefix['pts']``;
* labels: the info's top-level ``pts_semantic_mask_path`` (a file name, uint8, one official lidarseg
  category index 0-31 per point, :mod:`mmssl.datasets.lidarseg`) resolved against
  ``data_prefix['pts_semantic_mask']``; the default ``'lidarseg/{version}'`` takes the nuScenes
  version (``v1.0-mini`` / ``v1.0-trainval``) from the info file's ``metainfo.version``;
* ``seg_label_mapping`` (what MMDet3D's ``PointSegClassMapping`` indexes with the raw labels): the
  official 32 -> 16 merge :data:`~mmssl.datasets.lidarseg.NUSCENES_LIDARSEG_16_MAPPING`, every
  category outside the benchmark -> ignore index 16 (MMDet3D's ``len(classes)``). A ``metainfo``
  with a subset of the 16 classes renumbers them in its order, the others go to the ignore index.

Infos without ``pts_semantic_mask_path`` (no labels) are rejected when labels are read: this
dataset is for labelled fine-tuning and evaluation. The metainfo holds what MMDet3D's
``SegMetric`` reads (``label2cat``, ``ignore_index``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from mmdet3d.datasets import Seg3DDataset

from mmssl.registry import DATASETS

from .errors import BadSampleError, describe_sample
from .lidarseg import (
    NUSCENES_LIDARSEG_16_CLASSES,
    NUSCENES_LIDARSEG_16_IGNORE_INDEX,
    NUSCENES_LIDARSEG_16_MAPPING,
)

#: Colour of each of the 16 classes: the nuScenes devkit's ``get_colormap()`` colour of a
#: representative lidarseg category (bus: ``vehicle.bus.rigid``, pedestrian: ``.adult``).
NUSCENES_LIDARSEG_16_PALETTE = (
    (112, 128, 144),
    (220, 20, 60),
    (255, 69, 0),
    (255, 158, 0),
    (233, 150, 70),
    (255, 61, 99),
    (0, 0, 230),
    (47, 79, 79),
    (255, 140, 0),
    (255, 99, 71),
    (0, 207, 191),
    (175, 0, 75),
    (75, 0, 75),
    (112, 180, 60),
    (222, 184, 135),
    (0, 175, 0),
)
#: Size of the label lookup table: every uint8 value (values above 31 go to the ignore index).
_LUT_SIZE = 256


@DATASETS.register_module()
class NuScenesSegDataset(Seg3DDataset):
    """nuScenes lidarseg keyframes with their 16-class point labels (see the module docstring).

    Args:
        data_root: Dataset root.
        ann_file: v1.1 info file (``metainfo`` + ``data_list``), relative to ``data_root`` or absolute.
        metainfo: ``dict(classes=...)``: the 16 classes (default) or a subset of them.
        data_prefix: ``pts`` (point files) and ``pts_semantic_mask`` (label files; ``{version}``
            is replaced by the info file's nuScenes version), relative to ``data_root``.
        pipeline: Transforms (``LoadPointsFromFile``, ``LoadAnnotations3D(with_seg_3d=True,
            seg_3d_dtype='np.uint8')``, ``PointSegClassMapping``, ...).
        modality: ``dict(use_lidar=True, use_camera=False)``.
        ignore_index: Label of ignored points (default 16, ``len`` of the 16 classes).
        **kwargs: Other :class:`~mmdet3d.datasets.Seg3DDataset` arguments (``test_mode``, ...).
    """

    METAINFO = dict(
        classes=NUSCENES_LIDARSEG_16_CLASSES,
        palette=NUSCENES_LIDARSEG_16_PALETTE,
        # the 16 benchmark labels the model predicts, and every label after the 32 -> 16 merge
        seg_valid_class_ids=tuple(range(len(NUSCENES_LIDARSEG_16_CLASSES))),
        seg_all_class_ids=tuple(range(NUSCENES_LIDARSEG_16_IGNORE_INDEX + 1)),
    )

    def __init__(
        self,
        data_root: str | None = None,
        ann_file: str = '',
        metainfo: dict | None = None,
        data_prefix: dict | None = None,
        pipeline: list | None = None,
        modality: dict | None = None,
        ignore_index: int | None = None,
        **kwargs: Any,
    ) -> None:
        metainfo = dict(metainfo or {})
        metainfo.setdefault('classes', self.METAINFO['classes'])
        data_prefix = {
            'pts': 'samples/LIDAR_TOP',
            'pts_semantic_mask': 'lidarseg/{version}',
            **(data_prefix or {}),
        }
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            metainfo=metainfo,
            data_prefix=data_prefix,
            pipeline=list(pipeline or []),
            modality=dict(modality or dict(use_lidar=True, use_camera=False)),
            ignore_index=ignore_index,
            **kwargs,
        )

    def get_seg_label_mapping(self, metainfo: dict | None = None) -> np.ndarray:
        """Lookup table raw lidarseg index -> training label (``PointSegClassMapping``).

        Returns:
            ``(256,)`` int64: the 32 -> 16 merge, then the metainfo's class order (a subset of the
            16 classes renumbers them; the rest and every value above 31 -> ``ignore_index``).
        """
        lut = np.full(_LUT_SIZE, self.ignore_index, dtype=np.int64)
        for raw, label in NUSCENES_LIDARSEG_16_MAPPING.items():
            lut[raw] = self.label_mapping.get(label, self.ignore_index)
        return lut

    def parse_data_info(self, info: dict) -> dict:
        """Resolve the point and label paths (``{version}`` from the info file's metainfo).

        Raises:
            BadSampleError: the info has no ``pts_semantic_mask_path``.
        """
        if not info.get('pts_semantic_mask_path'):
            raise BadSampleError(
                describe_sample(info),
                'info key pts_semantic_mask_path',
                'is missing; NuScenesSegDataset needs per-point lidarseg labels',
            )
        prefix = self.data_prefix.get('pts_semantic_mask', '')
        if '{version}' in prefix:
            version = self.metainfo.get('version')
            if version is None:
                raise KeyError(
                    f"{self.ann_file}: data_prefix['pts_semantic_mask'] = {prefix!r} needs the info "
                    "file's metainfo.version; set the prefix explicitly"
                )
            self.data_prefix['pts_semantic_mask'] = prefix.format(version=version)
        return super().parse_data_info(info)
