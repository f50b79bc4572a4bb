"""BEV segmentation IoU (known answers) and NuScenesMetric on ground-truth, far and empty predictions."""

import pickle

import numpy as np
import pytest
import torch
from mmdet3d.structures import LiDARInstance3DBoxes

from mmssl.evaluation import BEVSegMetric


def _sample(prob, gt):
    return dict(pred_bev_seg=dict(prob=prob), gt_bev_seg=dict(masks=gt))


def test_bev_seg_iou_known_answer():
    gt = torch.zeros(2, 4, 5, dtype=torch.bool)
    gt[0, 0, :] = True  # 5 cells
    gt[1, 1:3, 1:3] = True  # 4 cells
    prob = torch.zeros(2, 4, 5)
    prob[0, 0, :3] = 0.9  # 3 TP
    prob[0, 3, :2] = 0.9  # 2 FP  -> IoU 3 / (3 + 2 + 2) = 3/7
    prob[1] = gt[1].float() * 0.6  # found only at thresholds <= 0.6 -> IoU 1
    metric = BEVSegMetric(classes=['drivable', 'car'])
    metric.process({}, [_sample(prob, gt)])
    out = metric.compute_metrics(metric.results)
    assert out['drivable/IoU'] == pytest.approx(3 / 7)
    assert out['car/IoU'] == pytest.approx(1.0)
    assert out['mIoU'] == pytest.approx((3 / 7 + 1) / 2)
    # Counts are summed over samples before the IoU (not an average of per-sample IoUs).
    metric = BEVSegMetric(thresholds=[0.5])
    empty_pred = torch.zeros(1, 2, 2)
    full = torch.ones(1, 2, 2, dtype=torch.bool)
    metric.process({}, [_sample(torch.ones(1, 2, 2), full), _sample(empty_pred, full)])
    assert metric.compute_metrics(metric.results)['class0/IoU'] == pytest.approx(0.5)
    with pytest.raises(ValueError, match='differ'):
        metric.process({}, [_sample(torch.zeros(1, 2, 3), full)])


def test_bev_seg_metric_named_means_over_class_subsets():
    gt = torch.zeros(3, 2, 2, dtype=torch.bool)
    gt[:, 0] = True  # 2 cells per class
    prob = torch.zeros(3, 2, 2)
    prob[0, 0] = 0.9  # vehicle: IoU 1
    prob[1, 0, 0] = 0.9  # drivable: IoU 1/2
    prob[2] = 0.9  # divider: IoU 2/4
    prob[2, 0, 0] = 0.0  # -> 1 TP, 2 FP, 1 FN: IoU 1/4
    classes = ['vehicle', 'drivable_area', 'divider']
    metric = BEVSegMetric(classes=classes, thresholds=[0.5], mean_groups=dict(map_mIoU=classes[1:]))
    metric.process({}, [_sample(prob, gt)])
    out = metric.compute_metrics(metric.results)
    assert out['vehicle/IoU'] == pytest.approx(1.0) and out['divider/IoU'] == pytest.approx(0.25)
    assert out['mIoU'] == pytest.approx((1 + 0.5 + 0.25) / 3)
    assert out['map_mIoU'] == pytest.approx((0.5 + 0.25) / 2)
    with pytest.raises(ValueError, match=r"mean_groups\['map_mIoU'\].*\['walkway'\]"):
        BEVSegMetric(classes=classes, mean_groups=dict(map_mIoU=['walkway']))


def _gt_predictions(info_file):
    with open(info_file, 'rb') as f:
        infos = pickle.load(f)
    cats = infos['metainfo']['categories']
    classes = [name for name, _ in sorted(cats.items(), key=lambda kv: kv[1])]
    preds = []
    for idx, info in enumerate(infos['data_list']):
        keep = [i for i in info['instances'] if i['bbox_label_3d'] >= 0 and i.get('num_lidar_pts', 1) > 0]
        boxes = np.array([list(i['bbox_3d']) + list(i['velocity']) for i in keep], dtype=np.float32).reshape(
            -1, 9
        )
        preds.append(
            dict(
                sample_idx=idx,
                pred_instances=dict(),
                pred_instances_3d=dict(
                    bboxes_3d=LiDARInstance3DBoxes(
                        torch.from_numpy(np.nan_to_num(boxes)), box_dim=9, origin=(0.5, 0.5, 0.5)
                    ),
                    scores_3d=torch.ones(len(keep)),
                    labels_3d=torch.tensor([i['bbox_label_3d'] for i in keep], dtype=torch.long),
                ),
            )
        )
    return preds, classes


def _nus_metric(world, tmp_path, classes, metric_cls=None):
    """mmssl's NuScenesMetric (or ``metric_cls``) on the world's validation split."""
    from mmssl.evaluation import NuScenesMetric

    metric = (metric_cls or NuScenesMetric)(
        data_root=str(world['root']),
        ann_file=str(world['val_info']),
        jsonfile_prefix=str(tmp_path / 'results'),
    )
    metric.dataset_meta = dict(classes=classes, version=world['version'])
    return metric


def _no_boxes():
    return dict(
        bboxes_3d=LiDARInstance3DBoxes(torch.zeros(0, 9), box_dim=9),
        scores_3d=torch.zeros(0),
        labels_3d=torch.zeros(0, dtype=torch.long),
    )


def test_nuscenes_metric_gt_boxes_give_one_and_no_match_gives_zero(synthetic_world, tmp_path):
    preds, classes = _gt_predictions(synthetic_world['val_info'])
    assert sum(len(p['pred_instances_3d']['labels_3d']) for p in preds) > 0
    metric = _nus_metric(synthetic_world, tmp_path / 'gt', classes)
    metric.process({}, preds)
    out = metric.compute_metrics(metric.results)
    assert out['pred_instances_3d_NuScenes/mAP'] == pytest.approx(1.0, abs=1e-3)
    assert out['pred_instances_3d_NuScenes/NDS'] > 0.9

    # Predictions that match nothing: one car per sample 30 m away from the ego, at the bearing
    # farthest from every ground-truth box (never within the 4 m matching distance).
    empty = []
    angles = torch.linspace(0, 2 * np.pi, 73)[:-1]
    ring = torch.stack([30 * angles.cos(), 30 * angles.sin()], 1)
    for p in preds:
        centres = p['pred_instances_3d']['bboxes_3d'].tensor[:, :2]
        gap = torch.cdist(ring, centres).min(1).values if len(centres) else torch.ones(72)
        assert gap.max() > 5
        xy = ring[gap.argmax()]
        box = torch.tensor([[xy[0], xy[1], 0.0, 4.0, 2.0, 1.5, 0.0, 0.0, 0.0]])
        empty.append(
            dict(
                p,
                pred_instances_3d=dict(
                    bboxes_3d=LiDARInstance3DBoxes(box, box_dim=9),
                    scores_3d=torch.ones(1),
                    labels_3d=torch.zeros(1, dtype=torch.long),
                ),
            )
        )
    metric = _nus_metric(synthetic_world, tmp_path / 'far', classes)
    metric.process({}, empty)
    far = metric.compute_metrics(metric.results)
    assert far['pred_instances_3d_NuScenes/mAP'] == 0.0
    assert far['pred_instances_3d_NuScenes/NDS'] == 0.0

    # No box at all: the devkit's loader raises "Invalid box type: None"; mmssl's metric scores
    # it with the devkit's evaluate() on empty box sets, key for key what non-matching boxes get.
    none = [dict(p, pred_instances_3d=_no_boxes()) for p in preds]
    metric = _nus_metric(synthetic_world, tmp_path / 'none', classes)
    metric.process({}, none)
    out = metric.compute_metrics(metric.results)
    assert sorted(out) == sorted(far)
    for key, value in far.items():
        assert out[key] == pytest.approx(value, nan_ok=True), key
    assert out['pred_instances_3d_NuScenes/mAP'] == 0.0 and out['pred_instances_3d_NuScenes/NDS'] == 0.0


def test_devkit_rejects_a_result_without_boxes(synthetic_world, tmp_path):
    """Why mmssl's NuScenesMetric exists: MMDet3D's own metric crashes on an empty result."""
    from mmdet3d.evaluation import NuScenesMetric as MMDet3DNuScenesMetric

    preds, classes = _gt_predictions(synthetic_world['val_info'])
    metric = _nus_metric(synthetic_world, tmp_path, classes, metric_cls=MMDet3DNuScenesMetric)
    metric.process({}, [dict(p, pred_instances_3d=_no_boxes()) for p in preds])
    with pytest.raises(Exception, match='Invalid box type'):
        metric.compute_metrics(metric.results)
