"""NuScenesSegDataset over the synthetic world's lidarseg labels, through the tiny MinkUNet config's
pipelines, its model and SegMetric."""

from pathlib import Path

import mmengine
import numpy as np
import pytest
import torch

from mmssl.testing.synthetic_batch import build_from_config, check_loss_and_gradients, dataset_batch

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / 'projects/MinkUNet/configs/minkunet_lidarseg_tiny_synthetic.py'


@pytest.fixture(scope='module')
def world(synthetic_world):
    """The suite's synthetic world; skipped if its infos carry no lidarseg label files."""
    infos = mmengine.load(synthetic_world['train_info'])['data_list']
    if not all(info.get('pts_semantic_mask_path') for info in infos):
        pytest.skip('the synthetic world has no lidarseg labels (pts_semantic_mask_path)')
    return synthetic_world


@pytest.fixture(scope='module')
def tiny_cfg():
    from mmengine.config import Config

    return Config.fromfile(str(TINY))


def _dataset(cfg, world, split):
    from mmssl.registry import DATASETS

    ds_cfg = cfg[f'{split}_dataloader']['dataset'].copy()
    ds_cfg.update(data_root=str(world['root']), ann_file=str(world[f'{split}_info']))
    return DATASETS.build(ds_cfg)


def _raw_labels(world, info) -> np.ndarray:
    from mmssl.datasets.lidarseg import read_nuscenes_lidarseg

    path = Path(world['root']) / 'lidarseg' / world['version'] / info['pts_semantic_mask_path']
    return read_nuscenes_lidarseg(path)


def test_val_sample_has_one_mapped_label_per_point(world, tiny_cfg):
    from mmssl.datasets.lidarseg import NUSCENES_LIDARSEG_16_CLASSES, map_nuscenes_lidarseg_to_16

    ds = _dataset(tiny_cfg, world, 'val')
    assert ds.metainfo['label2cat'] == dict(enumerate(NUSCENES_LIDARSEG_16_CLASSES))
    assert ds.metainfo['ignore_index'] == 16 and ds.seg_label_mapping.shape == (256,)
    item = ds[0]
    points, mask = item['inputs']['points'], item['data_samples'].eval_ann_info['pts_semantic_mask']
    info = mmengine.load(world['val_info'])['data_list'][0]
    raw = _raw_labels(world, info)
    pcd = Path(world['root']) / 'samples/LIDAR_TOP' / info['lidar_points']['lidar_path']
    assert points.shape == (len(np.fromfile(pcd, dtype=np.float32)) // 5, 4) == (len(mask), 4)
    assert np.array_equal(mask, map_nuscenes_lidarseg_to_16(raw))  # the official 32 -> 16 merge
    assert mask.min() >= 0 and mask.max() <= 16 and len(np.unique(mask)) >= 3


def test_train_step_and_segmetric_on_the_world(world, tiny_cfg):
    from mmdet3d.evaluation import SegMetric

    ds = _dataset(tiny_cfg, world, 'train')
    item = ds[0]
    points, mask = item['inputs']['points'], item['data_samples'].gt_pts_seg.pts_semantic_mask
    # rotated, scaled and flipped: still one label per point, the same labels
    assert len(points) == len(mask) > 1000 and int(mask.max()) <= 16
    info = mmengine.load(world['train_info'])['data_list'][0]
    assert np.array_equal(
        np.bincount(mask.numpy(), minlength=17),
        np.bincount(ds.seg_label_mapping[_raw_labels(world, info)], minlength=17),
    )

    torch.manual_seed(0)
    model, _ = build_from_config(TINY)
    losses = check_loss_and_gradients(model, dataset_batch(tiny_cfg, world, 'train', indices=(0, 1)))
    assert torch.isfinite(losses['loss_sem_seg'])

    val = _dataset(tiny_cfg, world, 'val')
    batch = dataset_batch(tiny_cfg, world, 'val', indices=(0,))
    model.eval()
    with torch.no_grad():
        (sample,) = model.test_step(batch)
    gt = sample.eval_ann_info['pts_semantic_mask']
    assert sample.pred_pts_seg.pts_semantic_mask.shape == gt.shape
    # the dataset's metainfo is what SegMetric reads: labels fed back as predictions score 1
    metric = SegMetric()
    metric.dataset_meta = val.metainfo
    perfect = dict(pred_pts_seg=dict(pts_semantic_mask=torch.from_numpy(gt.astype(np.int64))))
    metric.process({}, [dict(perfect, eval_ann_info=dict(pts_semantic_mask=gt))])
    scores = metric.compute_metrics(metric.results)
    names = val.metainfo['label2cat']
    present = {names[c] for c in np.unique(gt) if c < 16}
    assert scores['miou'] == 1.0 and scores['acc'] == 1.0
    assert all(scores[c] == 1.0 for c in present)
    assert all(np.isnan(scores[c]) for c in set(names.values()) - present)  # absent: left out of mIoU


def test_class_subset_and_missing_labels(world, tiny_cfg, tmp_path):
    from mmssl.datasets import BadSampleError
    from mmssl.datasets.lidarseg import NUSCENES_LIDARSEG_INDEX as RAW
    from mmssl.registry import DATASETS

    cfg = dict(tiny_cfg.val_dataloader.dataset, data_root=str(world['root']), ann_file=str(world['val_info']))
    subset = DATASETS.build(dict(cfg, metainfo=dict(classes=['pedestrian', 'car'])))
    lut = subset.seg_label_mapping
    assert subset.metainfo['label2cat'] == {0: 'pedestrian', 1: 'car'}
    raw = [RAW['human.pedestrian.child'], RAW['vehicle.car'], RAW['flat.driveable_surface']]
    assert lut[raw].tolist() == [0, 1, 16]  # renumbered in the metainfo's order, the rest ignored
    data = mmengine.load(world['val_info'])
    data['data_list'][0].pop('pts_semantic_mask_path')
    mmengine.dump(data, tmp_path / 'no_labels.pkl')
    with pytest.raises(
        BadSampleError, match=f'token={data["data_list"][0]["token"]}: info key pts_semantic_mask_path'
    ):
        DATASETS.build(dict(cfg, ann_file=str(tmp_path / 'no_labels.pkl')))
