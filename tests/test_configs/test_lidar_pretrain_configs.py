"""LiDAR pre-training configs (AD-L-JEPA, BEV-MAE, Occupancy-MAE): encoders equal to the detector's,
an exact hand-off of the encoder, every model builds, and Runner steps of the tiny configs on the
synthetic world."""

from __future__ import annotations

import pytest
import torch
from mmengine.config import Config

from mmssl.testing.runs import in_process_cfg

ENCODERS = ('pts_voxel_encoder', 'pts_middle_encoder')
#: pre-training config -> the detector config its checkpoint fine-tunes (``downstream_config``)
METHODS = ('adljepa', 'bevmae', 'occmae')
DETECTORS = {'centerpoint': 'CenterPoint', 'bevfusion': 'BEVFusion'}
DOWNSTREAM = {
    f'configs/{m}/{m}_{det}{v}.py': f'projects/{project}/configs/{det}_{d}.py'
    for m in METHODS
    for det, project in DETECTORS.items()
    for v, d in (('', 'full_nus'), ('_tiny', 'tiny_synthetic'))
}


def _norm(value):
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items() if k != '_delete_'}
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    return value


def _scope_free(cfg):
    cfg = _norm(cfg)
    if isinstance(cfg, dict) and isinstance(cfg.get('type'), str):
        cfg['type'] = cfg['type'].split('.')[-1]
    return cfg


@pytest.mark.parametrize('config', sorted(DOWNSTREAM))
def test_encoders_equal_the_downstream_detector(config):
    cfg = Config.fromfile(config)
    assert cfg.downstream_config == DOWNSTREAM[config]
    det = Config.fromfile(cfg.downstream_config).model
    for key in ENCODERS:
        assert _scope_free(cfg.model[key]) == _scope_free(det[key]), key
    assert _norm(cfg.model.data_preprocessor.voxel_layer) == _norm(det.data_preprocessor.voxel_layer)
    # the detector's prefix map takes the LiDAR encoders (BEVFusion's also names its camera branch)
    assert {f'{k}.' for k in ENCODERS} <= set(det.init_from.prefix_map)


def test_bevfusion_takes_the_lidar_branch_exactly(tmp_path):
    from mmengine.utils import import_modules_from_strings

    from mmssl.models.utils import load_pretrained
    from mmssl.registry import MODELS
    from mmssl.testing.synthetic_batch import build_from_config

    model, cfg = build_from_config('configs/adljepa/adljepa_bevfusion_tiny.py')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, tmp_path / 'ckpt.pth')
    det_cfg = Config.fromfile(cfg.downstream_config)
    import_modules_from_strings(**det_cfg.get('custom_imports', dict(imports=[])))
    detector = MODELS.build(det_cfg.model)
    lidar = {f'{k}.': f'{k}.' for k in ENCODERS}
    report = load_pretrained(detector, str(tmp_path / 'ckpt.pth'), lidar, strict=True)
    assert report.count('loaded') == len(model.pts_middle_encoder.state_dict())


@pytest.mark.parametrize('config', sorted(c for c in DOWNSTREAM if 'centerpoint' in c))
def test_models_build(config):
    from mmssl.testing.synthetic_batch import build_from_config

    model, _ = build_from_config(config)
    assert model.with_lidar and not model.with_camera


LOSSES = {
    'adljepa': ('loss_jepa', 'loss_reg'),
    'bevmae': ('loss_chamfer', 'loss_density'),
    'occmae': ('loss_occ',),
}


@pytest.mark.slow
@pytest.mark.parametrize('method', sorted(LOSSES))
def test_tiny_config_trains_through_the_runner(method, tmp_path, synthetic_world):
    from mmssl.utils.cli import build_runner

    cfg = Config.fromfile(f'configs/{method}/{method}_centerpoint_tiny.py')
    cfg.merge_from_dict(
        {
            'train_dataloader.dataset.data_root': str(synthetic_world['root']),
            'train_dataloader.dataset.ann_file': str(synthetic_world['train_info']),
            'train_cfg.max_iters': 2,
            'default_hooks.checkpoint.interval': 2,
        }
    )
    if method == 'adljepa':
        cfg.custom_hooks[2].interval = 1  # the collapse monitor at every iteration
    cfg.launcher, cfg.work_dir = 'none', str(tmp_path)
    runner = build_runner(in_process_cfg(cfg), ('train_dataloader',))
    runner.train()
    hub = runner.message_hub
    for key in ('loss', *LOSSES[method]):
        assert torch.isfinite(torch.tensor(hub.get_scalar(f'train/{key}').current())), key
    model = runner.model
    in_opt = {id(p) for g in runner.optim_wrapper.optimizer.param_groups for p in g['params']}
    assert {id(p) for p in model.pts_middle_encoder.parameters()} <= in_opt
    state = torch.load(tmp_path / 'iter_2.pth', map_location='cpu', weights_only=False)['state_dict']
    assert any(k.startswith('pts_middle_encoder.') for k in state)
    if method == 'adljepa':
        assert torch.isfinite(torch.tensor(hub.get_scalar('train/collapse_effective_rank').current()))
        assert not any(id(p) in in_opt for p in model.teacher.parameters())  # target: EMA only
        assert model.teacher.teacher_momentum == pytest.approx(0.996 + 0.004 * 1 / 2)  # iteration 1 of 2
        assert any(k.startswith('teacher.') for k in state)
