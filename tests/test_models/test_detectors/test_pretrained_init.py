"""Fine-tuning init from a pre-training checkpoint: mapping, report table, mismatches, hook."""

from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import save_checkpoint

from mmssl.models.utils import load_pretrained
from mmssl.testing.synthetic_batch import build_from_config

REPO = Path(__file__).resolve().parents[3]
TINY = REPO / 'projects/BEVFusion/configs/bevfusion_tiny_synthetic.py'
PREFIX_MAP = {
    'encoder.img_backbone.': 'img_backbone.',
    'encoder.img_neck.': 'img_neck.',
    'encoder.view_transform.': 'view_transform.',
    'encoder.pts_middle_encoder.': 'pts_middle_encoder.',
}


def _build(seed, **overrides):
    torch.manual_seed(seed)
    return build_from_config(TINY, **overrides)[0]


@pytest.fixture(scope='module')
def pretrain_ckpt(tmp_path_factory):
    """A pre-training run's checkpoint: encoders under `encoder.`, plus a render head."""
    source = _build(1)
    state = {
        f'encoder.{k}': v
        for k, v in source.state_dict().items()
        if k.split('.')[0] in ('img_backbone', 'img_neck', 'view_transform', 'pts_middle_encoder')
    }
    state['render_head.mlp.weight'] = torch.randn(4, 4)
    path = tmp_path_factory.mktemp('pretrain') / 'iter_10.pth'
    save_checkpoint(dict(meta=dict(iter=10, seed=1), state_dict=OrderedDict(state)), str(path))
    return path, state


def test_mapped_weights_equal_saved_ones(pretrain_ckpt, capsys):
    path, state = pretrain_ckpt
    det = _build(2)
    head_before = {k: v.clone() for k, v in det.state_dict().items() if k.startswith('bbox_head')}
    report = load_pretrained(det, str(path), PREFIX_MAP)
    after = det.state_dict()
    for key, value in state.items():
        if key.startswith('encoder.'):
            assert torch.equal(after[key[len('encoder.') :]], value), key
    for key, value in head_before.items():
        assert torch.equal(after[key], value)
    assert report.count('loaded') == len(state) - 1
    assert report.count('missing') == report.count('unexpected') == 0
    assert report.count('shape-mismatched') == 0
    out = capsys.readouterr().out
    assert 'shape-mismatched' in out and 'pts_middle_encoder.' in out


def test_first_lidar_layer_5_to_4_features_is_skipped_or_strict_error(pretrain_ckpt):
    path, state = pretrain_ckpt
    overrides = dict(pts_voxel_encoder=dict(type='mmdet3d.HardSimpleVFE', num_features=4))
    cfg = Config.fromfile(str(TINY))
    overrides['pts_middle_encoder'] = dict(cfg.model.pts_middle_encoder, in_channels=4)
    det = _build(3, **overrides)
    first = 'pts_middle_encoder.conv_input.0.weight'
    before = det.state_dict()[first].clone()
    report = load_pretrained(det, str(path), PREFIX_MAP)
    assert report.count('shape-mismatched') == 1
    assert report.modules['pts_middle_encoder.']['shape-mismatched'][0].startswith(first)
    assert torch.equal(det.state_dict()[first], before)  # skipped
    second = 'pts_middle_encoder.conv_input.1.weight'
    assert torch.equal(det.state_dict()[second], state['encoder.' + second])

    det_strict = _build(3, **overrides)
    snapshot = {k: v.clone() for k, v in det_strict.state_dict().items()}
    with pytest.raises(ValueError, match='strict pre-trained init'):
        load_pretrained(det_strict, str(path), PREFIX_MAP, strict=True)
    assert all(torch.equal(v, snapshot[k]) for k, v in det_strict.state_dict().items())


def test_missing_and_unexpected_keys_are_reported(pretrain_ckpt):
    path, _ = pretrain_ckpt
    det = _build(4)
    report = load_pretrained(det, str(path), {'encoder.img_neck.': 'img_neck.', 'render_head.': 'seg_head.'})
    assert report.modules['img_neck.']['loaded'] and not report.modules['img_neck.']['missing']
    assert report.modules['seg_head.']['unexpected'] == ['seg_head.mlp.weight']
    assert len(report.modules['seg_head.']['missing']) == len(
        [k for k in det.state_dict() if k.startswith('seg_head.')]
    )
    with pytest.raises(ValueError, match='no key of'):
        load_pretrained(det, str(path), {'nothing.': 'img_neck.'})
    with pytest.raises(ValueError, match='prefix_map is empty'):
        load_pretrained(det, str(path), {})


def test_model_init_from_in_init_weights(pretrain_ckpt):
    """`model.init_from` (the fine-tune configs' option) is applied by init_weights."""
    path, state = pretrain_ckpt
    det = _build(5, init_from=dict(checkpoint=str(path), prefix_map=PREFIX_MAP))
    key = 'img_backbone.conv1.weight'
    assert torch.equal(det.state_dict()[key], state['encoder.' + key])
    assert det.init_report.count('loaded') == len(state) - 1
    scratch = _build(5, init_from=dict(checkpoint=None, prefix_map=PREFIX_MAP))
    assert scratch.init_report is None
    with pytest.raises(KeyError, match='unknown keys'):
        _build(5, init_from=dict(checkpoint=str(path), prefix=PREFIX_MAP))


@pytest.mark.parametrize(
    'pretrain,detector',
    [
        ('configs/nsmae/nsmae_bevfusion_tiny.py', 'projects/BEVFusion/configs/bevfusion_tiny_synthetic.py'),
        ('configs/nsmae/nsmae_bevdet_tiny.py', 'projects/BEVDet/configs/bevdet_tiny_synthetic.py'),
        (
            'configs/nsmae/nsmae_centerpoint_tiny.py',
            'projects/CenterPoint/configs/centerpoint_tiny_synthetic.py',
        ),
    ],
)
def test_nsmae_checkpoint_initialises_tiny_detectors(pretrain, detector, tmp_path):
    """The pre-training path: an NS-MAE model saved as an MMEngine checkpoint initialises every
    mapped encoder weight of the matching tiny detector, with nothing skipped."""
    torch.manual_seed(0)
    source, _ = build_from_config(REPO / pretrain)
    path = tmp_path / 'iter_1.pth'
    save_checkpoint(dict(meta=dict(iter=1), state_dict=source.state_dict()), str(path))
    torch.manual_seed(1)
    cfg = Config.fromfile(str(REPO / detector))
    init_from = dict(cfg.model.init_from, checkpoint=str(path))
    det, _ = build_from_config(REPO / detector, init_from=init_from)
    report = det.init_report
    assert report.count('loaded') > 50  # the tiny CenterPoint's 3-stage sparse encoder: 60 tensors
    # BEVDet also maps its BEV encoder (OccFeat pre-trains it); NS-MAE has none: reported missing
    absent = [
        p
        for p in init_from['prefix_map']
        if any(k.startswith(p) for k in det.state_dict())
        and not any(k.startswith(p) for k in source.state_dict())
    ]
    assert absent == (['pts_backbone.', 'pts_neck.'] if 'BEVDet' in detector else [])
    missing = [k for m in report.modules.values() for k in m['missing']]
    assert all(k.startswith(tuple(absent)) for k in missing) and len(missing) == sum(
        k.startswith(tuple(absent)) for k in det.state_dict()
    )
    assert report.count('unexpected') == 0
    assert report.count('shape-mismatched') == 0
    src, dst = source.state_dict(), det.state_dict()
    for prefix in init_from['prefix_map']:
        if prefix in absent:
            continue
        keys = [k for k in dst if k.startswith(prefix)]
        assert all(torch.equal(dst[k], src[k]) for k in keys), prefix
