"""nuScenes-format dataset for pre-training (no labels) and downstream detection."""

from __future__ import annotations

from mmdet3d.datasets import NuScenesDataset

from mmssl.registry import DATASETS

from .ssl_dataset import SSLDatasetMixin


@DATASETS.register_module()
class NuScenesSSLDataset(SSLDatasetMixin, NuScenesDataset):
    """MMDet3D's :class:`NuScenesDataset` (v1.1 infos) with the behaviour of
    :class:`~mmssl.datasets.ssl_dataset.SSLDatasetMixin`.

    Args:
        with_label: ``False`` for pre-training (no boxes, label-free pipeline enforced).
        bad_sample: ``'raise'`` or ``'skip'``.
        camera_names: Cameras to load, e.g. the 6 nuScenes cameras; ``None`` = all with images.
        **kwargs: :class:`mmdet3d.datasets.NuScenesDataset` arguments (``data_root``,
            ``ann_file``, ``data_prefix`` (``pts``, ``sweeps``, ``img`` or one key per camera;
            ``''`` where files lie directly in ``data_root``), ``pipeline``, ``modality``, ...).
    """

    # MMDet3D's class default ``version='v1.0-trainval'`` would win over the info file's
    # ``metainfo.version`` (MMEngine only fills keys the class has not set), and NuScenesMetric
    # would then open the wrong devkit tables (e.g. on v1.0-mini worlds). The file decides;
    # ``v1.0-trainval`` stays the default for files that do not say.
    METAINFO = {k: v for k, v in NuScenesDataset.METAINFO.items() if k != 'version'}
    DEFAULT_VERSION = 'v1.0-trainval'

    def load_data_list(self) -> list[dict]:
        data_list = super().load_data_list()
        self._metainfo.setdefault('version', self.DEFAULT_VERSION)
        return data_list
