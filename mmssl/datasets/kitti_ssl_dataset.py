"""KITTI-format dataset for pre-training (no labels) and downstream detection."""

from __future__ import annotations

from mmdet3d.datasets import KittiDataset

from mmssl.registry import DATASETS

from .ssl_dataset import SSLDatasetMixin


@DATASETS.register_module()
class KittiSSLDataset(SSLDatasetMixin, KittiDataset):
    """MMDet3D's :class:`KittiDataset` (v1.1 infos) with the behaviour of
    :class:`~mmssl.datasets.ssl_dataset.SSLDatasetMixin`.

    KITTI infos hold CAM0-CAM3 calibration but only CAM2 has an image; set
    ``camera_names=['CAM2']``. Points have 4 values (x, y, z, reflectance); ``sample_id``
    doubles as ``sample_idx``/``token``.

    Args:
        with_label: ``False`` for pre-training (no boxes, label-free pipeline enforced).
        bad_sample: ``'raise'`` or ``'skip'``.
        camera_names: Cameras to load (``['CAM2']``).
        **kwargs: :class:`mmdet3d.datasets.KittiDataset` arguments.
    """
