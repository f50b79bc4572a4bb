"""Small multimodal batches for model tests, in the form a dataloader hands to the model.

Both builders return ``{'inputs': {'points': [...], 'img': [...]}, 'data_samples': [...]}``,
the pseudo-collated form MMDet3D's ``Det3DDataPreprocessor`` (and so ``model.train_step`` /
``model.data_preprocessor``) takes:

* ``inputs['points']``: list of ``(P, C)`` float tensors (x, y, z, intensity, ring/time);
* ``inputs['img']``: list of ``(N_cam, 3, H, W)`` float BGR images in ``[0, 255]`` (as mmcv
  loads them);
* ``data_samples``: ``Det3DDataSample`` with the data contract's metainfo (``cam2img``,
  ``lidar2cam``, ``lidar2img``, ``img_aug_matrix`` ``(N_cam, 4, 4)``, ``lidar_aug_matrix``
  ``(4, 4)``, ``box_type_3d``, ``sample_idx``, ``token``, ``img_shape``, ``num_pts_feats``)
  and, when requested, ``gt_instances_3d`` (9-dim ``LiDARInstance3DBoxes`` with velocity,
  ``labels_3d``).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Sequence, Tuple

import numpy as np
import torch

NUS_CLASSES = (
    'car',
    'truck',
    'construction_vehicle',
    'bus',
    'trailer',
    'barrier',
    'motorcycle',
    'bicycle',
    'pedestrian',
    'traffic_cone',
)


def _pad4(mat: np.ndarray) -> np.ndarray:
    out = np.eye(4)
    mat = np.asarray(mat, dtype=np.float64)
    out[: mat.shape[0], : mat.shape[1]] = mat
    return out


def _make_sample(meta: dict, boxes: np.ndarray | None, labels: np.ndarray | None):
    from mmdet3d.structures import Det3DDataSample, LiDARInstance3DBoxes
    from mmengine.structures import InstanceData

    meta = dict(meta, box_type_3d=LiDARInstance3DBoxes, box_mode_3d=0)
    sample = Det3DDataSample(metainfo=meta)
    if boxes is not None:
        gt = InstanceData()
        gt.bboxes_3d = LiDARInstance3DBoxes(
            torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 9), box_dim=9, origin=(0.5, 0.5, 0.5)
        )
        gt.labels_3d = torch.as_tensor(labels, dtype=torch.long)
        sample.gt_instances_3d = gt
    return sample


def nuscenes_keyframe_batch(
    demo_dir: Path,
    image_size: Tuple[int, int] = (64, 176),
    batch_size: int = 1,
    classes: Sequence[str] = NUS_CLASSES,
    with_gt: bool = True,
    max_points: int | None = None,
    num_cams: int = 6,
) -> dict:
    """The real nuScenes keyframe of ``../shared/data/nuscenes_demo`` as a batch.

    Images are resized to ``image_size[1]`` wide and the bottom ``image_size[0]`` rows kept
    (BEVFusion's resize-and-crop); ``img_aug_matrix`` records that (translation in column 3,
    BEVFusion form), and ``cam2img``/``lidar2img`` are those of the augmented images, as the
    pipeline's ``mmssl.datasets.transforms.calibration`` keeps them.

    Args:
        demo_dir: The ``nuscenes_demo`` folder (info .pkl, LiDAR .bin, 6 JPEGs).
        image_size: ``(H, W)`` of the output images.
        batch_size: Copies of the keyframe in the batch.
        classes: Label order of ``labels_3d``; boxes of other classes are dropped.
        with_gt: Attach ``gt_instances_3d``.
        max_points: Keep every k-th point so at most this many remain (speed).
        num_cams: Keep the first ``num_cams`` cameras of the nuScenes order (speed).
    """
    import cv2

    demo_dir = Path(demo_dir)
    pkls = sorted(demo_dir.glob('*.pkl'))
    if not pkls:
        raise FileNotFoundError(f'no info .pkl in {demo_dir}')
    with open(pkls[0], 'rb') as f:
        infos = pickle.load(f)
    info = infos['data_list'][0]
    cats = {v: k for k, v in infos['metainfo']['categories'].items()}
    lidar = info['lidar_points']
    pts = np.fromfile(demo_dir / lidar['lidar_path'], dtype=np.float32)
    pts = pts.reshape(-1, int(lidar.get('num_pts_feats', 5)))
    if max_points is not None and len(pts) > max_points:
        pts = pts[:: int(np.ceil(len(pts) / max_points))]
    h, w = image_size
    imgs, cam2img, lidar2cam, img_aug = [], [], [], []
    for cam in (
        'CAM_FRONT',
        'CAM_FRONT_RIGHT',
        'CAM_FRONT_LEFT',
        'CAM_BACK',
        'CAM_BACK_LEFT',
        'CAM_BACK_RIGHT',
    )[:num_cams]:
        c = info['images'][cam]
        img = cv2.imread(str(demo_dir / c['img_path']), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f'{cam}: cannot read {demo_dir / c["img_path"]}')
        scale = w / img.shape[1]
        new_h = int(round(img.shape[0] * scale))
        if new_h < h:
            raise ValueError(f'image_size {image_size} is taller than the resized image')
        img = cv2.resize(img, (w, new_h), interpolation=cv2.INTER_LINEAR)
        crop = new_h - h
        imgs.append(img[crop:].copy())  # BGR, as mmcv loads it
        aug = np.eye(4)
        aug[0, 0] = aug[1, 1] = scale
        aug[1, 3] = -crop
        img_aug.append(aug)
        cam2img.append(_pad4(c['cam2img']))
        lidar2cam.append(_pad4(c['lidar2cam']))
    cam2img, lidar2cam, img_aug = (np.stack(m) for m in (cam2img, lidar2cam, img_aug))
    # Projective form of the image augmentation: the pixel translation scales with depth.
    proj = img_aug.copy()
    proj[:, :2, 2], proj[:, :2, 3] = img_aug[:, :2, 3], 0
    meta = dict(
        sample_idx=info['sample_idx'],
        token=info['token'],
        cam2img=proj @ cam2img,
        lidar2cam=lidar2cam,
        img_aug_matrix=img_aug,
        lidar2img=proj @ cam2img @ lidar2cam,
        lidar_aug_matrix=np.eye(4),
        img_shape=(h, w),
        ori_shape=(900, 1600),
        pad_shape=(h, w),
        num_pts_feats=pts.shape[1],
        lidar_path=lidar['lidar_path'],
    )
    boxes = labels = None
    if with_gt:
        keep = [
            inst
            for inst in info['instances']
            if inst.get('bbox_3d_isvalid', True) and cats.get(inst['bbox_label_3d']) in classes
        ]
        boxes = np.array([list(i['bbox_3d']) + list(i['velocity']) for i in keep]).reshape(-1, 9)
        boxes = np.nan_to_num(boxes)
        labels = np.array([list(classes).index(cats[i['bbox_label_3d']]) for i in keep])
    img_t = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float()
    return dict(
        inputs=dict(
            points=[torch.from_numpy(pts.copy()) for _ in range(batch_size)],
            img=[img_t.clone() for _ in range(batch_size)],
        ),
        data_samples=[_make_sample(meta, boxes, labels) for _ in range(batch_size)],
    )


def ring_camera_rig(
    num_cams: int, image_size: Tuple[int, int], focal: float = 0.8
) -> Tuple[np.ndarray, np.ndarray]:
    """``cam2img`` and ``lidar2cam`` ``(N, 4, 4)`` of cameras looking out around the car.

    Camera ``i`` sits 1.5 m up, looks along yaw ``2 pi i / N`` (x forward, y left, z up in
    the LiDAR frame; camera x right, y down, z forward); the focal length is ``focal * W``.
    """
    h, w = image_size
    cam2img, lidar2cam = [], []
    for i in range(num_cams):
        yaw = 2 * np.pi * i / num_cams
        fwd = np.array([np.cos(yaw), np.sin(yaw), 0.0])
        right = np.array([np.sin(yaw), -np.cos(yaw), 0.0])
        down = np.array([0.0, 0.0, -1.0])
        rot = np.stack([right, down, fwd])  # rows: camera axes in LiDAR coordinates
        pose = np.eye(4)
        pose[:3, :3] = rot
        pose[:3, 3] = -rot @ np.array([0.0, 0.0, 1.5])
        lidar2cam.append(pose)
        k = np.eye(4)
        k[0, 0] = k[1, 1] = focal * w
        k[0, 2], k[1, 2] = w / 2, h / 2
        cam2img.append(k)
    return np.stack(cam2img), np.stack(lidar2cam)


def synthetic_multimodal_batch(
    batch_size: int = 2,
    num_cams: int = 6,
    image_size: Tuple[int, int] = (32, 88),
    num_points: int = 2000,
    num_boxes: int = 4,
    num_classes: int = 10,
    point_range: float = 40.0,
    num_pts_feats: int = 5,
    seed: int = 0,
) -> dict:
    """A random but well-formed batch (random points/images, a ring camera rig, random boxes).

    Points lie uniformly in ``[-point_range, point_range]^2 x [-2, 2]``; boxes have centres
    in ``[-point_range / 2, point_range / 2]^2``, sizes 1-4 m and random yaw and velocity.
    """
    g = np.random.default_rng(seed)
    cam2img, lidar2cam = ring_camera_rig(num_cams, image_size)
    h, w = image_size
    points, imgs, samples = [], [], []
    for i in range(batch_size):
        xyz = g.uniform([-point_range, -point_range, -2], [point_range, point_range, 2], (num_points, 3))
        extra = g.uniform(0, 1, (num_points, num_pts_feats - 3))
        points.append(torch.as_tensor(np.concatenate([xyz, extra], 1), dtype=torch.float32))
        imgs.append(torch.as_tensor(g.uniform(0, 255, (num_cams, 3, h, w)), dtype=torch.float32))
        centre = g.uniform(-point_range / 2, point_range / 2, (num_boxes, 2))
        boxes = np.concatenate(
            [
                centre,
                g.uniform(-1, 0, (num_boxes, 1)),
                g.uniform(1, 4, (num_boxes, 3)),
                g.uniform(-np.pi, np.pi, (num_boxes, 1)),
                g.uniform(-2, 2, (num_boxes, 2)),
            ],
            1,
        )
        labels = g.integers(0, num_classes, num_boxes)
        meta = dict(
            sample_idx=i,
            token=f'synthetic-{seed}-{i}',
            cam2img=cam2img,
            lidar2cam=lidar2cam,
            img_aug_matrix=np.tile(np.eye(4), (num_cams, 1, 1)),
            lidar2img=cam2img @ lidar2cam,
            lidar_aug_matrix=np.eye(4),
            img_shape=(h, w),
            ori_shape=(h, w),
            pad_shape=(h, w),
            num_pts_feats=num_pts_feats,
        )
        samples.append(_make_sample(meta, boxes, labels))
    return dict(inputs=dict(points=points, img=imgs), data_samples=samples)


def synthetic_lidar_batch(
    batch_size: int = 2,
    point_cloud_range: Sequence[float] = (-25.6, -51.2, -5.0, 25.6, 51.2, 3.0),
    num_objects: int = 40,
    points_per_object: int = 80,
    num_ground: int = 1500,
    num_pts_feats: int = 5,
    seed: int = 0,
) -> dict:
    """A LiDAR-only batch without labels: a sparse ground plane plus compact objects, so a BEV grid
    has both empty and non-empty cells (the default range is the tiny detectors').

    Ground points lie uniformly over the range at ``z = -1.8 m``; each object is a Gaussian blob
    (std 0.5 m in x, y; 0.4 m in z) around a uniform centre. Returns the pseudo-collated form
    ``{'inputs': {'points': [(P, C)]}, 'data_samples': [...]}`` with ``lidar_aug_matrix``.
    """
    g = np.random.default_rng(seed)
    lo, hi = np.asarray(point_cloud_range[:2]), np.asarray(point_cloud_range[3:5])
    points, samples = [], []
    for i in range(batch_size):
        ground = np.concatenate([g.uniform(lo, hi, (num_ground, 2)), np.full((num_ground, 1), -1.8)], 1)
        centres = np.concatenate(
            [g.uniform(lo + 2, hi - 2, (num_objects, 2)), np.full((num_objects, 1), -0.8)], 1
        )
        blobs = np.repeat(centres, points_per_object, 0) + g.normal(
            0, [0.5, 0.5, 0.4], (len(centres) * points_per_object, 3)
        )
        xyz = np.concatenate([ground, blobs])
        xyz[:, :2] = np.clip(xyz[:, :2], lo + 1e-3, hi - 1e-3)
        extra = g.uniform(0, 1, (len(xyz), num_pts_feats - 3))
        points.append(torch.as_tensor(np.concatenate([xyz, extra], 1), dtype=torch.float32))
        meta = dict(
            sample_idx=i,
            token=f'synthetic-lidar-{seed}-{i}',
            lidar_aug_matrix=np.eye(4),
            num_pts_feats=num_pts_feats,
        )
        samples.append(_make_sample(meta, None, None))
    return dict(inputs=dict(points=points), data_samples=samples)


def build_from_config(config_path, **model_overrides):
    """Build ``cfg.model`` of a config file (importing its ``custom_imports``), initialised.

    Returns:
        ``(model, cfg)``.
    """
    from mmengine.config import Config
    from mmengine.utils import import_modules_from_strings

    from mmssl.registry import MODELS

    cfg = Config.fromfile(str(config_path))
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    cfg.model.update(model_overrides)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model, cfg


def check_loss_and_gradients(model, batch: dict) -> dict:
    """One training forward/backward; asserts finite losses and a finite gradient on every
    trainable parameter. Returns the loss dict (detached)."""
    model.train()
    model.zero_grad()
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    assert losses, 'no losses'
    total = 0
    for key, value in losses.items():
        if 'loss' not in key:
            continue
        value = sum(value) if isinstance(value, (list, tuple)) else value
        assert torch.isfinite(value).all(), f'{key} = {value}'
        total = total + value
    total.backward()
    missing = [
        n
        for n, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not torch.isfinite(p.grad).all())
    ]
    assert not missing, f'parameters without a finite gradient: {missing}'
    assert any(p.grad.abs().sum() > 0 for p in model.parameters() if p.requires_grad)
    return {k: (sum(v) if isinstance(v, (list, tuple)) else v).detach() for k, v in losses.items()}


def check_det_predictions(model, batch: dict, num_classes: int = 10) -> list:
    """``test_step`` in eval mode; asserts ``pred_instances_3d`` holds 9-dim LiDAR boxes with
    matching ``scores_3d``/``labels_3d``. Returns the data samples."""
    from mmdet3d.structures import LiDARInstance3DBoxes

    model.eval()
    with torch.no_grad():
        out = model.test_step(batch)
    assert len(out) == len(batch['data_samples'])
    for sample in out:
        pred = sample.pred_instances_3d
        assert isinstance(pred.bboxes_3d, LiDARInstance3DBoxes)
        n = len(pred.bboxes_3d)
        assert pred.bboxes_3d.tensor.shape == (n, 9)
        assert pred.scores_3d.shape == (n,) and pred.labels_3d.shape == (n,)
        assert torch.isfinite(pred.bboxes_3d.tensor).all()
        if n:
            assert 0 <= int(pred.labels_3d.min()) and int(pred.labels_3d.max()) < num_classes
            assert float(pred.scores_3d.min()) >= 0 and float(pred.scores_3d.max()) <= 1
    return out


def dataset_batch(cfg, world: dict, split: str = 'train', indices=(0,), flat: bool = False) -> dict:
    """A batch through a config's real data pipeline.

    ``cfg.<split>_dataloader.dataset`` is pointed at ``world['root']`` and the info file
    ``world['<split>_info']`` (the synthetic world fixture's layout); returns
    ``pseudo_collate`` of the chosen items.

    Args:
        flat: The files lie directly in ``root`` (as in ``../shared/data/nuscenes_demo``):
            every ``data_prefix`` entry is set to ``''``.
    """
    from mmengine.dataset import pseudo_collate

    from mmssl.registry import DATASETS

    ds_cfg = cfg[f'{split}_dataloader']['dataset'].copy()
    ds_cfg.update(data_root=str(world['root']), ann_file=str(world[f'{split}_info']))
    if flat:
        cams = ds_cfg.get('camera_names') or []
        ds_cfg['data_prefix'] = dict(pts='', sweeps='', img='', **{c: '' for c in cams})
    dataset = DATASETS.build(ds_cfg)
    return pseudo_collate([dataset[i] for i in indices])
