"""A trained detector as a frozen teacher: BEV features and CenterHead predictions.

:class:`DetectorTeacher` builds a detector from its own config (a file of this repository, e.g.
``projects/CenterPoint/configs/centerpoint_tiny_synthetic.py``, or a model dict), loads a
trained checkpoint into it strictly (a missing file, missing or unexpected keys and shape
mismatches stop the build with the key report) and, on a batch, voxelises the points with the
detector's own data preprocessor and returns its BEV map, the output of its heatmap head's shared
conv and its task heads' dense predictions. Used in a model's ``target_generator`` slot
(:class:`~mmssl.models.algorithms.BaseSelfSupervisor`): frozen, eval mode, ``no_grad``, not in
the optimizer and not saved with the student.

Supported detectors: MMDet3D's two-stage LiDAR detectors (``CenterPoint``: ``pts_bbox_head``)
and mmssl's :class:`~projects.BEVFusion.bevfusion.BEVFusion` without cameras (its LiDAR
branch: ``bbox_head``); both must have a ``CenterHead``.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import List, NamedTuple

from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from mmssl.models.heads.center_head_utils import center_head_forward
from mmssl.registry import MODELS


class DetectorTeacherOutput(NamedTuple):
    """What :class:`DetectorTeacher` returns for a batch.

    Attributes:
        bev: ``(B, C, Y, X)`` the BEV map entering the detection head (neck output).
        shared: ``(B, C_s, Y, X)`` the heatmap head's shared conv output.
        preds: per task, the head's dense outputs (``heatmap`` logits, ``reg``, ``height``,
            ``dim``, ``rot``, ``vel``).
    """

    bev: Tensor
    shared: Tensor
    preds: List[dict]


def _model_config(config: str | dict) -> dict:
    """``config``'s model dict (a ``ConfigDict``: MMDet3D reads ``train_cfg.pts`` as attributes);
    a file path also gets its ``custom_imports`` imported."""
    from mmengine.config import Config, ConfigDict

    if isinstance(config, dict):
        return ConfigDict(config)
    from mmengine.utils import import_modules_from_strings

    from mmssl.testing.paths import REPO_ROOT

    path = Path(config)
    if not path.is_absolute() and not path.exists():
        path = REPO_ROOT / path
    if not path.is_file():
        raise FileNotFoundError(f'DetectorTeacher: teacher config {config} does not exist')
    cfg = Config.fromfile(str(path))
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    return cfg.model


@MODELS.register_module()
class DetectorTeacher(BaseModule):
    """Frozen trained LiDAR detector with a ``CenterHead``.

    Args:
        config: The teacher's config file (its ``model`` is built) or a model dict.
        checkpoint: The trained teacher's checkpoint (an MMEngine checkpoint or a state dict).
            Required: a teacher without its weights teaches nothing.
        prefix: Key prefix to strip from the checkpoint (e.g. ``'student.'``); ``module.``
            (distributed wrappers) is always stripped.
    """

    def __init__(self, config: str | dict, checkpoint: str | None, prefix: str = '', init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.config_name = config if isinstance(config, str) else config.get('type', 'model dict')
        self.detector = MODELS.build(_model_config(config))
        self.head = center_head_of(self.detector)
        self.checkpoint = checkpoint
        self.key_report = self.load_checkpoint(checkpoint, prefix)

    def load_checkpoint(self, checkpoint: str | None, prefix: str = '') -> dict:
        """Load the trained weights strictly; returns the key report.

        Raises:
            ValueError: no checkpoint given, or it does not fit the teacher config.
            FileNotFoundError: the file does not exist.
        """
        if checkpoint is None:
            raise ValueError(
                f'DetectorTeacher ({self.config_name}): no teacher checkpoint; set '
                'model.target_generator.checkpoint=<trained detector .pth> '
                '(docs: configs/bevdistill/README.md)'
            )
        path = Path(checkpoint)
        if not path.is_file():
            raise FileNotFoundError(f'DetectorTeacher: teacher checkpoint {checkpoint} does not exist')
        from mmengine.runner.checkpoint import _load_checkpoint

        obj = _load_checkpoint(str(path), map_location='cpu')
        state = obj.get('state_dict', obj) if isinstance(obj, dict) else None
        if not isinstance(state, dict):
            raise ValueError(f'DetectorTeacher: {checkpoint} holds no state dict')
        state = _strip(_strip(state, 'module.'), prefix)
        own = self.detector.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        shapes = sorted(
            f'{k}: {tuple(state[k].shape)} in the file, {tuple(own[k].shape)} in the teacher'
            for k in set(own) & set(state)
            if tuple(state[k].shape) != tuple(own[k].shape)
        )
        report = dict(
            checkpoint=str(path),
            loaded=len(own) - len(missing),
            missing=missing,
            unexpected=unexpected,
            shape=shapes,
        )
        print_log(
            f'DetectorTeacher: {checkpoint}: {report["loaded"]}/{len(own)} tensors, {len(missing)} missing, '
            f'{len(unexpected)} unexpected, {len(shapes)} of another shape',
            logger='current',
        )
        if missing or unexpected or shapes:
            raise ValueError(
                f'DetectorTeacher: {checkpoint} is not a checkpoint of the teacher {self.config_name}: '
                f'{len(missing)} missing keys {missing[:5]}, {len(unexpected)} unexpected {unexpected[:5]}, '
                f'{len(shapes)} shape mismatches {shapes[:3]}'
            )
        self.detector.load_state_dict(state, strict=True)
        return report

    def init_weights(self) -> None:
        """Nothing: the weights come from the checkpoint (the runner's init must not redraw them)."""

    def forward(self, points: List[Tensor], data_samples: list) -> DetectorTeacherOutput:
        """Run the teacher on the batch's points.

        Args:
            points: per sample ``(N_i, C)`` points (in the student's augmented LiDAR frame).
            data_samples: the batch's samples (metas for the voxeliser and the detector).
        """
        voxels = self.detector.data_preprocessor.voxelize(points, data_samples)
        feats = bev_features(self.detector, dict(points=points, voxels=voxels), data_samples)
        shared, preds = center_head_forward(self.head, feats[0])
        return DetectorTeacherOutput(feats[0], shared, preds)


def _strip(state: dict, prefix: str) -> OrderedDict:
    """``state`` with ``prefix`` removed from its keys (keys without it dropped when it is not
    ``module.``), keeping the per-module ``_metadata`` (spconv reads its layout version there:
    without it, MMDet3D's loader permutes the sparse kernels)."""
    if not prefix:
        return state
    metadata = getattr(state, '_metadata', None)
    keep_all = prefix == 'module.'
    out = OrderedDict(
        (k[len(prefix) :] if k.startswith(prefix) else k, v)
        for k, v in state.items()
        if keep_all or k.startswith(prefix)
    )
    if metadata is not None:
        out._metadata = OrderedDict(
            (k[len(prefix) :] if k.startswith(prefix) else k, v) for k, v in metadata.items()
        )
    return out


def center_head_of(detector) -> object:
    """The detector's ``CenterHead`` (``pts_bbox_head`` of MMDet3D's two-stage detectors,
    ``bbox_head`` of mmssl's BEVFusion)."""
    from mmdet3d.models.dense_heads import CenterHead
    from mmdet3d.models.detectors import MVXTwoStageDetector

    head = detector.pts_bbox_head if isinstance(detector, MVXTwoStageDetector) else detector.bbox_head
    if not isinstance(head, CenterHead):
        raise TypeError(f'DetectorTeacher needs a CenterHead teacher, got {type(head).__name__}')
    return head


def bev_features(detector, inputs: dict, data_samples: list) -> List[Tensor]:
    """The detector's multi-level BEV features of ``inputs`` (points and voxels)."""
    from mmdet3d.models.detectors import MVXTwoStageDetector

    if isinstance(detector, MVXTwoStageDetector):
        metas = [s.metainfo for s in data_samples]
        return list(
            detector.extract_pts_feat(inputs['voxels'], points=inputs['points'], batch_input_metas=metas)
        )
    return detector.extract_feat(inputs, data_samples)
