"""MMDet3D's KittiMetric on the CPU (compat item 5) on the real KITTI frame of ../shared/data."""

import copy
import pickle

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

CLASSES = ['Pedestrian', 'Cyclist', 'Car']
# KITTI's AP samples precision at the first 41 score thresholds, one per recall step of the
# matched ground truth (eval.get_thresholds): with fewer than 41 valid boxes even perfect
# predictions score below 100 (one frame with one valid easy car gives AP11 = 100/11). The real
# frame is therefore evaluated as 50 copies, which gives every difficulty enough valid cars.
COPIES = 50


@pytest.fixture
def kitti_ann_file(kitti_demo_dir, tmp_path):
    return _write_ann_file(kitti_demo_dir, tmp_path, COPIES)


def _write_ann_file(kitti_demo_dir, tmp_path, copies):
    """The frame's info file as MMDet3D's converter writes it (the demo file predates two keys)."""
    with open(kitti_demo_dir / '000008.pkl', 'rb') as f:
        infos = pickle.load(f)
    infos = copy.deepcopy(infos)
    infos['metainfo']['categories'] = {'Pedestrian': 0, 'Cyclist': 1, 'Car': 2, 'DontCare': -1}
    assert len(infos['data_list']) == 1
    infos['data_list'] = [dict(copy.deepcopy(infos['data_list'][0]), sample_idx=i) for i in range(copies)]
    path = tmp_path / 'kitti_infos_val.pkl'
    with open(path, 'wb') as f:
        pickle.dump(infos, f)
    return path, infos['data_list'][0]


def _gt_as_lidar_predictions(info, shift=(0.0, 0.0, 0.0)):
    from mmdet3d.structures import Box3DMode, CameraInstance3DBoxes

    cars = [inst for inst in info['instances'] if inst['bbox_label_3d'] in (0, 1, 2)]
    cam_boxes = CameraInstance3DBoxes(np.array([inst['bbox_3d'] for inst in cars], dtype=np.float32))
    lidar2cam = np.array(info['images']['CAM2']['lidar2cam'], dtype=np.float32)
    boxes = cam_boxes.convert_to(Box3DMode.LIDAR, np.linalg.inv(lidar2cam))
    boxes.translate(torch.tensor(shift))
    pred = InstanceData(
        bboxes_3d=boxes,
        scores_3d=torch.linspace(0.9, 0.5, len(cars)),
        labels_3d=torch.tensor([inst['bbox_label_3d'] for inst in cars]),
    )
    return pred, len(cars)


def _evaluate(ann_file, pred, copies=COPIES):
    from mmdet3d.evaluation.metrics import KittiMetric

    metric = KittiMetric(ann_file=str(ann_file), metric='bbox')
    metric.dataset_meta = dict(classes=CLASSES)
    # The Evaluator hands metrics data samples converted with `to_dict()`.
    samples = [
        dict(pred_instances_3d=copy.deepcopy(pred).to_dict(), pred_instances={}, sample_idx=i)
        for i in range(copies)
    ]
    metric.process({}, samples)
    return metric.evaluate(copies)


def test_cpu_rotated_iou_is_installed_without_cuda():
    from mmdet3d.evaluation.functional.kitti_utils import rotate_iou

    from mmssl.evaluation.functional import kitti_rotate_iou_cpu

    assert not torch.cuda.is_available()  # the machine kind CI runs on
    assert rotate_iou.rotate_iou_gpu_eval is kitti_rotate_iou_cpu


def test_ground_truth_as_predictions_scores_full_ap(kitti_ann_file):
    ann_file, info = kitti_ann_file
    pred, n_cars = _gt_as_lidar_predictions(info)
    assert n_cars == 6
    res = _evaluate(ann_file, pred)
    for key in ('3D_AP11', 'BEV_AP11', '3D_AP40', 'BEV_AP40'):
        for level in ('easy', 'moderate', 'hard'):
            name = f'Kitti metric/pred_instances_3d/KITTI/Car_{key}_{level}_strict'
            assert res[name] == pytest.approx(100.0, abs=1e-3), name


def test_far_predictions_score_zero(kitti_ann_file):
    ann_file, info = kitti_ann_file
    pred, _ = _gt_as_lidar_predictions(info, shift=(0.0, 8.0, 0.0))
    res = _evaluate(ann_file, pred)
    car = {k: v for k, v in res.items() if 'Car_3D' in k or 'Car_BEV' in k}
    assert car and all(v == pytest.approx(0.0) for v in car.values())


def test_one_frame_samples_one_recall_point(kitti_demo_dir, tmp_path):
    """Known answer of KITTI's sampling: one frame, one valid easy car -> AP11 = 100 / 11, AP40 = 0."""
    ann_file, info = _write_ann_file(kitti_demo_dir, tmp_path, copies=1)
    pred, _ = _gt_as_lidar_predictions(info)
    res = _evaluate(ann_file, pred, copies=1)
    prefix = 'Kitti metric/pred_instances_3d/KITTI/Car_3D'
    assert res[f'{prefix}_AP11_easy_strict'] == pytest.approx(100 / 11, abs=1e-3)
    assert res[f'{prefix}_AP40_easy_strict'] == pytest.approx(0.0)
