"""LoRA through peft: trainable share, what a step changes, init from a checkpoint, merge."""

from pathlib import Path

import pytest
import torch
from mmengine.runner.checkpoint import load_state_dict as mmengine_load_state_dict
from peft.tuners.lora import LoraLayer

from mmssl.models.finetune import adapter_state_dict, load_adapter, merge_lora, trainable_summary
from mmssl.testing.finetune import bev_features, changed_keys, optimizer_step, small_detector_batch, snapshot
from mmssl.testing.synthetic_batch import build_from_config

REPO = Path(__file__).resolve().parents[3]
BEVFUSION = REPO / 'projects/BEVFusion/configs/bevfusion_tiny_synthetic.py'
CENTERPOINT = REPO / 'projects/CenterPoint/configs/centerpoint_tiny_synthetic.py'
HEADS = ('bbox_head.', 'seg_head.')
LORA = dict(type='LoRAFinetune', rank=4)
#: Bound of the test: rank-4 adapters hold under 10% of the encoders' parameters (measured 8.0%
#: on tiny BEVFusion: its convs have 8-64 channels, so rank 4 is a large fraction of each).
ENCODER_SHARE_BOUND = 0.10


def _build(strategy=LORA, **overrides):
    torch.manual_seed(0)
    return build_from_config(BEVFUSION, finetune_strategy=strategy, **overrides)


@pytest.fixture(scope='module')
def lora_bevfusion():
    return _build()


def _perturb_adapters(model, std=0.05, seed=1):
    """Non-zero ``lora_B`` (peft starts it at zero, where merging changes nothing)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if '.lora_B.' in name:
                param.copy_(torch.randn(param.shape, generator=g) * std)


def test_adapters_wrap_supported_layers_and_share_is_bounded(lora_bevfusion):
    model, _ = lora_bevfusion
    wrapped = [n for n, m in model.named_modules() if isinstance(m, LoraLayer)]
    assert 'img_backbone.layer1.0.conv1' in wrapped and 'fusion_layer.conv.0' not in wrapped
    assert not any(n.startswith('pts_middle_encoder') for n in wrapped)  # spconv: not wrappable
    assert not any(n.startswith(HEADS) for n in wrapped)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert all('.lora_' in n or n.startswith(HEADS) for n in trainable)
    encoder = [p for n, p in model.named_parameters() if not n.startswith(HEADS) and '.lora_' not in n]
    adapters = [p for n, p in model.named_parameters() if '.lora_' in n]
    share = sum(p.numel() for p in adapters) / sum(p.numel() for p in encoder)
    assert 0 < share < ENCODER_SHARE_BOUND
    rows = {r['module']: r for r in trainable_summary(model)}
    assert rows['pts_middle_encoder']['trainable'] == 0 and rows['bbox_head']['share'] == 1.0


def test_step_changes_only_adapters_and_head(lora_bevfusion):
    model, cfg = lora_bevfusion
    before = snapshot(model)
    optimizer_step(model, small_detector_batch(cfg))
    changed = changed_keys(before, snapshot(model))
    outside = {k for k in changed if not k.startswith(HEADS) and '.lora_' not in k}
    assert outside == set()  # base weights and frozen BN statistics
    adapted = {k.split('.')[0] for k in changed if '.lora_B.' in k}
    assert adapted == {
        'img_backbone',
        'img_neck',
        'view_transform',
        'fusion_layer',
        'pts_backbone',
        'pts_neck',
    }
    assert not any('base_layer' in k for k in changed)


def test_init_from_a_plain_checkpoint_starts_at_the_base_model(tmp_path):
    plain, cfg = _build(strategy=None)
    ckpt = tmp_path / 'plain.pth'
    torch.save(dict(state_dict=plain.state_dict()), ckpt)
    init_from = dict(checkpoint=str(ckpt), prefix_map={'': ''})  # merged with the config's map
    torch.manual_seed(1)  # other random init: only the checkpoint makes the two equal
    lora, _ = build_from_config(BEVFUSION, finetune_strategy=LORA, init_from=init_from)
    # every key of the plain detector lands (its conv weights on the wrappers' base_layer)
    assert lora.init_report.count('loaded') == len(plain.state_dict())
    assert lora.init_report.count('unexpected') == 0 and lora.init_report.count('shape-mismatched') == 0
    assert torch.equal(
        lora.state_dict()['img_backbone.layer1.0.conv1.base_layer.weight'],
        plain.state_dict()['img_backbone.layer1.0.conv1.weight'],
    )
    # MMEngine's Conv2d init rule re-initialised lora_B; the strategy zeroes it again
    assert all(p.abs().sum() == 0 for n, p in lora.named_parameters() if '.lora_B.' in n)
    batch = small_detector_batch(cfg)
    for a, b in zip(bev_features(lora, batch), bev_features(plain, batch)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_merged_outputs_equal_unmerged_and_load_into_the_plain_detector():
    model, cfg = _build()
    _perturb_adapters(model)
    batch = small_detector_batch(cfg)
    unmerged = bev_features(model, batch)
    base = _build(strategy=None)[0]  # same seed: the base weights without the adapters
    base_out = bev_features(base, batch)
    assert (unmerged[0] - base_out[0]).abs().max() > 1e-3  # the adapters change the output
    merge_lora(model)
    assert not any(isinstance(m, LoraLayer) for m in model.modules())
    merged = bev_features(model, batch)
    for a, b in zip(merged, unmerged):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    torch.manual_seed(1)
    plain = build_from_config(BEVFUSION)[0]
    mmengine_load_state_dict(plain, model.state_dict(), strict=True)  # the plain detector's keys
    for a, b in zip(bev_features(plain, batch), unmerged):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_adapter_file_restores_the_fine_tune(tmp_path):
    model, cfg = _build()
    _perturb_adapters(model, seed=2)
    adapter = adapter_state_dict(model)
    assert adapter and all('.lora_' in k or k.startswith(HEADS) for k in adapter)
    torch.save(adapter, tmp_path / 'adapter.pth')
    fresh, _ = _build()  # same seed: same base weights, zero adapters
    batch = small_detector_batch(cfg)
    assert (bev_features(fresh, batch)[0] - bev_features(model, batch)[0]).abs().max() > 1e-3
    load_adapter(fresh, torch.load(tmp_path / 'adapter.pth'))
    for a, b in zip(bev_features(fresh, batch), bev_features(model, batch)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_target_modules_and_trainable_sparse_encoder():
    strategy = dict(
        LORA, target_modules=[r'img_backbone\.layer4'], trainable=['bbox_head', 'pts_middle_encoder']
    )
    torch.manual_seed(0)
    model, _ = build_from_config(BEVFUSION, finetune_strategy=strategy)
    wrapped = {n for n, m in model.named_modules() if isinstance(m, LoraLayer)}
    assert wrapped and all(n.startswith('img_backbone.layer4.') for n in wrapped)
    trainable = {
        n.split('.')[0] for n, p in model.named_parameters() if p.requires_grad and '.lora_' not in n
    }
    assert trainable == {'bbox_head', 'pts_middle_encoder'}


def test_centerpoint_lora_wraps_the_bev_encoder():
    torch.manual_seed(0)
    model, cfg = build_from_config(CENTERPOINT, finetune_strategy=LORA)
    wrapped = {n.split('.')[0] for n, m in model.named_modules() if isinstance(m, LoraLayer)}
    assert wrapped == {'pts_backbone', 'pts_neck'}
    before = snapshot(model)
    optimizer_step(model, small_detector_batch(cfg, lidar_only=True))
    changed = changed_keys(before, snapshot(model))
    assert changed and all('.lora_' in k or k.startswith('pts_bbox_head.') for k in changed)


def test_adapter_with_a_fully_trained_sparse_encoder_round_trips():
    strategy = dict(LORA, trainable=['bbox_head', 'seg_head', 'pts_middle_encoder'])
    model, cfg = _build(strategy)
    _perturb_adapters(model, seed=3)
    with torch.no_grad():
        model.pts_middle_encoder.conv_input[0].weight.mul_(1.5)
    adapter = adapter_state_dict(model)
    assert 'pts_middle_encoder.conv_input.0.weight' in adapter
    fresh, _ = _build(strategy)
    load_adapter(fresh, adapter)
    torch.testing.assert_close(
        fresh.pts_middle_encoder.conv_input[0].weight, model.pts_middle_encoder.conv_input[0].weight
    )
    with pytest.raises(KeyError, match='does not have'):
        load_adapter(fresh, {'img_backbone.nope.lora_A.default.weight': torch.zeros(1)})
