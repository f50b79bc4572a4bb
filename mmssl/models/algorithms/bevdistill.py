"""BEVDistill (Chen et al., "BEVDistill: Cross-Modal BEV Distillation for Multi-View 3D Object
Detection", ICLR 2023): a trained LiDAR detector teaches a camera BEV detector.

A training method of the labelled stage: the student is a camera detector of the project
(``projects/BEVDet``'s BEVDet, or a camera-only BEVFusion) trained with its own detection losses
plus three distillation terms from a frozen LiDAR teacher in the base's ``target_generator``
slot (:class:`~mmssl.models.target_generators.DetectorTeacher`), run on the same augmented
sample:

* **dense** (Sec. 3.2, eq. 3): MSE between the student's and the teacher's features at the
  heatmap head's shared conv (the official code's ``center_aux_loss``; ``feature='bev'`` takes
  the BEV maps entering the heads instead), weighted by class-agnostic ground-truth centre
  Gaussians (radius ``max(min_radius, gaussian_radius(size, min_overlap=0.1))`` on the
  student's grid; background weight 0), normalised by the weights' sum, weight 0.01; a 1x1 conv
  adapter maps the student's channels to the teacher's where they differ;
* **instance** (Sec. 3.3, eqs. 4-5): both BEV maps (raw, entering the heads) bilinearly
  sampled at the student's predicted centres, a projection head per side (Linear, then Linear-
  BN-ReLU-Linear), InfoNCE (tau 0.07) of student against teacher embeddings with in-batch
  negatives, weight 0.2;
* **response**: the teacher's top-50 predictions per sample (by score; no threshold, no NMS) as
  soft targets of the student's CenterHead: the student's regression at each pseudo box's
  centre cell regresses the teacher's box (``ScoreWeightedL1Loss``, weight 0.25, weighted by
  the teacher's score: ``score_power=2`` is the official code's double weighting), and its
  heatmap is pulled to score-valued Gaussians at the pseudo boxes (``SoftFocalLoss``; weight
  0.0 as in the official config).

Mapping from the official BEVFormer student (``METHOD_FACTS.md`` Sec. 4) to a CenterHead student:
BEVFormer's 900 queries x 6 decoder layers become the student's ``num_instances`` highest
heatmap peaks (their cell plus the predicted sub-cell offset) for the instance term; the
Hungarian matching of the response term becomes CenterHead's own assignment (a pseudo box is
regressed at its centre cell, as a ground-truth box is). Where the teacher's BEV grid differs
from the student's (another cell size or extent; the official teacher and student share a 128 x
128 grid) the teacher's maps are sampled bilinearly at the student's positions in metres
(:func:`sample_teacher`: at the student's cell centres for the dense term, which on a grid twice
as fine over the same extent is the 2 x 2 mean; at the predicted centres for the instance term).

Each term is switched off by setting its config to ``None``, so the paper's ablation runs from
configs (``configs/bevdistill/``). The student's checkpoint keys start with ``student.``; the
teacher is not saved (the base drops ``target_generator``).
"""

from __future__ import annotations

from typing import Dict, List

import torch
import torch.nn.functional as F
from mmdet3d.models.utils import gaussian_radius
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mmssl.models.heads.center_head_utils import (
    anno_box,
    center_head_forward,
    heatmap_peaks,
    peaks_to_boxes,
    task_order,
)
from mmssl.models.losses.bevdistill_losses import gaussian_center_weights
from mmssl.registry import MODELS

from .base import BaseSelfSupervisor


def _cell_geometry(head, from_coder: bool) -> tuple[list[float], list[float]]:
    """``(origin_xy, cell_size_xy)`` in metres of a CenterHead's output grid."""
    if from_coder:
        coder = head.bbox_coder
        pc, vs, osf = coder.pc_range, coder.voxel_size, coder.out_size_factor
    else:
        cfg = head.train_cfg
        pc, vs, osf = cfg['point_cloud_range'], cfg['voxel_size'], cfg['out_size_factor']
    return [float(pc[0]), float(pc[1])], [float(vs[0]) * osf, float(vs[1]) * osf]


def sample_teacher(teacher_map: Tensor, xy: Tensor, teacher_geom: tuple, student_geom: tuple) -> Tensor:
    """Bilinear samples of the teacher's map at student-grid positions.

    Args:
        teacher_map: ``(B, C, Y_t, X_t)``.
        xy: ``(B, H, W, 2)`` positions ``(x, y)`` in student cells from the student grid's corner
            (cell ``i`` spans ``[i, i + 1)``; its centre is ``i + 0.5``).
        teacher_geom, student_geom: ``(origin, cell_size)`` of the grids (metres).

    Returns:
        ``(B, C, H, W)``. On grids of the same extent whose cells are twice as fine, the samples
        at the student's cell centres are the 2 x 2 means of the teacher's cells.
    """
    (s_org, s_cell), (t_org, t_cell) = student_geom, teacher_geom
    ny, nx = teacher_map.shape[-2:]
    metric_x = xy[..., 0] * s_cell[0] + s_org[0]
    metric_y = xy[..., 1] * s_cell[1] + s_org[1]
    gx = 2 * (metric_x - t_org[0]) / (t_cell[0] * nx) - 1
    gy = 2 * (metric_y - t_org[1]) / (t_cell[1] * ny) - 1
    grid = torch.stack([gx, gy], dim=-1).to(teacher_map)
    return F.grid_sample(teacher_map, grid, mode='bilinear', padding_mode='zeros', align_corners=False)


def box_cells(boxes, train_cfg: dict, shape: tuple[int, int]) -> tuple[Tensor, Tensor, Tensor]:
    """Boxes on a CenterHead's grid, computed as ``CenterHead.get_targets_single`` does
    (``(x - x_min) / voxel / out_size_factor``, the same float operations).

    Args:
        boxes: LiDAR boxes (``gravity_center``, ``tensor[:, 3:5]`` = ``dx, dy``).
        train_cfg: the head's ``train_cfg`` (``point_cloud_range``, ``voxel_size``, ``out_size_factor``).
        shape: ``(Y, X)`` of the grid.

    Returns:
        ``(K, 2)`` int32 centre cells ``(x, y)`` (truncated), ``(K, 2)`` sizes in cells and the
        ``(K,)`` mask of boxes with their centre inside the grid and a positive size.
    """
    pc, vs, osf = train_cfg['point_cloud_range'], train_cfg['voxel_size'], train_cfg['out_size_factor']
    center, dims = boxes.gravity_center[:, :2], boxes.tensor[:, 3:5]
    cells = torch.stack([(center[:, 0] - pc[0]) / vs[0] / osf, (center[:, 1] - pc[1]) / vs[1] / osf], dim=1)
    size = torch.stack([dims[:, 0] / vs[0] / osf, dims[:, 1] / vs[1] / osf], dim=1)
    ci = cells.to(torch.int32)
    valid = (ci[:, 0] >= 0) & (ci[:, 0] < shape[1]) & (ci[:, 1] >= 0) & (ci[:, 1] < shape[0])
    return ci, size, valid & (size > 0).all(dim=1)


def center_radii(size: Tensor, min_overlap: float, min_radius: int) -> Tensor:
    """``(K,)`` CenterHead Gaussian radii ``max(min_radius, int(gaussian_radius((w, l))))`` of
    ``(K, 2)`` box sizes ``(dx, dy)`` in output cells (``CenterHead.get_targets_single``)."""
    radii = [
        max(int(min_radius), int(gaussian_radius((w, length), min_overlap=min_overlap))) for length, w in size
    ]
    return torch.tensor(radii, dtype=torch.long)


def _projection(in_channels: int, channels: int) -> nn.Sequential:
    """BEVDistill's instance projection: Linear, then Linear-BN-ReLU-Linear."""
    return nn.Sequential(
        nn.Linear(in_channels, channels),
        nn.Linear(channels, channels),
        nn.BatchNorm1d(channels),
        nn.ReLU(inplace=True),
        nn.Linear(channels, channels),
    )


#: The official settings of each term (../shared/METHOD_FACTS.md Sec. 4); a config's dict for a term
#: updates these key by key, ``None`` switches the term off.
DENSE = dict(
    loss=dict(type='ForegroundMSELoss', loss_weight=0.01), feature='shared', min_overlap=0.1, min_radius=1
)
INSTANCE = dict(
    loss=dict(type='InfoNCELoss', temperature=0.07, loss_weight=0.2), num_instances=100, channels=512
)
RESPONSE = dict(
    top_k=50,
    box_loss=dict(type='ScoreWeightedL1Loss', loss_weight=0.25, score_power=1.0),
    heatmap_loss=dict(type='SoftFocalLoss', loss_weight=0.0),
)


def _term(defaults: dict, cfg: dict | None) -> dict | None:
    return None if cfg is None else {**defaults, **cfg}


@MODELS.register_module()
class BEVDistill(BaseSelfSupervisor):
    """Camera student + frozen LiDAR teacher (module docstring).

    Args:
        student: Config of the camera detector (BEVDet / camera-only BEVFusion with a
            ``CenterHead`` ``bbox_head``); its ``init_from`` initialises it from a pre-training
            (e.g. NS-MAE or OccFeat) as in plain fine-tuning.
        target_generator: The teacher, ``dict(type='DetectorTeacher', config=..., checkpoint=...)``.
        dense: Updates of :data:`DENSE` (``loss``, ``feature='shared'|'bev'``, ``min_overlap``,
            ``min_radius``); None: off.
        instance: Updates of :data:`INSTANCE` (``loss``, ``num_instances``, ``channels``); None: off.
        response: Updates of :data:`RESPONSE` (``top_k``, ``box_loss``, ``heatmap_loss``); None: off.
        data_preprocessor: Default: the student's.
        init_cfg: MMEngine init config.
    """

    def __init__(
        self,
        student: dict,
        target_generator: dict,
        dense: dict | None = DENSE,
        instance: dict | None = INSTANCE,
        response: dict | None = RESPONSE,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        student = dict(student)
        if data_preprocessor is None:
            data_preprocessor = student.get('data_preprocessor')
        super().__init__(
            data_preprocessor=data_preprocessor, target_generator=target_generator, init_cfg=init_cfg
        )
        self.student = MODELS.build(student)
        if getattr(self.student, 'bbox_head', None) is None:
            raise ValueError('BEVDistill: the student needs a CenterHead bbox_head')
        head, teacher_head = self.student.bbox_head, self.target_generator.head
        if [list(t) for t in head.class_names] != [list(t) for t in teacher_head.class_names]:
            raise ValueError(
                f'BEVDistill: student classes {head.class_names} and teacher classes '
                f'{teacher_head.class_names} differ; the response term needs the same tasks'
            )
        self.dense_cfg = _term(DENSE, dense)
        self.instance_cfg = _term(INSTANCE, instance)
        self.response_cfg = _term(RESPONSE, response)
        if self.dense_cfg is not None:
            self.dense_loss = MODELS.build(self.dense_cfg.pop('loss'))
            self.dense_feature = self.dense_cfg.pop('feature')
            if self.dense_feature not in ('shared', 'bev'):
                raise ValueError(
                    f"BEVDistill: dense.feature must be 'shared' or 'bev', got {self.dense_feature!r}"
                )
            s_ch, t_ch = self._channels(self.dense_feature)
            self.dense_adapter = nn.Conv2d(s_ch, t_ch, 1) if s_ch != t_ch else nn.Identity()
        if self.instance_cfg is not None:
            self.instance_loss = MODELS.build(self.instance_cfg.pop('loss'))
            channels = int(self.instance_cfg.pop('channels'))
            s_ch, t_ch = self._channels('bev')
            self.student_proj = _projection(s_ch, channels)
            self.teacher_proj = _projection(t_ch, channels)
        if self.response_cfg is not None:
            self.response_box_loss = MODELS.build(self.response_cfg.pop('box_loss'))
            self.response_heatmap_loss = MODELS.build(self.response_cfg.pop('heatmap_loss'))

    def _channels(self, feature: str) -> tuple[int, int]:
        """Student and teacher channels of ``feature`` ('shared' conv output or 'bev' input)."""
        sides = []
        for head in (self.student.bbox_head, self.target_generator.head):
            conv = head.shared_conv.conv if hasattr(head.shared_conv, 'conv') else head.shared_conv[0]
            sides.append(conv.out_channels if feature == 'shared' else conv.in_channels)
        return sides[0], sides[1]

    def _geometries(self) -> tuple:
        """``(teacher, student)`` grid geometries (origin and cell size in metres)."""
        return _cell_geometry(self.target_generator.head, True), _cell_geometry(self.student.bbox_head, False)

    # ------------------------------------------------------------------ modes
    def extract_feat(self, inputs: dict, data_samples: List | None = None) -> List[Tensor]:
        """The student's BEV features."""
        return self.student.extract_feat(inputs, data_samples)

    def predict(self, inputs: dict, data_samples: List) -> List:
        """The student's detections (the teacher is not run)."""
        return self.student.predict(inputs, data_samples)

    def _forward(self, inputs: dict, data_samples: List | None = None):
        return self.student._forward(inputs, data_samples)

    def loss(self, inputs: dict, data_samples: List) -> Dict[str, Tensor]:
        """The student's losses plus the enabled distillation terms (keys ``loss_distill_*``)."""
        student = self.student
        feats = student.extract_feat(inputs, data_samples)
        shared, preds = center_head_forward(student.bbox_head, feats[0])
        gt = [s.gt_instances_3d for s in data_samples]
        # loss_by_feat rewrites its dicts' heatmaps in place (clip_sigmoid): hand it copies
        losses = dict(student.bbox_head.loss_by_feat(([dict(p) for p in preds],), gt))
        if student.seg_head is not None:
            losses.update(student.seg_head.loss(feats, data_samples))
        points = self.get_points(inputs)
        teacher = self.generate_targets(points, data_samples)
        if self.dense_cfg is not None:
            losses.update(self.dense_terms(feats[0], shared, teacher, gt))
        if self.instance_cfg is not None:
            losses['loss_distill_instance'] = self.instance_term(feats[0], preds, teacher)
        if self.response_cfg is not None:
            losses.update(self.response_terms(preds, teacher, gt[0].bboxes_3d))
        return losses

    @staticmethod
    def get_points(inputs: dict) -> List[Tensor]:
        points = inputs.get('points')
        if not points:
            raise KeyError(
                "BEVDistill: inputs['points'] is missing; the teacher needs the LiDAR sweep: load it in the "
                "pipeline and pack 'points' (PackSSLInputs keys)"
            )
        return points

    # ------------------------------------------------------------------ terms
    def foreground_weights(self, gt: List[InstanceData], shape: tuple[int, int]) -> Tensor:
        """``(B, Y, X)`` class-agnostic centre Gaussians of the ground-truth boxes on the
        student's grid (CenterHead's target geometry, ``min_overlap`` 0.1)."""
        overlap, min_radius = float(self.dense_cfg['min_overlap']), int(self.dense_cfg['min_radius'])
        train_cfg = self.student.bbox_head.train_cfg
        maps = []
        for inst in gt:
            ci, size, keep = box_cells(inst.bboxes_3d, train_cfg, shape)
            radii = center_radii(size[keep], overlap, min_radius)
            maps.append(gaussian_center_weights(ci[keep], radii.to(ci.device), shape))
        return torch.stack(maps)

    def dense_terms(self, bev: Tensor, shared: Tensor, teacher, gt: List[InstanceData]) -> Dict[str, Tensor]:
        student_feat = shared if self.dense_feature == 'shared' else bev
        teacher_feat = teacher.shared if self.dense_feature == 'shared' else teacher.bev
        b, _, ny, nx = student_feat.shape
        ys, xs = torch.meshgrid(
            torch.arange(ny, device=student_feat.device),
            torch.arange(nx, device=student_feat.device),
            indexing='ij',
        )
        centres = torch.stack([xs, ys], dim=-1).float().add(0.5).expand(b, ny, nx, 2)
        target = sample_teacher(teacher_feat, centres, *self._geometries())
        weights = self.foreground_weights(gt, (ny, nx)).to(student_feat)
        loss = self.dense_loss(self.dense_adapter(student_feat), target, weights)
        return dict(loss_distill_dense=loss, distill_fg_weight=weights.sum().detach())

    def instance_term(self, bev: Tensor, preds: List[dict], teacher) -> Tensor:
        """InfoNCE of the two BEV maps sampled at the student's ``num_instances`` peaks."""
        k = int(self.instance_cfg['num_instances'])
        with torch.no_grad():
            peaks = heatmap_peaks([{kk: v.detach() for kk, v in p.items()} for p in preds], k)
        ny, nx = bev.shape[-2:]
        xy = peaks.centers.unsqueeze(1).to(bev)  # (B, 1, k, 2) student cells
        grid = torch.stack([2 * xy[..., 0] / nx - 1, 2 * xy[..., 1] / ny - 1], dim=-1)
        s = F.grid_sample(bev, grid, mode='bilinear', align_corners=False)[:, :, 0]  # (B, C, k)
        t = sample_teacher(teacher.bev.to(bev), xy, *self._geometries())[:, :, 0]
        s = s.permute(0, 2, 1).flatten(0, 1)
        t = t.permute(0, 2, 1).flatten(0, 1)
        return self.instance_loss(self.student_proj(s), self.teacher_proj(t))

    def pseudo_labels(self, teacher, box_type) -> tuple[List[InstanceData], List[Tensor]]:
        """The teacher's top-``top_k`` boxes per sample as instances, and their scores."""
        head = self.target_generator.head
        coder = head.bbox_coder
        peaks = heatmap_peaks(teacher.preds, int(self.response_cfg['top_k']))
        boxes = peaks_to_boxes(peaks, coder.pc_range, coder.voxel_size, coder.out_size_factor, head.norm_bbox)
        instances, scores = [], []
        for b in range(len(boxes)):
            inst = InstanceData()
            inst.bboxes_3d = box_type(boxes[b], box_dim=9, origin=(0.5, 0.5, 0.5))
            inst.labels_3d = peaks.labels[b]
            instances.append(inst)
            scores.append(peaks.scores[b])
        return instances, scores

    def response_terms(self, preds: List[dict], teacher, gt_boxes) -> Dict[str, Tensor]:
        """Box regression to the teacher's boxes and the soft heatmap term."""
        head = self.student.bbox_head
        pseudo, scores = self.pseudo_labels(teacher, type(gt_boxes))
        heatmaps, targets, inds, masks = head.get_targets(pseudo)
        code_weights = head.train_cfg.get('code_weights')
        code_weights = None if code_weights is None else torch.tensor(code_weights)
        box_pred, box_target, box_score = [], [], []
        heat_loss = preds[0]['heatmap'].sum() * 0.0
        orders = [task_order(inst.labels_3d, head.class_names) for inst in pseudo]  # [sample][task]
        for t, pred in enumerate(preds):
            reg = anno_box(pred).flatten(2).transpose(1, 2)  # (B, Y*X, 10)
            for b in range(len(pseudo)):
                order = orders[b][t]
                n = min(len(order), targets[t].shape[1])
                valid = masks[t][b, :n].bool()
                box_pred.append(reg[b, inds[t][b, :n][valid]])
                box_target.append(targets[t][b, :n][valid])
                box_score.append(scores[b][order[:n]][valid])
            if self.response_heatmap_loss.loss_weight > 0:
                soft = self._soft_heatmaps(pseudo, scores, t, heatmaps[t])
                prob = pred['heatmap'].sigmoid().clamp(1e-4, 1 - 1e-4)
                heat_loss = heat_loss + self.response_heatmap_loss(prob, soft, torch.cat(scores).sum())
        box = self.response_box_loss(
            torch.cat(box_pred), torch.cat(box_target), torch.cat(box_score).detach(), code_weights
        )
        return dict(loss_distill_response_box=box, loss_distill_response_heatmap=heat_loss)

    def _soft_heatmaps(self, pseudo, scores, task: int, unit: Tensor) -> Tensor:
        """``(B, C_t, Y, X)``: per class, the max over the task's pseudo boxes of score x their
        CenterHead Gaussian (the unit-peak targets of ``get_targets`` rescaled box by box)."""
        head = self.student.bbox_head
        cfg = head.train_cfg
        offset = sum(len(n) for n in head.class_names[:task])
        out = torch.zeros_like(unit)
        for b, inst in enumerate(pseudo):
            ci, size, valid = box_cells(inst.bboxes_3d, cfg, tuple(unit.shape[-2:]))
            for c in range(unit.shape[1]):
                sel = valid & (inst.labels_3d == offset + c)
                if not sel.any():
                    continue
                radii = center_radii(size[sel], cfg['gaussian_overlap'], cfg['min_radius'])
                out[b, c] = gaussian_center_weights(
                    ci[sel], radii, tuple(unit.shape[-2:]), scores[b][sel].detach()
                )
        return out
