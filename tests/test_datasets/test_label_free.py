"""Pre-training never sees labels: the checker, the dataset guard and every pre-training config."""

import copy
import json
from pathlib import Path

import pytest
from mmengine.config import Config

from mmssl.datasets import SSLDatasetMixin, check_label_free_pipeline
from mmssl.datasets.kitti_ssl_dataset import KittiSSLDataset
from mmssl.registry import DATASETS, TRANSFORMS

REPO = Path(__file__).resolve().parents[2]
LOAD = dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5)


@pytest.mark.parametrize(
    'bad',
    [
        dict(type='mmdet3d.ObjectSample', db_sampler=dict()),
        dict(type='mmdet3d.ObjectNoise'),
        dict(type='mmdet3d.ObjectRangeFilter', point_cloud_range=[0, 0, 0, 1, 1, 1]),
        dict(type='mmdet3d.ObjectNameFilter', classes=['car']),
        dict(type='mmdet3d.LoadAnnotations3D'),
        dict(type='ObjectSample', db_sampler=dict()),  # unscoped name resolves via MMDet3D
        dict(type='mmdet3d.BackgroundPointsFilter', bbox_enlarge_range=0.5),
    ],
)
def test_checker_rejects_label_dependent_transforms(bad):
    with pytest.raises(ValueError, match=r'pipeline\[1\]'):
        check_label_free_pipeline([LOAD, bad])


def test_checker_rejects_bev_map_targets():
    """Map masks are labels: neither their transform nor the packed key pass the check."""
    targets = dict(type='LoadBEVMapSegmentation', classes=['drivable_area'])
    with pytest.raises(ValueError, match=r'pipeline\[1\]: LoadBEVMapSegmentation .*ground-truth'):
        check_label_free_pipeline([LOAD, targets, dict(type='PackSSLInputs')])
    with pytest.raises(ValueError, match=r"label keys \['gt_bev_seg'\]"):
        check_label_free_pipeline([LOAD, dict(type='PackSSLInputs', keys=['points', 'gt_bev_seg'])])
    with pytest.raises(ValueError, match=r"label keys \['gt_bev_seg'\]"):
        check_label_free_pipeline([LOAD, dict(type='PackSSLInputs', ssl_keys=['bev_depth', 'gt_bev_seg'])])
    with pytest.raises(ValueError, match='LoadBEVMapSegmentation'):
        check_label_free_pipeline([TRANSFORMS.build(targets)])
    built = TRANSFORMS.build(dict(type='PackSSLInputs', ssl_keys=['gt_bev_seg']))
    with pytest.raises(ValueError, match='gt_bev_seg'):
        check_label_free_pipeline([built])


def test_checker_nested_packed_labels_and_objects():
    nested = dict(
        type='mmdet3d.MultiScaleFlipAug3D',
        img_scale=(1, 1),
        pts_scale_ratio=1,
        transforms=[dict(type='mmdet3d.ObjectNoise')],
    )
    with pytest.raises(ValueError, match=r'pipeline\[0\]\.transforms\[0\]'):
        check_label_free_pipeline([nested])
    with pytest.raises(ValueError, match='gt_bboxes_3d'):
        check_label_free_pipeline([dict(type='PackSSLInputs', keys=['points', 'gt_bboxes_3d'])])
    with pytest.raises(ValueError, match='ObjectRangeFilter'):
        check_label_free_pipeline(
            [TRANSFORMS.build(dict(type='mmdet3d.ObjectRangeFilter', point_cloud_range=[0, 0, 0, 1, 1, 1]))]
        )
    with pytest.raises(KeyError, match='NoSuchTransform'):
        check_label_free_pipeline([dict(type='NoSuchTransform')])
    check_label_free_pipeline(
        [LOAD, dict(type='SSLGlobalRotScaleTrans'), dict(type='SSLRandomFlip3D'), dict(type='PackSSLInputs')]
    )


def test_pretraining_dataset_refuses_label_pipeline(nus_cfg):
    cfg = nus_cfg([LOAD, dict(type='mmdet3d.LoadAnnotations3D'), dict(type='PackSSLInputs')])
    with pytest.raises(ValueError, match='LoadAnnotations3D'):
        DATASETS.build(cfg)
    with pytest.raises(ValueError, match='filter_empty_gt'):
        DATASETS.build(nus_cfg([LOAD], filter_empty_gt=True))


def _pretrain_configs():
    found = []
    for path in sorted((REPO / 'configs').rglob('*.py')):
        cfg = Config.fromfile(str(path))
        loader = cfg.get('train_dataloader')
        if not loader or 'dataset' not in loader:
            continue
        ds = loader['dataset']
        while 'dataset' in ds:  # dataset wrappers
            ds = ds['dataset']
        cls = DATASETS.get(ds['type']) if isinstance(ds.get('type'), str) else ds.get('type')
        if isinstance(cls, type) and issubclass(cls, SSLDatasetMixin) and ds.get('with_label', True) is False:
            found.append((path, cfg, ds, cls))
    return found


#: SLIC at 1/8 resolution for the SLidR pipelines (seconds on the real keyframe)
FAST_SUPERPIXELS = dict(type='SLICSuperpixels', downscale=8)


@pytest.fixture(scope='module')
def keyframe_superpixels(nuscenes_demo_dir, tmp_path_factory):
    """Superpixels of the real keyframe, for the pipelines that load them (SLidR)."""
    from mmssl.datasets.superpixels import build_superpixel_cache

    root = tmp_path_factory.mktemp('label_free_superpixels')
    pkl = nuscenes_demo_dir / 'n015-2018-07-24-11-22-45+0800.pkl'
    build_superpixel_cache(pkl, nuscenes_demo_dir, root, source=FAST_SUPERPIXELS, img_prefix='', log=None)
    return root


def test_every_pretraining_config_is_label_free(
    nuscenes_demo_dir, kitti_demo_dir, keyframe_superpixels, tmp_path
):
    # the real keyframe has no scene neighbour: a one-sample table pairs it with itself (LargeAD)
    table = tmp_path / 'sample.json'
    table.write_text(
        json.dumps([dict(token='ca9a282c9e77460f8360f564131a8af5', scene_token='scene', prev='', next='')])
    )
    configs = _pretrain_configs()
    names = {p.name for p, *_ in configs}
    assert {'nus_pretrain.py', 'kitti_pretrain.py', 'synthetic_nus_pretrain.py'} <= names
    for path, _cfg, ds_cfg, cls in configs:
        check_label_free_pipeline(ds_cfg['pipeline'])
        ds_cfg = copy.deepcopy(ds_cfg.to_dict() if hasattr(ds_cfg, 'to_dict') else ds_cfg)
        if issubclass(cls, KittiSSLDataset):
            ds_cfg.update(
                data_root=str(kitti_demo_dir), ann_file='000008.pkl', data_prefix=dict(pts='', img='')
            )
        else:
            ds_cfg.update(
                data_root=str(nuscenes_demo_dir),
                ann_file='n015-2018-07-24-11-22-45+0800.pkl',
                data_prefix=dict(pts='', sweeps='', img=''),
            )
        for t in ds_cfg['pipeline']:
            if t['type'] == 'LoadSuperpixels':
                t.update(cache_root=str(keyframe_superpixels), source=FAST_SUPERPIXELS)
            if t['type'] == 'LoadTemporalFrame':
                t.update(sample_table=str(table))
        dataset = DATASETS.build(ds_cfg)
        info = dataset.get_data_info(0)
        assert not {'ann_info', 'instances', 'cam_instances', 'eval_ann_info'} & set(info), path
        sample = dataset[0]['data_samples']
        assert len(sample.gt_instances_3d) == 0, f'{path.name}: labels reached the model'
        assert 'bboxes_3d' not in sample.gt_instances_3d and len(sample.gt_instances) == 0
        # a pipeline that draws masks or targets packs them (LiDAR-only pipelines may leave the
        # masking to the model's masker: AD-L-JEPA, Occupancy-MAE, BEV-MAE)
        draws = any('Mask' in str(t['type']) or 'Target' in str(t['type']) for t in ds_cfg['pipeline'])
        assert 'ssl_targets' in sample and (len(sample.ssl_targets.keys()) > 0 or not draws), path.name


def test_every_multi_source_config_is_label_free():
    """MultiSourceDataset configs (LargeAD's two sources): every source label-free, every pipeline clean."""
    found = 0
    for path in sorted((REPO / 'configs').rglob('*.py')):
        loader = Config.fromfile(str(path)).get('train_dataloader') or {}
        ds = loader.get('dataset') or {}
        if ds.get('type') != 'MultiSourceDataset':
            continue
        found += 1
        check_label_free_pipeline(ds['pipeline'])
        for source in ds['sources']:
            assert source.get('with_label', True) is False, f'{path.name}: a source reads labels'
            check_label_free_pipeline(source.get('pipeline', []))
    assert found >= 2  # the multi-source base and configs/largead/largead_minkunet_tiny_2src.py
