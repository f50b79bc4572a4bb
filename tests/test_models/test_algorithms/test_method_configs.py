"""Pre-training configs (NS-MAE, UniPAD): encoders identical to the detectors' (trivial fine-tune),
every full-size model config builds."""

import pytest
from mmengine.config import Config

from mmssl.registry import MODELS

ENCODERS = ('img_backbone', 'img_neck', 'view_transform', 'pts_voxel_encoder', 'pts_middle_encoder')
MODEL_BASE = 'configs/nsmae/_base_/nsmae_{}_model.py'
DETECTORS = {
    MODEL_BASE.format('bevfusion'): 'projects/BEVFusion/configs/_base_/bevfusion_lc_model.py',
    MODEL_BASE.format('bevdet'): 'projects/BEVDet/configs/_base_/bevdet_model.py',
    MODEL_BASE.format('centerpoint'): 'projects/CenterPoint/configs/centerpoint_full_nus.py',
    'configs/nsmae/nsmae_bevfusion_tiny.py': 'projects/BEVFusion/configs/bevfusion_tiny_synthetic.py',
    'configs/nsmae/nsmae_bevdet_tiny.py': 'projects/BEVDet/configs/bevdet_tiny_synthetic.py',
    'configs/nsmae/nsmae_centerpoint_tiny.py': 'projects/CenterPoint/configs/centerpoint_tiny_synthetic.py',
}
UNIPAD_BASE = 'configs/unipad/_base_/unipad_{}_model.py'
DETECTORS.update(
    {
        UNIPAD_BASE.format('bevfusion'): DETECTORS[MODEL_BASE.format('bevfusion')],
        UNIPAD_BASE.format('bevdet'): DETECTORS[MODEL_BASE.format('bevdet')],
        UNIPAD_BASE.format('centerpoint'): DETECTORS[MODEL_BASE.format('centerpoint')],
        **{
            f'configs/unipad/unipad_{m}_tiny.py': DETECTORS[f'configs/nsmae/nsmae_{m}_tiny.py']
            for m in ('bevfusion', 'bevdet', 'centerpoint')
        },
    }
)


def _norm(value):
    """Compare configs structurally (tuples and lists alike)."""
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    return value


def _scope_free(cfg):
    cfg = _norm(cfg)
    if isinstance(cfg, dict) and isinstance(cfg.get('type'), str):
        cfg['type'] = cfg['type'].split('.')[-1]
    return cfg


@pytest.mark.parametrize('nsmae_cfg', sorted(DETECTORS))
def test_encoders_equal_the_detector_config(nsmae_cfg):
    ns = Config.fromfile(nsmae_cfg).model
    det = Config.fromfile(DETECTORS[nsmae_cfg]).model
    for key in ENCODERS:
        assert _scope_free(ns.get(key)) == _scope_free(det.get(key)), key
    if det.data_preprocessor.get('voxel'):
        assert _norm(ns.data_preprocessor.voxel_layer) == _norm(det.data_preprocessor.voxel_layer)
    assert ns.get('img_feature_level', 0) == det.get('img_feature_level', 0)
    # what the pre-training run's checkpoint is fine-tuned with
    cfg = Config.fromfile(nsmae_cfg)
    if 'downstream_config' in cfg:
        assert cfg.downstream_config == DETECTORS[nsmae_cfg]


@pytest.mark.parametrize('name', ['bevfusion', 'bevdet', 'centerpoint'])
def test_full_model_configs_build(name):
    cfg = Config.fromfile(MODEL_BASE.format(name))
    from mmengine.utils import import_modules_from_strings

    import_modules_from_strings(**cfg.custom_imports)
    model = MODELS.build(cfg.model)
    assert model.with_camera == (name != 'centerpoint')
    assert model.with_lidar == (name != 'bevdet')
    assert model.per_renderer.sampler.step == 0.8 and model.bev_renderer.sampler.step == 0.2
    assert model.loss_depth_per.loss_weight == 1e-2 and model.loss_depth_bev.loss_weight == 1e-2
    assert (model.loss_rgb is None) == (name == 'centerpoint')
    if model.with_camera:
        assert model.img_masker.patch_size == 8 and model.img_masker.ratio == 0.5
        assert not model.img_masker.shared and model.loss_rgb.loss_weight == 1e4


@pytest.mark.parametrize('name', ['bevfusion', 'bevdet', 'centerpoint'])
def test_full_unipad_model_configs_build(name):
    cfg = Config.fromfile(UNIPAD_BASE.format(name))
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings

        import_modules_from_strings(**cfg.custom_imports)
    model = MODELS.build(cfg.model)
    assert model.with_camera == (name != 'centerpoint')
    assert model.with_lidar == (name != 'bevdet')
    assert (model.loss_rgb is None) == (name == 'centerpoint')  # the official LiDAR run is depth-only
    assert model.renderer.sampler.num_samples == 96 and model.ray_sampler.num_rays == 512
