"""tools/benchmark_detectors.py helpers, and the tiny detectors' schedule and geometry."""

import pytest
import torch
from mmengine.config import Config

from mmssl.testing.paths import REPO_ROOT
from mmssl.testing.runs import import_tool

TINY = {
    'centerpoint': 'projects/CenterPoint/configs/centerpoint_tiny_synthetic.py',
    'bevfusion': 'projects/BEVFusion/configs/bevfusion_tiny_synthetic.py',
    'bevdet': 'projects/BEVDet/configs/bevdet_tiny_synthetic.py',
}


@pytest.fixture(scope='module')
def bench():
    return import_tool('tools/benchmark_detectors.py')


def test_checkpoint_iters(bench):
    assert bench.checkpoint_iters(600, 3) == [200, 400, 600]
    assert bench.checkpoint_iters(10, 4) == [2, 5, 8, 10]  # rounded, the last is the budget
    assert bench.checkpoint_iters(2, 5) == [1, 2]
    with pytest.raises(ValueError, match='positive'):
        bench.checkpoint_iters(0, 3)


def test_summarise_metrics_hand_made(bench):
    prefix = 'NuScenes metric/pred_instances_3d_NuScenes/'
    metrics = {f'{prefix}NDS': 0.5, f'{prefix}mAP': 0.25, f'{prefix}mATE': 0.4}
    for d, (car, ped) in zip((0.5, 1.0, 2.0, 4.0), ((0.1, 0.0), (0.2, 0.1), (0.3, 0.2), (0.4, 0.3))):
        metrics[f'{prefix}car_AP_dist_{d}'] = car
        metrics[f'{prefix}pedestrian_AP_dist_{d}'] = ped
    out = bench.summarise_metrics(metrics)
    assert out['mAP'] == pytest.approx(25.0) and out['NDS'] == pytest.approx(50.0)
    assert out['per_class_AP'] == pytest.approx({'car': 25.0, 'pedestrian': 15.0})
    assert out['errors']['mATE'] == pytest.approx(0.4) and out['errors']['mAVE'] is None
    with pytest.raises(KeyError, match='NDS/mAP'):
        bench.summarise_metrics({'bbox_mAP': 0.1})


def test_lr_options(bench):
    assert bench.lr_options(TINY['centerpoint'], 3e-3) == ['optim_wrapper.optimizer.lr=0.003']


def test_markdown_table(bench):
    point = dict(
        iter=10,
        train_s=120.0,
        mAP=12.34,
        NDS=20.0,
        errors=dict.fromkeys(bench.TP_ERRORS, 0.5),
        per_class_AP={'car': 30.0, 'pedestrian': 5.0},
    )
    text = bench.markdown(
        dict(config='x.py', iters=10, train_wall_s=180.0, peak_rss_mb=1500.0, data_root='d', curve=[point])
    )
    assert '| 10 | 2.0 | 12.3 | 20.0 | 0.500 |' in text and '| 30.0 | 5.0 |' in text


@pytest.mark.parametrize('name', sorted(TINY))
def test_schedule_follows_the_iteration_budget(name, tmp_path):
    """30 warm-up iterations from lr / 25, cosine decay to lr / 1e3 at `train_cfg.max_iters`, and a
    scheduler state that `torch.load(weights_only=True)` accepts (tools/test.py, --resume)."""
    from mmengine.optim import OptimWrapper
    from mmengine.registry import PARAM_SCHEDULERS

    from mmssl.utils.compat import patch_torch_load_safe_globals

    cfg = Config.fromfile(str(REPO_ROOT / TINY[name]))
    peak = cfg.optim_wrapper.optimizer.lr
    assert cfg.optim_wrapper.optimizer.betas == (0.9, 0.99)
    assert [s.type for s in cfg.param_scheduler] == ['LinearLR', 'CosineAnnealingLR']
    assert 'end' not in cfg.param_scheduler[1]
    patch_torch_load_safe_globals()
    for max_iters in (4, 300):
        param = torch.nn.Parameter(torch.zeros(1))
        wrapper = OptimWrapper(torch.optim.AdamW([param], lr=peak))
        # what the Runner does for a scheduler without `end`
        scheds = [
            PARAM_SCHEDULERS.build(dict(s, end=s.get('end', max_iters)), default_args=dict(optimizer=wrapper))
            for s in cfg.param_scheduler
        ]
        lrs = []
        for _ in range(max_iters):
            lrs.append(wrapper.optimizer.param_groups[0]['lr'])
            for sched in scheds:
                sched.step()
        assert lrs[0] == pytest.approx(peak / 25, rel=1e-3)
        if max_iters == 300:
            assert lrs.index(max(lrs)) == 29 and max(lrs) == pytest.approx(peak, rel=0.05)
            assert lrs[-1] < peak / 100
        torch.save([s.state_dict() for s in scheds], tmp_path / 'sched.pth')
        torch.load(tmp_path / 'sched.pth', weights_only=True)


@pytest.mark.parametrize('name', sorted(TINY))
def test_tiny_geometry_is_the_road_rectangle(name):
    """Range, BEV cells and head grid agree: 64 x 128 cells of 0.8 m (BEVDet: 32 x 64 of 1.6 m)."""
    cfg = Config.fromfile(str(REPO_ROOT / TINY[name]))
    pcr = [-25.6, -51.2, -5.0, 25.6, 51.2, 3.0]
    train = cfg.model.train_cfg.pts
    assert list(train.point_cloud_range) == pcr
    cell = train.voxel_size[0] * train.out_size_factor
    assert cell == pytest.approx(1.6 if name == 'bevdet' else 0.8)
    assert [g // train.out_size_factor for g in train.grid_size[:2]] == [
        round(51.2 / cell),
        round(102.4 / cell),
    ]
    ranges = [t.point_cloud_range for t in cfg.train_dataloader.dataset.pipeline if 'point_cloud_range' in t]
    assert ranges and all(list(r) == pcr for r in ranges)
    if 'voxel_layer' in cfg.model.data_preprocessor:
        assert list(cfg.model.data_preprocessor.voxel_layer.point_cloud_range) == pcr


def test_pretraining_masks_lidar_on_the_encoder_voxels():
    """The pipeline's LidarVoxelMask uses the tiny encoders' voxel size and range."""
    cfg = Config.fromfile(str(REPO_ROOT / 'configs/nsmae/nsmae_bevfusion_tiny.py'))
    (mask,) = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'LidarVoxelMask']
    voxel_layer = cfg.model.data_preprocessor.voxel_layer
    assert list(mask.voxel_size) == list(voxel_layer.voxel_size) == [0.2, 0.2, 0.4]
    assert list(mask.point_cloud_range) == list(voxel_layer.point_cloud_range)
